"""Result types of the classifier: immutable, and each one serializes to plain JSON with ``to_dict``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quoteframe.labels import LABELS, NEUTRAL_PARAPHRASE

#: The sentence gave the tokenizer nothing to read (empty, whitespace, characters it drops); the model did not run
#: (see :data:`EMPTY_PREDICTION`).
FLAG_EMPTY = "empty"
#: The sentence alone had more tokens than ``max_length`` leaves beside the model's three special tokens;
#: its end was cut before the model saw it.
FLAG_TRUNCATED = "truncated"


@dataclass(frozen=True)
class Prediction:
    """The label of one sentence, the probability of every label (in :data:`LABELS` order) and flags."""

    label: str
    probabilities: tuple[float, ...]
    flags: tuple[str, ...] = ()

    @property
    def probability(self) -> float:
        """Probability of the predicted label."""
        return self.probabilities[LABELS.index(self.label)]

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"label", "probabilities": {label: p}, "flags": [...]}``."""
        return {
            "label": self.label,
            "probabilities": dict(zip(LABELS, self.probabilities, strict=True)),
            "flags": list(self.flags),
        }


#: Result of an empty (or blank) sentence. The guideline counts non-content lines as neutral,
#: so all probability goes to ``neutral_paraphrase``; the ``empty`` flag lets callers drop such lines.
EMPTY_PREDICTION = Prediction(
    label=NEUTRAL_PARAPHRASE,
    probabilities=tuple(1.0 if name == NEUTRAL_PARAPHRASE else 0.0 for name in LABELS),
    flags=(FLAG_EMPTY,),
)


@dataclass(frozen=True)
class SentenceResult:
    """One sentence of an article with its character offsets, quotation state and prediction."""

    index: int
    start: int
    end: int
    text: str
    paragraph: int
    inside_quote: bool
    prediction: Prediction

    @property
    def label(self) -> str:
        """The predicted label (shortcut for ``prediction.label``)."""
        return self.prediction.label

    def to_dict(self) -> dict[str, Any]:
        """Return the sentence fields followed by the prediction's fields, as one flat JSON object."""
        return {
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "paragraph": self.paragraph,
            "inside_quote": self.inside_quote,
            **self.prediction.to_dict(),
        }
