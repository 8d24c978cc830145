"""The backend registry is complete: every registered target has a converter step, a runner,
tolerances, a bundle rule and report labels, and nothing outside the registry redefines them."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from converters.backends import ARTIFACTS, BACKENDS, REGISTRY, ids

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_is_fully_wired(backend):
    from converters.convert import FORMATS
    from converters.runtimes import RUNNERS, SUFFIXES
    from converters.validate import PROBE_TOLERANCES, TOLERANCES
    from pipeline.bench.measure import RUNTIMES
    from pipeline.bench.report import LABELS

    b = REGISTRY[backend]
    assert b.format in FORMATS, f"{backend}: no converter step for format {b.format}"
    assert b.format in RUNNERS and SUFFIXES["." + b.file.rsplit(".", 1)[1]] == b.format
    assert backend in TOLERANCES and PROBE_TOLERANCES[backend] is not None  # every graph is probed
    assert b.precision in ("fp32", "int8") and b.quantization
    assert not b.bundled or b.bundlable
    assert backend in RUNTIMES and backend in LABELS


def test_artifact_names_unique_and_config_defaults_from_registry():
    from pipeline.config import RunConfig

    assert len(set(ARTIFACTS.values())) == len(ARTIFACTS)
    cfg = RunConfig()
    assert cfg.convert.targets == list(BACKENDS)
    assert sorted(cfg.parity.required) == sorted(ids(required=True))
    assert sorted(cfg.bundle.backends) == sorted(ids(bundled=True))


def test_backend_ids_are_not_spelled_out_elsewhere():
    """One definition: the literal id of the newest target appears in at most two non-test
    modules (the registry, and the converter code that builds that kind of file)."""
    hits = []
    for path in list((ROOT / "pipeline").rglob("*.py")) + list((ROOT / "converters").rglob("*.py")):
        if re.search(r"""["']tflite_int8_full["']""", path.read_text(encoding="utf-8")):
            hits.append(path.relative_to(ROOT).as_posix())
    assert len(hits) <= 2 and "converters/backends.py" in hits, hits
