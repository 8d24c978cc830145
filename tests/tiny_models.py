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


# ------------------------------------------------------------------ every family a user brings
# A corpus for training real byte-level BPE and Unigram tokenizers offline in a second.
_CORPUS = [
    "the movie was good and the acting was great",
    "a terrible film with a dull plot and bad acting",
    "i loved the story but hated the ending",
    "never have i seen such a wonderful and funny film",
    "it was okay , not the best , not the worst .",
    "they did enjoy the music ; we did not !",
    "Quite boring , really ... 42 minutes too long ?",
    "Café naïve résumé : she liked it (a lot) .",
] * 4


def write_bpe_tokenizer(out_dir: str | Path, vocab_size: int = 300):
    """A RoBERTa-style byte-level BPE tokenizer (tokenizer.json), trained on _CORPUS."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import RobertaTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tk.train_from_iterator(_CORPUS, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tk.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tok = RobertaTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>",
                               sep_token="</s>", cls_token="<s>", unk_token="<unk>",
                               pad_token="<pad>", mask_token="<mask>")
    tok.save_pretrained(out_dir)
    return tok


def write_sentencepiece_tokenizer(out_dir: str | Path, style: str = "xlm-roberta",
                                  vocab_size: int = 120):
    """A SentencePiece Unigram tokenizer the way hub repositories have it: a real `.model` file
    (trained on _CORPUS) and the tokenizer.json transformers derives from it (its Precompiled
    normalizer charsmap, Metaspace). style 'xlm-roberta': `sentencepiece.bpe.model`, nmt_nfkc,
    `<s> A </s>`; 'albert': `spiece.model`, nmt_nfkc_cf (case-folding, as ALBERT is uncased),
    `[CLS] A [SEP]` as control pieces."""
    import io

    import sentencepiece as spm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    if style == "albert":
        ids = dict(pad_id=0, unk_id=1, bos_id=-1, eos_id=-1,
                   control_symbols=["[CLS]", "[SEP]", "[MASK]"], normalization_rule_name="nmt_nfkc_cf")
    else:
        ids = dict(bos_id=0, pad_id=1, eos_id=2, unk_id=3)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_CORPUS), model_writer=buf, vocab_size=vocab_size,
        model_type="unigram", character_coverage=1.0, hard_vocab_limit=False, minloglevel=2,
        num_threads=1, **ids)
    model = buf.getvalue()
    sp = spm.SentencePieceProcessor(model_proto=model)
    from converters.sentencepiece_model import precompiled_charsmap

    charsmap = precompiled_charsmap(model)
    pieces = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
    if style == "albert":
        from transformers import AlbertTokenizer

        (out_dir / "spiece.model").write_bytes(model)
        # the .model's own normalizer lower-cases; no second Lowercase, accents kept as spm does
        tok = AlbertTokenizer(vocab=pieces, do_lower_case=False, keep_accents=True,
                              _spm_precompiled_charsmap=charsmap)
    else:
        from transformers import XLMRobertaTokenizer

        (out_dir / "sentencepiece.bpe.model").write_bytes(model)
        vocab = ([("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + pieces[4:]
                 + [("<mask>", 0.0)])
        tok = XLMRobertaTokenizer(vocab=vocab, _spm_precompiled_charsmap=charsmap)
    tok.save_pretrained(out_dir)
    return tok


def write_unigram_tokenizer(out_dir: str | Path, style: str = "xlm-roberta", vocab_size: int = 200):
    """A Unigram tokenizer.json only (Metaspace, NFKC; no SentencePiece .model file), trained
    with the `tokenizers` library on _CORPUS: style 'xlm-roberta' (<s> A </s>) or 'albert'
    ([CLS] A [SEP], lower-cased)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    if style == "albert":
        specials = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
        cls, sep, pad, unk = "[CLS]", "[SEP]", "<pad>", "<unk>"
    else:
        specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        cls, sep, pad, unk = "<s>", "</s>", "<pad>", "<unk>"
    tk = Tokenizer(models.Unigram())
    norms = [normalizers.NFKC()] + ([normalizers.Lowercase()] if style == "albert" else [])
    tk.normalizer = normalizers.Sequence(norms)
    tk.pre_tokenizer = pre_tokenizers.Metaspace()
    tk.decoder = decoders.Metaspace()
    tk.train_from_iterator(_CORPUS, trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=specials, unk_token=unk, show_progress=False))
    ids = {t: tk.token_to_id(t) for t in specials}
    if style == "albert":
        tk.post_processor = processors.TemplateProcessing(
            single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} $B:1 {sep}:1",
            special_tokens=[(cls, ids[cls]), (sep, ids[sep])])
        from transformers import AlbertTokenizerFast as Fast
    else:
        tk.post_processor = processors.TemplateProcessing(
            single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} {sep} $B {sep}",
            special_tokens=[(cls, ids[cls]), (sep, ids[sep])])
        from transformers import XLMRobertaTokenizerFast as Fast
    tok = Fast(tokenizer_object=tk, bos_token=cls, eos_token=sep, sep_token=sep, cls_token=cls,
               unk_token=unk, pad_token=pad, mask_token=specials[4])
    tok.save_pretrained(out_dir)
    return tok


# family -> (transformers config class, config overrides, tokenizer kind). Small widths; the
# sequence length 128 clashes with none of them.
FAMILIES = {
    "bert": ("BertConfig", {"hidden_act": "gelu"}, "wordpiece"),
    "bert-tanh-gelu": ("BertConfig", {"hidden_act": "gelu_new"}, "wordpiece"),
    "distilbert": ("DistilBertConfig", {"dim": 32, "n_layers": 2, "n_heads": 4,
                                        "hidden_dim": 64, "activation": "gelu"}, "wordpiece"),
    "electra": ("ElectraConfig", {"embedding_size": 16, "hidden_act": "gelu"}, "wordpiece"),
    "roberta": ("RobertaConfig", {"hidden_act": "gelu", "type_vocab_size": 1,
                                  "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2}, "bpe"),
    "xlm-roberta": ("XLMRobertaConfig", {"hidden_act": "gelu", "type_vocab_size": 1,
                                         "pad_token_id": 1, "bos_token_id": 0,
                                         "eos_token_id": 2}, "xlm-roberta"),
    "albert": ("AlbertConfig", {"embedding_size": 16, "hidden_act": "gelu_new",
                                "pad_token_id": 0}, "albert"),
    "mobilebert": (None, {}, "wordpiece"),
}


def make_tiny_family(family: str, out_dir: str | Path, num_labels: int = 2, seed: int = 0,
                     sharp: bool = True) -> Path:
    """A random-init `*ForSequenceClassification` of `family` (FAMILIES) with a real tokenizer of
    that family, saved with save_pretrained (+ labels.txt)."""
    import torch
    import transformers
    from transformers import AutoModelForSequenceClassification

    out_dir = Path(out_dir)
    labels = ["negative", "positive"] if num_labels == 2 else [f"label_{i}" for i in range(num_labels)]
    if family == "mobilebert":
        make_tiny_mobilebert(out_dir, num_labels=num_labels, seed=seed)
    else:
        cfg_cls, extra, tok_kind = FAMILIES[family]
        out_dir.mkdir(parents=True, exist_ok=True)
        if tok_kind == "wordpiece":
            tok = write_tiny_tokenizer(out_dir)
        elif tok_kind == "bpe":
            tok = write_bpe_tokenizer(out_dir)
        elif tok_kind in ("xlm-roberta", "albert"):
            tok = write_sentencepiece_tokenizer(out_dir, style=tok_kind)
        else:
            raise ValueError(f"unknown tokenizer kind {tok_kind}")
        common = {"vocab_size": len(tok), "hidden_size": 32, "num_hidden_layers": 2,
                  "num_attention_heads": 4, "intermediate_size": 64,
                  "max_position_embeddings": 130 if tok_kind in ("bpe", "xlm-roberta") else 128}
        if family == "distilbert":
            common = {"vocab_size": len(tok), "max_position_embeddings": 128}
        cfg = getattr(transformers, cfg_cls)(**common, **extra, num_labels=num_labels,
                                             id2label=dict(enumerate(labels)),
                                             label2id={l: i for i, l in enumerate(labels)})
        torch.manual_seed(seed)
        model = AutoModelForSequenceClassification.from_config(cfg).eval()
        model.save_pretrained(out_dir)
    (out_dir / "labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    if sharp:
        sharpen(out_dir, std=0.12 if family == "mobilebert" else 0.2)  # MobileBERT has no LayerNorm
    return out_dir
