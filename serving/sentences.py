"""Quote-aware sentence splitting of news articles.

Labels are given per sentence, and a sentence inside a multi-sentence quotation often carries no
quotation mark of its own, so the splitter also tracks which quotations are still open. News style
continues a quotation into the next paragraph by opening that paragraph with a mark and leaving the
previous one unclosed; the tracker follows that convention.

Sentence boundaries come from pysbd, one paragraph line at a time (the gold files were cut the same
way); pysbd keeps a quotation that closes on the same line in one sentence. A few of its known errors
are repaired afterwards: a split after a title or an initial (``Del. Jennifer McClellan``,
``Donald J. Trump``), before a lowercase continuation or a dash (``PORTLAND, Ore. - Peter ...``),
inside a number, or a fragment that holds only closing marks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pysbd

__all__ = ["Sentence", "quote_context", "split_error", "split_sentences"]


@dataclass(frozen=True)
class Sentence:
    """One sentence of an article, located by character offsets into the original text."""

    text: str
    start: int
    end: int
    index: int
    paragraph: int
    inside_quote: bool


_SEGMENTER = pysbd.Segmenter(language="en", clean=False)

# A line whose only sentence-final punctuation is at its end (after optional closing marks) holds one
# sentence; pysbd is slow, so such lines skip it.
_INNER_BOUNDARY = re.compile(r"[.!?…][\"'”’»)\]]*\s+\S")
_LINE = re.compile(r"[^\n]+")

# Titles precede a name, so they cannot end a sentence when a capitalised word follows them.
_TITLE_END = re.compile(
    r"(?:^|[\s(\-–—])(?:mrs?|ms|messrs|dr|prof|rev|sens?|reps?|gov|lt|gen|col|maj|sgt|capt|cmdr|adm|del|st|mt"
    r"|ft|hon|pres|supt|atty|insp|det|cpl|pvt|brig|lieut|msgr|fr|vs?)\.$",
    re.IGNORECASE,
)
# A personal initial after a capitalised name: ``Donald J.`` ``George W.`` (``U.S.`` is not one).
_INITIAL_END = re.compile(r"(?:^|\s)[A-Z][a-z]+(?:\s[A-Z]\.)+$")
# Short capitalised abbreviation (state, month): ``Ore.`` ``Calif.`` ``Sept.``
_ABBREVIATION_END = re.compile(r"(?:^|[\s(\-–—])[A-Z][a-z]{1,4}\.$")
_CONTINUATION_START = re.compile(r"^(?:[a-z]|[,;:)\]}%]|[-–—]\s)")
_NUMBER_SPLIT = re.compile(r"\d\.$")
_CLOSING_ONLY = re.compile(r"^[\"'”’»)\].,;:!?…\s]+$")
# Closing marks that pysbd cut off the end of a quotation and put at the start of the next sentence
# (it pairs only matching marks, so ``“We will win." Then he left.`` is cut after ``win.``).
_LEADING_CLOSE = re.compile(r"[\"'”’»]+(?=\s)")
_ENDS_SENTENCE = re.compile(r"[.!?…,]$")


def split_sentences(text: str, *, return_stray_marks: bool = True) -> list[Sentence]:
    """Split ``text`` into sentences with offsets, paragraph index and quotation state.

    A newline always ends a sentence (headlines and boilerplate lines such as ``SCROLL TO CONTINUE
    READING`` stand alone); a blank line also starts a new paragraph. ``return_stray_marks=False``
    leaves closing marks that pysbd cut off a quotation at the start of the next sentence, as this
    splitter did when the hand labels of ``data/labels`` were made: their sentence ids count that cut.
    """
    spans: list[tuple[int, int, int]] = []
    paragraph = -1
    previous_line_end = None
    for line in _LINE.finditer(text):
        if not line.group().strip():
            continue
        if previous_line_end is None or text.count("\n", previous_line_end, line.start()) > 1:
            paragraph += 1
        previous_line_end = line.end()
        spans.extend(
            (start, end, paragraph) for start, end in _line_spans(line.group(), line.start(), return_stray_marks)
        )
    texts = [text[start:end] for start, end, _ in spans]
    starts = [i == 0 or spans[i - 1][2] != para for i, (_, _, para) in enumerate(spans)]
    inside = quote_context(texts, starts)
    return [
        Sentence(text=sentence, start=start, end=end, index=i, paragraph=para, inside_quote=flag)
        for i, (sentence, (start, end, para), flag) in enumerate(zip(texts, spans, inside, strict=True))
    ]


def _line_spans(line: str, offset: int, return_stray_marks: bool) -> list[tuple[int, int]]:
    """Sentence spans of one paragraph line, as offsets into the whole text, whitespace trimmed."""
    stripped = line.strip()
    if not _INNER_BOUNDARY.search(stripped):
        segments = [stripped]
    else:
        # The processor's sentences are substrings of the line; ``Segmenter.segment`` would also locate
        # each with a regex compiled per sentence, which costs a third of the time and floods re's cache.
        segments = [segment.strip() for segment in _SEGMENTER.processor(line).process()]
    spans: list[tuple[int, int]] = []
    cursor = 0
    for segment in segments:
        if not segment:
            continue
        found = line.find(segment, cursor)
        if found < 0:
            # pysbd altered the segment's text; give the rest of the line to this sentence.
            found, end = cursor, len(line.rstrip())
        else:
            end = found + len(segment)
        start = found + len(line[found:]) - len(line[found:].lstrip())
        if start < end:
            spans.append((start, end))
        cursor = end
        if end >= len(line.rstrip()):
            break
    if spans and spans[-1][1] < len(line.rstrip()):
        spans[-1] = (spans[-1][0], len(line.rstrip()))
    return [(offset + start, offset + end) for start, end in _repair(line, spans, return_stray_marks)]


def _repair(line: str, spans: list[tuple[int, int]], return_stray_marks: bool) -> list[tuple[int, int]]:
    """Merge pairs of spans that pysbd split where no sentence ends; give stray closing marks back."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and split_error(line[merged[-1][0] : merged[-1][1]], line[start:end]):
            merged[-1] = (merged[-1][0], end)
            continue
        if (
            return_stray_marks
            and merged
            and merged[-1][1] == start
            and _ENDS_SENTENCE.search(line[merged[-1][0] : start])
        ):
            closing = _LEADING_CLOSE.match(line, start)
            if closing:
                merged[-1] = (merged[-1][0], closing.end())
                start = end - len(line[closing.end() : end].lstrip())
                # Without its mark, the rest may be the quotation's own attribution (``he asked.``).
                if split_error(line[merged[-1][0] : merged[-1][1]], line[start:end]):
                    merged[-1] = (merged[-1][0], end)
                    continue
        merged.append((start, end))
    return merged


def split_error(before: str, after: str) -> str | None:
    """Name the reason the boundary between ``before`` and ``after`` falls inside a sentence, else None.

    The names let a measurement tell which of pysbd's errors a difference from its output comes from.
    """
    if _CLOSING_ONLY.match(after):
        return "closing-mark fragment"
    starts_upper = after[:1].isupper() or after[:1] in "\"“'‘"
    if _TITLE_END.search(before) and starts_upper:
        return "after a title (Del., Sen., Mr.)"
    if _INITIAL_END.search(before) and starts_upper:
        return "after an initial"
    if _CONTINUATION_START.match(after) and (after[0] not in "-–—" or _ABBREVIATION_END.search(before)):
        return "before a lowercase or punctuation continuation"
    if _NUMBER_SPLIT.search(before) and after[:1].isdigit():
        return "inside a number"
    return None


# ----------------------------------------------------------------------------------------------
# Quotation tracking

_DOUBLE, _SINGLE = "double", "single"
_MARK = re.compile(r"''|``|[\"“”„«»‘’']")
_MARK_CHARS = "\"“”„«»‘’'`"
_OPENERS_BEFORE = "([{—–-/"
_CLOSERS_AFTER = ".,;:!?)]}—–-…"
# A lead-in that hands the floor to a source and sets off a block quotation without marks (the
# guideline's ``The governor added:``, ``Hewitt writes:``, ``One user tweeted:``): a short sentence
# whose last speech verb is followed by a colon, or by where, when, to whom or what was said
# (``told reporters on Tuesday:``, ``wrote about the hearing on its website:``, ``said the following:``)
# and a colon. A reported clause or a list after the verb is the writer's wording (``said the plan has
# three parts:``, ``said the victims were:``).
_SPEECH_VERB = re.compile(
    r"\b(?:said|says|added|adds|adding|wrote|writes|stated|tweeted|tweets|told|tells|replied|responded|remarked"
    r"|asked|asks|noted|notes|declared|declares|continued|continues|explained|explains|concluded|concludes"
    r"|posted)\b"
)
# Verbs that also narrate (``The meeting continued into the night:``): a lead-in only when they end it.
_BARE_VERBS = frozenset(
    {"adding", "continued", "continues", "explained", "explains", "concluded", "concludes", "noted", "notes", "posted"}
)
# ``said the following:`` hands over, although ``following`` otherwise introduces a list.
_FOLLOWING = re.compile(r"\s*(?:the following|as follows)", re.IGNORECASE)
# Words of a clause or a list that the writer reports (``said he had three goals:``).
_NOT_A_SOURCE_TAIL = re.compile(
    r"\b(?:that|would|will|could|should|can|were|was|is|are|be|been|has|have|had|there|include[sd]?|including"
    r"|following|below|these|those|what|how|why|which|whether)\b",
    re.IGNORECASE,
)
_LEAD_IN_MAX_WORDS = 15
_LEAD_IN_MAX_TAIL = 60
# A line of page furniture (``ADVERTISEMENT``): no lowercase letter and no sentence-final punctuation.
_FURNITURE = re.compile(r"[^a-z]*[^a-z.!?…\"”'’\s]\s*")
# Word-initial apostrophes that elide letters rather than open a quotation.
_ELISION = re.compile(r"(?:n'|em\b|til\b|tis\b|twas\b|cause\b|bout\b|round\b|\d)", re.IGNORECASE)


def quote_context(
    sentences: Sequence[str],
    paragraph_starts: Sequence[bool] | None = None,
    *,
    continue_single_quotes: bool = True,
    block_quotes: bool = True,
) -> list[bool]:
    """For each sentence, whether a quotation opened in an earlier sentence is still open at its start.

    ``paragraph_starts[i]`` says whether sentence ``i`` opens a paragraph. A quotation left open at the
    end of a paragraph continues only if the next paragraph opens with a quotation mark (news style);
    otherwise it is taken as closed. Without paragraph information the sentences form one paragraph,
    and a sentence that opens with a mark while a quotation of that kind is open continues it.

    A block quotation set off by a lead-in (``The governor added:``) is open too, because the guideline
    labels it a direct quote although no mark shows it: when the lead-in ends its paragraph, over the
    whole next paragraph; otherwise (no paragraph information) over the sentence after it.

    ``continue_single_quotes=False`` and ``block_quotes=False`` give the tracking the shipped model's
    training data was built with: an unclosed single opening mark read as an apostrophe even when the
    next paragraph continues it, and no block quotations.
    """
    if paragraph_starts is not None and len(paragraph_starts) != len(sentences):
        raise ValueError(f"quote_context: {len(sentences)} sentences but {len(paragraph_starts)} paragraph_starts")
    starts = list(paragraph_starts) if paragraph_starts is not None else [False] * len(sentences)
    paragraphs: list[list[str]] = []
    for i, sentence in enumerate(sentences):
        if not paragraphs or (i and starts[i]):
            paragraphs.append([])
        paragraphs[-1].append(sentence)
    joined = [_joined(paragraph) for paragraph in paragraphs]
    result: list[bool] = []
    stack: list[str] = []
    for k, paragraph in enumerate(paragraphs):
        single_continues = continue_single_quotes and k + 1 < len(joined) and _opening_mark(joined[k + 1]) == _SINGLE
        result.extend(_track_paragraph(paragraph, stack, single_continues))
    if block_quotes:
        paragraph_of = [k for k, paragraph in enumerate(paragraphs) for _ in paragraph]
        for i in _set_off_by_lead_in(sentences, paragraph_of):
            result[i] = True
    return result


def _set_off_by_lead_in(sentences: Sequence[str], paragraph_of: Sequence[int]) -> list[int]:
    """Indices of the sentences of block quotations that a lead-in sets off (see :func:`quote_context`).

    Page furniture between a lead-in and its block (``ADVERTISEMENT``) is passed over. A block that
    opens with a quotation mark is left to the mark tracking: its first sentence holds its own
    quotation, as any sentence that opens one does.
    """
    block: list[int] = []
    count = len(sentences)
    for i in range(count - 1):
        if not _is_lead_in(sentences[i]):
            continue
        j = i + 1
        while j < count and _FURNITURE.fullmatch(sentences[j].strip()):
            j += 1
        if j == count or _MARK.match(sentences[j].strip()):
            continue
        if paragraph_of[j] == paragraph_of[i]:
            block.append(j)
        else:
            block.extend(k for k in range(j, count) if paragraph_of[k] == paragraph_of[j])
    return block


def _is_lead_in(sentence: str) -> bool:
    """True for a short sentence whose last speech verb is followed by a colon, or by a few words that are
    not a reported clause or a list and a colon (see ``_SPEECH_VERB``)."""
    text = sentence.strip()
    if not text.endswith(":") or len(text.split()) > _LEAD_IN_MAX_WORDS:
        return False
    verbs = list(_SPEECH_VERB.finditer(text))
    if not verbs:
        return False
    verb, tail = verbs[-1].group(), text[verbs[-1].end() : -1]
    if not tail.strip():
        return True
    if verb in _BARE_VERBS or len(tail) > _LEAD_IN_MAX_TAIL:
        return False
    return bool(_FOLLOWING.fullmatch(tail)) or not _NOT_A_SOURCE_TAIL.search(tail)


def _joined(sentences: list[str]) -> str:
    """One paragraph's sentences as one string, so that marks are read in their paragraph's context."""
    return " ".join(sentence.strip() for sentence in sentences)


def _track_paragraph(sentences: list[str], stack: list[str], single_continues: bool) -> list[bool]:
    """Walk one paragraph's quotation marks, updating ``stack``; return inside-quote per sentence.

    A single opening mark counts only when a closing one follows in the paragraph, or when the next
    paragraph opens with a single mark (the news-style continuation of a quotation in single marks) and
    a capital follows it, as it starts a quoted sentence; otherwise it is more likely an apostrophe
    (``the 'burbs``).
    """
    joined = _joined(sentences)
    if stack and not _opening_mark(joined):
        stack.clear()
    sentence_starts = []
    position = 0
    for sentence in sentences:
        sentence_starts.append(position)
        position += len(sentence.strip()) + 1
    marks = [(match.start(), _classify(joined, match)) for match in _MARK.finditer(joined)]
    inside: list[bool] = []
    next_sentence = 0
    for at, (family, role) in marks:
        while next_sentence < len(sentence_starts) and sentence_starts[next_sentence] <= at:
            inside.append(bool(stack))
            next_sentence += 1
        continues = single_continues and _capital_follows(joined, at)
        if role == "open" and family == _SINGLE and not (_closer_follows(joined, at) or continues):
            continue
        _apply(stack, family, role)
    inside.extend(bool(stack) for _ in range(next_sentence, len(sentences)))
    return inside


def _capital_follows(text: str, at: int) -> bool:
    """True if the first letter after the mark at ``at`` (past other marks) is a capital."""
    rest = text[at + 1 :].lstrip(_MARK_CHARS)
    return rest[:1].isupper()


def _opening_mark(paragraph: str) -> str | None:
    """The family of the opening quotation mark the paragraph starts with (news-style continuation), if any."""
    match = _MARK.match(paragraph)
    if not match:
        return None
    family, role = _classify(paragraph, match)
    return family if role == "open" else None


def _classify(text: str, match: re.Match[str]) -> tuple[str, str]:
    """Family (double/single) and role (open/close/either/apostrophe) of one quotation mark.

    The role follows from the nearest characters that are not quotation marks themselves, so that
    ``,'"`` closes two quotations and ``"'Meh`` opens two.
    """
    mark = match.group()
    left = match.start()
    while left > 0 and text[left - 1] in _MARK_CHARS:
        left -= 1
    right = match.end()
    while right < len(text) and text[right] in _MARK_CHARS:
        right += 1
    before = text[left - 1] if left else " "
    after = text[right] if right < len(text) else " "
    left_open = before.isspace() or before in _OPENERS_BEFORE
    right_open = after.isspace() or after in _CLOSERS_AFTER
    if mark in "“„«":
        return _DOUBLE, "open"
    if mark in "”»":
        return _DOUBLE, "close"
    if mark in ('"', "''", "``"):
        if left_open and not right_open:
            return _DOUBLE, "open"
        if right_open and not left_open:
            return _DOUBLE, "close"
        return _DOUBLE, "either"
    # Single marks: between letters or digits, or eliding the start of a word, they are apostrophes.
    if before.isalnum() and after.isalnum():
        return _SINGLE, "apostrophe"
    if left_open and not right_open:
        if mark == "’" or _ELISION.match(text, right):
            return _SINGLE, "apostrophe"
        return _SINGLE, "open"
    if right_open and (not left_open or _follows_sentence_end(text, left)):
        return _SINGLE, "close"
    return _SINGLE, "apostrophe"


def _follows_sentence_end(text: str, at: int) -> bool:
    """True if the last non-space character before ``at`` ends a sentence (a mark split off by the splitter)."""
    previous = text[:at].rstrip()
    return bool(previous) and previous[-1] in ".!?,;:…"


def _closer_follows(text: str, at: int) -> bool:
    """True if a closing single mark follows ``at`` in the paragraph, so the opening one is a quote."""
    for match in _MARK.finditer(text, at + 1):
        family, role = _classify(text, match)
        if family == _SINGLE and role == "close":
            return True
    return False


def _apply(stack: list[str], family: str, role: str) -> None:
    """Update the open-quotation stack for one mark; marks of one family do not nest."""
    if role == "apostrophe":
        return
    if role == "either":
        role = "close" if family in stack else "open"
    if role == "open":
        if family not in stack:
            stack.append(family)
    elif family in stack:
        del stack[stack.index(family) :]
