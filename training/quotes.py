"""Which characters of one sentence sit inside double quotation marks.

The guideline separates a source's verbatim words (inside marks) from the writer's own words, so the
rules need both halves of a sentence: the quoted part decides ``direct_quote``, and only the unquoted
part may make a paraphrase loaded. Whether the sentence *starts* inside a quotation opened earlier is
the splitter's job (:func:`quoteframe.sentences.quote_context`); this module takes that as input.
Single marks are ignored: in news copy they are mostly apostrophes or quotes nested inside a quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# ``''`` and ````` `` ````` stand for double marks in some archives (New York Times copy in PolNeAR).
_MARK = re.compile(r"''|``|[\"“”«»„]")
_OPEN = ("“", "«", "„", "``")
_CLOSE = ("”", "»")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@dataclass(frozen=True)
class QuoteParts:
    """A sentence cut into the text inside and outside double quotation marks."""

    quoted: str
    unquoted: str

    @property
    def quoted_words(self) -> int:
        return len(_WORD.findall(self.quoted))

    @property
    def unquoted_words(self) -> int:
        return len(_WORD.findall(self.unquoted))

    @property
    def quoted_share(self) -> float:
        """Share of the sentence's words that are inside quotation marks."""
        total = self.quoted_words + self.unquoted_words
        return self.quoted_words / total if total else 0.0


def _opens(text: str, match: re.Match[str], inside: bool) -> bool:
    """Role of one mark: curly and guillemet marks say it; a straight mark is read from its neighbours."""
    mark, at, end = match.group(), match.start(), match.end()
    if mark in _OPEN:
        return True
    if mark in _CLOSE:
        return False
    before = text[at - 1] if at else " "
    after = text[end] if end < len(text) else " "
    if before.isspace() or before in "([{—–-/":
        return not (after.isspace() or after in ".,;:!?)")
    if after.isspace() or after in ".,;:!?)]}—–-…":
        return False
    return not inside


def split_quoted(text: str, inside_quote: bool = False) -> QuoteParts:
    """Cut ``text`` at its double quotation marks; ``inside_quote`` = a quotation is open at its start.

    An opening mark left unclosed runs to the end of the sentence (the quotation continues in the next
    one); a closing mark without an opening one closes a quotation opened before the sentence.
    """
    quoted: list[str] = []
    unquoted: list[str] = []
    inside = inside_quote
    cursor = 0
    for match in _MARK.finditer(text):
        at = match.start()
        opening = _opens(text, match, inside)
        if opening and not inside:
            unquoted.append(text[cursor:at])
            cursor, inside = match.end(), True
        elif not opening and inside:
            quoted.append(text[cursor:at])
            cursor, inside = match.end(), False
        elif not opening and not quoted and not unquoted:
            # A closing mark with nothing open: the sentence began inside a quotation.
            quoted.append(text[cursor:at])
            cursor = match.end()
    (quoted if inside else unquoted).append(text[cursor:])
    return QuoteParts(_join(quoted), _join(unquoted))


def _join(parts: list[str]) -> str:
    return " ".join(part.strip() for part in parts if part.strip())


def opens_with_quote(text: str) -> bool:
    """True if the sentence's first character (after spaces) opens a quotation."""
    match = _MARK.match(text.lstrip())
    return bool(match) and _opens(text.lstrip(), match, False)
