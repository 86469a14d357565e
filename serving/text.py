"""Checks on text before it meets the tokenizer or an output file."""

from __future__ import annotations

import unicodedata

#: Unicode categories that show nothing: format characters (zero-width space, soft hyphen, byte-order
#: mark, word joiner) and control characters. Text extracted from web pages keeps them on lines of their own.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc"})


def unpaired_surrogate(text: str) -> int | None:
    """Index of the first unpaired surrogate in ``text``, or ``None``.

    JSON's ``\\ud83d`` escapes can leave half of an emoji in a string (text cut at a byte limit):
    a Python string, but not text that UTF-8, the tokenizer or an output file can hold.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def is_blank(text: str) -> bool:
    """True when ``text`` shows nothing: whitespace and invisible characters only.

    The tokenizer drops invisible characters, so such a sentence would reach the model as no tokens
    at all and still get a confident label.
    """
    stripped = text.strip()
    return not stripped or all(
        char.isspace() or unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in stripped
    )
