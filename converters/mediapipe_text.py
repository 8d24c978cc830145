"""Run a .tflite the way an Android app using MediaPipe Tasks would: raw text into MediaPipe's
`TextClassifier`, which reads the Model Metadata (converters/tflite_metadata.py), tokenizes with
its own C++ WordPiece tokenizer (it lower-cases by itself), runs the model and reports head 0's
scores (our `probabilities` output) per label.

`MediaPipeTextRunner(path).scores(texts) -> np.ndarray [n, num_labels]` (columns = label index).

MediaPipe's WordPiece lower-cases but does not strip accents or apply the rest of BERT's
normalizer: on an uncased model `cliché` became other ids than Hugging Face's `cl ##iche` (a
score off by 0.98 on a 1-epoch SST-2 student). Metadata cannot express that normalization, so the
text is normalized before it reaches MediaPipe (`mediapipe_input`): parity does it here, the app
in `Classifier.mediaPipeText` (the same BertNormalizer, held identical to HF by the JVM tests).
SentencePiece models need nothing: MediaPipe applies the .model's own normalizer.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from converters.errors import BertEdgeError


def mediapipe_version() -> Optional[str]:
    """The installed mediapipe version, or None when it is not installed."""
    try:
        from importlib.metadata import version

        return version("mediapipe")
    except Exception:
        return None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0][:300]}" if text else type(e).__name__


# What users type and MediaPipe's tokenizers must see as Hugging Face does: accents and
# combining marks, case, non-Latin scripts, emoji, full-width forms, long words, odd spacing.
PROBE_TEXTS = (
    "how do you spell cliché ?", "maelström is just another winter sleeper .",
    "Café, naïve, résumé, déjà vu, façade", "Zoë and Chloé loved the ANGSTRÖM scene",
    "São Paulo à noite é incrível", "e\u0301le\u0300ve combining marks", "Straße und Größe",
    "ThE MoViE wAs GrEaT!!!", "I LOVED IT. I HATED IT.", "ｆｕｌｌ－ｗｉｄｔｈ ｔｅｘｔ １２３",
    "ﬁne ﬂow ligatures", "Русский фильм был хорошим", "この映画はとても良かった", "这部电影很好看",
    "الفيلم كان رائعا", "फिल्म बहुत अच्छी थी", "영화가 정말 좋았어요", "ένα υπέροχο φιλμ",
    "great movie 😀👍🏽", "❤️ this film ❤️", "pneumonoultramicroscopicsilicovolcanoconiosis",
    "supercalifragilisticexpialidocious " * 3, "tab\tseparated\u00a0non-breaking\u2003em space",
    "zero\u200bwidth\u200djoiner", "quotes “curly” ‘single’ «guillemets»", "...!!!???",
    "a", "",
)


def mediapipe_input(tokenizer):
    """text -> what MediaPipe's TextClassifier must get to see Hugging Face's ids: BERT's own
    normalizer output for a WordPiece model (clean-up, CJK spacing, accent stripping,
    lower-casing, as the tokenizer.json says), the text itself otherwise."""
    from converters.families import tokenizer_kind

    norm = getattr(getattr(tokenizer, "backend_tokenizer", None), "normalizer", None)
    if tokenizer_kind(tokenizer) != "wordpiece" or norm is None:
        return lambda text: text
    return norm.normalize_str


class MediaPipeTextRunner:
    backend = "mediapipe"

    def __init__(self, path: str | Path, num_labels: Optional[int] = None, prepare=None):
        """prepare: text -> MediaPipe's input (`mediapipe_input(tokenizer)`); None: raw text."""
        self.path = Path(path)
        self.prepare = prepare or (lambda text: text)
        try:
            from mediapipe.tasks.python import text
            from mediapipe.tasks.python.core.base_options import BaseOptions
        except Exception as e:
            raise BertEdgeError(f"mediapipe is not usable here ({_first_line(e)})") from None
        opts = text.TextClassifierOptions(base_options=BaseOptions(model_asset_path=str(self.path)),
                                          max_results=-1)
        try:
            self.classifier = text.TextClassifier.create_from_options(opts)
        except Exception as e:
            raise BertEdgeError(f"{self.path.name}: MediaPipe TextClassifier cannot load it "
                                f"({_first_line(e)})") from None
        self.num_labels = num_labels
        self.head_name: Optional[str] = None

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Head 0's score per label for each text (MediaPipe returns categories sorted by score;
        they are put back in label-index order)."""
        rows = []
        for t in texts:
            try:
                res = self.classifier.classify(self.prepare(t))
            except Exception as e:
                raise BertEdgeError(f"{self.path.name}: MediaPipe TextClassifier failed on a text "
                                    f"({_first_line(e)})") from None
            head = res.classifications[0]
            self.head_name = head.head_name
            n = self.num_labels or (max(c.index for c in head.categories) + 1)
            row = np.full(n, np.nan, dtype=np.float32)
            for c in head.categories:
                row[c.index] = c.score
            rows.append(row)
        return np.stack(rows) if rows else np.zeros((0, self.num_labels or 0), np.float32)

    def close(self) -> None:
        self.classifier.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
