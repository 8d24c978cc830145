"""The real-length contract: every artifact runs a sentence at its own length.

Graphs have a dynamic sequence dimension (1 to max_seq_length). A caller feeds the tokens up to
the last real one plus `trailing_context` more: the padded positions the float model itself
reads (MobileBERT's trigram embedding gives the last token its right neighbour; BERT reads
none), so a real-length run computes exactly what the padded run computes. The artifact carries
the number (ONNX metadata_props, a TFLite metadata entry, a .ptl extra file) and
`max_seq_length`, so an app or runner needs nothing beside the file.
"""
from __future__ import annotations

import json
from typing import Optional

import numpy as np

KEY = "bert_edge_sequence"  # ONNX metadata_props key / TFLite metadata name / .ptl extra file


def trailing_context(model_type: Optional[str]) -> int:
    """Padded positions after the last real token that the float model reads."""
    from converters.families import REGISTRY

    fam = REGISTRY.get(model_type or "")
    return fam.trailing_context if fam else 0


def contract(max_seq_length: int, context: int) -> dict:
    return {"dynamic": True, "max_seq_length": int(max_seq_length), "trailing_context": int(context)}


def dumps(max_seq_length: int, context: int) -> str:
    return json.dumps(contract(max_seq_length, context), sort_keys=True)


def loads(text) -> dict:
    """The contract from its JSON text; {} when absent or unreadable (a fixed-length artifact)."""
    if not text:
        return {}
    try:
        value = json.loads(text.decode() if isinstance(text, (bytes, bytearray)) else text)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def keep_lengths(attention_mask: np.ndarray, context: int = 0) -> np.ndarray:
    """Per row, how many leading positions to feed: last real token + `context`, capped at the
    row length. A row whose mask is not ones-then-zeros (interior zeros) keeps its last real
    token, so nothing it attends to is cut; an all-zero mask keeps one position."""
    mask = np.asarray(attention_mask) != 0
    n, L = mask.shape
    positions = np.arange(1, L + 1)
    last = (mask * positions).max(axis=1) if L else np.zeros(n, int)
    return np.minimum(np.maximum(last, 1) + int(context), L).astype(int)
