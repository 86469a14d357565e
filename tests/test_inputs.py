"""The model's text pair under each context mode: training and serving both build it here."""

import pytest

from quoteframe.inputs import INSIDE_QUOTE_MARKER, model_pair

PREVIOUS = '"We will fight this," she said.'


@pytest.mark.parametrize(
    ("mode", "inside", "context"),
    [
        ("previous_sentence", False, PREVIOUS),
        ("previous_sentence", True, f"{INSIDE_QUOTE_MARKER} {PREVIOUS}"),
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
