"""``quoteframe calibrate``: fit the temperature that makes a model folder's probabilities match its accuracy.

A model trained with label smoothing is never asked for a probability near 1, so it is less sure than it
is right (model card, Calibration). One positive number dividing the logits (temperature scaling, Guo et
al., 2017) corrects most of that without changing a single label: the highest logit stays the highest.
The number is fitted on the held-out split's hand rows, by the lowest negative log-likelihood, and only
checked on the dev gold set, so the dev figures stay a test the fit never saw. It is always fitted to
the model's own logits (temperature 1), so fitting again gives the same number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.metrics import log_loss

from quoteframe.classifier import softmax
from quoteframe.labels import LABELS
from quoteframe.manifest import Manifest, write_manifest
from quoteframe.text import is_blank
from quoteframe.training.metrics import expected_calibration_error, label_ids

#: The search range of the fitted factor (inside :data:`quoteframe.manifest.TEMPERATURE_RANGE`). A fit
#: that ends on a bound means the probabilities are degenerate (a model worse than chance, say), not
#: miscalibrated, and :func:`fit_factor` refuses it.
FACTOR_BOUNDS = (0.05, 20.0)


def rescale(probabilities: np.ndarray, factor: float) -> np.ndarray:
    """The probabilities a model gives once its logits are divided by ``factor`` more.

    Log-probabilities differ from logits by one constant per row, which the softmax removes, so this needs
    no second pass through the model.
    """
    log_p = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-300, 1.0))
    return softmax(log_p / factor)


def negative_log_likelihood(probabilities: np.ndarray, gold: np.ndarray) -> float:
    """Mean negative log-probability of the gold label: the quantity the temperature is fitted to lower.

    ``labels`` is given so that a set without one of the labels is still read as three columns.
    """
    return float(log_loss(gold, probabilities, labels=range(len(LABELS))))


def fit_factor(probabilities: np.ndarray, gold: np.ndarray) -> float:
    """The factor by which to divide the logits further that gives the lowest negative log-likelihood.

    Searched on a log scale, where the loss is smooth and a factor of 2 is as far from 1 as one of 0.5.
    """
    if len(gold) == 0:
        raise ValueError("no rows to fit a temperature on")
    if (np.asarray(probabilities).argmax(axis=1) == gold).all():
        raise ValueError("every row is labelled right: the sharper the probabilities, the better, with no end")
    low, high = (math.log(bound) for bound in FACTOR_BOUNDS)
    result = minimize_scalar(
        lambda log_factor: negative_log_likelihood(rescale(probabilities, math.exp(log_factor)), gold),
        bounds=(low, high),
        method="bounded",
        options={"xatol": 1e-4},
    )
    if min(result.x - low, high - result.x) < 1e-2:
        raise ValueError(
            f"the temperature fit ended on its bound ({math.exp(result.x):.3g}; search range {FACTOR_BOUNDS}): "
            "the probabilities are degenerate, not miscalibrated"
        )
    return float(math.exp(result.x))


@dataclass(frozen=True)
class SetCalibration:
    """Negative log-likelihood and ECE of one eval set before and after the new temperature."""

    name: str
    rows: int
    nll_before: float
    nll_after: float
    ece_before: float
    ece_after: float
    mean_confidence_before: float
    mean_confidence_after: float
    accuracy: float


def measure(name: str, probabilities: np.ndarray, gold: np.ndarray, factor: float) -> SetCalibration:
    """Score one set's probabilities as they are and rescaled by ``factor``."""
    after = rescale(probabilities, factor)
    return SetCalibration(
        name=name,
        rows=len(gold),
        nll_before=negative_log_likelihood(probabilities, gold),
        nll_after=negative_log_likelihood(after, gold),
        ece_before=expected_calibration_error(probabilities, gold),
        ece_after=expected_calibration_error(after, gold),
        mean_confidence_before=float(probabilities.max(axis=1).mean()),
        mean_confidence_after=float(after.max(axis=1).mean()),
        accuracy=float((probabilities.argmax(axis=1) == gold).mean()),
    )


@dataclass(frozen=True)
class CalibrationReport:
    """What ``quoteframe calibrate`` fitted and how it moved each set; ``manifest`` is the one written."""

    previous_temperature: float
    temperature: float
    sets: tuple[SetCalibration, ...]
    manifest: Manifest
    #: why the held-out rows or the dev file may not be the ones the model's training kept apart
    warnings: tuple[str, ...] = ()

    def table(self) -> str:
        """A markdown table of the figures, as the command prints them."""
        lines = [f"WARNING: {warning}" for warning in self.warnings]
        lines += [
            f"temperature {self.previous_temperature:.4f} -> {self.temperature:.4f} "
            f"(fitted on {self.sets[0].name}; the other sets are checks; 'before' is temperature 1)",
            "| eval set | n | accuracy | mean confidence before / after | NLL before / after | ECE before / after |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {s.name} | {s.rows} | {s.accuracy:.3f} "
            f"| {s.mean_confidence_before:.3f} / {s.mean_confidence_after:.3f} "
            f"| {s.nll_before:.4f} / {s.nll_after:.4f} | {s.ece_before:.4f} / {s.ece_after:.4f} |"
            for s in self.sets
        ]
        return "\n".join(lines)


def scorable(rows: Sequence[dict]) -> list[dict]:
    """The rows the model runs on: a blank sentence gets a fixed result that no temperature touches."""
    return [r for r in rows if not is_blank(r["text"])]


def calibrate_model(
    model_dir: Path | None, dataset_dir: Path, gold_path: Path, write: bool = True
) -> CalibrationReport:
    """Fit the temperature of a model folder on the held-out hand rows, check it on dev, write the manifest.

    The "before" figures are those of the model's own probabilities (temperature 1), whatever the folder
    held. With ``write=False`` the report is computed and the folder left as it was.
    """
    from quoteframe.classifier import Classifier
    from quoteframe.training.evaluation import DEV_SET, HELDOUT_SET, classifier_system, heldout_hand_rows
    from quoteframe.training.gold import read_gold
    from quoteframe.training.provenance import evaluation_warnings

    classifier = Classifier.load(model_dir)
    manifest = classifier.manifest
    heldout = scorable(heldout_hand_rows(dataset_dir))
    if not heldout:
        raise ValueError(f"{dataset_dir}: no held-out hand rows to fit on; build the dataset (quoteframe data build)")
    dev = scorable(read_gold(gold_path))
    if not dev:
        raise ValueError(f"{gold_path}: no gold sentences to check the fit on")
    warnings = tuple(evaluation_warnings(manifest.training, gold_path, dataset_dir))
    system = classifier_system(classifier)
    # Undo the folder's temperature: the fit and the "before" figures are of the model's own logits.
    scored = [
        (name, rescale(system(rows)[1], 1.0 / manifest.temperature), label_ids([r["label"] for r in rows]))
        for name, rows in ((HELDOUT_SET, heldout), (DEV_SET, dev))
    ]
    temperature = fit_factor(scored[0][1], scored[0][2])
    sets = tuple(measure(name, probabilities, gold, temperature) for name, probabilities, gold in scored)
    record = {
        "fitted_on": f"heldout hand rows of {dataset_dir}",
        "objective": "negative log-likelihood",
        "before": "temperature 1, the model's own probabilities",
        "batch_size": classifier.batch_size,
        "sets": [asdict(s) for s in sets],
    }
    updated = replace(manifest, temperature=temperature, calibration=record)
    if write:
        write_manifest(classifier.model_dir, updated)
    return CalibrationReport(manifest.temperature, temperature, sets, updated, warnings)
