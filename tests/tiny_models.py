"""Tiny random-init models and tokenizers for tests: no hub, no big downloads, seconds to build."""
from __future__ import annotations

from pathlib import Path

# A small lowercase WordPiece vocabulary: specials, single characters (so every ASCII word can be
# spelled), continuation pieces, and common words so sentences are not all single characters.
_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'\"-;:()")
_WORDS = (
    "the a an and but not no is was it this that movie film story acting plot good great bad "
    "terrible awful wonderful boring fun funny dull brilliant very really quite never ever "
    "i you we they he she of to in for with on at by be have has had do does did love hate "
    "like enjoyed loved hated best worst fine okay nice poor"
).split()


def tiny_vocab() -> list[str]:
    # Unique entries only: a duplicate would leave a gap in the ids (line number != id).
    return list(dict.fromkeys(_SPECIAL + _CHARS + ["##" + c for c in _CHARS if c.isalnum()] + _WORDS))


def write_tiny_tokenizer(out_dir: str | Path):
    """Save a fast WordPiece tokenizer over `tiny_vocab()` plus its vocab.txt.

    transformers 5 ignores `vocab_file=` (use `vocab=`) and no longer writes vocab.txt on
    save_pretrained, which the app bundle needs, so it is written here as well.
    """
    from transformers import BertTokenizer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab_file = out_dir / "vocab.txt"
    vocab_file.write_text("\n".join(tiny_vocab()) + "\n", encoding="utf-8")
    tok = BertTokenizer(vocab=str(vocab_file), do_lower_case=True)
    assert len(tok.get_vocab()) == len(tiny_vocab())
    tok.save_pretrained(out_dir)
    return tok


def make_tiny_bert(out_dir: str | Path, num_labels: int = 2, hidden: int = 32, layers: int = 2,
                   heads: int = 4, intermediate: int = 64, act: str = "gelu_new",
                   max_position: int = 128, seed: int = 0, labels: list[str] | None = None) -> Path:
    """A random BertForSequenceClassification + tokenizer saved with save_pretrained."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    labels = labels or [f"label_{i}" for i in range(num_labels)]
    cfg = BertConfig(vocab_size=len(tiny_vocab()), hidden_size=hidden, num_hidden_layers=layers,
                     num_attention_heads=heads, intermediate_size=intermediate, hidden_act=act,
                     max_position_embeddings=max_position, num_labels=len(labels),
                     id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
    model = BertForSequenceClassification(cfg).eval()
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    write_tiny_tokenizer(out_dir)
    return out_dir


def make_tiny_mobilebert(out_dir: str | Path, num_labels: int = 2, seed: int = 0,
                         max_position: int = 128) -> Path:
    """A random MobileBertForSequenceClassification (bottlenecks, no-norm, relu) + tokenizer."""
    import torch
    from transformers import MobileBertConfig, MobileBertForSequenceClassification

    torch.manual_seed(seed)
    cfg = MobileBertConfig(vocab_size=len(tiny_vocab()), hidden_size=64, embedding_size=32,
                           intra_bottleneck_size=32, true_hidden_size=32, num_attention_heads=4,
                           intermediate_size=64, num_hidden_layers=2, num_feedforward_networks=2,
                           hidden_act="relu", max_position_embeddings=max_position,
                           num_labels=num_labels)
    model = MobileBertForSequenceClassification(cfg).eval()
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    write_tiny_tokenizer(out_dir)
    return out_dir


def sharpen(model_dir: Path, std: float = 0.2, seed: int = 1) -> None:
    """With the default init (std 0.02) a tiny random classifier gives the same logits (~0.01)
    for every input, so a graph that ignores the mask or mangles weights would still "match".
    Re-draw the weights with std 0.2: logits then vary by O(1) between inputs and attending to
    padding moves them by O(1), like a trained model."""
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    torch.manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (torch.nn.Linear, torch.nn.Embedding)):
                mod.weight.normal_(0.0, std)
    model.save_pretrained(model_dir)
