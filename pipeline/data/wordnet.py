"""WordNet 3.0 glosses as a general-distillation corpus (`--unlabeled wordnet`).

No Wikipedia is reachable offline; Debian's `wordnet-base` package ships Princeton's WordNet 3.0
database (WordNet 3.0 license: use, copy, modify and distribute with its copyright notice), whose
117,659 synsets each carry an English definition and most carry quoted usage sentences. One
passage per synset: "lemma, lemma: definition; usage; usage".
"""
from __future__ import annotations

import re
from pathlib import Path

from pipeline.errors import BertEdgeError

DEFAULT_ROOT = Path("/usr/share/wordnet")
POS_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
INSTALL_HINT = "install Debian's wordnet-base (apt-get install wordnet-base)"

_ADJ_MARKER = re.compile(r"\((a|p|ip)\)$")  # adjective position markers: big(a), galore(ip)


def _synset_passage(line: str) -> str | None:
    """One line of a data.* file -> its passage, or None for the license header."""
    if line.startswith("  ") or "|" not in line:
        return None
    fields, gloss = line.split("|", 1)
    parts = fields.split()
    # offset lex_filenum ss_type w_cnt(hex) word lex_id [word lex_id ...] ...
    n_words = int(parts[3], 16)
    lemmas = []
    for word in parts[4:4 + 2 * n_words:2]:
        word = _ADJ_MARKER.sub("", word).replace("_", " ")
        if word.lower() not in (w.lower() for w in lemmas):
            lemmas.append(word)
    gloss = " ".join(gloss.replace('"', "").split())
    return f"{', '.join(lemmas)}: {gloss}" if gloss else None


def wordnet_passages(root: str | Path = DEFAULT_ROOT) -> list[str]:
    """Every synset's passage, in file order (nouns, verbs, adjectives, adverbs)."""
    root = Path(root)
    missing = [f for f in POS_FILES if not (root / f).is_file()]
    if missing:
        raise BertEdgeError(f"wordnet: {root / missing[0]} not found ({INSTALL_HINT}, or give "
                            f"wordnet:DIR for a directory holding {', '.join(POS_FILES)})")
    passages: list[str] = []
    for name in POS_FILES:
        with open(root / name, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                try:
                    p = _synset_passage(line.rstrip("\n"))
                except (ValueError, IndexError):
                    raise BertEdgeError(f"wordnet: {root / name} line {lineno} is not a WordNet "
                                        "data line") from None
                if p:
                    passages.append(p)
    if not passages:
        raise BertEdgeError(f"wordnet: no synsets in {root}")
    return passages
