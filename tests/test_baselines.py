"""Rules-only and TF-IDF baselines on tiny data, scored through metrics.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from quoteframe.labels import LABEL_TO_ID, LABELS
from quoteframe.training.baselines import (
    dev_set,
    fit_tfidf,
    format_results,
    rules_predict,
    run_baselines,
    tfidf_predict,
)

SENTENCES = [
    ('"We will win this race," the senator said.', False, "direct_quote"),
    ("and nobody can stop us.", True, "direct_quote"),
    ('"Taxes are too high," the mayor said.', False, "direct_quote"),
    ("The council met on Monday to vote on the budget.", False, "neutral_paraphrase"),
    ("The report was published on Tuesday.", False, "neutral_paraphrase"),
    ("Exports rose 4 percent last year.", False, "neutral_paraphrase"),
    ("The senator slammed the brazen plan.", False, "loaded_paraphrase"),
    ("Critics blasted the radical scheme.", False, "loaded_paraphrase"),
    ("She finally admitted the disastrous mistake.", False, "loaded_paraphrase"),
]


def test_rules_predict_follows_quote_then_lexicon_then_neutral() -> None:
    texts = [text for text, _, _ in SENTENCES]
    inside = [flag for _, flag, _ in SENTENCES]
    assert rules_predict(texts, inside) == [label for _, _, label in SENTENCES]
    assert rules_predict(["A tyrannical decree was issued."], [False], {"tyrannical"}) == ["loaded_paraphrase"]


def _dataset(rows: list[tuple[str, bool, str]], quality: str = "hand"):
    from datasets import Dataset

    return Dataset.from_dict(
        {
            "text": [text for text, _, _ in rows],
            "inside_quote": [flag for _, flag, _ in rows],
            "label": [label for _, _, label in rows],
            "label_id": [LABEL_TO_ID[label] for _, _, label in rows],
            "label_quality": [quality] * len(rows),
            "article_id": [f"a{i}" for i in range(len(rows))],
        }
    )


def test_tfidf_learns_the_training_rows_and_returns_aligned_probabilities() -> None:
    train = _dataset(SENTENCES * 4)
    model = fit_tfidf(train)
    texts = [text for text, _, _ in SENTENCES]
    predicted, probabilities = tfidf_predict(model, texts, [flag for _, flag, _ in SENTENCES])
    assert predicted == [label for _, _, label in SENTENCES]
    assert probabilities.shape == (len(SENTENCES), len(LABELS))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert [LABELS[i] for i in probabilities.argmax(axis=1)] == predicted


def test_run_baselines_scores_dev_and_heldout(tmp_path: Path) -> None:
    from datasets import DatasetDict

    DatasetDict({"train": _dataset(SENTENCES * 3), "heldout": _dataset(SENTENCES[::2])}).save_to_disk(
        str(tmp_path / "ds")
    )
    dev = [
        {"id": f"art#{k}", "article": "art", "text": text, "label": label}
        for k, (text, _, label) in enumerate(SENTENCES)
    ]
    (tmp_path / "dev.jsonl").write_text("".join(json.dumps(row) + "\n" for row in dev), encoding="utf-8")
    results = run_baselines(tmp_path / "ds", tmp_path / "dev.jsonl", corpora_root=None, babe_lexicon=None)
    systems = {system for system, _, _ in results}
    assert systems == {"rules (guideline lexicon)", "tfidf+logreg (hand rows)", "tfidf+logreg (all rows)"}
    scores = {(system, eval_set): report for system, eval_set, report in results}
    assert scores[("rules (guideline lexicon)", "dev gold")].n == len(SENTENCES)
    # dev context comes from the dev article itself: there the quotation before "and nobody can stop
    # us." is closed, so the rules call it neutral; every other sentence is right
    assert scores[("rules (guideline lexicon)", "dev gold")].confusion == [[2, 1, 0], [0, 3, 0], [0, 0, 3]]
    assert scores[("rules (guideline lexicon)", "heldout (all rows)")].macro_f1 == 1.0
    assert scores[("tfidf+logreg (all rows)", "heldout (hand rows)")].n == len(SENTENCES[::2])
    assert scores[("tfidf+logreg (all rows)", "dev gold")].ece is not None
    summary, details = format_results(results)
    assert summary.count("\n") == 1 + len(results)
    assert "rules (guideline lexicon) on dev gold" in details


def test_dev_set_tracks_a_quotation_across_sentences(tmp_path: Path) -> None:
    rows = [
        ("Council approves plan.", "neutral_paraphrase"),
        ('"Families should live here.', "direct_quote"),
        ('Nobody is left out," she said.', "direct_quote"),
    ]
    dev = [{"id": f"a#{k}", "article": "a", "text": t, "label": label} for k, (t, label) in enumerate(rows)]
    (tmp_path / "dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in dev), encoding="utf-8")
    eval_set = dev_set(tmp_path / "dev.jsonl")
    assert eval_set.inside_quote == [False, False, True]
    assert eval_set.labels == [label for _, label in rows]


_BLOCK_ROWS = [
    ("The governor added:", "neutral_paraphrase"),
    ("It is typical of her.", "direct_quote"),
    ("She knows nothing.", "direct_quote"),
    ("Her comments came on Tuesday.", "neutral_paraphrase"),
]
_BLOCK_TEXT = "The governor added:\n\nIt is typical of her. She knows nothing.\n\nHer comments came on Tuesday.\n"


def _dev_with_text(tmp_path: Path, dev: list[dict], article: str) -> Path:
    """A dev file, and the PolNeAR dev text of its article ``a`` under ``tmp_path / "corpora"``."""
    gold = tmp_path / "dev.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in dev), encoding="utf-8")
    text_dir = tmp_path / "corpora" / "polnear" / "data" / "dev" / "text"
    text_dir.mkdir(parents=True)
    (text_dir / "a.txt").write_text(article, encoding="utf-8")
    return gold


def test_dev_set_reads_paragraphs_of_the_polnear_dev_texts(tmp_path: Path) -> None:
    dev = [{"id": f"a#{k}", "article": "a", "text": t, "label": label} for k, (t, label) in enumerate(_BLOCK_ROWS)]
    gold = _dev_with_text(tmp_path, dev, _BLOCK_TEXT)
    # The block runs to its paragraph's end; without the texts only the sentence after the lead-in is known.
    assert dev_set(gold, tmp_path / "corpora").inside_quote == [False, True, True, False]
    assert dev_set(gold, tmp_path / "missing").inside_quote == [False, True, False, False]


def test_dev_paragraphs_line_up_by_position_and_missing_articles_are_named(tmp_path: Path) -> None:
    from quoteframe.training.gold import paragraph_warning, read_gold

    dev = [{"id": f"a#{k}", "article": "a", "text": t, "label": label} for k, (t, label) in enumerate(_BLOCK_ROWS)]
    dev.insert(0, {"id": "a#x", "article": "a", "text": "A headline.", "label": "not a label"})
    dev.append({"id": "b#0", "article": "b", "text": "An article without its text.", "label": "neutral_paraphrase"})
    gold = _dev_with_text(tmp_path, dev, "A headline.\n\n" + _BLOCK_TEXT)
    # The headline's row is skipped (bad label); the other rows keep their own paragraphs.
    assert dev_set(gold, tmp_path / "corpora").inside_quote == [False, True, True, False, False]
    warning = paragraph_warning(read_gold(gold, tmp_path / "corpora"), tmp_path / "corpora")
    assert warning is not None and warning.startswith("1 of 2 gold articles were read without paragraph breaks")
    assert "(first: b)" in warning


def test_baselines_refuse_a_readme_they_could_not_write_before_fitting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from quoteframe.cli import main
    from quoteframe.training import baselines

    def fitted(*args: object) -> None:
        raise AssertionError("the baselines were fitted before the --readme path was checked")

    monkeypatch.setattr(baselines, "run_baselines", fitted)
    readme = tmp_path / "no-such-folder" / "README.md"
    result = CliRunner().invoke(main, ["data", "baselines", "--dataset", str(tmp_path), "--readme", str(readme)])

    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"--readme {readme}: its folder {readme.parent} does not exist" in result.output
