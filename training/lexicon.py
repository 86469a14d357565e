"""Loaded wording of the writer's own, as the guideline (``labels.md``, v1.2) lists it.

Each entry is a regular expression for one item of the guideline's loaded list or of its rulings,
with the inflections news copy uses. The rulings' neutral exceptions (``even as``, ``just 72``,
``so-called boutique banks``, plain ``attacked``) are written into the patterns, so a match is a loaded
word by the guideline's own wording. Callers match only the text outside quotation marks, because
strong words inside a quotation are the source's (:mod:`quoteframe.training.quotes`).

BABE's biased-word lexicon can be added (:func:`load_babe_lexicon`); the baselines measure whether it
helps rather than assuming so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

#: Loaded reporting verbs: they judge the source or its truthfulness.
LOADED_VERBS: tuple[str, ...] = (
    r"claim(?:ed|ing)",
    r"insist(?:s|ed|ing)?",
    r"admit(?:s|ted|ting)?",
    r"conced(?:e|es|ed|ing)",
    r"confess(?:es|ed|ing)?",
    r"exaggerat(?:e|es|ed|ing)",
    r"boast(?:s|ed|ing)?",
    r"brag(?:s|ged|ging)?",
    r"rant(?:s|ed|ing)?",
    r"slam(?:s|med|ming)?",
    r"blast(?:s|ed|ing)",
    r"lash(?:es|ed|ing)? out",
    r"tout(?:s|ed|ing)?",
    r"peddl(?:e|es|ed|ing)",
    r"parrot(?:s|ed|ing)",
    r"acknowledg(?:e|es|ed|ing)",
    r"derid(?:e|es|ed|ing)",
    r"implor(?:e|es|ed|ing)",
    r"pointedly refus(?:e|es|ed|ing)",
    r"(?:fired|fires|firing|shot|shoots|shooting) back",
    r"took a swipe|takes a swipe|taking a swipe",
    r"ripp(?:ed|ing)",
)

#: Evaluative, emotive, emphatic or presupposing words of the writer's own.
LOADED_WORDS: tuple[str, ...] = (
    r"striking",
    r"revelation",
    r"shocking(?:ly)?",
    r"brazen(?:ly)?",
    r"radical(?:s)?",
    r"extremist(?:s)?",
    r"disastrous(?:ly)?",
    r"finally",
    # emphatic ``even``; ``even as / though / if / so / when`` means "although" and is neutral
    r"even(?! (?:as|though|if|so|when|after|before|while|with|then|more|less)\b)",
    # ``so-called`` is neutral before a technical term; the rulings' example is a plural noun phrase
    r"so-called(?! \w+ (?:banks|funds|accounts|bonds|loans|rules|lists)\b)",
    r"notably",
    r"explod(?:e|es|ed|ing)",
    r"dramatically",
    r"sheepish(?:ly)?",
    r"agitated",
    r"weary",
    r"bigwigs?",
    r"baggage",
    r"toxic",
    r"aggressively",
    r"fierce(?:ly)?",
    r"desperate(?:ly)?",
    r"failed to (?:explain|acknowledge|mention|disclose|address)",
    r"refus(?:e|es|ed|ing) to (?:acknowledge|admit|explain|answer|say)",
    r"most (?:significant|important|consequential|dramatic)\b.{0,60}\bin (?:history|decades|memory)",
)

_LOADED = re.compile(r"\b(?:" + "|".join(LOADED_VERBS + LOADED_WORDS) + r")\b", re.IGNORECASE)


def loaded_matches(text: str, extra: Iterable[str] = ()) -> list[str]:
    """Loaded words found in ``text`` (pass only the writer's own, unquoted words)."""
    found = [match.group() for match in _LOADED.finditer(text)]
    extra_words = set(extra)
    if extra_words:
        found.extend(word for word in re.findall(r"[a-z]+(?:-[a-z]+)*", text.lower()) if word in extra_words)
    return found


def load_babe_lexicon(path: Path) -> frozenset[str]:
    """BABE's ``bias_word_lexicon.xlsx``: one column of lower-case words, no header."""
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    try:
        words = {str(row[0]).strip().lower() for row in workbook.active.iter_rows(values_only=True) if row and row[0]}
    finally:
        workbook.close()
    return frozenset(words)
