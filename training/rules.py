"""Label rules: each corpus's own annotations (or plain text cues) mapped onto the three labels.

A rule looks at one sentence (text, whether a quotation is open at its start, the corpus tags from
:mod:`quoteframe.training.loaders`) and either names a label or abstains. A corpus's rules form a
decision list in the guideline's precedence: quotation first, then loaded wording, then neutral; the
first rule that fires labels the sentence, and a sentence no rule labels stays out of the dataset.

Every rule is measured against the hand labels (:func:`measure_rules`); ``use=False`` marks a rule
that measured too poorly to feed the dataset, kept in the table so the measurement stays visible.
``quality`` is ``corpus`` when the label follows from the corpus's human annotation and ``rule`` when
it rests on our own text heuristics only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from quoteframe.labels import DIRECT_QUOTE, LABELS, LOADED_PARAPHRASE, NEUTRAL_PARAPHRASE
from quoteframe.training.lexicon import loaded_matches
from quoteframe.training.quotes import QuoteParts, opens_with_quote, split_quoted

#: A quotation carries the sentence when it opens the sentence, continues from an earlier one, or
#: holds at least this many words and this share of the sentence (measured on train.jsonl: see README).
MIN_QUOTED_WORDS = 3
MIN_QUOTED_SHARE = 0.3
#: A PolNeAR sentence is a direct quote when this share of it lies in fully quoted content.
MIN_DIRECT_CONTENT_SHARE = 0.3
#: BABE annotators sometimes mark function words; those say nothing about loaded wording.
_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "and",
        "or",
        "but",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "with",
        "as",
        "from",
    ]
)


@dataclass(frozen=True)
class SentenceView:
    """What a rule may look at: the sentence, its quotation state and its corpus tags."""

    text: str
    inside_quote: bool
    tags: dict

    @cached_property
    def parts(self) -> QuoteParts:
        return split_quoted(self.text, self.inside_quote)

    @cached_property
    def loaded_words(self) -> list[str]:
        return loaded_matches(self.parts.unquoted)


def carries_quote(view: SentenceView) -> bool:
    """The guideline's ``direct_quote`` test, approximated from the quotation marks alone."""
    if view.inside_quote or opens_with_quote(view.text):
        return True
    parts = view.parts
    return parts.quoted_words >= MIN_QUOTED_WORDS and parts.quoted_share >= MIN_QUOTED_SHARE


def _any_mark(view: SentenceView) -> bool:
    return view.inside_quote or bool(view.parts.quoted) or view.parts.unquoted != view.text.strip()


def _basil_lex_writer(view: SentenceView) -> bool:
    return any(s["bias"] == "lex" and s["quote"] == "no" for s in view.tags.get("basil_spans", []))


def _basil_unmarked_plain(view: SentenceView) -> bool:
    spans = view.tags.get("basil_spans", [])
    return not any(s["bias"] == "lex" for s in spans) and not _any_mark(view) and not view.loaded_words


def _babe_biased_word_outside(view: SentenceView) -> bool:
    if view.tags.get("babe_bias") != "Biased":
        return False
    unquoted = view.parts.unquoted.lower()
    return any(
        word.lower() not in _FUNCTION_WORDS and word.lower() in unquoted for word in view.tags.get("babe_words", [])
    )


def _babe_factual(view: SentenceView) -> bool:
    return (
        view.tags.get("babe_bias") == "Non-biased"
        and view.tags.get("babe_opinion") == "Entirely factual"
        and not _any_mark(view)
        and not view.loaded_words
    )


def _polnear_direct_content(view: SentenceView) -> bool:
    return view.tags.get("polnear_share", {}).get("direct", 0.0) >= MIN_DIRECT_CONTENT_SHARE


def _polnear_loaded_cue(view: SentenceView) -> bool:
    cues = [c["cue"] for c in view.tags.get("polnear_cues", []) if c["kind"] != "direct"]
    return any(loaded_matches(cue) for cue in cues)


#: Neutral reporting verbs of the guideline ("said, stated, told, added, ..."), as PolNeAR cues.
_NEUTRAL_CUE = re.compile(
    r"(?:said|says|say|told|tells|according to|stated|states|added|adds|announced|noted|wrote|writes|asked"
    r"|reported|explained)",
    re.IGNORECASE,
)


def _polnear_reported_neutral(view: SentenceView) -> bool:
    """Reported speech under a neutral cue, with no quotation mark and no loaded-list word."""
    cues = view.tags.get("polnear_cues", [])
    return (
        bool(cues)
        and all(_NEUTRAL_CUE.fullmatch(c["cue"].strip()) for c in cues)
        and view.tags.get("polnear_share", {}).get("indirect", 0.0) >= MIN_DIRECT_CONTENT_SHARE
        and _plain(view)
    )


def _newssd(label: str) -> Callable[[SentenceView], bool]:
    def fires(view: SentenceView) -> bool:
        return view.tags.get("newssd_label") == label and not _any_mark(view)

    return fires


def _lexicon(view: SentenceView) -> bool:
    return bool(view.loaded_words)


def _plain(view: SentenceView) -> bool:
    return not _any_mark(view) and not view.loaded_words


@dataclass(frozen=True)
class Rule:
    """One row of the rule table in ``data/README.md``."""

    name: str
    corpus: str
    label: str
    quality: str
    fires: Callable[[SentenceView], bool]
    why: str
    use: bool = True


RULES: tuple[Rule, ...] = (
    Rule(
        "basil.quote",
        "basil",
        DIRECT_QUOTE,
        "rule",
        carries_quote,
        "quotation marks (or an open quotation) carry the sentence",
    ),
    Rule(
        "basil.lex_writer",
        "basil",
        LOADED_PARAPHRASE,
        "corpus",
        _basil_lex_writer,
        "a `lex` span with `quote`=no is biased wording of the writer's own",
        use=False,
    ),
    Rule(
        "basil.lexicon",
        "basil",
        LOADED_PARAPHRASE,
        "rule",
        _lexicon,
        "a word of the guideline's loaded list outside quotation marks",
        use=False,
    ),
    Rule(
        "basil.plain",
        "basil",
        NEUTRAL_PARAPHRASE,
        "rule",
        _basil_unmarked_plain,
        "no `lex` span, no quotation mark, no loaded-list word",
    ),
    Rule(
        "babe.quote",
        "babe",
        DIRECT_QUOTE,
        "rule",
        carries_quote,
        "quotation marks carry the sentence (BABE judges quotes too)",
        use=False,
    ),
    Rule(
        "babe.biased_word",
        "babe",
        LOADED_PARAPHRASE,
        "corpus",
        _babe_biased_word_outside,
        "Biased, and a marked biased word outside quotation marks",
    ),
    Rule(
        "babe.factual",
        "babe",
        NEUTRAL_PARAPHRASE,
        "corpus",
        _babe_factual,
        "Non-biased + Entirely factual, no quotation mark, no loaded-list word",
    ),
    Rule(
        "polnear.direct_content",
        "polnear",
        DIRECT_QUOTE,
        "corpus",
        _polnear_direct_content,
        "inside an attribution content span that is fully in quotation marks",
    ),
    Rule("polnear.quote", "polnear", DIRECT_QUOTE, "rule", carries_quote, "quotation marks carry the sentence"),
    Rule(
        "polnear.loaded_cue",
        "polnear",
        LOADED_PARAPHRASE,
        "corpus",
        _polnear_loaded_cue,
        "the attribution cue is a loaded reporting verb of the guideline's list",
    ),
    Rule(
        "polnear.lexicon",
        "polnear",
        LOADED_PARAPHRASE,
        "rule",
        _lexicon,
        "a word of the guideline's loaded list outside quotation marks",
        use=False,
    ),
    Rule(
        "polnear.reported_neutral",
        "polnear",
        NEUTRAL_PARAPHRASE,
        "corpus",
        _polnear_reported_neutral,
        "reported speech under a neutral cue (said, told, according to, ...), no mark, no loaded-list word",
    ),
    Rule(
        "polnear.plain",
        "polnear",
        NEUTRAL_PARAPHRASE,
        "rule",
        _plain,
        "no quotation mark, no loaded cue or loaded-list word",
        use=False,
    ),
    Rule("newssd.quote", "newssd", DIRECT_QUOTE, "rule", carries_quote, "quotation marks carry the sentence"),
    Rule(
        "newssd.subj",
        "newssd",
        LOADED_PARAPHRASE,
        "corpus",
        _newssd("SUBJ"),
        "SUBJ = the author's own opinion, no quotation mark",
        use=False,
    ),
    Rule(
        "newssd.obj",
        "newssd",
        NEUTRAL_PARAPHRASE,
        "corpus",
        _newssd("OBJ"),
        "OBJ without quotation marks = plain report",
        use=False,
    ),
    Rule("bbc.quote", "bbc", DIRECT_QUOTE, "rule", carries_quote, "quotation marks carry the sentence"),
    Rule(
        "bbc.lexicon",
        "bbc",
        LOADED_PARAPHRASE,
        "rule",
        _lexicon,
        "a word of the guideline's loaded list outside quotation marks",
        use=False,
    ),
    Rule("bbc.plain", "bbc", NEUTRAL_PARAPHRASE, "rule", _plain, "no quotation mark, no loaded-list word"),
)


def rules_for(corpus: str, only_used: bool = True) -> list[Rule]:
    """The decision list of one corpus, in precedence order."""
    return [rule for rule in RULES if rule.corpus == corpus and (rule.use or not only_used)]


def apply_rules(view: SentenceView, rules: Sequence[Rule]) -> Rule | None:
    """The first rule of the decision list that fires, or ``None`` when all abstain."""
    for rule in rules:
        if rule.fires(view):
            return rule
    return None


@dataclass(frozen=True)
class RuleScore:
    """How one rule (or a corpus's whole decision list) agrees with the hand labels."""

    name: str
    corpus: str
    label: str
    fired: int
    correct: int
    #: hand-labelled sentences of this corpus with this label
    gold: int
    use: bool

    @property
    def precision(self) -> float:
        return self.correct / self.fired if self.fired else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0


def measure_rules(pairs: Iterable[tuple[str, SentenceView, str]]) -> list[RuleScore]:
    """Score every rule alone, and each corpus's decision list per label, on ``(corpus, view, gold)``.

    A rule alone is scored where it fires, whatever rule precedes it; the decision list (``<corpus>.*``
    rows) is what the dataset actually receives from the used rules.
    """
    by_corpus: dict[str, list[tuple[SentenceView, str]]] = {}
    for corpus, view, gold in pairs:
        by_corpus.setdefault(corpus, []).append((view, gold))
    scores: list[RuleScore] = []
    for corpus, items in by_corpus.items():
        every_rule = rules_for(corpus, only_used=False)
        if not every_rule:
            continue  # a corpus read for its hand labels only (MBIC articles) has no rules to score
        gold_counts = {label: sum(1 for _, gold in items if gold == label) for label in LABELS}
        for rule in every_rule:
            fired = [gold for view, gold in items if rule.fires(view)]
            scores.append(
                RuleScore(
                    rule.name,
                    corpus,
                    rule.label,
                    len(fired),
                    sum(1 for gold in fired if gold == rule.label),
                    gold_counts[rule.label],
                    rule.use,
                )
            )
        used = rules_for(corpus)
        decided = [(apply_rules(view, used), gold) for view, gold in items]
        for label in LABELS:
            fired = [gold for rule, gold in decided if rule is not None and rule.label == label]
            scores.append(
                RuleScore(
                    f"{corpus}.* (decision list)",
                    corpus,
                    label,
                    len(fired),
                    sum(1 for gold in fired if gold == label),
                    gold_counts[label],
                    True,
                )
            )
    return scores


def format_rule_table(scores: Sequence[RuleScore]) -> str:
    """Markdown table of :func:`measure_rules`, with each rule's reason and label quality."""
    rules = {rule.name: rule for rule in RULES}
    lines = [
        "| rule | corpus annotation / cue (why) | label | quality | used | fires | precision | recall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        rule = rules.get(s.name)
        why, quality = (rule.why, rule.quality) if rule else ("the used rules above, first that fires", "")
        lines.append(
            f"| `{s.name}` | {why} | {s.label} | {quality} | {'yes' if s.use else 'no'} | {s.fired} | "
            f"{s.precision:.3f} | {s.recall:.3f} |"
        )
    return "\n".join(lines)
