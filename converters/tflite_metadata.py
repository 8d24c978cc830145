"""TFLite Model Metadata, so Google's text-classification stack runs our .tflite files as they are.

MediaPipe Tasks' `TextClassifier` (`com.google.mediapipe:tasks-text`) loads a BERT classifier
only when the file carries Model Metadata: the WordPiece vocabulary (its own C++ tokenizer runs
on raw text), the label file and which input tensor is ids / mask / segment ids. `add_metadata` writes it with MediaPipe's official
writer (`mediapipe.tasks.python.metadata.metadata_writers`), after the converter produced the
file and before it is validated, so validation and parity check the final bytes.

Probabilities: MediaPipe passes the output tensor through as "scores" (no softmax), and its only
post-processing hook, score calibration, is a per-class sigmoid that cannot express a softmax
over classes. So the file gets a second output, `probabilities` = SOFTMAX(`logits`) (one
builtin op appended after the graph; `logits` and the `serving_default` signature are
unchanged, so the project's contract and parity still read logits). It is the FIRST subgraph
output, which makes it MediaPipe's head 0 (`classifications[0]`, the one apps read).

The TFLite Task Library's BertNLClassifier (tflite-support 0.4.4, its last release) is not a
target: it refuses a model with two outputs, its TFLite runtime is too old for the TF 2.19
converter's int8 op versions (FULLY_CONNECTED v12), and on a one-output fp32 file with this
metadata its Python build crashed (SIGSEGV) in classify(). Measured here, 2026-12.

The writer is MediaPipe's own (mediapipe 1.2.x, numpy 2). Its Python `metadata` module still
imports one pybind helper that the 1.x wheels no longer ship
(`mediapipe.tasks.cc.metadata.python._pywrap_metadata_version`, the minimum metadata parser
version); everything else it needs ships (the JSON view goes through libmediapipe's C API).
`_ensure_version_helper` registers a Python port of that helper (the rules of MediaPipe's
metadata_version.cc) when the native one is missing. Files written this way are byte-identical
to mediapipe 0.10.21's (tests/test_tflite_metadata.py checks the version rules; the byte
comparison is in docs/executorch.md). tflite-support 0.4.4's writer is no way out: it has the
same native helpers and pins protobuf<4.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from converters.common import INPUT_NAMES, OUTPUT_NAME, ConversionError

PROBS_NAME = "probabilities"
MODEL_DESCRIPTION = ("Classifies one text into {labels}. Raw text in (WordPiece vocabulary and "
                     "labels are in this file); output 0 '" + PROBS_NAME + "' = softmax of output "
                     "1 '" + OUTPUT_NAME + "'. Made by bert-edge.")


# Schema members added after metadata version 1.0.0 and the parser version that reads them
# (MediaPipe's metadata_version.cc, GetMemberVersion).
_V_VOCAB_FILE, _V_PROCESS_UNITS, _V_TENSOR_GROUPS = (1, 0, 1), (1, 1, 0), (1, 2, 0)
_V_REGEX_TOKENIZER, _V_AUDIO, _V_SCANN, _V_FILE_VERSION, _V_CUSTOM = \
    (1, 2, 1), (1, 3, 0), (1, 4, 0), (1, 4, 1), (1, 5, 0)


def min_parser_version(buf: bytes) -> str:
    """The minimum metadata parser version of a ModelMetadata flatbuffer: the newest schema
    member it uses (Python port of MediaPipe's GetMinimumMetadataParserVersion)."""
    from mediapipe.tasks.metadata import metadata_schema_py_generated as fb

    md = fb.ModelMetadataT.InitFromObj(fb.ModelMetadata.GetRootAsModelMetadata(bytearray(buf), 0))
    need = [(1, 0, 0)]

    def files(items):
        for f in items or []:
            if f.type == fb.AssociatedFileType.VOCABULARY:
                need.append(_V_VOCAB_FILE)
            if f.type == getattr(fb.AssociatedFileType, "SCANN_INDEX_FILE", -1):
                need.append(_V_SCANN)
            if getattr(f, "version", None) is not None:
                need.append(_V_FILE_VERSION)

    def units(items):
        for u in items or []:
            if u.optionsType in (fb.ProcessUnitOptions.BertTokenizerOptions,
                                 fb.ProcessUnitOptions.SentencePieceTokenizerOptions):
                need.append(_V_PROCESS_UNITS)
            if u.optionsType == fb.ProcessUnitOptions.RegexTokenizerOptions:
                need.append(_V_REGEX_TOKENIZER)

    def tensors(items):
        for t in items or []:
            files(t.associatedFiles)
            units(t.processUnits)
            if t.content is not None and \
                    t.content.contentPropertiesType == fb.ContentProperties.AudioProperties:
                need.append(_V_AUDIO)

    for sg in md.subgraphMetadata or []:
        tensors(sg.inputTensorMetadata)
        tensors(sg.outputTensorMetadata)
        files(sg.associatedFiles)
        for attr in ("inputProcessUnits", "outputProcessUnits"):
            if getattr(sg, attr) is not None:
                need.append(_V_PROCESS_UNITS)
                units(getattr(sg, attr))
        if sg.inputTensorGroups is not None or sg.outputTensorGroups is not None:
            need.append(_V_TENSOR_GROUPS)
        if getattr(sg, "customMetadata", None) is not None:
            need.append(_V_CUSTOM)
    files(md.associatedFiles)
    return ".".join(str(x) for x in max(need))


def _ensure_version_helper() -> None:
    """Register the Python port as MediaPipe's missing native version helper (1.x wheels)."""
    import importlib
    import sys
    import types

    name = "mediapipe.tasks.cc.metadata.python._pywrap_metadata_version"
    if name in sys.modules:
        return
    try:
        importlib.import_module(name)
        return
    except ImportError:
        pass
    # Its parent packages (mediapipe.tasks.cc...) are gone from the wheel too: stand-ins for the
    # missing ones, so `from mediapipe.tasks.cc.metadata.python import ...` resolves.
    parts = name.split(".")
    for i in range(3, len(parts) + 1):
        mod_name = ".".join(parts[:i])
        if mod_name in sys.modules:
            continue
        try:
            importlib.import_module(mod_name)
            continue
        except ImportError:
            pass
        mod = types.ModuleType(mod_name)
        if i < len(parts):
            mod.__path__ = []  # a package
        else:
            mod.GetMinimumMetadataParserVersion = min_parser_version
        sys.modules[mod_name] = mod
        setattr(sys.modules[".".join(parts[:i - 1])], parts[i - 1], mod)


def writer_available() -> Optional[str]:
    """None when MediaPipe's metadata writer imports, else why not (one line)."""
    try:
        _ensure_version_helper()
        from mediapipe.tasks.python.metadata.metadata_writers import (  # noqa: F401
            metadata_writer, text_classifier)
    except Exception as e:  # ImportError, or a binary/numpy mismatch inside mediapipe
        return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
    return None


def vocab_text(tokenizer) -> str:
    """vocab.txt where line number == token id (what WordPiece readers expect)."""
    vocab = tokenizer.get_vocab()
    by_id = {i: t for t, i in vocab.items()}
    n = max(by_id) + 1 if by_id else 0
    missing = [i for i in range(n) if i not in by_id]
    if missing:
        raise ConversionError("metadata", f"tokenizer vocabulary has gaps (no token for id "
                                          f"{missing[0]}): cannot write vocab.txt")
    return "".join(by_id[i] + "\n" for i in range(n))


def add_probabilities_output(data: bytes) -> bytes:
    """Append `probabilities` = SOFTMAX(logits) as the first subgraph output. Idempotent."""
    from tensorflow.lite.python import schema_py_generated as fb
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(data))
    sub = model.subgraphs[0]
    names = {int(i): (sub.tensors[i].name.decode() if isinstance(sub.tensors[i].name, bytes)
                      else str(sub.tensors[i].name)) for i in sub.outputs}
    if PROBS_NAME in names.values():
        return bytes(data)
    logits = [i for i, n in names.items() if n == OUTPUT_NAME]
    if len(logits) != 1:
        raise ConversionError("metadata", f"no output tensor named '{OUTPUT_NAME}' "
                                          f"(outputs: {sorted(names.values())})")
    src = sub.tensors[logits[0]]
    if src.type != fb.TensorType.FLOAT32:
        raise ConversionError("metadata", "logits are not float32: MediaPipe needs float scores")

    code = fb.BuiltinOperator.SOFTMAX
    op_index = next((k for k, oc in enumerate(model.operatorCodes)
                     if max(oc.builtinCode, oc.deprecatedBuiltinCode) == code), None)
    if op_index is None:
        oc = fb.OperatorCodeT()
        oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, code, 1
        model.operatorCodes.append(oc)
        op_index = len(model.operatorCodes) - 1
    model.buffers.append(fb.BufferT())
    t = fb.TensorT()
    t.name, t.type, t.buffer = PROBS_NAME, fb.TensorType.FLOAT32, len(model.buffers) - 1
    t.shape = np.array(src.shape, dtype=np.int32)
    if src.shapeSignature is not None:
        t.shapeSignature = np.array(src.shapeSignature, dtype=np.int32)
    sub.tensors.append(t)
    op = fb.OperatorT()
    op.opcodeIndex = op_index
    op.inputs = np.array([logits[0]], dtype=np.int32)
    op.outputs = np.array([len(sub.tensors) - 1], dtype=np.int32)
    op.builtinOptionsType = fb.BuiltinOptions.SoftmaxOptions
    op.builtinOptions = fb.SoftmaxOptionsT()
    op.builtinOptions.beta = 1.0
    sub.operators.append(op)
    sub.outputs = np.array([len(sub.tensors) - 1] + [int(i) for i in sub.outputs], dtype=np.int32)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


# SentencePiece model files as hub repositories name them (XLM-R, ALBERT, T5-style).
SENTENCEPIECE_FILES = ("sentencepiece.bpe.model", "spiece.model", "sentencepiece.model")


def mediapipe_tokenizer(tokenizer, model_dir: Optional[Path] = None) -> dict:
    """Which tokenizer MediaPipe's TextClassifier can run for this model, from the tokenizer's
    own family (converters/families.tokenizer_kind): {"kind", "mediapipe": "bert" |
    "sentencepiece" | None, "file" (the SentencePiece model), "why" (when None)}."""
    from converters.families import tokenizer_kind

    kind = tokenizer_kind(tokenizer)
    if kind == "wordpiece":
        return {"kind": kind, "mediapipe": "bert"}
    if kind == "unigram":
        spm = next((Path(model_dir) / f for f in SENTENCEPIECE_FILES
                    if model_dir is not None and (Path(model_dir) / f).is_file()), None)
        has = tokenizer.backend_tokenizer.token_to_id
        if spm is not None and has("[CLS]") is not None and has("[SEP]") is not None:
            return {"kind": kind, "mediapipe": "sentencepiece", "file": str(spm)}
        if spm is not None:
            # MediaPipe's BERT preprocessor frames every text as [CLS] ... [SEP] by those names:
            # on an XLM-R-style model (<s> ... </s>) each text got other ids (measured: every
            # score off, by up to 0.08 on a tiny model), so no tokenizer goes in.
            return {"kind": kind, "mediapipe": None,
                    "why": "a SentencePiece model without [CLS]/[SEP] pieces (XLM-R style <s> A "
                           "</s>): MediaPipe's BERT preprocessor adds [CLS] and [SEP] by name"}
        return {"kind": kind, "mediapipe": None,
                "why": "a SentencePiece tokenizer without its .model file (only tokenizer.json): "
                       "MediaPipe's SentencePiece tokenizer reads the .model file; put "
                       f"{' or '.join(SENTENCEPIECE_FILES[:2])} in the model directory"}
    if kind == "bpe":
        return {"kind": kind, "mediapipe": None,
                "why": "byte-level BPE (RoBERTa family): MediaPipe Tasks has no BPE tokenizer; "
                       "run the file with LiteRT and the app's Java BPE tokenizer"}
    return {"kind": kind, "mediapipe": None, "why": "a tokenizer MediaPipe has no reader for"}


def add_metadata(data: bytes, tokenizer, labels: Sequence[str], name: str, version: str,
                 description: Optional[str] = None, vocab_file: Optional[Path] = None,
                 model_dir: Optional[Path] = None) -> tuple[bytes, dict]:
    """`data` (a .tflite with inputs input_ids/attention_mask/token_type_ids and output logits)
    with a `probabilities` output and MediaPipe/Task Library Model Metadata: the tokenizer
    MediaPipe can run for it (WordPiece vocab.txt or the SentencePiece model; none for BPE),
    labels (for both outputs), model name, version and description. Returns the bytes and
    `mediapipe_tokenizer`'s answer (what went in, or why no tokenizer did)."""
    why = writer_available()
    if why:
        raise ConversionError("metadata", f"MediaPipe's metadata writer is not available ({why}); "
                                          "install mediapipe (make venv does)")
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_info, metadata_writer

    tok = mediapipe_tokenizer(tokenizer, model_dir)
    data = add_probabilities_output(data)
    with tempfile.TemporaryDirectory(prefix="bert-edge-md-") as tmp:
        try:
            w = metadata_writer.MetadataWriter.create(bytearray(data))
            w._general_md = metadata_info.GeneralMd(  # add_general_info() has no version field
                name=name, version=version, author="bert-edge",
                description=description or MODEL_DESCRIPTION.format(labels=", ".join(labels)))
            ids, mask, types = INPUT_NAMES
            if tok["mediapipe"] == "bert":
                vocab = Path(tmp) / "vocab.txt"
                if vocab_file is not None and Path(vocab_file).is_file():
                    vocab.write_bytes(Path(vocab_file).read_bytes())
                else:
                    vocab.write_text(vocab_text(tokenizer), encoding="utf-8")
                w.add_bert_text_input(metadata_writer.BertTokenizer(str(vocab)), ids, mask, types)
            elif tok["mediapipe"] == "sentencepiece":
                w.add_bert_text_input(metadata_writer.SentencePieceTokenizer(tok["file"]),
                                      ids, mask, types)
            else:  # token ids in, no tokenizer: MediaPipe refuses the file instead of guessing
                for n in INPUT_NAMES:
                    w.add_feature_input(name=n, description="int32 token ids / mask / types")
            for head, what in ((PROBS_NAME, "Probability of each label (softmax of logits)."),
                               (OUTPUT_NAME, "Raw logits (the project's parity contract).")):
                w.add_classification_output(metadata_writer.Labels().add(list(labels)),
                                            name=head, description=what)
            out, _ = w.populate()
        except ConversionError:
            raise
        except Exception as e:
            raise ConversionError("metadata", f"MediaPipe's metadata writer failed: "
                                              f"{type(e).__name__}: {e}") from e
    return bytes(out), tok


def read_metadata(path_or_bytes) -> dict:
    """The metadata of a .tflite as a dict: `json` (the writer's JSON view), `files`
    ({name: bytes} of the packed associated files), `vocab` and `labels` (lists), `inputs` and
    `outputs` (tensor metadata names in subgraph order). {} when the file has none."""
    _ensure_version_helper()
    from mediapipe.tasks.python.metadata import metadata

    data = Path(path_or_bytes).read_bytes() if isinstance(path_or_bytes, (str, Path)) \
        else bytes(path_or_bytes)
    try:
        d = metadata.MetadataDisplayer.with_model_buffer(data)
    except ValueError:  # "The model does not have metadata."
        return {}
    md = json.loads(d.get_metadata_json())
    files = {n: d.get_associated_file_buffer(n) for n in d.get_packed_associated_file_list()}
    sg = md["subgraph_metadata"][0]

    def names(key):
        return [t.get("name") for t in sg.get(key, [])]

    def lines(raw: bytes) -> list:
        return [ln for ln in raw.decode("utf-8").splitlines() if ln]

    vocab = next((lines(b) for n, b in files.items() if "vocab" in n), None)
    labels = next((lines(b) for n, b in files.items() if "label" in n), None)
    units = [u.get("options_type") for u in sg.get("input_process_units") or []]
    tokenizer = ("bert" if "BertTokenizerOptions" in units else
                 "sentencepiece" if "SentencePieceTokenizerOptions" in units else None)
    return {"json": md, "files": files, "name": md.get("name"), "version": md.get("version"),
            "inputs": names("input_tensor_metadata"), "outputs": names("output_tensor_metadata"),
            "vocab": vocab, "labels": labels, "tokenizer": tokenizer}
