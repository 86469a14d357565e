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


class TextDecodeError(ValueError):
    """A text file's bytes that are not text in the encoding they were read in.

    ``at`` is the offset of the first bad byte in the file, byte-order mark included, where a hex
    editor finds it; ``hint`` says what to do about it.
    """

    def __init__(self, encoding: str, at: int, reason: str, nul_bytes: bool) -> None:
        self.encoding = encoding
        self.at = at
        if encoding != "utf-8":
            self.hint = f"the file is damaged or cut short (its byte-order mark says {encoding.upper()})"
        elif nul_bytes:
            # What UTF-16 without a byte-order mark and binary files have in common; the latin-1
            # conversion that fits a legacy text file would turn either into garbage.
            self.hint = "it holds NUL bytes: a binary file, or UTF-16 without a byte-order mark (save it as UTF-8)"
        else:
            self.hint = "convert it first, e.g. iconv -f latin1 -t utf-8"
        super().__init__(f"not valid {encoding.upper()} at byte {at} ({reason}); {self.hint}")


def decode_text_file(data: bytes) -> str:
    """A text file's bytes as text: UTF-8, or the UTF-16 or UTF-32 that a byte-order mark names.

    Windows editors save "Unicode" text as UTF-16 with a byte-order mark; read as UTF-8 it fails on its
    first byte. The mark itself is not text: it is cut before decoding (rather than decoding as
    ``utf-8-sig``), so character offsets agree with those of the same file without one.

    Raises :class:`TextDecodeError` with the file offset of the first byte that does not decode.
    """
    from w3lib.encoding import read_bom

    encoding, bom = read_bom(data)
    encoding, bom = encoding or "utf-8", bom or b""
    try:
        return data[len(bom) :].decode(encoding)
    except UnicodeDecodeError as exc:
        raise TextDecodeError(encoding, len(bom) + exc.start, exc.reason, b"\x00" in data) from exc
