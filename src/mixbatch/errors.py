"""The one exception type that the CLI turns into a clean message (no traceback)."""


class MixbatchError(Exception):
    """A user-facing error: bad params, bad input data, an unreachable file.

    The message must name the file, record or param at fault and, where possible,
    what would be accepted instead.
    """
