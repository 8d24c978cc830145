"""The one exception type that the CLI turns into a single `error:` line and a non-zero exit."""


from converters.errors import BertEdgeError  # defined by the library both packages share

__all__ = ["BertEdgeError", "GateFailure"]


class GateFailure(BertEdgeError):
    """A quality gate (parity thresholds) was breached; exit code 3 so CI can tell it apart."""

    exit_code = 3
