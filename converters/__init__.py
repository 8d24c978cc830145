"""converters: a distilled student directory -> every on-device format, each validated.

    from converters import convert_all
    report = convert_all("runs/x/student", "runs/x/convert")   # all targets, convert.json

Modules: onnx_export (torch -> ONNX), tflite (ONNX -> TFLite via onnx2tf), torchscript_mobile
(.ptl), validate (the shared validation step), runtimes (`load_runner`), convert (`convert_all`).
Heavy frameworks are imported only when a conversion or runner needs them.
"""
from converters.common import (ARTIFACTS, BACKENDS, DEFAULT_MAX_SEQ_LENGTH, INPUT_NAMES,
                               OUTPUT_NAME, REPORT_NAME, ConversionError, parse_targets)

__all__ = ["ARTIFACTS", "BACKENDS", "DEFAULT_MAX_SEQ_LENGTH", "INPUT_NAMES", "OUTPUT_NAME",
           "REPORT_NAME", "ConversionError", "parse_targets", "convert_all", "load_runner"]


def convert_all(*args, **kwargs):
    """See converters.convert.convert_all."""
    from converters.convert import convert_all as _convert_all

    return _convert_all(*args, **kwargs)


def load_runner(*args, **kwargs):
    """See converters.runtimes.load_runner."""
    from converters.runtimes import load_runner as _load_runner

    return _load_runner(*args, **kwargs)
