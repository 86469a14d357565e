"""The tiny config trains end to end on the CPU and its checkpoint exports through the parity gates."""

import json
import logging
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from datasets import Dataset, DatasetDict, load_from_disk

from quoteframe import Classifier
from quoteframe.cli import main
from quoteframe.encoding import PairEncoder
from quoteframe.labels import LABELS
from quoteframe.training import train as train_module
from quoteframe.training.config import ConfigError, TrainConfig, load_config
from quoteframe.training.export import export_model, load_torch_model
from quoteframe.training.teacher import CACHE_FILE, TeacherError, check_teacher, row_key, teacher_log_probs
from quoteframe.training.tiny import write_tiny_run
from quoteframe.training.torch_inference import predict_proba, row_pairs
from quoteframe.training.train import (
    MODEL_FOLDER,
    RUN_FILE,
    Trainer,
    class_weights,
    distillation_loss,
    git_commit,
    length_grouped_batches,
    sample_weights,
    train,
)

REPO = Path(__file__).resolve().parents[1]

ROWS = [
    ("Officials said the bridge will reopen on Monday.", "neutral_paraphrase", "hand"),
    ('"We are proud of the crews," the mayor said.', "direct_quote", "hand"),
    ("The senator slammed the brazen, disastrous plan.", "loaded_paraphrase", "hand"),
    ("Rain is expected through the weekend.", "neutral_paraphrase", "rule"),
    ('"Nobody asked us," a resident said.', "direct_quote", "rule"),
    ("Critics claimed the mayor finally admitted defeat.", "loaded_paraphrase", "corpus"),
]


def tiny_dataset(path: Path) -> Path:
    def split(repeat: int) -> Dataset:
        rows = ROWS * repeat
        return Dataset.from_dict(
            {
                "text": [t for t, _, _ in rows],
                "label": [label for _, label, _ in rows],
                "label_quality": [q for _, _, q in rows],
                "readers": [(i % 2) + 1 if q == "hand" else 0 for i, (_, _, q) in enumerate(rows)],
                "previous": [""] + [t for t, _, _ in rows[:-1]],
                "inside_quote": [False] * len(rows),
                "corpus": ["test"] * len(rows),
                "article_id": [f"a{i // 3}" for i in range(len(rows))],
            }
        )

    DatasetDict({"train": split(8), "heldout": split(1)}).save_to_disk(str(path))
    return path


def test_tiny_config_trains_and_exports(tmp_path: Path, tiny_checkpoint: Path, tiny_gold: Path) -> None:
    config = load_config(
        REPO / "configs" / "tiny.yaml",
        (
            f"base_model={tiny_checkpoint / 'checkpoint'}",
            f"dataset={tiny_dataset(tmp_path / 'dataset')}",
            f"gold_dev={tiny_gold}",
            f"output_dir={tmp_path / 'run'}",
            'quality_weights={"hand": 1.0, "rule": 0.5}',
        ),
    )
    started = time.monotonic()
    run_dir = train(config)
    assert time.monotonic() - started < 60
    record = json.loads((run_dir / RUN_FILE).read_text())
    assert record["config"]["seed"] == config.seed
    assert record["train_rows"] == 40  # 24 hand + 16 rule rows; the 8 "corpus" rows have no weight here
    assert record["history"][0]["epoch"] == 1
    assert set(record["dev_metrics"]["per_class"]) == set(LABELS)
    assert record["git_commit"]
    assert (run_dir / MODEL_FOLDER / "config.json").is_file()
    # scored as evaluate scores it: the 3 hand rows of the 6 held out, not the weak ones
    assert record["heldout_set"] == "heldout (hand rows)"
    assert record["heldout_metrics"]["n"] == 3

    report = export_model(run_dir, tmp_path / "model", gold_path=tiny_gold)
    assert all(gate.passed for gate in report.gates)
    predictions = Classifier.load(tmp_path / "model").predict(["The council met on Tuesday."])
    assert predictions[0].label in LABELS


def test_distilled_run_caches_teacher_probabilities_and_needs_only_them(
    tmp_path: Path, tiny_checkpoint: Path, tiny_gold: Path
) -> None:
    # the teacher reads other inputs than the student: no context, shorter sequences
    teacher = write_tiny_run(tmp_path / "teacher", seed=99, max_length=32, context="none")
    settings = (
        f"base_model={tiny_checkpoint / 'checkpoint'}",
        f"dataset={tiny_dataset(tmp_path / 'dataset')}",
        f"gold_dev={tiny_gold}",
        f"teacher={teacher}",
        "distill_weight=0.7",
        "distill_temperature=2.0",
    )
    first = train(load_config(REPO / "configs" / "tiny.yaml", (*settings, f"output_dir={tmp_path / 'a'}")))
    rows = list(load_from_disk(str(tmp_path / "dataset"))["train"])
    expected = predict_proba(
        load_torch_model(teacher / MODEL_FOLDER),
        PairEncoder.from_file(teacher / MODEL_FOLDER / "tokenizer.json", 32),
        row_pairs(rows, "none"),
    )
    assert np.allclose(np.exp(teacher_log_probs(teacher, rows)), expected, atol=1e-6)
    with np.load(teacher / CACHE_FILE) as cache:
        # 48 rows, 7 distinct inputs: each of the 6 texts after the one before it, and the first row alone
        assert cache["log_probs"].shape == (7, len(LABELS))
    record = json.loads((first / RUN_FILE).read_text())
    assert record["teacher"]["run"] == "teacher"
    assert record["config"]["distill_weight"] == 0.7

    # without its checkpoint the teacher still teaches from the cache: the same run, loss for loss
    shutil.rmtree(teacher / MODEL_FOLDER)
    second = train(load_config(REPO / "configs" / "tiny.yaml", (*settings, f"output_dir={tmp_path / 'b'}")))
    again = json.loads((second / RUN_FILE).read_text())["history"][0]
    assert again["train_loss"] == pytest.approx(record["history"][0]["train_loss"], rel=1e-6)
    undistilled = train(load_config(REPO / "configs" / "tiny.yaml", (*settings[:3], f"output_dir={tmp_path / 'c'}")))
    assert json.loads((undistilled / RUN_FILE).read_text())["history"][0]["train_loss"] != pytest.approx(
        again["train_loss"], rel=1e-3
    )
    with pytest.raises(TeacherError, match="no checkpoint/"):
        teacher_log_probs(teacher, [{"text": "A sentence the cache has never seen.", "previous": ""}])

    # a teacher trained again into its folder invalidates the cache
    (teacher / RUN_FILE).write_text((teacher / RUN_FILE).read_text() + "\n")
    with pytest.raises(TeacherError, match=r"not in train_log_probs\.npz"):
        teacher_log_probs(teacher, rows[:1])


def tiny_settings(tmp_path: Path, base: Path, gold: Path, *extra: str) -> tuple[str, ...]:
    """Overrides that point configs/tiny.yaml at the tiny base, a tiny dataset and gold file, and a run folder."""
    dataset = tmp_path / "dataset"
    if not dataset.exists():
        tiny_dataset(dataset)
    return (
        f"base_model={base / MODEL_FOLDER}",
        f"dataset={dataset}",
        f"gold_dev={gold}",
        f"output_dir={tmp_path / 'run'}",
        *extra,
    )


@pytest.fixture
def nothing_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make loading the weights or the dataset fail the test: a setting's check must come before both."""

    def loaded(*args: object, **kwargs: object) -> None:
        raise AssertionError("loaded before the settings were checked")

    monkeypatch.setattr(train_module, "load_built_dataset", loaded)
    monkeypatch.setattr(train_module.AutoModelForSequenceClassification, "from_pretrained", loaded)


def test_a_run_folder_is_replaced_only_with_overwrite(
    tmp_path: Path, tiny_checkpoint: Path, tiny_gold: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(REPO / "configs" / "tiny.yaml", tiny_settings(tmp_path, tiny_checkpoint, tiny_gold))
    run_dir = train(config)
    first = (run_dir / RUN_FILE).read_bytes()
    with pytest.raises(ConfigError, match=r"output_dir: .* already holds a training run \(run\.json, checkpoint/\)"):
        train(config)
    command = ["train", "--config", str(REPO / "configs" / "tiny.yaml")]
    for setting in tiny_settings(tmp_path, tiny_checkpoint, tiny_gold):
        command += ["--set", setting]
    refused = CliRunner().invoke(main, command)
    assert refused.exit_code == 1 and "pass --overwrite" in refused.output and "Traceback" not in refused.output
    assert (run_dir / RUN_FILE).read_bytes() == first

    # killed during the run: the old record is already gone, so no export can pair it with new weights
    def killed(self: Trainer, rows: list[dict]) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "evaluate", killed)
        with pytest.raises(KeyboardInterrupt):
            train(config, overwrite=True)
    assert not (run_dir / RUN_FILE).exists() and not (run_dir / MODEL_FOLDER).exists()
    with pytest.raises(ConfigError, match=r"already holds a training run"):  # a partial run is a run too
        (run_dir / MODEL_FOLDER).mkdir()
        train(config)
    replaced = CliRunner().invoke(main, [*command, "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert json.loads((run_dir / RUN_FILE).read_text())["history"]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("base_model=nowhere/tiny", "base_model: base model folder nowhere/tiny does not exist"),
        ("base_model=package:no-such-encoder", "base_model: base model package 'no-such-encoder' is not installed"),
        ("dataset=nowhere/dataset", "dataset: nowhere/dataset holds no built dataset"),
        ("gold_dev=nowhere/dev.jsonl", "gold_dev: nowhere/dev.jsonl is not a file"),
    ],
)
def test_a_missing_file_is_named_by_its_key_before_anything_loads(
    tmp_path: Path, tiny_checkpoint: Path, tiny_gold: Path, nothing_loads: None, setting: str, message: str
) -> None:
    settings = tiny_settings(tmp_path, tiny_checkpoint, tiny_gold, setting)
    with pytest.raises(ConfigError, match=message):
        train(load_config(REPO / "configs" / "tiny.yaml", settings))
    command = ["train", "--config", str(REPO / "configs" / "tiny.yaml")]
    for item in settings:
        command += ["--set", item]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1
    assert f"tiny.yaml: {message}" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("text", ["", '{"id": "a#0", "text": "Hi.", "label": "direct_quote"}\n'])
def test_a_dev_file_without_rows_is_refused_before_anything_loads(
    tmp_path: Path, tiny_checkpoint: Path, tiny_gold: Path, nothing_loads: None, text: str
) -> None:
    dev = tmp_path / "dev.jsonl"
    dev.write_text(text, encoding="utf-8")
    config = load_config(REPO / "configs" / "tiny.yaml", tiny_settings(tmp_path, tiny_checkpoint, tiny_gold))
    with pytest.raises(ConfigError, match=rf"gold_dev: {dev}: no gold sentences read"):
        Trainer(config.model_copy(update={"gold_dev": dev}))


def test_training_rows_of_no_weighted_quality_are_refused_and_a_missing_quality_is_warned_of(
    tmp_path: Path, tiny_checkpoint: Path, tiny_gold: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = tiny_settings(tmp_path, tiny_checkpoint, tiny_gold)
    tiny = REPO / "configs" / "tiny.yaml"
    refused = (
        r"quality_weights: no training rows of the qualities weighted \(model\); "
        r"the train split of .*dataset has corpus 8, hand 24, rule 16"
    )
    with pytest.raises(ConfigError, match=refused):
        Trainer(load_config(tiny, (*settings, "quality_weights={model: 1.0}")))
    with caplog.at_level(logging.WARNING):
        trainer = Trainer(load_config(tiny, (*settings, "quality_weights={hand: 1, model: 1}")))
    assert len(trainer.train_rows) == 24
    assert "quality_weights: model rows have weight 1, but the train split of" in caplog.text
    # The default weights name corpus and rule rows, which a build of hand rows alone lacks: no warning.
    caplog.clear()
    dataset = load_from_disk(str(tmp_path / "dataset"))
    hand_only = tmp_path / "hand-only"
    hand = {name: split.filter(lambda row: row["label_quality"] == "hand") for name, split in dataset.items()}
    DatasetDict(hand).save_to_disk(str(hand_only))
    with caplog.at_level(logging.WARNING):
        Trainer(load_config(tiny, (*settings, f"dataset={hand_only}")))
    assert "quality_weights" not in caplog.text


def test_an_output_dir_a_file_blocks_and_a_damaged_dataset_are_named_by_their_keys(
    tmp_path: Path, tiny_checkpoint: Path, tiny_gold: Path
) -> None:
    tiny = REPO / "configs" / "tiny.yaml"
    blocker = tmp_path / "notes"
    blocker.write_text("a file where the run's folder would go", encoding="utf-8")
    for output_dir in (blocker, blocker / "run"):
        settings = tiny_settings(tmp_path, tiny_checkpoint, tiny_gold, f"output_dir={output_dir}")
        with pytest.raises(ConfigError, match=rf"output_dir: {blocker} is a file, where the run's folder"):
            Trainer(load_config(tiny, settings))
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "dataset_dict.json").write_text("{}", encoding="utf-8")
    command = ["train", "--config", str(tiny)]
    for item in tiny_settings(tmp_path, tiny_checkpoint, tiny_gold, f"dataset={damaged}"):
        command += ["--set", item]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"tiny.yaml: dataset: {damaged}: not a readable built dataset (KeyError: 'splits')" in result.output


def test_read_once_weight_scales_hand_rows_labelled_once_only(
    tmp_path: Path, tiny_checkpoint: Path, tiny_gold: Path
) -> None:
    config = TrainConfig(quality_weights={"hand": 1.0, "corpus": 0.5}, read_once_weight=0.25)
    rows = [
        {"label_quality": "hand", "readers": 1},
        {"label_quality": "hand", "readers": 2},
        {"label_quality": "hand", "readers": 3},
        {"label_quality": "corpus", "readers": 0},
    ]
    assert sample_weights(rows, config) == [0.25, 1.0, 1.0, 0.5]
    assert sample_weights(rows, config.model_copy(update={"read_once_weight": 1.0})) == [1.0, 1.0, 1.0, 0.5]
    settings = tiny_settings(tmp_path, tiny_checkpoint, tiny_gold)
    trainer = Trainer(load_config(REPO / "configs" / "tiny.yaml", (*settings, "read_once_weight=0.5")))
    # the default quality weights (hand 1, corpus 0.5, rule 0.3); only hand rows read once are halved
    weights = {(r["label_quality"], r["readers"], w) for r, w in zip(trainer.train_rows, trainer.sample_w, strict=True)}
    assert weights == {("hand", 1, 0.5), ("hand", 2, 1.0), ("corpus", 0, 0.5), ("rule", 0, 0.3)}
    # a build from before the readers column cannot tell the rows apart, and the run says so
    old_build = load_from_disk(str(tmp_path / "dataset")).remove_columns("readers")
    old_build.save_to_disk(str(tmp_path / "old-build"))
    old = (*settings, "read_once_weight=0.5", f"dataset={tmp_path / 'old-build'}")
    with pytest.raises(ConfigError, match=r"read_once_weight: the train split of .*old-build has no readers column"):
        Trainer(load_config(REPO / "configs" / "tiny.yaml", old))


def test_git_commit_is_the_package_checkout_not_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and the project's own git checkout")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=other, check=True)
    monkeypatch.chdir(other)
    assert git_commit().split("-")[0] == head.strip()
    assert git_commit(tmp_path) == "unknown"  # not a checkout
    assert git_commit(other) == "unknown"  # a checkout that does not track the folder


def test_teacher_problems_are_caught_before_training(tmp_path: Path, tiny_checkpoint: Path) -> None:
    with pytest.raises(TeacherError, match=r"no run\.json"):
        check_teacher(tmp_path, tmp_path / "out")
    with pytest.raises(TeacherError, match="the run's own output folder"):
        check_teacher(tiny_checkpoint, tiny_checkpoint)
    (tmp_path / RUN_FILE).write_text("{}")
    with pytest.raises(TeacherError, match=r"neither train_log_probs\.npz nor a checkpoint/"):
        check_teacher(tmp_path, tmp_path / "out")


def test_a_teacher_problem_names_the_config_and_its_key(tmp_path: Path, tiny_checkpoint: Path, tiny_gold: Path) -> None:
    command = ["train", "--config", str(REPO / "configs" / "tiny.yaml")]
    teacher = tmp_path / "no-teacher"
    settings = (f"teacher={teacher}", "distill_weight=0.5", "distill_temperature=1")
    for item in tiny_settings(tmp_path, tiny_checkpoint, tiny_gold, *settings):
        command += ["--set", item]

    result = CliRunner().invoke(main, command)

    assert result.exit_code == 1
    assert f"tiny.yaml: teacher: {teacher}: not a training run folder (no run.json)" in result.output


def test_row_key_covers_what_any_context_reads() -> None:
    row = {"text": "He said so.", "previous": "It rained.", "inside_quote": False}
    assert row_key(row) == row_key({**row, "label": "direct_quote", "label_quality": "hand", "corpus": "x"})
    assert row_key({**row, "previous": None}) == row_key({**row, "previous": ""})
    assert row_key(row) != row_key({**row, "previous": ""})
    assert row_key(row) != row_key({**row, "inside_quote": True})


def test_distillation_loss_is_the_scaled_kl_from_teacher_to_student() -> None:
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 3.0]])
    teacher = torch.log_softmax(torch.tensor([[0.0, 2.0, 0.0], [1.0, 1.0, 1.0]]), dim=-1)
    expected = (
        torch.nn.functional.kl_div(
            torch.log_softmax(logits / 2.0, dim=-1),
            torch.log_softmax(teacher / 2.0, dim=-1),
            log_target=True,
            reduction="none",
        ).sum(dim=-1)
        * 4.0
    )
    assert torch.allclose(distillation_loss(logits, teacher, 2.0), expected, atol=1e-6)
    # log-probabilities and logits of the same distribution teach the same
    assert torch.allclose(distillation_loss(logits, teacher + 5.0, 2.0), expected, atol=1e-6)
    assert torch.allclose(distillation_loss(logits, torch.log_softmax(logits, dim=-1), 3.0), torch.zeros(2), atol=1e-6)


def test_class_weights_favour_rare_classes() -> None:
    labels = [0] * 8 + [1] * 4 + [2] * 1
    inverse = class_weights(labels, "inverse")
    assert inverse[2] > inverse[1] > inverse[0]
    # normalised so the average weight over the training rows is 1
    assert float(sum(inverse[label] for label in labels)) == pytest.approx(len(labels))
    assert class_weights(labels, "none").tolist() == [1.0, 1.0, 1.0]


def test_length_grouped_batches_cover_every_row_once() -> None:
    import random

    lengths = [random.Random(i).randint(1, 100) for i in range(103)]
    batches = length_grouped_batches(lengths, 8, random.Random(0))
    assert sorted(i for batch in batches for i in batch) == list(range(103))
    assert max(len(batch) for batch in batches) == 8
