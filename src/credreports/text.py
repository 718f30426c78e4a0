"""Values from reports and manifests shown as plain text (a terminal, an
e-mail): every control or otherwise invisible character escaped, so a user
name chosen in a member account can never become an escape sequence."""

from __future__ import annotations


def printable(value: str) -> str:
    """``value`` with every control or otherwise invisible character escaped
    (``\\x1b`` for ESC)."""
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in value)
