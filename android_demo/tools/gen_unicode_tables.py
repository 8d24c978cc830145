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

Before writing, the tables are verified: a Python model of the Java algorithm, driven only by
the tables, must equal the real normalizer + pre-tokenizer on every single code point and on a
seeded set of random strings (mark sequences included, for reordering).

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


# ---------------------------------------------------------------- model of the Java algorithm
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
 * Character tables of the Hugging Face BERT normalizer and pre-tokenizer, probed code point by
 * code point from the Rust {{@code tokenizers}} library, so that tokenization does not depend on
 * the Unicode version of the JVM or of the phone's ICU. Hex text; ranges are {{@code a-b}}, maps
 * are {{@code cp:v1 v2}}; entries are separated by commas; a table may be split over several
 * strings. Parsed once by {{@link CharTables}}.
 */
final class UnicodeTables {{
    private UnicodeTables() {{}}

    static final String TOKENIZERS_VERSION = "{tokenizers.__version__}";

{body}}}
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the committed file is stale")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--no-verify", action="store_true", help="skip the model check (faster)")
    args = ap.parse_args()
    t = probe()
    if not args.no_verify:
        verify(t)
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
        f"{k}={len(v)}" for k, v in t.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
