"""The model's text pair under each context mode: training and serving both build it here."""

import pytest

from quoteframe.inputs import INSIDE_QUOTE_MARKER, MAX_TAIL_CHARS, model_pair

PREVIOUS = '"We will fight this," she said.'


@pytest.mark.parametrize(
    ("mode", "inside", "context"),
    [
        ("previous_sentence", False, PREVIOUS),
        ("previous_sentence", True, f"{INSIDE_QUOTE_MARKER} {PREVIOUS}"),
        ("previous_tail", False, PREVIOUS),
        ("previous_tail", True, f"{INSIDE_QUOTE_MARKER} {PREVIOUS}"),
        ("quote_state", False, ""),
        ("quote_state", True, INSIDE_QUOTE_MARKER),
        ("none", True, ""),
    ],
)
def test_each_mode_keeps_only_its_context(mode: str, inside: bool, context: str) -> None:
    assert model_pair("  The vote was delayed. ", PREVIOUS, inside, mode) == ("The vote was delayed.", context)


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown context mode 'paragraph'"):
        model_pair("Text.", "", False, "paragraph")


def test_tail_keeps_the_last_words_within_its_character_cap() -> None:
    url = "https://example.com/" + "a" * 200
    assert model_pair("Text.", f"See the filing at {url}", False, "previous_tail")[1] == url[-MAX_TAIL_CHARS:]
    long = 'Asked about the delay on Monday, the mayor was blunt: "We will fight this," she said.'
    tail = '"We will fight this," she said.'
    assert model_pair("Text.", long, False, "previous_tail")[1] == tail
    assert model_pair("Text.", long, True, "previous_tail")[1] == f"{INSIDE_QUOTE_MARKER} {tail}"
    assert model_pair("Text.", " \u00a0 ", True, "previous_tail")[1] == INSIDE_QUOTE_MARKER
    assert model_pair("Text.", "The governor added:", False, "previous_tail") == ("Text.", "The governor added:")
