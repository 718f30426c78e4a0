"""Quoting a value that came from outside (a queue body, an event, an
operator's argument) in an error, a log line, a failure record or a digest.

Whatever the sender put there, the quote is bounded: up to ``ECHO_CHARS``
characters of its ``ascii()`` form (so newlines, control characters and
Unicode look-alikes show as escapes, and ``<``, ``>``, ``&`` too, so a quote
is inert in HTML), and beyond that its length and a short hash, so two long
values can still be told apart and found in the logs.
"""

from __future__ import annotations

import hashlib

#: How much of a value is quoted as it is.
ECHO_CHARS = 40
_HTML = str.maketrans({"<": "\\x3c", ">": "\\x3e", "&": "\\x26"})


def echo(value: object) -> str:
    """``value`` quoted for a message: ``'12345'``, or for a long one
    ``'1234567890…' (7000 chars, sha256 3f2a9c1b)``."""
    quoted = ascii(value).translate(_HTML)
    if len(quoted) <= ECHO_CHARS:
        return quoted
    text = value if isinstance(value, str) else quoted
    digest = hashlib.sha256(text.encode("utf-8", errors="backslashreplace")).hexdigest()[:8]
    return f"{quoted[: ECHO_CHARS - 1]}… ({len(text)} chars, sha256 {digest})"


def echo_all(values: object, limit: int = 5) -> str:
    """Several values quoted, at most ``limit`` of them (and how many more)."""
    items = list(values) if isinstance(values, list | tuple | set | frozenset) else [values]
    shown = ", ".join(echo(item) for item in items[:limit])
    more = len(items) - limit
    return f"{shown} and {more} more" if more > 0 else shown
