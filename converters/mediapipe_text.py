"""Run a .tflite the way an Android app using MediaPipe Tasks would: raw text into MediaPipe's
`TextClassifier`, which reads the Model Metadata (converters/tflite_metadata.py), tokenizes with
its own C++ WordPiece tokenizer (it lower-cases by itself), runs the model and reports head 0's
scores (our `probabilities` output) per label.

`MediaPipeTextRunner(path).scores(texts) -> np.ndarray [n, num_labels]` (columns = label index).
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


class MediaPipeTextRunner:
    backend = "mediapipe"

    def __init__(self, path: str | Path, num_labels: Optional[int] = None):
        self.path = Path(path)
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
                res = self.classifier.classify(t)
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
