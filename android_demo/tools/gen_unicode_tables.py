#!/usr/bin/env python3
"""Generate core/src/main/java/org/bertedge/core/tokenizer/UnicodeTables.java.

The Java tokenizer must produce exactly the ids of the Hugging Face fast tokenizer
(`tokenizers` BertNormalizer + BertPreTokenizer + WordPiece). Those use the Unicode tables
compiled into the Rust crates (Unicode 16 for tokenizers 0.23), while a phone's ICU (API 24 =
Unicode 8) and JDK 17 (Unicode 13) know older versions. So we do not ask the platform: this
script *probes the installed `tokenizers` library* for every code point and writes the result
as compact tables. The Java side then depends on nothing but these tables.

Probed per code point (surrogates excluded, Rust strings cannot hold them):
  CONTROL     removed by clean_text (Cc/Cf/Co except \\t\\n\\r, U+0000, U+FFFD)
  WHITESPACE  mapped to ' ' by clean_text
  CHINESE     surrounded by spaces by handle_chinese_chars
  DECOMP      canonical decomposition (NFD) of one code point, Hangul excluded (algorithmic)
  CCC         canonical combining class of every non-starter (drives NFD reordering)
  MARK        removed by strip_accents (Mn) after NFD
  LOWER       per-code-point lowercase (1..3 code points)
  PUNCT       isolated by BertPreTokenizer (ASCII punctuation + Unicode P*)
  SPLIT       removed by BertPreTokenizer's whitespace split

and, for the tokenizer.json pipeline (byte-level BPE, SentencePiece Unigram):
  BL_LETTER, BL_NUMBER, BL_SPACE   \\p{L}, \\p{N}, \\s of the ByteLevel (GPT-2) regex, as Oniguruma
                                   inside tokenizers classifies them
  WHITE_SPACE Rust char::is_whitespace (Strip, WhitespaceSplit, added-token lstrip/rstrip)
  WORD        Rust regex \\w (single_word added tokens)
  COMBINING   removed by StripAccents (is_combining_mark)
  KDECOMP     NFKD of one code point where it differs from NFD
  COMPOSE     primary composites and their canonical pair (NFC/NFKC recomposition)
  GCB, EXT_PICT, INCB_*  extended grapheme cluster properties (the Precompiled normalizer walks
              graphemes with the unicode-segmentation crate): the `regex` module's, with what
              Precompiled shows of the crate's own data probed and corrected (needs the
              `sentencepiece` package to build probe charsmaps; for tokenizers 0.23.3 the result
              equals the crate's GCB, linker and InCB-extend tables exactly; EXT_PICT and
              INCB_CONSONANT stay regex's, which differ from the crate only on astral code points,
              whose clusters are never short enough for Precompiled to look them up whole)

Before writing, the tables are verified: a Python model of the Java algorithm, driven only by
the tables, must equal the real normalizer + pre-tokenizer on every single code point and on a
seeded set of random strings (mark sequences included, for reordering); the same holds for the
NFC/NFD/NFKC/NFKD model, the ByteLevel regex model and the grapheme model (against regex's \\X).

Usage:  python gen_unicode_tables.py            # (re)write the Java file
        python gen_unicode_tables.py --check    # exit 1 if the committed file is stale
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from tokenizers import normalizers as N
from tokenizers import pre_tokenizers as P
import tokenizers
from transformers.convert_slow_tokenizer import bytes_to_unicode  # GPT-2's byte <-> char map

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "core/src/main/java/org/bertedge/core/tokenizer/UnicodeTables.java"

SEP = "|"  # an ASCII starter that no probe below changes
CPS = [c for c in range(0x110000) if not (0xD800 <= c <= 0xDFFF) and chr(c) != SEP]
S_BASE, L_BASE, V_BASE, T_BASE = 0xAC00, 0x1100, 0x1161, 0x11A7
L_COUNT, V_COUNT, T_COUNT = 19, 21, 28
N_COUNT = V_COUNT * T_COUNT
S_COUNT = L_COUNT * N_COUNT


def batch_normalize(norm, items: list[str]) -> list[str]:
    """norm.normalize_str on each item, many items per call (items separated by SEP)."""
    out: list[str] = []
    step = 20000
    for i in range(0, len(items), step):
        chunk = items[i:i + step]
        res = norm.normalize_str(SEP + SEP.join(chunk) + SEP).split(SEP)[1:-1]
        if len(res) != len(chunk):
            res = [norm.normalize_str(x) for x in chunk]
        out.extend(res)
    return out


def bert(clean=False, chinese=False, strip=False, lower=False):
    return N.BertNormalizer(clean_text=clean, handle_chinese_chars=chinese,
                            strip_accents=strip, lowercase=lower)


def hangul_nfd(c: int) -> str:
    s = c - S_BASE
    l, v, t = L_BASE + s // N_COUNT, V_BASE + (s % N_COUNT) // T_COUNT, T_BASE + s % T_COUNT
    return chr(l) + chr(v) + (chr(t) if t != T_BASE else "")


def probe() -> dict:
    chars = [chr(c) for c in CPS]
    t: dict = {}
    clean = batch_normalize(bert(clean=True), chars)
    t["CONTROL"] = {c for c, o in zip(CPS, clean) if o == ""}
    t["WHITESPACE"] = {c for c, o in zip(CPS, clean) if o == " "}
    chin = batch_normalize(bert(chinese=True), chars)
    t["CHINESE"] = {c for c, o in zip(CPS, chin) if o == " " + chr(c) + " "}
    nfd = batch_normalize(N.NFD(), chars)
    decomp = {}
    for c, o in zip(CPS, nfd):
        if o != chr(c):
            if S_BASE <= c < S_BASE + S_COUNT:
                assert o == hangul_nfd(c), hex(c)
            else:
                decomp[c] = [ord(x) for x in o]
    t["DECOMP"] = decomp
    atomic = [c for c, o in zip(CPS, nfd) if o == chr(c)]
    # Non-starters: "a" + U+0345 (ccc 240) + x reorders iff 0 < ccc(x) < 240;
    # "a" + x + U+0334 (ccc 1) reorders iff ccc(x) > 1. One of them reorders iff ccc(x) != 0.
    a_items = ["a\u0345" + chr(c) for c in atomic]
    b_items = ["a" + chr(c) + "\u0334" for c in atomic]
    ra = batch_normalize(N.NFD(), a_items)
    rb = batch_normalize(N.NFD(), b_items)
    nonstarters = [c for c, x, y, ia, ib in zip(atomic, ra, rb, a_items, b_items)
                   if x != ia or y != ib]
    # Exact class: reference marks of every class in use; "a" + x + ref(v) reorders iff ccc(x) > v.
    import unicodedata
    # One reference mark per class, taken from marks this crate itself treats as non-starters
    # (the crate's Unicode version may be older than Python's for some marks).
    refs: dict[int, str] = {}
    for c in nonstarters:
        v = unicodedata.combining(chr(c))
        if v and v not in refs:
            refs[v] = chr(c)
    values = sorted(refs)
    ccc = {}
    for c in nonstarters:
        items = ["a" + chr(c) + refs[v] for v in values]
        res = batch_normalize(N.NFD(), items)
        above = [v for v, it, r in zip(values, items, res) if r != it]
        cand = [v for v in values if v not in above]
        assert cand and (not above or max(above) < cand[0]), hex(c)
        ccc[c] = cand[0]
        py = unicodedata.combining(chr(c))
        if py != ccc[c]:
            raise SystemExit(f"ccc disagreement at U+{c:04X}: probe {ccc[c]}, unicodedata {py}")
    t["CCC"] = ccc
    strip = batch_normalize(bert(strip=True), [chr(c) for c in atomic])
    t["MARK"] = {c for c, o in zip(atomic, strip) if o == ""}
    low = batch_normalize(N.Lowercase(), chars)
    t["LOWER"] = {c: [ord(x) for x in o] for c, o in zip(CPS, low) if o != chr(c)}
    pre = P.BertPreTokenizer()
    punct, split = set(), set()
    step = 20000
    for i in range(0, len(CPS), step):
        chunk = CPS[i:i + step]
        s = "a" + "a".join(chr(c) for c in chunk) + "a"
        pieces = pre.pre_tokenize_str(s)
        starts = {off[0]: w for w, off in pieces}
        covered = set()
        for w, (b, e) in pieces:
            covered.update(range(b, e))
        for j, c in enumerate(chunk):
            pos = 2 * j + 1
            if pos not in covered:
                split.add(c)
            elif starts.get(pos) == chr(c) and (pos + 1) in starts:
                punct.add(c)
    # SEP itself ('|') is ASCII punctuation; it was excluded from CPS.
    punct.add(ord(SEP))
    t["PUNCT"], t["SPLIT"] = punct, split
    return t


# ---------------------------------------------------------------- tokenizer.json pipeline tables
# Unicode version of the unicode-segmentation crate in tokenizers 0.23 (its graphemes drive the
# Precompiled normalizer). The `regex` module gives the grapheme properties; it must know at
# least that version (a code point first assigned in it must be assigned for `regex`); where it
# knows a newer one, correct_gcb() puts back what the crate does.
GRAPHEME_UNICODE = "17.0"
GRAPHEME_PROBE_CP = 0x20C1  # SAUDI RIYAL SIGN, new in Unicode 17.0
GCB_CODES = {"CR": 1, "LF": 2, "Control": 3, "Extend": 4, "ZWJ": 5, "Regional_Indicator": 6,
             "Prepend": 7, "SpacingMark": 8, "L": 9, "V": 10, "T": 11, "LV": 12, "LVT": 13}


def _bytelevel_boundaries(prefix: str) -> dict:
    """For "<prefix>c!" units: (boundary before c, boundary after c) per code point."""
    pre = P.ByteLevel(add_prefix_space=False, use_regex=True)
    res = {}
    step = 20000
    cps = CPS + [ord(SEP)]
    for i in range(0, len(cps), step):
        chunk = cps[i:i + step]
        s = "".join(prefix + chr(c) + "!" for c in chunk)
        starts = {o[0] for _, o in pre.pre_tokenize_str(s)}
        for j, c in enumerate(chunk):
            res[c] = ((3 * j + 1) in starts, (3 * j + 2) in starts)
    return res


def probe_hf(t: dict) -> None:
    import regex

    cps_all = CPS + [ord(SEP)]
    # ByteLevel regex classes: 'a' + c joins iff c is a letter, '1' + c iff a number; a
    # non-letter/number/space joins the following '!'; what is left is whitespace.
    ra, r1 = _bytelevel_boundaries("a"), _bytelevel_boundaries("1")
    t["BL_LETTER"] = {c for c in cps_all if not ra[c][0]}
    t["BL_NUMBER"] = {c for c in cps_all if not r1[c][0]}
    other = {c for c in cps_all if ra[c][0] and not ra[c][1]}
    t["BL_SPACE"] = set(cps_all) - t["BL_LETTER"] - t["BL_NUMBER"] - other
    t["BL_SPACE"].add(0x20)  # " !" joins as ' ?[^\s\pL\pN]+': the probe cannot see it
    # Rust char::is_whitespace, via WhitespaceSplit
    pre = P.WhitespaceSplit()
    ws = set()
    step = 20000
    for i in range(0, len(CPS), step):
        chunk = CPS[i:i + step]
        s = "a" + "a".join(chr(c) for c in chunk) + "a"
        covered = set()
        for _, (b, e) in pre.pre_tokenize_str(s):
            covered.update(range(b, e))
        ws.update(c for j, c in enumerate(chunk) if 2 * j + 1 not in covered)
    t["WHITE_SPACE"] = ws
    # Rust regex \w: a single_word added token after c matches iff c is not a word character
    from tokenizers import AddedToken, Tokenizer, models
    mark = "\u00a7"
    tok = Tokenizer(models.WordLevel({"[UNK]": 0, mark: 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = P.WhitespaceSplit()
    tok.add_tokens([AddedToken(mark, single_word=True, normalized=False)])
    word = set()
    step = 50000
    for i in range(0, len(cps_all), step):
        chunk = [c for c in cps_all[i:i + step] if c != ord(mark)]
        enc = tok.encode("".join(chr(c) + mark + " " for c in chunk), add_special_tokens=False)
        hit = {o[0] for tid, o in zip(enc.ids, enc.offsets) if tid == 1}
        word.update(c for j, c in enumerate(chunk) if 3 * j + 1 not in hit)
    t["WORD"] = word
    chars = [chr(c) for c in CPS]
    t["COMBINING"] = {c for c, o in zip(CPS, batch_normalize(N.StripAccents(), chars)) if o == ""}
    nfd = batch_normalize(N.NFD(), chars)
    nfkd = batch_normalize(N.NFKD(), chars)
    nfc = batch_normalize(N.NFC(), chars)
    t["KDECOMP"] = {c: [ord(x) for x in k] for c, d, k in zip(CPS, nfd, nfkd) if k != d}
    # Primary composites: decomposable, and NFC gives them back. Their canonical pair comes from
    # unicodedata (decompositions never change between versions); checked by NFC below.
    import unicodedata
    compose = {}
    for c, d, o in zip(CPS, nfd, nfc):
        if d != chr(c) and o == chr(c) and not (S_BASE <= c < S_BASE + S_COUNT):
            parts = unicodedata.decomposition(chr(c)).split()
            assert len(parts) == 2 and not parts[0].startswith("<"), hex(c)
            compose[c] = [int(parts[0], 16), int(parts[1], 16)]
    check = batch_normalize(N.NFC(), [chr(a) + chr(b) for a, b in compose.values()])
    assert all(r == chr(c) for c, r in zip(compose, check)), "composition pair check failed"
    t["COMPOSE"] = compose
    # grapheme cluster properties (see GRAPHEME_UNICODE)
    if not regex.match(r"\p{Assigned}", chr(GRAPHEME_PROBE_CP)):
        raise SystemExit(f"the regex module {regex.__version__} predates Unicode {GRAPHEME_UNICODE}, "
                         f"the grapheme tables of tokenizers' unicode-segmentation; upgrade regex")
    allc = "".join(chr(c) for c in cps_all)
    gcb = {}
    for name, code in GCB_CODES.items():
        for m in regex.finditer(r"\p{Grapheme_Cluster_Break=%s}" % name, allc):
            gcb[ord(m.group())] = code
    t["_GCB_REGEX"] = gcb
    t["GCB"] = correct_gcb(gcb)
    t["EXT_PICT"] = {ord(m.group()) for m in regex.finditer(r"\p{Extended_Pictographic}", allc)}
    for name in ("Consonant", "Linker", "Extend"):
        t["INCB_" + name.upper()] = {ord(m.group()) for m in regex.finditer(r"\p{InCB=%s}" % name, allc)}
    # a linker or InCB extend is a grapheme extender: drop those the probes found not to be
    # (code points the crate's Unicode version does not assign yet)
    for key in ("INCB_LINKER", "INCB_EXTEND"):
        t[key] = {c for c in t[key] if t["GCB"].get(c, 0) in (4, 5)}


def _charsmap(rules: list[tuple[str, str]]) -> bytes:
    """A SentencePiece precompiled charsmap of our own rules (source → target strings), to probe
    how tokenizers' Precompiled normalizer cuts graphemes."""
    import io
    import tempfile

    try:
        import sentencepiece as spm
    except ImportError:
        raise SystemExit("the sentencepiece package is needed to probe grapheme clusters (pip install sentencepiece)")
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", encoding="utf-8", delete=False) as fh:
        for src, dst in rules:
            fh.write(" ".join(f"{ord(c):x}" for c in src) + "\t" + " ".join(f"{ord(c):x}" for c in dst) + "\n")
        path = fh.name
    try:
        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(sentence_iterator=iter(["probe %d" % i for i in range(40)]), model_writer=buf,
                                       vocab_size=20, model_type="unigram", normalization_rule_tsv=path,
                                       num_threads=1, minloglevel=2, hard_vocab_limit=False)
    finally:
        Path(path).unlink()

    from converters.sentencepiece_model import precompiled_charsmap

    return precompiled_charsmap(buf.getvalue())


def correct_gcb(gcb: dict) -> dict:
    """The regex module may know a newer Unicode than tokenizers' unicode-segmentation crate
    (new marks would join graphemes there and not here). Precompiled shows where the crate cuts
    (a grapheme shorter than 6 bytes whose first code point is a key is replaced whole), so
    probe it with charsmaps of our own and correct what differs:
      'a' + X joins      iff X is Extend, ZWJ or SpacingMark      (key 'a')
      X + 'a' joins      iff X is Prepend                          (key X + 'a')
      X + U+0301 apart   iff X is CR, LF or Control (BMP: an astral X with a mark is 6 bytes,
                         never looked up whole, so the difference cannot show there)"""
    from tokenizers import normalizers as N

    def run(norm, items):  # one probe per line: LF always ends a grapheme ('|' would not)
        out = []
        for i in range(0, len(items), 20000):
            chunk = items[i:i + 20000]
            res = norm.normalize_str("\n" + "\n".join(chunk) + "\n").split("\n")[1:-1]
            assert len(res) == len(chunk)
            out += res
        return out

    gcb = dict(gcb)
    cps = [c for c in CPS if c not in (0x00, 0x0A, 0x0D)]  # NUL ends a trie key; CR, LF are known
    pre = N.Precompiled(_charsmap([("a", "b")]))
    res = run(pre, ["a" + chr(c) for c in cps])
    for c, r in zip(cps, res):
        joins = r == "b"
        if joins and gcb.get(c, 0) not in (4, 5, 8):
            gcb[c] = 4
        elif not joins and gcb.get(c, 0) in (4, 5, 8):
            gcb.pop(c)
    pre = N.Precompiled(_charsmap([(chr(c) + "a", "P") for c in cps]))
    res = run(pre, [chr(c) + "a" for c in cps])
    for c, r in zip(cps, res):
        if r == "P" and gcb.get(c, 0) != 7:
            gcb[c] = 7
        elif r != "P" and gcb.get(c, 0) == 7:
            gcb.pop(c)
    bmp = [c for c in cps if c <= 0xFFFF]
    pre = N.Precompiled(_charsmap([(chr(c) + "\u0301", "J") for c in bmp]))
    res = run(pre, [chr(c) + "\u0301" for c in bmp])
    for c, r in zip(bmp, res):
        if r != "J" and gcb.get(c, 0) not in (1, 2, 3):
            gcb[c] = 3
        elif r == "J" and gcb.get(c, 0) == 3:
            gcb.pop(c)
    return gcb


# ---- model: NFD/NFKD/NFC/NFKC as unicode-normalization-alignments 0.1.12 computes them
def _decompose(text: str, t: dict, compat: bool) -> list[int]:
    out = []
    for ch in text:
        c = ord(ch)
        if S_BASE <= c < S_BASE + S_COUNT:
            out += [ord(x) for x in hangul_nfd(c)]
        elif compat and c in t["KDECOMP"]:
            out += t["KDECOMP"][c]
        else:
            out += t["DECOMP"].get(c, [c])
    i = 0  # stable sort of every run of non-starters by combining class
    while i < len(out):
        if t["CCC"].get(out[i], 0) == 0:
            i += 1
            continue
        j = i
        while j < len(out) and t["CCC"].get(out[j], 0) != 0:
            j += 1
        out[i:j] = sorted(out[i:j], key=lambda x: t["CCC"][x])
        i = j
    return out


def _compose_pair(a: int, b: int, pairs: dict):
    if L_BASE <= a < L_BASE + L_COUNT and V_BASE <= b < V_BASE + V_COUNT:
        return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT
    if S_BASE <= a < S_BASE + S_COUNT and (a - S_BASE) % T_COUNT == 0 and T_BASE < b < T_BASE + T_COUNT:
        return a + (b - T_BASE)
    return pairs.get((a, b))


def _recompose(cps: list[int], t: dict, pairs: dict) -> list[int]:
    out, buf = [], []
    composee, last_ccc = None, None
    for ch in cps:
        cc = t["CCC"].get(ch, 0)
        if composee is None:
            if cc != 0:
                out.append(ch)
                continue
            composee = ch
            continue
        if last_ccc is None:
            r = _compose_pair(composee, ch, pairs)
            if r is not None:
                composee = r
                continue
            if cc == 0:
                out.append(composee)
                composee = ch
                continue
            buf.append(ch)
            last_ccc = cc
        else:
            if last_ccc >= cc:
                if cc == 0:
                    out.append(composee)
                    out += buf
                    buf, composee, last_ccc = [], ch, None
                    continue
                buf.append(ch)
                last_ccc = cc
                continue
            r = _compose_pair(composee, ch, pairs)
            if r is not None:
                composee = r
                continue
            buf.append(ch)
            last_ccc = cc
    if composee is not None:
        out.append(composee)
    return out + buf


def model_unicode_form(text: str, t: dict, form: str) -> str:
    pairs = t.get("_pairs")
    if pairs is None:
        pairs = t["_pairs"] = {tuple(v): k for k, v in t["COMPOSE"].items()}
    d = _decompose(text, t, form in ("NFKD", "NFKC"))
    if form in ("NFC", "NFKC"):
        d = _recompose(d, t, pairs)
    return "".join(chr(c) for c in d)


# ---- model: the GPT-2 regex of the ByteLevel pre-tokenizer over the probed classes
def model_bytelevel_split(s: str, t: dict) -> list[str]:
    L, Nn, S = t["BL_LETTER"], t["BL_NUMBER"], t["BL_SPACE"]

    def cls(ch):
        c = ord(ch)
        return "L" if c in L else "N" if c in Nn else "S" if c in S else "O"
    out, i, n = [], 0, len(s)
    while i < n:
        if s[i] == "'":
            for suf in ("s", "t", "re", "ve", "m", "ll", "d"):
                if s.startswith(suf, i + 1):
                    out.append(s[i:i + 1 + len(suf)])
                    i += 1 + len(suf)
                    break
            else:
                suf = None
            if suf is not None:
                continue
        j = i + 1 if s[i] == " " and i + 1 < n and cls(s[i + 1]) != "S" else i
        k = cls(s[j])
        if k != "S":
            e = j + 1
            while e < n and cls(s[e]) == k:
                e += 1
            out.append(s[i:e])
            i = e
            continue
        e = i
        while e < n and cls(s[e]) == "S":
            e += 1
        if e < n and e - i > 1:
            e -= 1  # \s+(?!\S): leave the last space to the next word
        out.append(s[i:e])
        i = e
    return out


# ---- model: extended grapheme clusters (UAX #29 as unicode-segmentation implements it)
def model_graphemes(s: str, t: dict, strict_gb9c: bool = True) -> list[str]:
    gcb, pict = t["GCB"], t["EXT_PICT"]
    cons, link, ext = t["INCB_CONSONANT"], t["INCB_LINKER"], t["INCB_EXTEND"]
    out, start = [], 0
    emoji = 0      # 1: ExtPict Extend*, 2: ExtPict Extend* ZWJ
    ri = 0         # regional indicators in a row
    incb = 0       # 1: Consonant [Extend|Linker]*, 2: ... with a Linker
    for i, ch in enumerate(s):
        c = ord(ch)
        g = gcb.get(c, 0)
        if i > 0:
            p = gcb.get(ord(s[i - 1]), 0)
            if p == 1 and g == 2:
                brk = False
            elif p in (1, 2, 3) or g in (1, 2, 3):
                brk = True
            elif p == 9 and g in (9, 10, 12, 13):
                brk = False
            elif p in (12, 10) and g in (10, 11):
                brk = False
            elif p in (13, 11) and g == 11:
                brk = False
            elif g in (4, 5, 8) or p == 7:
                brk = False
            elif c in cons and incb == 2:
                brk = False
            elif p == 5 and c in pict and emoji == 2:
                brk = False
            elif p == 6 and g == 6 and ri % 2 == 1:
                brk = False
            else:
                brk = True
            if brk:
                out.append(s[start:i])
                start = i
        # state after this code point
        if c in pict:
            emoji = 1
        elif emoji == 1 and g == 4:
            pass
        elif emoji == 1 and g == 5:
            emoji = 2
        else:
            emoji = 0
        ri = ri + 1 if g == 6 else 0
        if c in cons:
            incb = 1
        elif (incb or not strict_gb9c) and c in link:
            incb = 2
        elif incb and c in ext:
            pass
        else:
            incb = 0
    if start < len(s):
        out.append(s[start:])
    return out


def verify_hf(t: dict) -> None:
    import regex

    chars = [chr(c) for c in CPS]
    touched = set(t["DECOMP"]) | set(t["KDECOMP"]) | set(t["CCC"]) | set(range(S_BASE, S_BASE + S_COUNT))
    for form in ("NFD", "NFKD", "NFC", "NFKC"):
        ref = batch_normalize(getattr(N, form)(), chars)
        # a code point in no table must come back unchanged; the others go through the model
        bad = [c for c, ch, r in zip(CPS, chars, ref)
               if (model_unicode_form(ch, t, form) if c in touched else ch) != r]
        if bad:
            raise SystemExit(f"{form} model differs from tokenizers on {len(bad)} code points, first U+{bad[0]:04X}")
    rng = random.Random(4321)
    marks = sorted(t["CCC"])
    pools = [marks, list(t["DECOMP"]), list(t["KDECOMP"]), list(t["COMPOSE"]),
             [v[0] for v in t["COMPOSE"].values()], [v[1] for v in t["COMPOSE"].values()],
             list(range(0x1100, 0x1200)), list(range(0xAC00, 0xAC60)), list(range(0x20, 0x7F)), CPS]
    forms = {f: getattr(N, f)() for f in ("NFD", "NFKD", "NFC", "NFKC")}
    for _ in range(20000):
        s = "".join(chr(rng.choice(rng.choice(pools))) for _ in range(rng.randint(0, 16)))
        for f, norm in forms.items():
            if model_unicode_form(s, t, f) != norm.normalize_str(s):
                raise SystemExit(f"{f} model differs on {s!r}")
    pre = P.ByteLevel(add_prefix_space=False, use_regex=True)
    inv = {v: k for k, v in bytes_to_unicode().items()}
    classes = [sorted(t["BL_LETTER"])[:3000], sorted(t["BL_NUMBER"]), sorted(t["BL_SPACE"]),
               list(range(0x20, 0x7F)), [0x27, 0x20, 0x20, 0x73, 0x74, 0x72, 0x65, 0x76, 0x6D, 0x6C, 0x64], CPS]
    for _ in range(20000):
        s = "".join(chr(rng.choice(rng.choice(classes))) for _ in range(rng.randint(0, 24)))
        want = [bytes(inv[ch] for ch in w).decode("utf-8") for w, _ in pre.pre_tokenize_str(s)]
        if want != model_bytelevel_split(s, t):
            raise SystemExit(f"ByteLevel regex model differs on {s!r}: {model_bytelevel_split(s, t)} != {want}")
    gpools = [sorted(t["GCB"]), sorted(t["EXT_PICT"]), sorted(t["INCB_CONSONANT"]), sorted(t["INCB_LINKER"]),
              sorted(t["INCB_EXTEND"]), [0x200D, 0x0D, 0x0A, 0x1F1E6, 0x1F1FA], list(range(0x20, 0x7F)), CPS]
    # the rules against regex's \\X, on code points whose properties the probes left as regex has them
    same = [c for c in CPS if t["GCB"].get(c, 0) == t["_GCB_REGEX"].get(c, 0)]
    sameset = set(same)
    gpools = [[c for c in p if c in sameset] for p in gpools[:-1]] + [same]
    for _ in range(30000):
        s = "".join(chr(rng.choice(rng.choice(gpools))) for _ in range(rng.randint(0, 12)))
        want = regex.findall(r"\X", s)
        # regex's \X applies GB9c without the leading consonant (Linker x Consonant); the crate
        # follows UAX #29. Accept a difference only when that is the whole explanation.
        if want != model_graphemes(s, t) and want != model_graphemes(s, t, strict_gb9c=False):
            raise SystemExit(f"grapheme model differs from regex \\X on {s!r}")


def model_normalize(text: str, t: dict) -> str:
    out = []
    for ch in text:
        c = ord(ch)
        if c in t["CONTROL"]:
            continue
        out.append(32 if c in t["WHITESPACE"] else c)
    spaced = []
    for c in out:
        if c in t["CHINESE"]:
            spaced += [32, c, 32]
        else:
            spaced.append(c)
    dec = []
    for c in spaced:
        if S_BASE <= c < S_BASE + S_COUNT:
            dec += [ord(x) for x in hangul_nfd(c)]
        else:
            dec += t["DECOMP"].get(c, [c])
    # canonical ordering: stable sort of each run of non-starters by class
    i = 0
    while i < len(dec):
        if t["CCC"].get(dec[i], 0) == 0:
            i += 1
            continue
        j = i
        while j < len(dec) and t["CCC"].get(dec[j], 0) != 0:
            j += 1
        dec[i:j] = sorted(dec[i:j], key=lambda x: t["CCC"][x])
        i = j
    res = []
    for c in dec:
        if c in t["MARK"]:
            continue
        res += t["LOWER"].get(c, [c])
    return "".join(chr(c) for c in res)


def model_pretokenize(norm: str, t: dict) -> list[str]:
    words, cur = [], []
    for ch in norm:
        c = ord(ch)
        if c in t["SPLIT"]:
            if cur:
                words.append("".join(cur))
                cur = []
        elif c in t["PUNCT"]:
            if cur:
                words.append("".join(cur))
                cur = []
            words.append(ch)
        else:
            cur.append(ch)
    if cur:
        words.append("".join(cur))
    return words


def verify(t: dict) -> None:
    full = bert(clean=True, chinese=True, strip=None, lower=True)
    pre = P.BertPreTokenizer()
    chars = [chr(c) for c in CPS]
    ref = batch_normalize(full, chars)
    bad = [c for c, ch, r in zip(CPS, chars, ref) if model_normalize(ch, t) != r]
    if bad:
        raise SystemExit(f"table model differs from tokenizers on {len(bad)} code points, "
                         f"first U+{bad[0]:04X}")
    rng = random.Random(1234)
    marks = sorted(t["CCC"]) + sorted(t["MARK"])[:200]
    pools = [marks, list(t["DECOMP"]), list(range(0x20, 0x7F)), list(range(0xAC00, 0xAC40)),
             sorted(t["PUNCT"])[:300], [0x20, 0x3000, 0x200B, 0x4E00, 0x130, 0x3A3], CPS]
    for _ in range(20000):
        n = rng.randint(0, 24)
        s = "".join(chr(rng.choice(rng.choice(pools))) for _ in range(n))
        want = full.normalize_str(s)
        got = model_normalize(s, t)
        if got != want:
            raise SystemExit(f"table model differs on {s!r}: {got!r} != {want!r}")
        if [w for w, _ in pre.pre_tokenize_str(want)] != model_pretokenize(want, t):
            raise SystemExit(f"pre-tokenizer model differs on {want!r}")


# ---------------------------------------------------------------- Java emission
def ranges(s: set) -> str:
    cs = sorted(s)
    out, i = [], 0
    while i < len(cs):
        j = i
        while j + 1 < len(cs) and cs[j + 1] == cs[j] + 1:
            j += 1
        out.append(f"{cs[i]:x}" if i == j else f"{cs[i]:x}-{cs[j]:x}")
        i = j + 1
    return ",".join(out)


def range_map(m: dict) -> str:
    """{cp: small int} as 'a-b:v' runs of equal values."""
    out, cs, i = [], sorted(m), 0
    while i < len(cs):
        j = i
        while j + 1 < len(cs) and cs[j + 1] == cs[j] + 1 and m[cs[j + 1]] == m[cs[i]]:
            j += 1
        out.append((f"{cs[i]:x}" if i == j else f"{cs[i]:x}-{cs[j]:x}") + f":{m[cs[i]]:x}")
        i = j + 1
    return ",".join(out)


def mapping(m: dict) -> str:
    return ",".join(f"{k:x}:" + " ".join(f"{v:x}" for v in m[k]) for k in sorted(m))


def chunks(s: str, width: int = 100) -> str:
    lines = [s[i:i + width] for i in range(0, len(s), width)] or [""]
    return "\n".join(f'        + "{ln}"' for ln in lines).replace("        + ", "          ", 1)


def java_source(t: dict) -> str:
    fields = [
        ("CONTROL", "Removed by clean_text: Cc/Cf/Co except tab, LF, CR; U+0000; U+FFFD.", ranges(t["CONTROL"])),
        ("WHITESPACE", "Mapped to U+0020 by clean_text.", ranges(t["WHITESPACE"])),
        ("CHINESE", "CJK ideographs surrounded by spaces (handle_chinese_chars).", ranges(t["CHINESE"])),
        ("MARK", "Non-spacing marks removed after NFD (strip_accents).", ranges(t["MARK"])),
        ("PUNCT", "Split off as single-character words by BertPreTokenizer.", ranges(t["PUNCT"])),
        ("SPLIT", "Whitespace removed by BertPreTokenizer's split.", ranges(t["SPLIT"])),
        ("DECOMP", "Full canonical decomposition (NFD) per code point, Hangul syllables excluded.", mapping(t["DECOMP"])),
        ("LOWER", "Lowercase mapping per code point (may be several code points).", mapping(t["LOWER"])),
        ("CCC", "Canonical combining class of every non-starter.",
         ",".join(f"{k:x}:{v:x}" for k, v in sorted(t["CCC"].items()))),
        ("BL_LETTER", "\\p{L} of the ByteLevel (GPT-2) regex, as Oniguruma in tokenizers sees it.", ranges(t["BL_LETTER"])),
        ("BL_NUMBER", "\\p{N} of the ByteLevel regex.", ranges(t["BL_NUMBER"])),
        ("BL_SPACE", "\\s of the ByteLevel regex.", ranges(t["BL_SPACE"])),
        ("WHITE_SPACE", "Rust char::is_whitespace (Strip, WhitespaceSplit, added-token lstrip/rstrip).",
         ranges(t["WHITE_SPACE"])),
        ("WORD", "Rust regex \\w (single_word added tokens).", ranges(t["WORD"])),
        ("COMBINING", "Removed by the StripAccents normalizer.", ranges(t["COMBINING"])),
        ("KDECOMP", "Full compatibility decomposition (NFKD) where it differs from NFD.", mapping(t["KDECOMP"])),
        ("COMPOSE", "Primary composites and their canonical pair (NFC/NFKC recomposition).", mapping(t["COMPOSE"])),
        ("GCB", "Grapheme_Cluster_Break (Unicode " + GRAPHEME_UNICODE + "): 1 CR, 2 LF, 3 Control, 4 Extend, 5 ZWJ, "
         "6 Regional_Indicator, 7 Prepend, 8 SpacingMark, 9 L, a V, b T, c LV, d LVT; 0 otherwise.", range_map(t["GCB"])),
        ("EXT_PICT", "Extended_Pictographic (graphemes, rule GB11).", ranges(t["EXT_PICT"])),
        ("INCB_CONSONANT", "Indic_Conjunct_Break=Consonant (graphemes, rule GB9c).", ranges(t["INCB_CONSONANT"])),
        ("INCB_LINKER", "Indic_Conjunct_Break=Linker.", ranges(t["INCB_LINKER"])),
        ("INCB_EXTEND", "Indic_Conjunct_Break=Extend.", ranges(t["INCB_EXTEND"])),
    ]
    parts = []
    for name, doc, data in fields:
        # one string constant must stay below 65535 bytes: split long tables into several
        pieces = [data[i:i + 30000] for i in range(0, len(data), 30000)] or [""]
        consts = []
        for k, p in enumerate(pieces):
            consts.append(f"    private static final String {name}_{k} =\n{chunks(p)};\n")
        # an array, not a '+' of constants: javac would fold that into one over-long constant
        parts.append(f"    /** {doc} */\n" + "".join(consts) +
                     f"    static final String[] {name} = {{" +
                     ", ".join(f"{name}_{k}" for k in range(len(pieces))) + "};\n")
    body = "\n".join(parts)
    return f"""// GENERATED by android_demo/tools/gen_unicode_tables.py from tokenizers {tokenizers.__version__}.
// Do not edit. Regenerate with: python android_demo/tools/gen_unicode_tables.py
package org.bertedge.core.tokenizer;

/**
 * Character tables of the Hugging Face tokenizers (the BERT normalizer and pre-tokenizer, the
 * ByteLevel regex, the Unicode normal forms, Strip/StripAccents/WhitespaceSplit, grapheme
 * clusters), probed code point by code point from the Rust {{@code tokenizers}} library (grapheme
 * properties: from the {{@code regex}} module at the same Unicode version), so that tokenization
 * does not depend on the Unicode version of the JVM or of the phone's ICU. Hex text; ranges are {{@code a-b}}, maps
 * are {{@code cp:v1 v2}}; entries are separated by commas; a table may be split over several
 * strings. Parsed once by {{@link CharTables}}.
 */
final class UnicodeTables {{
    private UnicodeTables() {{}}

    static final String TOKENIZERS_VERSION = "{tokenizers.__version__}";
    /** Unicode version of the grapheme tables (the unicode-segmentation crate's). */
    static final String GRAPHEME_UNICODE = "{GRAPHEME_UNICODE}";

{body}}}
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the committed file is stale")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--no-verify", action="store_true", help="skip the model check (faster)")
    args = ap.parse_args()
    t = probe()
    probe_hf(t)
    if not args.no_verify:
        verify(t)
        verify_hf(t)
    src = java_source(t)
    if args.check:
        cur = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if cur != src:
            print(f"error: {args.out} is stale for tokenizers {tokenizers.__version__}; "
                  f"run android_demo/tools/gen_unicode_tables.py", file=sys.stderr)
            return 1
        print(f"unicode tables up to date (tokenizers {tokenizers.__version__})")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(src, encoding="utf-8")
    print(f"wrote {args.out} ({len(src)} chars): " + ", ".join(
        f"{k}={len(v)}" for k, v in t.items() if not k.startswith("_")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
