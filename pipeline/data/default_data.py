"""The embedded default dataset: project-authored movie-review sentiment sentences.

A deterministic generator over templates and lexicons. It is learnable but not trivial: besides
plain statements it has negation ("is not dull"), contrast where the clause after "but" or the
main clause decides ("Although the plot is clumsy, the acting is superb"), verbs of liking,
expectations turned around, and recommendations. The shipped files under `default/` are its
output (a test checks they match), so the package works offline with no generation step.

Regenerate with: python -m pipeline.data.default_data
"""
from __future__ import annotations

import random
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parent / "default"
LABELS = ["negative", "positive"]
SEED = 20261120

SUBJECTS = [
    "the movie", "this film", "the plot", "the acting", "the soundtrack", "the script",
    "the director's latest work", "the cast", "the ending", "the dialogue", "the camera work",
    "the pacing", "the story", "the lead performance", "the visual effects", "the humor",
    "the second half", "the opening scene", "this sequel", "the documentary", "the animation",
    "the screenplay", "the romance", "the villain", "the final act",
]
POS = [
    "brilliant", "charming", "moving", "gripping", "delightful", "heartfelt", "clever", "stunning",
    "witty", "engaging", "memorable", "thoughtful", "wonderful", "funny", "tender", "inventive",
    "superb", "beautiful", "sharp", "exciting", "touching", "fresh", "smart", "lovely",
]
NEG = [
    "dull", "tedious", "clumsy", "predictable", "lifeless", "boring", "messy", "forgettable",
    "shallow", "bland", "painful", "awkward", "overlong", "incoherent", "flat", "lazy",
    "tiresome", "silly", "weak", "stale", "sloppy", "cheap", "hollow", "grating",
]
INTENS = ["", "", "", "very ", "really ", "remarkably ", "utterly ", "surprisingly ", "genuinely ",
          "rather ", "truly ", "quite ", "so "]
OPENERS = ["", "", "", "", "Honestly, ", "Overall, ", "In the end, ", "To be fair, ", "Frankly, ",
           "All in all, ", "Sadly, ", "Thankfully, "]
LIKE = ["loved", "enjoyed", "adored", "admired", "was moved by", "was won over by", "savored"]
DISLIKE = ["hated", "disliked", "was bored by", "regretted watching", "could not stand", "was annoyed by"]
LIKE_BASE = ["enjoy", "like", "love", "care for", "appreciate"]
NEG_NP = ["a slow start", "some clumsy dialogue", "a few flat jokes", "its messy middle",
          "an awkward opening", "a predictable twist", "a weak supporting cast", "its length"]
POS_NP = ["a clever premise", "a strong cast", "some lovely images", "a witty opening",
          "a charming lead", "its big budget", "a promising trailer", "a fine score"]
REC_POS = ["I would recommend it to anyone.", "Go and see it.", "I would happily watch it again.",
           "Worth every minute.", "A must see."]
REC_NEG = ["I would not recommend it to anyone.", "Skip it.", "I would never watch it again.",
           "Not worth the ticket.", "A waste of an evening."]


def _adj(rng: random.Random, positive: bool) -> str:
    return rng.choice(INTENS) + rng.choice(POS if positive else NEG)


def _cap(s: str) -> str:
    return s[0].upper() + s[1:]


def _sentence(rng: random.Random) -> tuple[str, int]:
    """One (sentence, label) pair; label 1 = positive."""
    kind = rng.choices(
        ["plain", "negated", "but", "although", "main_although", "verb", "verb_neg", "despite",
         "expect", "recommend", "two"],
        weights=[14, 12, 14, 8, 6, 10, 8, 8, 8, 6, 6],
    )[0]
    pos = rng.random() < 0.5
    s1, s2 = rng.sample(SUBJECTS, 2)
    op = rng.choice(OPENERS)
    if kind == "plain":
        text = f"{op}{s1} is {_adj(rng, pos)}."
        label = pos
    elif kind == "negated":
        # "not <negative>" reads as mildly positive; "not <positive>" as negative.
        neg_word = rng.choice(["not", "never", "hardly", "not at all"])
        adj = rng.choice(POS if not pos else NEG)
        text = f"{op}{s1} is {neg_word} {adj}." if neg_word != "not at all" else f"{op}{s1} is not {adj} at all."
        label = pos
    elif kind == "but":
        text = f"{op}{s1} is {_adj(rng, not pos)}, but {s2} is {_adj(rng, pos)}."
        label = pos
    elif kind == "although":
        text = f"Although {s1} is {_adj(rng, not pos)}, {s2} is {_adj(rng, pos)}."
        label = pos
    elif kind == "main_although":
        text = f"{op}{s1} is {_adj(rng, pos)}, although {s2} is {_adj(rng, not pos)}."
        label = pos
    elif kind == "verb":
        text = f"{op}I {rng.choice(LIKE if pos else DISLIKE)} {s1}."
        label = pos
    elif kind == "verb_neg":
        text = f"{op}I did not {rng.choice(LIKE_BASE)} {s1}, {rng.choice(['sadly', 'I am afraid', 'not one bit'])}."
        label = False
        if pos:
            text = f"{op}I did not expect to {rng.choice(LIKE_BASE)} {s1} this much."
            label = True
    elif kind == "despite":
        np_ = rng.choice(NEG_NP if pos else POS_NP)
        text = f"Despite {np_}, {s1} is {_adj(rng, pos)}."
        label = pos
    elif kind == "expect":
        a = rng.choice(NEG if pos else POS)
        b = rng.choice(POS if pos else NEG)
        text = f"I expected {s1} to be {a}, but it was {b}."
        label = pos
    elif kind == "recommend":
        text = f"{_cap(s1)} is {_adj(rng, pos)}. {rng.choice(REC_POS if pos else REC_NEG)}"
        label = pos
    else:  # two clauses that agree
        text = f"{op}{s1} is {_adj(rng, pos)} and {s2} is {_adj(rng, pos)}."
        label = pos
    return _cap(text), int(label)


def generate_labeled(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    seen, out = set(), []
    while len(out) < n:
        text, label = _sentence(rng)
        if text not in seen:
            seen.add(text)
            out.append((text, LABELS[label]))
    return out


def generate_passages(n: int, seed: int) -> list[str]:
    """Unlabeled passages of 2-4 review sentences for general distillation."""
    rng = random.Random(seed)
    return [" ".join(_sentence(rng)[0] for _ in range(rng.randint(2, 4))) for _ in range(n)]


def generate_all() -> dict[str, str]:
    """File name -> content of the embedded default dataset."""
    labeled = generate_labeled(4600, SEED)
    train, dev = labeled[:4000], labeled[4000:]

    def tsv(rows):
        return "sentence\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in rows)

    return {
        "train.tsv": tsv(train),
        "dev.tsv": tsv(dev),
        "unlabeled.txt": "".join(p + "\n" for p in generate_passages(3000, SEED + 1)),
    }


def default_path(name: str) -> Path:
    return DEFAULT_DIR / name


if __name__ == "__main__":
    DEFAULT_DIR.mkdir(parents=True, exist_ok=True)
    for name, content in generate_all().items():
        (DEFAULT_DIR / name).write_text(content, encoding="utf-8")
        print(f"wrote {DEFAULT_DIR / name} ({content.count(chr(10))} lines)")
