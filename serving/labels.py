"""The three labels of the annotation guideline, in the order the model's output uses."""

from __future__ import annotations

DIRECT_QUOTE = "direct_quote"
NEUTRAL_PARAPHRASE = "neutral_paraphrase"
LOADED_PARAPHRASE = "loaded_paraphrase"

#: Output order of every model head and every probability vector in the project.
LABELS: tuple[str, ...] = (DIRECT_QUOTE, NEUTRAL_PARAPHRASE, LOADED_PARAPHRASE)
LABEL_TO_ID: dict[str, int] = {name: i for i, name in enumerate(LABELS)}
