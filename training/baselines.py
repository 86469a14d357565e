"""Two baselines the model must beat, scored by the same code as the model (:mod:`.metrics`).

(a) Rules only: the splitter's quotation state plus quotation marks decide ``direct_quote``, a
loaded-word lexicon outside quotation marks decides ``loaded_paraphrase``, everything else is neutral.
(b) TF-IDF over word and character n-grams with a class-balanced logistic regression, trained on the
dataset's ``train`` split. The sentence alone is the input, plus one token saying whether a quotation
is open at its start (the context the model also receives through :func:`quoteframe.inputs.model_pair`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from quoteframe.labels import DIRECT_QUOTE, LABELS, LOADED_PARAPHRASE, NEUTRAL_PARAPHRASE
from quoteframe.training.lexicon import loaded_matches
from quoteframe.training.metrics import EvalReport, evaluate_predictions
from quoteframe.training.rules import SentenceView, carries_quote

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

#: Token appended to the TF-IDF input of a sentence that starts inside an open quotation.
INSIDE_QUOTE_TOKEN = "xxinsidequotexx"


def rules_predict(texts: Sequence[str], inside_quote: Sequence[bool], extra_lexicon: Collection[str] = ()) -> list[str]:
    """Label sentences by the guideline's precedence: quotation, then loaded wording, then neutral."""
    labels = []
    for text, inside in zip(texts, inside_quote, strict=True):
        view = SentenceView(text, bool(inside), {})
        if carries_quote(view):
            labels.append(DIRECT_QUOTE)
        elif loaded_matches(view.parts.unquoted, extra_lexicon):
            labels.append(LOADED_PARAPHRASE)
        else:
            labels.append(NEUTRAL_PARAPHRASE)
    return labels


def tfidf_inputs(texts: Sequence[str], inside_quote: Sequence[bool]) -> list[str]:
    """The text each TF-IDF model reads: the sentence, plus a marker when a quotation is open."""
    return [
        f"{text} {INSIDE_QUOTE_TOKEN}" if inside else text for text, inside in zip(texts, inside_quote, strict=True)
    ]


def fit_tfidf(rows: Mapping[str, Sequence], qualities: Collection[str] | None = None, seed: int = 13) -> Pipeline:
    """Fit word (1-2) + char_wb (2-5) n-gram TF-IDF and a balanced logistic regression.

    ``rows`` is a ``datasets.Dataset`` (or any mapping of column lists) with ``text``,
    ``inside_quote``, ``label`` and ``label_quality``; ``qualities`` keeps only those label qualities.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    keep = [i for i, quality in enumerate(rows["label_quality"]) if qualities is None or quality in qualities]
    if not keep:
        raise ValueError(f"no training rows with label quality in {sorted(qualities or [])}")
    texts, inside, labels = rows["text"], rows["inside_quote"], rows["label"]
    model = Pipeline(
        [
            (
                "features",
                FeatureUnion(
                    [
                        ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
                        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True)),
                    ]
                ),
            ),
            ("classifier", LogisticRegression(class_weight="balanced", max_iter=2000, C=4.0, random_state=seed)),
        ]
    )
    model.fit(tfidf_inputs([texts[i] for i in keep], [inside[i] for i in keep]), [labels[i] for i in keep])
    return model


def tfidf_predict(model: Pipeline, texts: Sequence[str], inside_quote: Sequence[bool]) -> tuple[list[str], np.ndarray]:
    """Labels and per-label probabilities (columns in ``LABELS`` order) of a fitted TF-IDF model."""
    probabilities = model.predict_proba(tfidf_inputs(texts, inside_quote))
    order = [list(model.classes_).index(label) if label in model.classes_ else None for label in LABELS]
    aligned = np.zeros((len(texts), len(LABELS)))
    for column, source in enumerate(order):
        if source is not None:
            aligned[:, column] = probabilities[:, source]
    return [LABELS[i] for i in aligned.argmax(axis=1)], aligned


@dataclass(frozen=True)
class EvalSet:
    """Sentences with their context and gold labels."""

    name: str
    texts: list[str]
    inside_quote: list[bool]
    labels: list[str]


def dev_set(gold_path: Path, corpora_root: Path | None = None) -> EvalSet:
    """A gold file (``dev.jsonl``) with serving's quotation state over each article in order, paragraph
    starts taken from the PolNeAR dev texts under ``corpora_root`` when it holds them
    (:func:`quoteframe.training.gold.read_gold`), so that the baselines see what the model sees."""
    from quoteframe.training.gold import read_gold

    rows = read_gold(gold_path, corpora_root)
    return EvalSet("dev gold", [r["text"] for r in rows], [r["inside_quote"] for r in rows], [r["label"] for r in rows])


def heldout_sets(heldout: Mapping[str, Sequence]) -> list[EvalSet]:
    """The heldout split as a whole and its hand-labelled rows alone (weak labels are noisier)."""
    hand = [i for i, quality in enumerate(heldout["label_quality"]) if quality == "hand"]
    columns = (heldout["text"], heldout["inside_quote"], heldout["label"])
    return [
        EvalSet("heldout (all rows)", *(list(column) for column in columns)),
        EvalSet("heldout (hand rows)", *([column[i] for i in hand] for column in columns)),
    ]


def run_baselines(
    dataset_dir: Path, gold_path: Path, corpora_root: Path | None, babe_lexicon: Path | None = None
) -> list[tuple[str, str, EvalReport]]:
    """Score every baseline on dev gold and the heldout split: ``(system, eval set, report)`` triples."""
    from quoteframe.training.dataset import load_built_dataset
    from quoteframe.training.lexicon import load_babe_lexicon

    dataset = load_built_dataset(dataset_dir)
    sets = [dev_set(gold_path, corpora_root), *heldout_sets(dataset["heldout"])]
    systems: list[tuple[str, object]] = [("rules (guideline lexicon)", ())]
    if babe_lexicon is not None and babe_lexicon.exists():
        systems.append(("rules (guideline + BABE lexicon)", load_babe_lexicon(babe_lexicon)))
    results = []
    for name, extra in systems:
        for eval_set in sets:
            predicted = rules_predict(eval_set.texts, eval_set.inside_quote, extra)
            results.append((name, eval_set.name, evaluate_predictions(eval_set.labels, predicted)))
    for name, qualities in (("tfidf+logreg (hand rows)", {"hand"}), ("tfidf+logreg (all rows)", None)):
        model = fit_tfidf(dataset["train"], qualities)
        for eval_set in sets:
            predicted, probabilities = tfidf_predict(model, eval_set.texts, eval_set.inside_quote)
            results.append((name, eval_set.name, evaluate_predictions(eval_set.labels, predicted, probabilities)))
    return results


def format_results(results: Iterable[tuple[str, str, EvalReport]]) -> tuple[str, str]:
    """A Markdown summary table and the full per-class reports (plain text)."""
    results = list(results)
    summary = [
        "| system | eval set | n | macro-F1 | " + " | ".join(f"F1 {label}" for label in LABELS) + " | accuracy |",
        "|---|---|---|---|" + "---|" * (len(LABELS) + 1),
    ]
    details = []
    for system, eval_name, report in results:
        f1s = " | ".join(f"{report.per_class[label].f1:.3f}" for label in LABELS)
        summary.append(
            f"| {system} | {eval_name} | {report.n} | {report.macro_f1:.3f} | {f1s} | {report.accuracy:.3f} |"
        )
        details.append(report.format_table(f"{system} on {eval_name}"))
    return "\n".join(summary), "\n\n".join(details)
