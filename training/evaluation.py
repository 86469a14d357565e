"""``quoteframe evaluate``: score a shipped model folder on the dev gold set and the held-out split.

The model card quotes these numbers, so they come from the files users run (the ONNX model through
:class:`quoteframe.Classifier`), not from the PyTorch checkpoint they were exported from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from quoteframe.labels import DIRECT_QUOTE, LABELS
from quoteframe.training.metrics import (
    EvalReport,
    bootstrap_interval,
    calibration_bins,
    evaluate_predictions,
    paired_bootstrap,
)
from quoteframe.training.provenance import evaluation_warnings

if TYPE_CHECKING:
    from quoteframe.classifier import Classifier

#: A system under evaluation: rows (text, previous, inside_quote) in, labels and optional probabilities out.
System = Callable[[Sequence[dict]], tuple[list[str], np.ndarray | None]]


@dataclass
class SetResult:
    """Every figure of one system on one labelled set."""

    name: str
    report: EvalReport
    probabilities: np.ndarray | None = field(repr=False, default=None)
    predicted: list[str] = field(repr=False, default_factory=list)


def classifier_system(classifier: Classifier) -> System:
    """Wrap a :class:`quoteframe.Classifier` as a :data:`System`."""

    def run(rows: Sequence[dict]) -> tuple[list[str], np.ndarray]:
        predictions = classifier.predict(
            [r["text"] for r in rows],
            context=[r.get("previous", "") for r in rows],
            inside_quote=[bool(r.get("inside_quote", False)) for r in rows],
        )
        return [p.label for p in predictions], np.array([p.probabilities for p in predictions])

    return run


#: Bootstrap resamples behind the macro-F1 interval that ``quoteframe evaluate`` prints for each set.
INTERVAL_RESAMPLES = 1000
#: The names of the sets a model is scored on, in reports and (the held-out one) in a run's ``run.json``.
DEV_SET = "dev gold"
HELDOUT_SET = "heldout (hand rows)"
#: The sets ``quoteframe evaluate`` scores, each with its plots (:func:`plot_files`).
EVALUATED_SETS = (DEV_SET, HELDOUT_SET)


def article_ids(rows: Sequence[dict]) -> list[str]:
    """Each row's article (``article`` in gold files, ``article_id`` in a built dataset), for resampling."""
    return [str(r["article"] if "article" in r else r["article_id"]) for r in rows]


def score(system: System, rows: Sequence[dict], name: str) -> SetResult:
    """Run one system over one eval set and keep its predictions, for the error list and the plots."""
    predicted, probabilities = system(rows)
    report = evaluate_predictions([r["label"] for r in rows], predicted, probabilities)
    return SetResult(name, report, probabilities, predicted)


def loaded_framing_quotes(rows: Sequence[dict], predicted: Sequence[str]) -> dict:
    """How the quotes that the gold file marks ``framing: loaded`` fare: still labelled as quotes?"""
    picked = [i for i, r in enumerate(rows) if r["label"] == DIRECT_QUOTE and r.get("framing") == "loaded"]
    hits = sum(predicted[i] == DIRECT_QUOTE for i in picked)
    return {
        "n": len(picked),
        "predicted_direct_quote": hits,
        "recall": hits / len(picked) if picked else None,
        "predicted": {label: sum(predicted[i] == label for i in picked) for label in LABELS},
    }


def confident_errors(rows: Sequence[dict], result: SetResult, top: int = 20) -> list[dict]:
    """The ``top`` wrong predictions the model was surest of: the first place to read for failure modes."""
    if result.probabilities is None:
        return []
    wrong = [i for i, r in enumerate(rows) if result.predicted[i] != r["label"]]
    wrong.sort(key=lambda i: -float(result.probabilities[i].max()))
    return [
        {
            "id": rows[i].get("id", str(i)),
            "text": rows[i]["text"],
            "gold": rows[i]["label"],
            "predicted": result.predicted[i],
            "confidence": round(float(result.probabilities[i].max()), 4),
            "evidence": rows[i].get("evidence"),
        }
        for i in wrong[:top]
    ]


def plot_files(set_name: str) -> tuple[str, str]:
    """The file names of one set's confusion matrix and reliability diagram."""
    slug = set_name.replace(" ", "_").replace("(", "").replace(")", "")
    return f"confusion_{slug}.png", f"reliability_{slug}.png"


def remove_stale_plots(out_dir: Path, scored: Sequence[str]) -> None:
    """Delete the plots of the evaluated sets this report leaves out: left by an earlier report in the
    folder, they would pass for plots of this one. Only files evaluate itself names are touched."""
    for name in EVALUATED_SETS:
        if name not in scored:
            for file in plot_files(name):
                (out_dir / file).unlink(missing_ok=True)


def plot_confusion(report: EvalReport, path: Path, title: str) -> None:
    """Confusion matrix as a PNG: rows gold, columns predicted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.array(report.confusion)
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    ax.imshow(matrix, cmap="Blues")
    short = [label.replace("_", "\n") for label in LABELS]
    ax.set_xticks(range(len(LABELS)), short)
    ax.set_yticks(range(len(LABELS)), short)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for (row, col), value in np.ndenumerate(matrix):
        color = "white" if value > matrix.max() / 2 else "black"
        ax.text(col, row, str(value), ha="center", va="center", color=color)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_reliability(rows: Sequence[dict], result: SetResult, path: Path, bins: int = 10) -> None:
    """Reliability diagram: accuracy against confidence of the top label, with the ECE in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gold = np.array([LABELS.index(r["label"]) for r in rows])
    centers, accuracy, counts = zip(*calibration_bins(result.probabilities, gold, bins), strict=True)
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.plot(centers, accuracy, marker="o", label="model")
    for x, y, n in zip(centers, accuracy, counts, strict=True):
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)
    ax.set_xlabel("confidence of the predicted label")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{result.name}: ECE {result.report.ece:.3f}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(
    out_dir: Path,
    model_results: Sequence[tuple[Sequence[dict], SetResult]],
    baselines: Sequence[tuple[str, str, EvalReport]],
    framing: dict,
    system_name: str = "quoteframe (int8 ONNX)",
    warnings: Sequence[str] = (),
    provenance: dict[str, Any] | None = None,
) -> str:
    """Write plots, ``report.json`` and ``report.txt`` to ``out_dir``; return the text report.

    ``provenance`` (:func:`report_provenance`) goes into ``report.json`` as it is.
    """
    from quoteframe.training.baselines import format_results

    out_dir.mkdir(parents=True, exist_ok=True)
    table, _ = format_results([(system_name, r.name, r.report) for _, r in model_results] + list(baselines))
    sections = [*(f"WARNING: {warning}" for warning in warnings), table, ""]
    payload: dict = {
        "system": system_name,
        "provenance": provenance,
        "warnings": list(warnings),
        "sets": {},
        "baselines": [],
        "loaded_framing_quotes": framing,
    }
    sections += [f"macro-F1 with a 95% interval, whole articles resampled ({INTERVAL_RESAMPLES} resamples):"]
    for rows, result in model_results:
        interval = bootstrap_interval(
            [r["label"] for r in rows], result.predicted, article_ids(rows), INTERVAL_RESAMPLES
        )
        sections.append(
            f"  {result.name}: {interval.macro_f1:.3f} [{interval.low:.3f}, {interval.high:.3f}] "
            f"({interval.n} sentences, {interval.units} articles)"
        )
        payload["sets"][result.name] = {"macro_f1_interval": asdict(interval) | {"resamples": INTERVAL_RESAMPLES}}
    sections.append("")
    for rows, result in model_results:
        confusion, reliability = plot_files(result.name)
        plot_confusion(result.report, out_dir / confusion, f"{system_name}\n{result.name}")
        plot_reliability(rows, result, out_dir / reliability)
        sections += [result.report.format_table(f"{system_name} on {result.name}"), ""]
        payload["sets"][result.name] |= {
            "metrics": result.report.to_dict(),
            "most_confident_errors": confident_errors(rows, result),
        }
    payload["baselines"] = [{"system": s, "set": n, "metrics": r.to_dict()} for s, n, r in baselines]
    sections.append(
        f"quotes with loaded framing ({model_results[0][1].name}): {framing['predicted_direct_quote']} of "
        f"{framing['n']} labelled direct_quote; predicted: {framing['predicted']}"
    )
    first_rows, first = model_results[0]
    sections += ["", f"20 most confident errors ({first.name}):"]
    sections += [
        f"  {e['confidence']:.3f} gold={e['gold']} predicted={e['predicted']}: {e['text'][:160]}"
        for e in confident_errors(first_rows, first)
    ]
    text = "\n".join(sections)
    (out_dir / "report.txt").write_text(text + "\n", encoding="utf-8")
    (out_dir / "report.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return text


def hand_rows(rows: Iterable[dict]) -> list[dict]:
    """The hand-labelled rows: a model is scored against hand labels only, on dev and held-out rows alike,
    so that every figure of one set (evaluate, calibrate, compare, a run's ``run.json``) is of the same rows."""
    return [r for r in rows if r["label_quality"] == "hand"]


def heldout_hand_rows(dataset_dir: Path | None) -> list[dict]:
    """The hand-labelled rows of a built dataset's held-out split; none when there is no build or no split."""
    if dataset_dir is None or not (dataset_dir / "dataset_dict.json").is_file():
        return []
    from quoteframe.training.dataset import load_built_dataset

    splits = load_built_dataset(dataset_dir)
    if "heldout" not in splits:
        return []
    return hand_rows(splits["heldout"])


def no_heldout_reason(dataset_dir: Path | None) -> str:
    """Why :func:`heldout_hand_rows` found no rows, for the report that goes without them."""
    splits_file = None if dataset_dir is None else dataset_dir / "dataset_dict.json"
    if splits_file is None:
        why = "no dataset was given"
    elif not splits_file.is_file():
        why = f"{dataset_dir} holds no built dataset (quoteframe data build writes one)"
    elif "heldout" not in json.loads(splits_file.read_text(encoding="utf-8"))["splits"]:
        why = f"the dataset at {dataset_dir} has no held-out split"
    else:
        why = f"the held-out split of {dataset_dir} has no hand-labelled row"
    return f"the held-out split was not scored: {why}"


def report_provenance(
    classifier: Classifier, gold_path: Path, dataset_dir: Path | None, corpora_root: Path | None
) -> dict[str, Any]:
    """What a report was computed from, so that a ``report.json`` found later names its model and data."""
    from quoteframe.manifest import MODEL_FILE, sha256_file
    from quoteframe.training.gold import polnear_dev_folder

    paragraphs = polnear_dev_folder(corpora_root)
    return {
        "gold_paragraphs": None if paragraphs is None else str(paragraphs),
        "model_dir": str(classifier.model_dir),
        "model_sha256": classifier.manifest.files[MODEL_FILE],
        "temperature": classifier.manifest.temperature,
        "gold": str(gold_path),
        "gold_sha256": sha256_file(gold_path),
        "dataset": None if dataset_dir is None else str(dataset_dir),
    }


def evaluate_model(
    model_dir: Path | None,
    gold_path: Path,
    out_dir: Path,
    dataset_dir: Path | None = None,
    corpora_root: Path | None = None,
    with_baselines: bool = True,
    babe_lexicon: Path | None = None,
) -> str:
    """Score the model folder on dev gold (and the held-out hand rows), next to the baselines.

    A held-out set left out is said in the report's warnings, and the plots of an earlier report in
    ``out_dir`` for a set this one leaves out are deleted.
    """
    from quoteframe.classifier import Classifier
    from quoteframe.training.gold import paragraph_warning, read_gold_rows

    dev_rows = read_gold_rows(gold_path, corpora_root)
    classifier = Classifier.load(model_dir)
    system = classifier_system(classifier)
    warnings = evaluation_warnings(classifier.manifest.training, gold_path, dataset_dir)
    if note := paragraph_warning(dev_rows, corpora_root):
        warnings.append(note)
    results = [(dev_rows, score(system, dev_rows, DEV_SET))]
    have_dataset = dataset_dir is not None and (dataset_dir / "dataset_dict.json").is_file()
    heldout = heldout_hand_rows(dataset_dir)
    if heldout:
        results.append((heldout, score(system, heldout, HELDOUT_SET)))
    else:
        warnings.append(no_heldout_reason(dataset_dir))
    if with_baselines and not have_dataset:
        warnings.append(f"the baselines were not scored: they train on a built dataset, and {dataset_dir} holds none")
    baselines = []
    if with_baselines and have_dataset:
        from quoteframe.training.baselines import run_baselines

        baselines = [
            b for b in run_baselines(dataset_dir, gold_path, corpora_root, babe_lexicon) if b[1] != "heldout (all rows)"
        ]
    framing = loaded_framing_quotes(dev_rows, results[0][1].predicted)
    remove_stale_plots(out_dir, [result.name for _, result in results])
    provenance = report_provenance(classifier, gold_path, dataset_dir, corpora_root)
    return write_report(out_dir, results, baselines, framing, warnings=warnings, provenance=provenance)


def compare_models(
    model_a: Path,
    model_b: Path,
    gold_path: Path,
    dataset_dir: Path | None = None,
    resamples: int = 1000,
    corpora_root: Path | None = None,
) -> str:
    """Macro-F1 of two model folders on dev gold and the held-out hand rows (all, then by corpus), with a
    paired bootstrap interval for each difference: the evidence for replacing the shipped model.

    Each model labels dev and the held-out rows once; the corpus lines are slices of that one run.
    """
    from quoteframe.classifier import Classifier
    from quoteframe.training.gold import paragraph_warning, read_gold_rows

    dev = read_gold_rows(gold_path, corpora_root)
    heldout = heldout_hand_rows(dataset_dir)
    classifiers = [Classifier.load(model_a), Classifier.load(model_b)]
    systems = [classifier_system(classifier) for classifier in classifiers]
    lines = [
        f"WARNING ({name}): {warning}"
        for name, classifier in zip("AB", classifiers, strict=True)
        for warning in evaluation_warnings(classifier.manifest.training, gold_path, dataset_dir)
    ]
    if not heldout:
        lines.append(f"WARNING: {no_heldout_reason(dataset_dir)}")
    if note := paragraph_warning(dev, corpora_root):
        lines.append(f"WARNING: {note}")
    lines += [
        f"A = {model_a}, B = {model_b}; paired bootstrap over whole articles, {resamples} resamples",
        "| eval set | n | articles | macro-F1 A | macro-F1 B | B - A | 95% interval | share of resamples B > A |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in ((DEV_SET, dev), (HELDOUT_SET, heldout)):
        if not rows:
            continue
        gold, articles = [r["label"] for r in rows], article_ids(rows)
        predicted_a, predicted_b = systems[0](rows)[0], systems[1](rows)[0]
        subsets = [(name, list(range(len(rows))))]
        if name.startswith("heldout"):
            for corpus in sorted({r["corpus"] for r in rows}):
                subsets.append((f"heldout {corpus}", [i for i, r in enumerate(rows) if r["corpus"] == corpus]))
        for subset, index in subsets:
            result = paired_bootstrap(
                [gold[i] for i in index],
                [predicted_a[i] for i in index],
                [predicted_b[i] for i in index],
                resamples,
                groups=[articles[i] for i in index],
            )
            lines.append(
                f"| {subset} | {result.n} | {result.units} | {result.macro_f1_a:.3f} | {result.macro_f1_b:.3f} "
                f"| {result.difference:+.3f} | [{result.low:+.3f}, {result.high:+.3f}] | {result.b_better:.2f} |"
            )
    return "\n".join(lines)
