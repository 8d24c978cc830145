"""Read a SentencePiece `.model` file (a ModelProto) without sentencepiece's generated protobuf
module, which needs a newer protobuf runtime than the one TensorFlow pins here: the pieces with
their scores and the normalizer's precompiled charsmap (what Hugging Face's `Precompiled`
normalizer and MediaPipe's SentencePiece tokenizer apply)."""
from __future__ import annotations

import struct
from typing import Iterator


def _varint(b: bytes, i: int) -> tuple[int, int]:
    r = shift = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << shift
        shift += 7
        if x < 0x80:
            return r, i


def fields(b: bytes) -> Iterator[tuple[int, object]]:
    """(field number, value) of one protobuf message: int for varints, bytes otherwise."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        f, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(b, i)
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError(f"protobuf wire type {wire}")
        yield f, v


def pieces(model: bytes) -> list[tuple[str, float]]:
    """ModelProto.pieces (field 1): SentencePiece {piece = 1, score = 2 (float)}, in id order."""
    out = []
    for f, piece in fields(model):
        if f == 1:
            d = dict(fields(piece))
            out.append((d[1].decode("utf-8"), float(struct.unpack("<f", d[2])[0]) if 2 in d else 0.0))
    return out


def precompiled_charsmap(model: bytes) -> bytes:
    """NormalizerSpec.precompiled_charsmap (ModelProto field 3, its field 2)."""
    spec = next(v for f, v in fields(model) if f == 3)
    return next(v for f, v in fields(spec) if f == 2)
