"""``quoteframe evaluate`` scores the ONNX model folder and writes its report, plots and top errors."""

import json
from pathlib import Path

from click.testing import CliRunner
from sklearn.metrics import f1_score

from quoteframe import Classifier
from quoteframe.cli import main
from quoteframe.labels import LABELS
from quoteframe.manifest import MODEL_FILE, load_manifest, sha256_file
from quoteframe.training.evaluation import evaluate_model, loaded_framing_quotes, plot_files
from quoteframe.training.gold import read_gold


def test_report_matches_the_classifier_on_the_same_rows(tmp_path: Path, tiny_model_dir: Path, tiny_gold: Path) -> None:
    text = evaluate_model(tiny_model_dir, tiny_gold, tmp_path / "out", with_baselines=False)
    payload = json.loads((tmp_path / "out" / "report.json").read_text())
    metrics = payload["sets"]["dev gold"]["metrics"]

    rows = read_gold(tiny_gold)
    predictions = Classifier.load(tiny_model_dir).predict(
        [r["text"] for r in rows], context=[r["previous"] for r in rows], inside_quote=[r["inside_quote"] for r in rows]
    )
    gold = [r["label"] for r in rows]
    predicted = [p.label for p in predictions]
    assert metrics["macro_f1"] == f1_score(gold, predicted, average="macro", labels=list(LABELS), zero_division=0)
    assert metrics["n"] == len(rows)
    errors = payload["sets"]["dev gold"]["most_confident_errors"]
    assert len(errors) == sum(g != p for g, p in zip(gold, predicted, strict=True))
    confidences = [e["confidence"] for e in errors]
    assert confidences == sorted(confidences, reverse=True)
    for name in ("confusion_dev_gold.png", "reliability_dev_gold.png", "report.txt"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert "macro-F1" in text
    interval = payload["sets"]["dev gold"]["macro_f1_interval"]
    assert interval["units"] == len({r["article"] for r in rows})
    assert interval["macro_f1"] == metrics["macro_f1"]
    assert interval["low"] <= interval["macro_f1"] <= interval["high"]
    assert f"dev gold: {metrics['macro_f1']:.3f} [{interval['low']:.3f}, {interval['high']:.3f}]" in text


def test_report_says_the_heldout_split_was_not_scored_and_drops_its_old_plots(
    tmp_path: Path, tiny_model_dir: Path, tiny_gold: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stale = plot_files("heldout (hand rows)")
    for name in (*stale, "notes.txt"):
        (out / name).write_bytes(b"from an earlier report")
    text = evaluate_model(tiny_model_dir, tiny_gold, out, dataset_dir=tmp_path / "none", with_baselines=False)
    warning = f"the held-out split was not scored: {tmp_path / 'none'} holds no built dataset"
    assert f"WARNING: {warning}" in text
    payload = json.loads((out / "report.json").read_text())
    assert any(w.startswith(warning) for w in payload["warnings"])
    assert list(payload["sets"]) == ["dev gold"]
    assert not any((out / name).exists() for name in stale)
    assert (out / "notes.txt").exists()  # not a file evaluate writes: left alone
    assert all((out / name).is_file() for name in plot_files("dev gold"))


def test_report_records_what_it_was_computed_from(tmp_path: Path, tiny_model_dir: Path, tiny_gold: Path) -> None:
    text = evaluate_model(
        tiny_model_dir, tiny_gold, tmp_path / "out", tmp_path / "ds", tmp_path / "corpora", with_baselines=False
    )
    assert (
        f"were read without paragraph breaks, not found in the PolNeAR dev texts under {tmp_path / 'corpora'}" in text
    )
    provenance = json.loads((tmp_path / "out" / "report.json").read_text())["provenance"]
    assert provenance == {
        "gold_paragraphs": None,
        "model_dir": str(tiny_model_dir),
        "model_sha256": sha256_file(tiny_model_dir / MODEL_FILE),
        "temperature": load_manifest(tiny_model_dir).temperature,
        "gold": str(tiny_gold),
        "gold_sha256": sha256_file(tiny_gold),
        "dataset": str(tmp_path / "ds"),
    }


def test_cli_refuses_an_empty_gold_file(tmp_path: Path, tiny_model_dir: Path) -> None:
    empty = tmp_path / "dev.jsonl"
    empty.write_text("", encoding="utf-8")
    for command in (
        ["evaluate", "--model", str(tiny_model_dir), "--no-baselines", "--out", str(tmp_path / "out")],
        ["compare", str(tiny_model_dir), str(tiny_model_dir), "--resamples", "100"],
    ):
        result = CliRunner().invoke(main, [*command, "--gold", str(empty), "--dataset", str(tmp_path / "none")])
        assert result.exit_code != 0, command
        assert f"{empty}: no gold sentences read" in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_loaded_framing_quotes_are_counted_apart() -> None:
    rows = [
        {"label": "direct_quote", "framing": "loaded"},
        {"label": "direct_quote", "framing": "loaded"},
        {"label": "direct_quote", "framing": "neutral"},
        {"label": "loaded_paraphrase"},
    ]
    predicted = ["direct_quote", "loaded_paraphrase", "neutral_paraphrase", "loaded_paraphrase"]
    summary = loaded_framing_quotes(rows, predicted)
    assert summary["n"] == 2
    assert summary["predicted_direct_quote"] == 1
    assert summary["recall"] == 0.5
    assert summary["predicted"]["loaded_paraphrase"] == 1


def test_cli_reports_a_missing_model_folder_cleanly(tmp_path: Path, tiny_gold: Path) -> None:
    result = CliRunner().invoke(
        main, ["evaluate", "--model", str(tmp_path / "nope"), "--gold", str(tiny_gold), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code != 0
    assert "nope" in result.output
    assert "Traceback" not in result.output


def test_cli_compare_of_a_model_with_itself_finds_no_difference(
    tmp_path: Path, tiny_model_dir: Path, tiny_gold: Path
) -> None:
    result = CliRunner().invoke(
        main,
        [
            "compare",
            str(tiny_model_dir),
            str(tiny_model_dir),
            "--gold",
            str(tiny_gold),
            "--dataset",
            str(tmp_path / "none"),
            "--resamples",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"WARNING: the held-out split was not scored: {tmp_path / 'none'} holds no built dataset" in result.output
    assert "gold articles were read without paragraph breaks" in result.output
    row = next(line for line in result.output.splitlines() if line.startswith("| dev gold |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "12"
    assert cells[2] == str(len({r["article"] for r in read_gold(tiny_gold)}))
    assert cells[3] == cells[4]
    assert cells[5:] == ["+0.000", "[+0.000, +0.000]", "0.00"]
