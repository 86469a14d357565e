"""Temperature scaling: the fit finds a known temperature, the classifier applies it, labels never change."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from quoteframe import Classifier
from quoteframe.classifier import softmax
from quoteframe.cli import main
from quoteframe.labels import LABELS
from quoteframe.manifest import MANIFEST_FILE, ModelFolderError
from quoteframe.training.calibration import fit_factor, negative_log_likelihood, rescale

SENTENCES = [
    ("h1", "The council met on Tuesday to discuss the budget.", "neutral_paraphrase"),
    ("h1", '"We cannot wait any longer," the mayor said.', "direct_quote"),
    ("h1", "Critics slammed the brazen giveaway to developers.", "loaded_paraphrase"),
    ("h2", "Exports rose 4 percent in March, the ministry said.", "neutral_paraphrase"),
    ("h2", '"This is a disaster for farmers," a union leader said.', "direct_quote"),
    ("h2", "The minister desperately tried to spin the dismal figures.", "loaded_paraphrase"),
]


def overconfident(temperature: float, n: int = 6000, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities ``softmax(z)`` of a model whose labels were really drawn from ``softmax(z / temperature)``."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 3.0, size=(n, 3))
    truth = softmax(logits / temperature)
    gold = np.array([rng.choice(3, p=row) for row in truth])
    return softmax(logits), gold


def test_fit_recovers_the_temperature_that_made_the_labels() -> None:
    probabilities, gold = overconfident(2.0)
    factor = fit_factor(probabilities, gold)
    assert factor == pytest.approx(2.0, rel=0.1)
    assert negative_log_likelihood(rescale(probabilities, factor), gold) < negative_log_likelihood(probabilities, gold)
    calibrated, gold = overconfident(1.0)
    assert fit_factor(calibrated, gold) == pytest.approx(1.0, rel=0.1)


def test_rescale_keeps_every_label_and_sums_to_one() -> None:
    probabilities, _ = overconfident(1.0, n=200)
    for factor in (0.5, 1.0, 3.0):
        scaled = rescale(probabilities, factor)
        np.testing.assert_allclose(scaled.sum(axis=1), 1.0)
        assert (scaled.argmax(axis=1) == probabilities.argmax(axis=1)).all()
    np.testing.assert_allclose(rescale(probabilities, 1.0), probabilities, atol=1e-12)
    assert rescale(probabilities, 3.0).max(axis=1).mean() < probabilities.max(axis=1).mean()


def test_fit_needs_rows_and_refuses_a_degenerate_fit() -> None:
    with pytest.raises(ValueError, match="no rows"):
        fit_factor(np.zeros((0, 3)), np.zeros(0, dtype=int))
    sure = np.tile([0.98, 0.01, 0.01], (50, 1))
    with pytest.raises(ValueError, match="every row is labelled right"):
        fit_factor(sure, np.zeros(50, dtype=int))
    with pytest.raises(ValueError, match="ended on its bound"):
        fit_factor(sure, np.ones(50, dtype=int))


def set_temperature(folder: Path, value: object) -> None:
    path = folder / MANIFEST_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["temperature"] = value
    path.write_text(json.dumps(data), encoding="utf-8")


def test_classifier_divides_the_logits_by_the_manifest_temperature(model_copy: Path, tiny_model_dir: Path) -> None:
    texts = [text for _, text, _ in SENTENCES]
    plain = Classifier.load(tiny_model_dir).predict(texts)
    assert Classifier.load(tiny_model_dir).manifest.temperature == 1.0
    set_temperature(model_copy, 4.0)
    hotter = Classifier.load(model_copy).predict(texts)
    expected = rescale(np.array([p.probabilities for p in plain]), 4.0)
    np.testing.assert_allclose(np.array([p.probabilities for p in hotter]), expected, atol=1e-6)
    assert [p.label for p in hotter] == [p.label for p in plain]


@pytest.mark.parametrize("value", [0, -1.5, 1e-300, 1e6, float("nan"), True, "0.8", None])
def test_a_temperature_out_of_range_or_not_a_number_is_rejected(model_copy: Path, value: object) -> None:
    set_temperature(model_copy, value)
    with pytest.raises(ModelFolderError, match=r"manifest\.json: temperature must be"):
        Classifier.load(model_copy)


def test_a_calibration_record_that_is_not_an_object_is_rejected(model_copy: Path) -> None:
    path = model_copy / MANIFEST_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["calibration"] = [["fitted_on", 1]]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelFolderError, match=r"manifest\.json: calibration must be an object"):
        Classifier.load(model_copy)


def test_a_manifest_written_before_calibration_existed_loads_at_temperature_1(
    model_copy: Path, tiny_model_dir: Path
) -> None:
    path = model_copy / MANIFEST_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["temperature"], data["calibration"]
    path.write_text(json.dumps(data), encoding="utf-8")
    old = Classifier.load(model_copy)
    assert (old.manifest.temperature, old.manifest.calibration) == (1.0, {})
    texts = [text for _, text, _ in SENTENCES]
    assert old.predict(texts) == Classifier.load(tiny_model_dir).predict(texts)


@pytest.fixture
def heldout_dataset(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """Held-out rows on which the tiny model is right 6 times in 8: a fit with a finite temperature.

    Each sentence appears 6 times with the tiny model's own label and once with each other label, so
    the best temperature makes the model's label about 0.75 likely, whatever its random weights say.
    """
    from datasets import Dataset, DatasetDict

    predicted = Classifier.load(tiny_model_dir).predict([text for _, text, _ in SENTENCES])
    labelled = [
        (article, text, label)
        for (article, text, _), prediction in zip(SENTENCES, predicted, strict=True)
        for label in [prediction.label] * 6 + [other for other in LABELS if other != prediction.label]
    ]

    def split(rows: list[tuple[str, str, str]]) -> Dataset:
        return Dataset.from_dict(
            {
                "text": [text for _, text, _ in rows],
                "label": [label for _, _, label in rows],
                "label_quality": ["hand"] * len(rows),
                "previous": [""] * len(rows),
                "inside_quote": [False] * len(rows),
                "corpus": ["test"] * len(rows),
                "article_id": [article for article, _, _ in rows],
            }
        )

    path = tmp_path / "dataset"
    # A blank row gets a fixed result that no temperature touches, so the fit must leave it out.
    heldout = [*labelled, ("h3", " \u200b ", "direct_quote")]
    DatasetDict({"train": split(SENTENCES), "heldout": split(heldout)}).save_to_disk(str(path))
    return path


def test_cli_fits_writes_the_manifest_and_keeps_the_labels(
    model_copy: Path, heldout_dataset: Path, tiny_gold: Path
) -> None:
    texts = [text for _, text, _ in SENTENCES]
    before = Classifier.load(model_copy).predict(texts)
    manifest_bytes = (model_copy / MANIFEST_FILE).read_bytes()
    args = ["calibrate", "--model", str(model_copy), "--dataset", str(heldout_dataset), "--gold", str(tiny_gold)]

    dry = CliRunner().invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "left as it was" in dry.output
    assert (model_copy / MANIFEST_FILE).read_bytes() == manifest_bytes

    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "WARNING" in result.output  # the tiny model records no data card to check the split against
    manifest = json.loads((model_copy / MANIFEST_FILE).read_text(encoding="utf-8"))
    fitted, checked = manifest["calibration"]["sets"]
    assert (fitted["name"], fitted["rows"]) == ("heldout (hand rows)", len(SENTENCES) * 8)
    assert fitted["accuracy"] == 0.75
    assert (checked["name"], checked["rows"]) == ("dev gold", 12)
    assert fitted["nll_after"] <= fitted["nll_before"]
    assert manifest["temperature"] != 1.0
    assert f"-> {manifest['temperature']:.4f}" in result.output

    after = Classifier.load(model_copy).predict(texts)
    assert [p.label for p in after] == [p.label for p in before]
    expected = rescale(np.array([p.probabilities for p in before]), manifest["temperature"])
    np.testing.assert_allclose(np.array([p.probabilities for p in after]), expected, atol=1e-6)

    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    refit = json.loads((model_copy / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert refit["temperature"] == pytest.approx(manifest["temperature"], rel=1e-3)
    assert refit["calibration"]["sets"][0]["nll_before"] == pytest.approx(fitted["nll_before"], rel=1e-6)
    assert refit["files"] == manifest["files"]


def test_cli_without_a_built_dataset_says_so(model_copy: Path, tmp_path: Path, tiny_gold: Path) -> None:
    result = CliRunner().invoke(
        main, ["calibrate", "--model", str(model_copy), "--dataset", str(tmp_path / "none"), "--gold", str(tiny_gold)]
    )
    assert result.exit_code != 0
    assert "no held-out hand rows" in result.output
    assert "Traceback" not in result.output
