"""Whether mixing in the TF-IDF baseline helps a model folder: its log-probabilities blended at weight w.

The baseline (:func:`quoteframe.training.baselines.fit_tfidf`, word and character n-grams plus the
open-quotation marker) errs differently from the fine-tuned encoder, so a blend could gain where an
average of two encoders does not. The model's log-probabilities are mixed with the baseline's as
(1 - w) * model + w * baseline for each w of a grid; w is to be chosen on the held-out hand rows, and dev
read only at that w. The baseline is fitted on the hand rows of the build's train split, as ``quoteframe
evaluate`` fits it, and the model is run through :class:`quoteframe.Classifier` on dev as ``evaluate``
reads it (the PolNeAR dev paragraphs from the corpora).

    python benchmarks/tfidf_blend.py [--model models] [--dataset data/build/dataset] [--corpora ../shared/corpora]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from quoteframe import Classifier
from quoteframe.labels import LABELS
from quoteframe.training.baselines import fit_tfidf, tfidf_predict
from quoteframe.training.dataset import load_built_dataset
from quoteframe.training.evaluation import classifier_system, hand_rows
from quoteframe.training.export import DEFAULT_GOLD
from quoteframe.training.gold import read_gold_rows
from quoteframe.training.metrics import evaluate_predictions

#: Blend weights of the baseline; 0 is the model alone.
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
#: Floor under a probability before its logarithm: the baseline gives some labels next to nothing.
FLOOR = 1e-9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models"), help="model folder to blend")
    parser.add_argument("--dataset", type=Path, default=Path("data/build/dataset"), help="build to fit and score on")
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"), help="PolNeAR dev paragraphs")
    args = parser.parse_args()

    dataset = load_built_dataset(args.dataset)
    baseline = fit_tfidf(dataset["train"], qualities={"hand"})
    system = classifier_system(Classifier.load(args.model))
    sets = {
        "heldout (hand rows)": hand_rows(dataset["heldout"]),
        "dev gold": read_gold_rows(DEFAULT_GOLD, args.corpora),
    }
    print("| eval set | w | macro-F1 | F1 " + " / ".join(LABELS) + " |")
    print("|---|---|---|---|")
    for name, rows in sets.items():
        gold = [row["label"] for row in rows]
        model = np.log(system(rows)[1] + FLOOR)
        texts, inside = [row["text"] for row in rows], [bool(row.get("inside_quote", False)) for row in rows]
        tfidf = np.log(tfidf_predict(baseline, texts, inside)[1] + FLOOR)
        for weight in WEIGHTS:
            blended = (1 - weight) * model + weight * tfidf
            report = evaluate_predictions(gold, [LABELS[i] for i in blended.argmax(axis=1)])
            per_class = " / ".join(f"{report.per_class[label].f1:.3f}" for label in LABELS)
            print(f"| {name} | {weight:.1f} | {report.macro_f1:.4f} | {per_class} |")


if __name__ == "__main__":
    main()
