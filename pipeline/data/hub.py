"""Hugging Face `datasets` as a data source (`hf:glue/sst2`, `hf:imdb`), for online use."""
from __future__ import annotations

from pipeline.data.labeled import LabeledData, choose_text_columns
from pipeline.errors import BertEdgeError


def _import_datasets(spec: str):
    """`datasets` imports pyarrow, whose wheel may be built against another numpy than the one
    installed (TF pins numpy 1.26; recent pyarrow needs numpy 2): say exactly that, not 'install
    datasets' when it is installed."""
    import importlib.util
    import os

    if importlib.util.find_spec("datasets") is None:
        raise BertEdgeError(f"hf:{spec}: the 'datasets' package is not installed (pip install datasets), "
                            "or pass a local TSV/CSV/JSONL file") from None
    try:
        import datasets
    except ImportError as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        if "numpy" in first.lower() or "pyarrow" in first.lower():
            import numpy

            offline = " (and HF_HUB_OFFLINE=1 is set, so hub data could not be downloaded anyway)" \
                if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") else ""
            raise BertEdgeError(f"hf:{spec}: 'datasets' is installed but cannot be imported: its pyarrow "
                                f"was built for another numpy ABI ({first}; numpy {numpy.__version__} is "
                                f"pinned by TensorFlow){offline}; hf: sources are unusable in this "
                                "environment: export the split to a TSV/CSV/JSONL file and pass that") from None
        raise BertEdgeError(f"hf:{spec}: 'datasets' is installed but cannot be imported ({first})") from None
    return datasets


def load_hf_labeled(spec: str, split: str, text_column=None, pair_column=None,
                    label_column: str = "label", max_examples: int = 0) -> LabeledData:
    """`spec` is `name` or `name/config` (e.g. `glue/sst2`); split is train/validation/test."""
    datasets = _import_datasets(spec)
    name, _, subset = spec.partition("/")
    try:
        ds = datasets.load_dataset(name, subset or None, split=split)
    except Exception as e:  # network, unknown name, unknown split: all user-facing
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise BertEdgeError(f"hf:{spec} split '{split}': cannot load dataset ({msg})") from None
    tcol, pcol = choose_text_columns(ds.column_names, text_column, pair_column, f"hf:{spec}")
    if label_column not in ds.column_names:
        raise BertEdgeError(f"hf:{spec}: missing label column '{label_column}'")
    feature = ds.features[label_column]
    names = list(getattr(feature, "names", []) or [])
    if max_examples:
        ds = ds.select(range(min(max_examples, len(ds))))
    labels = [int(x) for x in ds[label_column]]
    if not names:
        names = [str(i) for i in range(max(labels) + 1)]
    if any(l < 0 or l >= len(names) for l in labels):
        raise BertEdgeError(f"hf:{spec} split '{split}' has unlabeled rows (label -1); use another split")
    return LabeledData(list(ds[tcol]), list(ds[pcol]) if pcol else None, labels, names, f"hf:{spec}:{split}")
