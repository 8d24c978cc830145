"""The module map holds: converters/ is a library that never imports pipeline/, and no two
modules import each other, directly or around a loop (function-level imports included)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import import_graph  # noqa: E402


def test_converters_do_not_import_pipeline():
    for path in (ROOT / "converters").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+pipeline\b", text, re.M), path.name


def test_no_import_cycles():
    edges = import_graph.graph()
    assert "pipeline.parity" in edges and "converters.runtimes" in edges["pipeline.parity"]
    assert import_graph.cycles(edges) == []


def test_cycle_finder_finds_a_cycle():
    assert import_graph.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
