"""Scores for three-way sentence labels, shared by the baselines, training and the model card.

Everything is computed with scikit-learn so that every number in the project comes from one
well-tested implementation; this module only fixes the label order and the report's shape.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from quoteframe.labels import LABELS


@dataclass(frozen=True)
class ClassScores:
    """Precision, recall, F1 and support of one label."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EvalReport:
    """Scores of one system on one labelled set."""

    n: int
    macro_f1: float
    accuracy: float
    per_class: dict[str, ClassScores]
    #: rows = gold label, columns = predicted label, both in ``LABELS`` order
    confusion: list[list[int]]
    #: expected calibration error; ``None`` when the system gives no probabilities
    ece: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def format_table(self, title: str = "") -> str:
        """A plain-text report: per-class scores, macro-F1 and the confusion matrix."""
        width = max(len(label) for label in LABELS)
        lines = [title] if title else []
        lines.append(f"{'label':<{width}}  precision  recall     f1  support")
        for label in LABELS:
            s = self.per_class[label]
            lines.append(f"{label:<{width}}  {s.precision:9.3f}  {s.recall:6.3f}  {s.f1:5.3f}  {s.support:7d}")
        ece = "" if self.ece is None else f"  ECE {self.ece:.3f}"
        absent = [label for label in LABELS if not self.per_class[label].support]
        over = f" (over the labels gold holds; none of {', '.join(absent)})" if absent else ""
        lines.append(f"macro-F1 {self.macro_f1:.3f}{over}  accuracy {self.accuracy:.3f}  n {self.n}{ece}")
        lines.append("confusion (rows gold, columns predicted): " + " / ".join(LABELS))
        lines.extend(
            f"{label:<{width}}  " + " ".join(f"{c:6d}" for c in row)
            for label, row in zip(LABELS, self.confusion, strict=True)
        )
        return "\n".join(lines)


def calibration_bins(probabilities: np.ndarray, gold: np.ndarray, bins: int = 10) -> list[tuple[float, float, int]]:
    """``(mean confidence, accuracy, rows)`` of every non-empty equal-width bin of top-label confidence."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == gold
    out = []
    for low, high in itertools.pairwise(np.linspace(0.0, 1.0, bins + 1)):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            out.append((float(confidence[in_bin].mean()), float(correct[in_bin].mean()), int(in_bin.sum())))
    return out


def expected_calibration_error(probabilities: np.ndarray, gold: np.ndarray, bins: int = 10) -> float:
    """ECE of the top-label confidence over equal-width bins (Guo et al., 2017)."""
    total = len(gold)
    return float(sum(n / total * abs(acc - conf) for conf, acc, n in calibration_bins(probabilities, gold, bins)))


def macro_f1(gold: Sequence | np.ndarray, predicted: Sequence | np.ndarray) -> float:
    """Macro-F1 over the labels that occur in ``gold`` (names or ids alike).

    A label with no gold row has no F1 worth averaging: counting it as 0 would take a third off the score
    of a corpus slice, or a bootstrap resample of one, that happens to hold no direct quote, and only for
    the model that predicted one there. Its false positives still cost recall on the true labels.
    """
    present = sorted(set(np.asarray(gold).tolist()))
    if not present:
        return 0.0
    return float(f1_score(gold, predicted, labels=present, average="macro", zero_division=0))


def evaluate_predictions(
    gold: Sequence[str], predicted: Sequence[str], probabilities: np.ndarray | None = None
) -> EvalReport:
    """Score predicted labels (and optionally per-label probabilities in ``LABELS`` order) against gold."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    unknown = (set(gold) | set(predicted)) - set(LABELS)
    if unknown:
        raise ValueError(f"unknown labels: {sorted(unknown)}")
    labels = list(LABELS)
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    per_class = {
        label: ClassScores(float(p), float(r), float(f), int(s))
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    ece = None
    if probabilities is not None:
        gold_ids = np.array([labels.index(label) for label in gold])
        ece = expected_calibration_error(np.asarray(probabilities, dtype=float), gold_ids)
    return EvalReport(
        n=len(gold),
        macro_f1=macro_f1(gold, predicted),
        accuracy=float(np.mean(np.asarray(gold) == np.asarray(predicted))) if len(gold) else 0.0,
        per_class=per_class,
        confusion=confusion_matrix(gold, predicted, labels=labels).tolist(),
        ece=ece,
    )


@dataclass(frozen=True)
class Interval:
    """Macro-F1 of one system and a bootstrap interval for it."""

    n: int
    #: how many units were resampled: articles, or rows when no article ids were given
    units: int
    macro_f1: float
    #: 2.5th and 97.5th percentiles of macro-F1 over the resamples
    low: float
    high: float


@dataclass(frozen=True)
class PairedDifference:
    """Macro-F1 of two systems on the same rows, and a bootstrap interval for their difference."""

    n: int
    #: how many units were resampled: articles, or rows when no article ids were given
    units: int
    macro_f1_a: float
    macro_f1_b: float
    #: ``macro_f1_b - macro_f1_a`` on all rows
    difference: float
    #: 2.5th and 97.5th percentiles of the difference over the resamples
    low: float
    high: float
    #: share of resamples in which B scores higher than A
    b_better: float


def resampled_rows(groups: Sequence[str] | None, n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Row indices of each bootstrap resample: whole groups (articles) drawn with replacement.

    Sentences of one article share its topic, outlet and writer, so their errors go together; drawing
    sentences one by one treats a 14-article dev set as 565 independent draws and gives an interval far
    narrower than another 14 articles would. ``groups=None`` draws rows, for sets without article ids.
    """
    rng = np.random.default_rng(seed)
    if groups is None:
        for _ in range(resamples):
            yield rng.integers(0, n, n)
        return
    if len(groups) != n:
        raise ValueError(f"{n} rows but {len(groups)} group ids")
    members: dict[str, list[int]] = {}
    for row, group in enumerate(groups):
        members.setdefault(group, []).append(row)
    units = [np.array(rows) for rows in members.values()]
    for _ in range(resamples):
        yield np.concatenate([units[i] for i in rng.integers(0, len(units), len(units))])


def _units(groups: Sequence[str] | None, n: int) -> int:
    return len(set(groups)) if groups is not None else n


def label_ids(labels: Sequence[str]) -> np.ndarray:
    """Each label's index in :data:`quoteframe.LABELS`, the column order of every probability array."""
    order = list(LABELS)
    return np.array([order.index(label) for label in labels])


def bootstrap_interval(
    gold: Sequence[str],
    predicted: Sequence[str],
    groups: Sequence[str] | None = None,
    resamples: int = 1000,
    seed: int = 0,
) -> Interval:
    """Macro-F1 with a 95% bootstrap interval, resampling whole ``groups`` (article ids) when given."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    gold_ids, predicted_ids = label_ids(gold), label_ids(predicted)
    scores = [
        macro_f1(gold_ids[rows], predicted_ids[rows]) for rows in resampled_rows(groups, len(gold_ids), resamples, seed)
    ]
    return Interval(
        n=len(gold_ids),
        units=_units(groups, len(gold_ids)),
        macro_f1=macro_f1(gold_ids, predicted_ids),
        low=float(np.percentile(scores, 2.5)),
        high=float(np.percentile(scores, 97.5)),
    )


def paired_bootstrap(
    gold: Sequence[str],
    predicted_a: Sequence[str],
    predicted_b: Sequence[str],
    resamples: int = 1000,
    seed: int = 0,
    groups: Sequence[str] | None = None,
) -> PairedDifference:
    """Compare two systems on the same rows by resampling them (the same draw for both).

    A dev set of a few hundred sentences moves macro-F1 by several points between resamples, so a
    difference between two models means little without the spread of the difference itself; resampling
    jointly keeps the two systems' errors paired. With ``groups`` (article ids) whole articles are drawn.
    """
    if not len(gold) == len(predicted_a) == len(predicted_b):
        raise ValueError(f"{len(gold)} gold labels, {len(predicted_a)} and {len(predicted_b)} predictions")
    gold_ids, a_ids, b_ids = label_ids(gold), label_ids(predicted_a), label_ids(predicted_b)
    score_a, score_b = macro_f1(gold_ids, a_ids), macro_f1(gold_ids, b_ids)
    differences = np.array(
        [
            macro_f1(gold_ids[rows], b_ids[rows]) - macro_f1(gold_ids[rows], a_ids[rows])
            for rows in resampled_rows(groups, len(gold_ids), resamples, seed)
        ]
    )
    return PairedDifference(
        n=len(gold_ids),
        units=_units(groups, len(gold_ids)),
        macro_f1_a=score_a,
        macro_f1_b=score_b,
        difference=score_b - score_a,
        low=float(np.percentile(differences, 2.5)),
        high=float(np.percentile(differences, 97.5)),
        b_better=float(np.mean(differences > 0)),
    )
