"""Every model family the converters take, defined once (optimum's per-family export configs).

A family entry says how the one input contract (converters/real_length.py, docs/ARCHITECTURE.md:
int32 `input_ids`, `attention_mask`, `token_type_ids`, each `[1, n]`) maps onto that family's
forward: whether it reads token types, where its position ids start, which config widths onnx2tf
could confuse with the sequence length, and which padded positions the float model reads.
`load_student`, the export wrapper, the real-length contract, the TFLite build length and the
teacher loader all ask this table; adding a family is one entry here plus a tiny model in
tests/tiny_models.py (tests/test_families.py converts each to every default target).

The tokenizer family (WordPiece, byte-level BPE, SentencePiece Unigram) is read from the
tokenizer itself (`tokenizer_kind`), not from the model type: a BERT can ship any of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from converters.common import ConversionError


@dataclass(frozen=True)
class Family:
    model_type: str  # config.json `model_type`
    # The model's forward reads token_type_ids. When it does not (DistilBERT), the contract's
    # third input is still taken (every runtime and the app feed three), and ignored.
    token_types: bool = True
    # Position ids are `offset + 0..n-1`. RoBERTa-style models count from padding_idx + 1
    # (HF computes that from the input; the export wrapper feeds it explicitly, see onnx_export).
    positions_after_padding_idx: bool = False
    # Padded positions after the last real token the float model reads (MobileBERT's trigram
    # embedding gives the last token its right neighbour).
    trailing_context: int = 0
    # Config keys holding widths that onnx2tf could take for the sequence axis (student.py).
    width_keys: tuple = ("hidden_size", "intermediate_size", "num_labels")
    # Config keys of the hidden width attention heads split (MobileBERT: the bottleneck) and of
    # the number of heads.
    head_width_key: str = "hidden_size"
    heads_key: str = "num_attention_heads"


REGISTRY: dict[str, Family] = {f.model_type: f for f in (
    Family("bert"),  # also MiniLM, TinyBERT
    Family("mobilebert", trailing_context=1,
           width_keys=("hidden_size", "intermediate_size", "embedding_size",
                       "intra_bottleneck_size", "true_hidden_size", "num_labels"),
           head_width_key="true_hidden_size"),
    Family("distilbert", token_types=False,
           width_keys=("dim", "hidden_dim", "num_labels"), head_width_key="dim", heads_key="n_heads"),
    Family("electra",
           width_keys=("hidden_size", "intermediate_size", "embedding_size", "num_labels")),
    Family("roberta", positions_after_padding_idx=True),  # also DistilRoBERTa
    Family("xlm-roberta", positions_after_padding_idx=True),
    Family("albert",
           width_keys=("hidden_size", "intermediate_size", "embedding_size", "num_labels")),
)}

MODEL_TYPES = tuple(REGISTRY)

# Families we know and do not convert, with the reason a user gets in one line.
REFUSED = {
    "deberta-v2": "DeBERTa-v2/v3's disentangled attention builds relative-position buckets from "
                  "the sequence length; no real-length export of it is implemented or validated "
                  "here yet (use a BERT, DistilBERT, ELECTRA, RoBERTa or ALBERT model)",
    "deberta": "DeBERTa's disentangled attention builds relative-position buckets from the "
               "sequence length; no real-length export of it is implemented or validated here yet",
}
REFUSED["deberta-v3"] = REFUSED["deberta-v2"]


def family(model_type: Optional[str], where: str = "", archs: str = "?") -> Family:
    """The Family of a config's model_type; a one-line ConversionError('load') otherwise."""
    if model_type in REGISTRY:
        return REGISTRY[model_type]
    prefix = f"{where}: " if where else ""
    if model_type in REFUSED:
        raise ConversionError("load", f"{prefix}{archs} (model_type '{model_type}') is not "
                                      f"supported: {REFUSED[model_type]}", op=str(model_type))
    raise ConversionError(
        "load", f"{prefix}unsupported architecture {archs} (model_type '{model_type}'); the "
                f"converters handle {', '.join(MODEL_TYPES)} sequence classifiers",
        op=str(model_type))


def position_offset(model_config) -> int:
    """First position id of a sequence (0; RoBERTa-style: padding_idx + 1)."""
    cfg = model_config if isinstance(model_config, dict) else model_config.to_dict()
    fam = REGISTRY.get(cfg.get("model_type"))
    if fam is None or not fam.positions_after_padding_idx:
        return 0
    return int(cfg.get("pad_token_id") if cfg.get("pad_token_id") is not None else 1) + 1


def max_real_length(cfg: dict) -> Optional[int]:
    """The longest sequence the position table holds (RoBERTa-style tables lose the first
    padding_idx + 1 rows: 514 rows hold 512 tokens)."""
    max_pos = cfg.get("max_position_embeddings")
    if not max_pos:
        return None
    return int(max_pos) - position_offset(cfg)


TOKENIZER_KINDS = ("wordpiece", "bpe", "unigram")


def tokenizer_kind(tokenizer) -> str:
    """'wordpiece', 'bpe' (byte-level BPE, RoBERTa) or 'unigram' (SentencePiece, XLM-R/ALBERT):
    the class of the fast tokenizer's own model; 'unknown' for anything else."""
    model = getattr(getattr(tokenizer, "backend_tokenizer", None), "model", None)
    kind = type(model).__name__.lower()
    return kind if kind in TOKENIZER_KINDS else "unknown"
