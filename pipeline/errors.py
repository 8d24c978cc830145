"""The one exception type that the CLI turns into a single `error:` line and a non-zero exit."""


class BertEdgeError(Exception):
    """A user-facing failure: bad input, bad config, a failed gate.

    The message must be one line that says what is wrong and where (file, line, key, stage).
    Anything else that escapes is a bug and keeps its traceback.
    """

    exit_code = 2


class GateFailure(BertEdgeError):
    """A quality gate (parity thresholds) was breached; exit code 3 so CI can tell it apart."""

    exit_code = 3
