"""Label rules, the quotation cut and the loaded-word lexicon, one behaviour per test."""

from __future__ import annotations

import pytest

from quoteframe.labels import DIRECT_QUOTE, LOADED_PARAPHRASE, NEUTRAL_PARAPHRASE
from quoteframe.training.lexicon import loaded_matches
from quoteframe.training.quotes import opens_with_quote, split_quoted
from quoteframe.training.rules import (
    RULES,
    SentenceView,
    apply_rules,
    carries_quote,
    format_rule_table,
    measure_rules,
    rules_for,
)

RULE = {rule.name: rule for rule in RULES}


def view(text: str, inside: bool = False, **tags) -> SentenceView:
    return SentenceView(text, inside, tags)


def test_split_quoted_separates_source_and_writer_words() -> None:
    parts = split_quoted('Critics said the plan was "a brazen land grab by radicals" on Monday.')
    assert parts.quoted == "a brazen land grab by radicals"
    assert parts.unquoted == "Critics said the plan was on Monday."
    assert parts.quoted_words == 6


def test_split_quoted_handles_open_quotations_and_nyt_marks() -> None:
    assert split_quoted('We will win," he said.', inside_quote=True).quoted == "We will win,"
    assert split_quoted('He said: "We will win and').quoted == "We will win and"
    assert split_quoted("''It works,'' she said.").quoted == "It works,"
    assert opens_with_quote("“It’s fine,” Trump says.")
    assert not opens_with_quote("Trump says “it’s fine.”")


def test_carries_quote_needs_a_clause_not_a_scare_quote() -> None:
    assert carries_quote(view('"We now assess that there are troops in Russia," Blinken said.'))
    assert carries_quote(view("and that is final.", inside=True))
    assert carries_quote(view('He said Putin is "throwing Russians in a meat grinder."'))
    assert not carries_quote(view('The so-called "peace plan" was published on Tuesday by the ministry.'))


def test_lexicon_follows_the_rulings_exceptions() -> None:
    assert loaded_matches("He even attracted an even wider crowd.") == ["even", "even"]
    assert loaded_matches("Even as prices rose, sales held.") == []
    assert loaded_matches("Just 72 percent of voters attacked the plan.") == []
    assert loaded_matches("She slammed the bill and claimed victory.") == ["slammed", "claimed"]
    assert loaded_matches("so-called boutique banks grew") == []
    assert loaded_matches("the so-called reform") == ["so-called"]
    assert loaded_matches("a tyrannical decree", extra={"tyrannical"}) == ["tyrannical"]


def test_basil_rules() -> None:
    lex_writer = view("He made a fierce attack.", basil_spans=[{"bias": "lex", "quote": "no", "txt": "fierce"}])
    lex_quoted = view("He made a fierce attack.", basil_spans=[{"bias": "lex", "quote": "yes", "txt": "fierce"}])
    assert RULE["basil.lex_writer"].fires(lex_writer)
    assert not RULE["basil.lex_writer"].fires(lex_quoted)
    assert RULE["basil.plain"].fires(view("The bill passed on Monday.", basil_spans=[]))
    assert not RULE["basil.plain"].fires(
        view("The bill passed on Monday.", basil_spans=[{"bias": "lex", "quote": "no", "txt": "bill"}])
    )
    assert not RULE["basil.plain"].fires(view('The "bill" passed on Monday.', basil_spans=[]))
    assert not RULE["basil.plain"].fires(view("The bill finally passed.", basil_spans=[]))


def test_babe_rules_look_outside_quotation_marks() -> None:
    biased = {"babe_bias": "Biased", "babe_opinion": "Expresses writer’s opinion", "babe_words": ["radical", "the"]}
    assert RULE["babe.biased_word"].fires(view("The radical bill passed.", **biased))
    assert not RULE["babe.biased_word"].fires(view('He called it "the radical bill" again.', **biased))
    assert not RULE["babe.biased_word"].fires(view("The bill passed.", **biased))  # only a function word left
    factual = {"babe_bias": "Non-biased", "babe_opinion": "Entirely factual", "babe_words": []}
    assert RULE["babe.factual"].fires(view("The bill passed.", **factual))
    assert not RULE["babe.factual"].fires(view('"The bill passed," he said.', **factual))


def test_polnear_rules() -> None:
    direct = {"polnear_share": {"direct": 0.9, "mixed": 0.0, "indirect": 0.0}, "polnear_cues": []}
    loaded_cue = {
        "polnear_share": {"direct": 0.0, "mixed": 0.0, "indirect": 0.6},
        "polnear_cues": [{"cue": "insisted", "kind": "indirect"}],
    }
    neutral_cue = {
        "polnear_share": {"direct": 0.0, "mixed": 0.0, "indirect": 0.6},
        "polnear_cues": [{"cue": "said", "kind": "indirect"}],
    }
    assert RULE["polnear.direct_content"].fires(view("We will win.", **direct))
    assert RULE["polnear.loaded_cue"].fires(view("Clinton insisted the polls were wrong.", **loaded_cue))
    assert not RULE["polnear.loaded_cue"].fires(view("Clinton said the polls were wrong.", **neutral_cue))
    assert RULE["polnear.reported_neutral"].fires(view("Clinton said the polls were wrong.", **neutral_cue))
    assert not RULE["polnear.reported_neutral"].fires(view("Clinton said the polls were even wrong.", **neutral_cue))
    assert not RULE["polnear.reported_neutral"].fires(view("Clinton insisted the polls were wrong.", **loaded_cue))


def test_newssd_rules_leave_quotes_alone() -> None:
    assert RULE["newssd.subj"].fires(view("What a farce this is.", newssd_label="SUBJ"))
    assert not RULE["newssd.subj"].fires(view('"What a farce," he said.', newssd_label="SUBJ"))
    assert RULE["newssd.obj"].fires(view("It rained.", newssd_label="OBJ"))


def test_decision_list_takes_the_guideline_precedence() -> None:
    rules = rules_for("polnear")
    tags = {
        "polnear_share": {"direct": 1.0, "mixed": 0.0, "indirect": 0.0},
        "polnear_cues": [{"cue": "insisted", "kind": "indirect"}],
    }
    assert apply_rules(view('"We will win," he insisted.', **tags), rules).label == DIRECT_QUOTE
    tags["polnear_share"] = {"direct": 0.0, "mixed": 0.0, "indirect": 0.5}
    assert apply_rules(view("He insisted they would win.", **tags), rules).label == LOADED_PARAPHRASE
    tags["polnear_cues"] = [{"cue": "said", "kind": "indirect"}]
    assert apply_rules(view("He said they would win.", **tags), rules).label == NEUTRAL_PARAPHRASE
    tags["polnear_cues"] = []
    assert apply_rules(view("He expects to win.", **tags), rules) is None  # polnear.plain is not used


@pytest.mark.parametrize("corpus", ["basil", "babe", "polnear", "newssd", "bbc"])
def test_every_corpus_has_rules_in_precedence_order(corpus: str) -> None:
    order = {DIRECT_QUOTE: 0, LOADED_PARAPHRASE: 1, NEUTRAL_PARAPHRASE: 2}
    ranks = [order[rule.label] for rule in rules_for(corpus, only_used=False)]
    assert ranks and ranks == sorted(ranks)


def test_measure_rules_counts_precision_and_recall() -> None:
    plain = {"basil_spans": []}
    pairs = [
        ("basil", view("The bill passed.", **plain), NEUTRAL_PARAPHRASE),
        ("basil", view("The vote was held.", **plain), LOADED_PARAPHRASE),
        ("basil", view('"We won," he said.', **plain), DIRECT_QUOTE),
        ("basil", view("He finally spoke.", **plain), NEUTRAL_PARAPHRASE),
        # MBIC articles are read for their hand labels only: no rule, so no row in the table
        ("mbic", view("The bill passed."), NEUTRAL_PARAPHRASE),
    ]
    scores = {(s.name, s.label): s for s in measure_rules(pairs)}
    assert {s.corpus for s in scores.values()} == {"basil"}
    plain_score = scores[("basil.plain", NEUTRAL_PARAPHRASE)]
    assert (plain_score.fired, plain_score.correct, plain_score.gold) == (2, 1, 2)
    assert plain_score.precision == 0.5 and plain_score.recall == 0.5
    quote = scores[("basil.* (decision list)", DIRECT_QUOTE)]
    assert quote.precision == 1.0 and quote.recall == 1.0
    assert "| neutral_paraphrase | rule | yes | 2 | 0.500 | 0.500 |" in format_rule_table(list(scores.values()))
