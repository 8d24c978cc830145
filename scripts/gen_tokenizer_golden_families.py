#!/usr/bin/env python3
"""Golden vectors for the Android app's byte-level BPE and SentencePiece Unigram tokenizers.

The app reads a Hugging Face tokenizer.json (android_demo/core, PipelineTokenizer); these vectors
hold it identical to the Hugging Face fast tokenizer. Everything is built here, offline and
deterministically: a byte-level BPE vocabulary is trained with `tokenizers`, two Unigram ones with
`sentencepiece` (XLM-R's and ALBERT's trainer, which also gives the real Precompiled charsmaps),
on the embedded corpus below, then dressed as the tokenizers users bring (the transformers
classes write their tokenizer.json), one directory per variant under --out:

  bpe_roberta     RobertaTokenizer: ByteLevel (no prefix space), RobertaProcessing, <mask> with
                  lstrip, merges as ["a", "b"] pairs
  bpe_prefix      the same vocabulary with add_prefix_space, merges as "a b" strings,
                  ignore_merges, a TemplateProcessing that types the pair's second part 1, and
                  added tokens that are normalized / single_word / rstrip
  unigram_xlmr    XLMRobertaTokenizer: Precompiled (SentencePiece's real nmt_nfkc charsmap),
                  WhitespaceSplit + Metaspace, <s> A </s></s> B </s>
  unigram_albert  AlbertTokenizer: Replace ``/'', NFKD, StripAccents, Lowercase, Precompiled
                  (nmt_nfkc_cf, a lower-cased vocabulary), [CLS] A [SEP] B:1 [SEP]:1
  unigram_nfkc    NFKC + Strip + Replace(regex) normalizers, Metaspace(prepend_scheme "first")
                  alone, byte_fallback pieces, a normalized added token

Each directory gets tokenizer.json (what the app loads), tokenizer_golden.jsonl (one case per
line: id, category, text, [text_pair], max_length, input_ids, attention_mask, token_type_ids,
tokens, [normalized]) as `tokenizer(text, text_pair, padding="max_length", truncation=True,
max_length=L)` returns them, and meta.json (counts, pad id, the tokenizer.json sha256, and how the
vectors' tokenizer holds its Unigram scores: "exact" when AutoTokenizer rebuilt the model class
from Python's parse of the file, "serde_json" when the Rust library read the file). Directories
with a transformers class are read with AutoTokenizer, the others with PreTrainedTokenizerFast;
meta.json also counts the cases where PreTrainedTokenizerFast(tokenizer_file=...) would differ
from AutoTokenizer. The cases are the WordPiece golden set's categories
(scripts/gen_tokenizer_golden.py) plus contractions, spaces, added tokens in the text, grapheme
clusters and every byte value, then seeded random Unicode fuzz.

Deterministic: the same seed and library versions give the same bytes (TOKENIZERS_PARALLELISM is
forced off, sentencepiece trains on one thread).

Usage: python scripts/gen_tokenizer_golden_families.py --out build/tokenizer-golden/families
                                                       [--fuzz 1500] [--seed 6]
"""
from __future__ import annotations

import os

os.environ["TOKENIZERS_PARALLELISM"] = "false"  # before tokenizers is imported: deterministic training

import argparse
import hashlib
import importlib.util
import io
import json
import random
import shutil
import sys
from pathlib import Path

from transformers.convert_slow_tokenizer import bytes_to_unicode  # GPT-2's byte <-> char map

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("gen_tokenizer_golden", HERE / "gen_tokenizer_golden.py")
wp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(wp)

MAX_LEN = wp.MAX_LEN
ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]  # ids 0..3, <mask> last (fairseq layout)

# ------------------------------------------------------------------------------- corpus
CORPUS_TEXT = """\
The film opens on a quiet street, and for twenty minutes nothing much happens; then it does.
I didn't expect to like this movie, but by the end I was laughing and crying at the same time.
She's the best actress of her generation, and she's never been better than she is here.
They've made a sequel that's louder, longer and somehow less interesting than the original.
We'll be talking about that final scene for years. It's bold, strange and completely earned.
The screenplay is clever without being smug, and the dialogue sounds like people actually talk.
He'd seen every one of the director's films, and he thought this was the weakest of them all.
Honestly, the soundtrack did most of the work: the pictures were pretty, the story was thin.
A slow, beautiful, frustrating film about memory, loss and the things we choose to forget.
Don't waste your money. The plot makes no sense and the jokes land with a dull thud.
It's a two-hour movie that feels like four, yet I can't stop thinking about it.
The performances are uniformly excellent, especially the children, who never seem to be acting.
What starts as a comedy turns into a thriller, then a romance, and finally a tragedy.
Critics loved it; audiences didn't. I'm somewhere in the middle, leaning towards the critics.
The special effects haven't aged well, but the characters still feel alive and surprising.
Unbelievably, the studio cut forty minutes, and you can feel every one of them missing.
I'd recommend it to anyone who enjoys long conversations, rainy cities and unhappy endings.
The cinematography is stunning: every frame could hang in a museum.
If you liked the book, you'll probably hate the adaptation; if you didn't, you might love it.
You're never quite sure who to trust, and that uncertainty is the whole point of the story.
Internationalization and localization are hard; tokenization is harder than it looks.
The café on the corner serves crème brûlée, and the naïve tourists order it with ketchup.
Señor García and Frau Müller met in São Paulo, then flew to Zürich and on to Kraków.
Dvořák, Brontë and Beyoncé walk into a bar in Reykjavík; the bartender says: ça va?
Москва, Київ и Минск — три города; Αθήνα και Θεσσαλονίκη είναι δύο.
東京は日本の首都です。我爱自然语言处理。서울특별시에 갑니다.
مرحبا بالعالم. שָׁלוֹם עוֹלָם. नमस्ते दुनिया। สวัสดีครับ
Prices rose 3.5% in 2023, from $1,299.99 to $1,345.50; that's about €1,240 or £1,070.
Call +1 (555) 123-4567 before 10:30pm, or e-mail user@example.com, or visit https://example.com/a?b=c.
The year 1999 ended, 2000 began, and 2001 was a space odyssey for exactly 142 minutes.
I ❤️ this film 😀🎬🍿 — 10/10, would watch again!!! #bestmovie @director
"Quoted speech," she said, 'and single quotes', ``LaTeX quotes'' and so on...
Mr. and Mrs. Smith, Dr. Jones and Prof. Brown arrived at 9 a.m. on Jan. 5th.
co-operate, re-enter, well-known, state-of-the-art, mother-in-law, twenty-one
snake_case_names, camelCaseNames, PascalCaseNames, kebab-case-names and CONSTANT_NAMES
ﬁne ﬂowers, ｆｕｌｌｗｉｄｔｈ text, ①②③ circled numbers, ½ and ¾, x² and y³, ™ and ©
"""


def corpus(rng: random.Random) -> list[str]:
    lines = [ln for ln in CORPUS_TEXT.splitlines() if ln.strip()]
    lines += [" ".join(wp.ACCENTED[i:i + 8]) for i in range(0, len(wp.ACCENTED), 8)]
    lines += wp.SCRIPTS + wp.CJK + wp.EMOJI
    for _ in range(600):
        lines.append(wp._sentence(rng, rng.randint(4, 24)))
    return lines * 3


# ------------------------------------------------------------------------------- training
def train_bpe(lines: list[str]):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=1600, min_frequency=2, show_progress=False,
                                  special_tokens=ROBERTA_SPECIALS + ["<mask>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer)
    model = json.loads(tok.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    return model["vocab"], merges


def train_spm(lines: list[str], rule: str, specials: dict):
    """A SentencePiece Unigram model trained on `lines` with one of sentencepiece's built-in
    normalization rules: ([(piece, score)], precompiled charsmap). SentencePiece is what XLM-R and
    ALBERT were trained with, and it is deterministic on one thread (tokenizers' UnigramTrainer
    is not: its hash maps are randomly seeded)."""
    try:
        import sentencepiece as spm
    except ImportError as e:
        raise SystemExit("error: the `sentencepiece` package is needed for the Unigram vocabularies and "
                         "their Precompiled charsmaps (pip install sentencepiece)") from e
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buf, vocab_size=2000,
                                   model_type="unigram", normalization_rule_name=rule, num_threads=1,
                                   minloglevel=2, hard_vocab_limit=False, character_coverage=1.0,
                                   max_sentencepiece_length=16, **specials)
    from converters.sentencepiece_model import pieces, precompiled_charsmap

    proto = buf.getvalue()
    return pieces(proto), precompiled_charsmap(proto)


# ------------------------------------------------------------------------------- variants
def build_variants(out: Path, lines: list[str]) -> dict:
    """Write each variant's tokenizer files; return {name: (dir, loader kind, extra info)}."""
    from tokenizers import AddedToken, Regex, Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import AlbertTokenizer, RobertaTokenizer, XLMRobertaTokenizer

    variants = {}
    vocab, merges = train_bpe(lines)

    d = out / "bpe_roberta"
    rt = RobertaTokenizer(vocab=vocab, merges=merges, add_prefix_space=False,
                          mask_token=AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True))
    rt.save_pretrained(str(d))
    variants["bpe_roberta"] = d

    d = out / "bpe_prefix"
    d.mkdir(parents=True, exist_ok=True)
    j = json.loads((out / "bpe_roberta" / "tokenizer.json").read_text(encoding="utf-8"))
    j["pre_tokenizer"]["add_prefix_space"] = True
    j["model"]["merges"] = [" ".join(m) for m in j["model"]["merges"]]
    j["model"]["ignore_merges"] = True
    ids = {t["content"]: t["id"] for t in j["added_tokens"]}
    j["post_processor"] = json.loads(processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> $B:1 </s>:1",
        special_tokens=[("<s>", ids["<s>"]), ("</s>", ids["</s>"])]).__getstate__())
    tok = Tokenizer.from_str(json.dumps(j))
    tok.add_tokens([AddedToken("movie night", normalized=True),
                    AddedToken("[ctx]", single_word=True, normalized=False),
                    AddedToken("<sep/>", rstrip=True, lstrip=True, normalized=False)])
    tok.add_special_tokens([AddedToken("<|end|>", normalized=False, special=True)])
    tok.save(str(d / "tokenizer.json"))
    variants["bpe_prefix"] = d

    d = out / "unigram_xlmr"
    uv, cm_nfkc = train_spm(lines, "nmt_nfkc", dict(bos_id=0, pad_id=1, eos_id=2, unk_id=3))
    uv.append(("<mask>", 0.0))
    xt = XLMRobertaTokenizer(vocab=uv, _spm_precompiled_charsmap=cm_nfkc)
    xt.save_pretrained(str(d))
    variants["unigram_xlmr"] = d

    d = out / "unigram_albert"
    av, cm_cf = train_spm(lines, "nmt_nfkc_cf", dict(pad_id=0, unk_id=1, bos_id=-1, eos_id=-1,
                                                     control_symbols=["[CLS]", "[SEP]", "[MASK]"]))
    at = AlbertTokenizer(vocab=av, do_lower_case=True, keep_accents=False, _spm_precompiled_charsmap=cm_cf)
    at.save_pretrained(str(d))
    variants["unigram_albert"] = d

    d = out / "unigram_nfkc"
    d.mkdir(parents=True, exist_ok=True)
    nv = [p for p in uv if p[0] != "<mask>"]
    low = min(s for _, s in nv)
    nv += [("<0x%02X>" % b, low - 1.0) for b in range(256)]  # byte fallback pieces
    tok = Tokenizer(models.Unigram(nv, 3, True))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Strip(left=True, right=True),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s>:0 $A:0 </s>:0", pair="<s>:0 $A:0 </s>:0 $B:1 </s>:1",
        special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in ROBERTA_SPECIALS])
    tok.add_tokens([AddedToken("ｎｅｗ ｌｉｎｅ", normalized=True)])  # matches its NFKC form "new line"
    tok.save(str(d / "tokenizer.json"))
    variants["unigram_nfkc"] = d
    return variants


def load_hf(d: Path):
    """The tokenizer the vectors come from: the transformers class when the directory has its
    config (AutoTokenizer), else PreTrainedTokenizerFast over tokenizer.json."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    if (d / "tokenizer_config.json").is_file():
        tok = AutoTokenizer.from_pretrained(str(d))
    else:
        tok = PreTrainedTokenizerFast(tokenizer_file=str(d / "tokenizer.json"), pad_token="<pad>",
                                      unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    if not getattr(tok, "is_fast", False):
        raise SystemExit(f"error: {d}: not a fast tokenizer")
    return tok


# ------------------------------------------------------------------------------- cases
def word_list(tok) -> list[str]:
    """The vocabulary as the WordPiece case builders expect it: word starts plain, word
    continuations as '##piece' (byte-level and '▁' markers decoded)."""
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    byte_dec = {v: k for k, v in bytes_to_unicode().items()}
    out = []
    for t, _ in vocab:
        if t.startswith("<") and t.endswith(">") or t.startswith("[") and t.endswith("]"):
            continue
        if all(ch in byte_dec for ch in t):  # byte-level BPE
            try:
                s = bytes(byte_dec[ch] for ch in t).decode("utf-8")
            except UnicodeDecodeError:
                continue
            start = s.startswith(" ")
            s = s.strip()
        else:
            start = t.startswith("▁")
            s = t.replace("▁", " ").strip()
        if s:
            out.append(s if start else "##" + s)
    return out


def family_cases(rng: random.Random, specials: list[str]) -> list[dict]:
    """What the WordPiece set does not stress: BPE contractions and spaces, added tokens in the
    text (lstrip/rstrip/single_word), grapheme clusters (Precompiled), every byte value."""
    cases: list[dict] = []

    def add(cat: str, text: str, pair: str | None = None, max_length: int = MAX_LEN) -> None:
        cases.append({"category": cat, "text": text, "text_pair": pair, "max_length": max_length})

    for w in ["don't", "DON'T", "I'm", "I'M", "we'll", "they've", "you're", "he'd", "it's", "It'S", "'s", "'t",
              "'re", "'ve", "'m", "'ll", "'d", "''", "'", "''s", "'S", "o'clock", "rock'n'roll", "'tis",
              "``quoted''", "`single'", "x''y", "ma'am", "y'all'd've", "'sss", "'res", "'llama", "' s",
              "it’s (curly)", "l'homme", "aujourd'hui"]:
        add("contractions", w)
        add("contractions", "Well, " + w + " fine.")
    for _ in range(60):
        words = [rng.choice(wp.ENGLISH_WORDS) for _ in range(rng.randint(1, 8))]
        add("contractions", " ".join(w + rng.choice(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "", ""])
                                     for w in words))
    for s in [" ", "  ", "   ", "\t", "\n", " a", "  a", "a ", "a  ", " a ", "a  b", "a   b", "a \tb", "a\t b",
              "a \n b", "a\r\nb", "\r\n", " \r\n ", "a\u3000b", "a\u00a0 b", " \u00a0", "\u2009x", "x\u2009",
              "  leading and trailing  ", "many     spaces     here", "tab\tseparated\tvalues",
              "line one\nline two\n\nline four", "a !", "a  !", "a 1", "a  1", " 1", "  !", "!  ", "é  é"]:
        add("spaces", s)
        add("spaces", s, " " + s)
    for _ in range(60):
        parts = [rng.choice(wp.ENGLISH_WORDS) for _ in range(rng.randint(1, 6))]
        add("spaces", "".join(p + rng.choice([" ", "  ", "   ", "\t", " \n", "\u3000", ""]) for p in parts))
    forms = []
    for sp in specials:
        forms += [sp, " " + sp, sp + " ", "  " + sp + "  ", "a" + sp + "b", "a " + sp + " b", "a  " + sp + "  b",
                  sp + sp, sp + " " + sp, "The " + sp + " was great.", sp.upper(), sp.lower(), sp[:-1], sp[1:],
                  "é" + sp + "é", "\u3000" + sp, sp + "\u0301", "x" + sp + "x", "1" + sp + "2"]
    for f in forms:
        add("added_tokens", f)
    for _ in range(120):
        bits = [rng.choice(specials + wp.ENGLISH_WORDS[:40] + [" ", "  ", "é", "!"]) for _ in range(rng.randint(1, 10))]
        add("added_tokens", rng.choice(["", " "]).join(bits))
    marks = ["\u0300", "\u0301", "\u0308", "\u0327", "\u0323", "\u031b", "\u0345", "\u05b0", "\u0651", "\u093c",
             "\u094d", "\u0e31", "\u20dd", "\u302a", "\u3099", "\ufe0f", "\u200d", "\u200c", "\U0001f3fb"]
    bases = ["a", "e", "E", "i", "o", "u", "n", "ﬁ", "ﬂ", "Ａ", "ｅ", "①", "½", "\u3000", "\u00a0", " ", "ά", "й",
             "क", "ก", "ᄀ", "가", "\u0600", "\u0e40", "😀", "👍", "🇫", "\r", "\n", "\x01", "\u200b", "Å", "Ω"]
    for b in bases:
        for m in marks[:8]:
            add("graphemes", b + m)
            add("graphemes", "x" + b + m + m + "y")
    for _ in range(300):
        s = "".join(rng.choice(bases) + "".join(rng.choice(marks) for _ in range(rng.choice([0, 0, 1, 1, 2, 3])))
                    for _ in range(rng.randint(1, 6)))
        add("graphemes", s)
    for s in ["क्ष", "क्‍ष", "क्\u200dष", "स्त्री", "ক্ষ", "ક્ષ", "ᄀ\u1161\u11a8", "\u1100\u1161", "가\u11a8",
              "🇫🇷🇩🇪🇮", "👨‍👩‍👧‍👦", "🏳️‍🌈", "1️⃣", "\r\n\r\n", "\n\r", "\u0600\u0661", "e\u0301\u0301\u0301",
              "ﬁ\u0301ne", "Ａ\u0301Ｂ", "\u00c5\u030a", "Å\u0301", "\u212b\u0301", "\u1e9b\u0323"]:
        add("graphemes", s)
        add("graphemes", "Word " + s + " word")
    for b in range(0x100):
        add("bytes", chr(b))
        add("bytes", "a" + chr(b) + "b")
    for _ in range(100):  # 2-, 3- and 4-byte UTF-8 (no surrogates: Rust strings cannot hold them)
        cps = [rng.choice([rng.randint(0x80, 0x7FF), rng.randint(0x800, 0xFFFF), rng.randint(0x10000, 0x10FFFF)])
               for _ in range(rng.randint(1, 6))]
        add("bytes", "".join(chr(c) for c in cps if not 0xD800 <= c <= 0xDFFF))
    return cases


def score_parsing(tok, d: Path):
    """How the scores of the live Unigram relate to the file: "exact" (correctly rounded, as the
    transformers model classes rebuild them from Python's json) or "serde_json" (as
    Tokenizer.from_file reads them). None for BPE."""
    file_model = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))["model"]
    if file_model["type"] != "Unigram":
        return None
    live = json.loads(tok.backend_tokenizer.to_str())["model"]["vocab"]
    same = all(a[1] == b[1] for a, b in zip(live, file_model["vocab"]))
    return "exact" if same else "serde_json"


def tokenizer_file_disagreements(d: Path, cases: list[dict]) -> int:
    """Cases where PreTrainedTokenizerFast(tokenizer_file=...) gives other ids than the vectors
    (made with AutoTokenizer): the two Hugging Face load paths differ on Unigram ties."""
    from transformers import PreTrainedTokenizerFast

    p = PreTrainedTokenizerFast(tokenizer_file=str(d / "tokenizer.json"))
    n = 0
    for c in cases:
        # lists, as the vectors were made: a single call would drop an empty text_pair
        pair = [c["text_pair"]] if c["text_pair"] is not None else None
        ids = p([c["text"]], pair, truncation=True, max_length=c["max_length"])["input_ids"][0]
        if ids != c["input_ids"][:sum(c["attention_mask"])]:
            n += 1
    return n


def write_variant(d: Path, tok, cases: list[dict], n_curated: int, seed: int, file_differs) -> dict:
    import tokenizers
    import transformers

    counts = wp.write_cases(d / "tokenizer_golden.jsonl", cases)
    tj = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))
    kind = {"BPE": "bpe", "Unigram": "unigram"}[tj["model"]["type"]]
    meta = {
        "generator": "scripts/gen_tokenizer_golden_families.py",
        "variant": d.name,
        "type": kind,
        "seed": seed,
        "tokenizers": tokenizers.__version__,
        "transformers": transformers.__version__,
        "tokenizer_class": type(tok).__name__,
        "pad_id": tok.pad_token_id,
        "unigram_scores": score_parsing(tok, d),
        "tokenizer_file_disagreements": file_differs,
        "vocab_size": len(tok.get_vocab()),
        "tokenizer_json_sha256": hashlib.sha256((d / "tokenizer.json").read_bytes()).hexdigest(),
        "max_length": MAX_LEN,
        "curated": n_curated,
        "fuzz": len(cases) - n_curated,
        "total": len(cases),
        "categories": dict(sorted(counts.items())),
    }
    (d / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="output directory (build dir)")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--fuzz", type=int, default=1500, help="random Unicode cases per variant")
    args = ap.parse_args()

    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    lines = corpus(random.Random(args.seed))
    variants = build_variants(args.out, lines)
    summary = []
    for name, d in variants.items():
        tok = load_hf(d)
        specials = sorted({t.content for t in tok.backend_tokenizer.get_added_tokens_decoder().values()})
        words = word_list(tok)
        rng = random.Random(args.seed)
        cases = wp.curated(rng, words) + family_cases(rng, specials)
        # pairs cannot be shorter than their special tokens (HF would not truncate them at all)
        pair_added = tok.backend_tokenizer.post_processor.num_special_tokens_to_add(True) \
            if tok.backend_tokenizer.post_processor is not None else 0
        cases = [c for c in cases if c["text_pair"] is None or c["max_length"] >= pair_added]
        n_curated = len(cases)
        cases += wp.fuzz(random.Random(args.seed * 1000003 + 1), args.fuzz, words)
        wp.encode_cases(tok, cases, with_normalized=True)
        differs = tokenizer_file_disagreements(d, cases) if (d / "tokenizer_config.json").is_file() else None
        meta = write_variant(d, tok, cases, n_curated, args.seed, differs)
        summary.append(f"{name} ({meta['type']}): {meta['curated']} + {meta['fuzz']}")
    print("tokenizer family golden: " + "; ".join(summary) + f" -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
