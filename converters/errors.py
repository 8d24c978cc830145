"""The one exception type a user sees as a single `error:` line (the CLI maps it to exit 2)."""


class BertEdgeError(Exception):
    """A user-facing failure: bad input, bad config, a failed conversion or gate.

    The message must be one line that says what is wrong and where (file, line, key, step).
    Anything else that escapes is a bug and keeps its traceback.
    """

    exit_code = 2
