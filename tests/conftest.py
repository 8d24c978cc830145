import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    """A tiny random BERT classifier directory (labels negative/positive), built once."""
    from tiny_models import make_tiny_bert
    from pipeline.data import write_labels

    d = make_tiny_bert(tmp_path_factory.mktemp("tiny_bert") / "model", labels=["negative", "positive"])
    write_labels(d / "labels.txt", ["negative", "positive"])
    return d


@pytest.fixture
def cli(capsys):
    """Run `bert-edge ARGS` in-process; return (exit code, stdout, stderr)."""
    from pipeline.cli import main

    def _run(*args):
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return _run
