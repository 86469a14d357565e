"""A mean-pooled head ignores padding, survives save and load, and trains and exports like the default one."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_training import REPO, tiny_settings

from quoteframe import Classifier
from quoteframe.batching import pad_batch
from quoteframe.encoding import PairEncoder
from quoteframe.training.config import load_config
from quoteframe.training.export import export_model, load_torch_model
from quoteframe.training.pooling import POOLING_KEY, MeanPooledClassifier, load_classifier, with_pooling
from quoteframe.training.torch_inference import to_tensors
from quoteframe.training.train import MODEL_FOLDER, RUN_FILE, train

SENTENCES = [("The council met.", ""), ("The senator slammed the brazen, disastrous plan on Tuesday.", "")]


def logits(model: torch.nn.Module, encoder: PairEncoder, pairs: list[tuple[str, str]]) -> np.ndarray:
    model.eval()
    with torch.inference_mode():
        return model(**to_tensors(pad_batch(encoder.encode(pairs)))).logits.numpy()


def test_mean_pooling_gives_a_sentence_the_same_logits_alone_or_padded(tiny_checkpoint: Path) -> None:
    checkpoint = tiny_checkpoint / "checkpoint"
    model = with_pooling(load_torch_model(checkpoint), "mean")
    encoder = PairEncoder.from_file(checkpoint / "tokenizer.json", 64)
    batch = logits(model, encoder, SENTENCES)
    alone = logits(model, encoder, SENTENCES[:1])
    # the short sentence is padded in the batch; the padding must not enter its mean
    np.testing.assert_allclose(batch[0], alone[0], atol=1e-5)
    # and the head reads something else than [CLS]'s pooler
    assert not np.allclose(batch, logits(load_torch_model(checkpoint), encoder, SENTENCES), atol=1e-3)


def test_the_pooling_is_saved_in_the_checkpoint_config(tiny_checkpoint: Path, tmp_path: Path) -> None:
    model = with_pooling(load_torch_model(tiny_checkpoint / "checkpoint"), "mean")
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())[POOLING_KEY] == "mean"
    loaded = load_classifier(tmp_path)
    assert isinstance(loaded, MeanPooledClassifier)
    for (name, saved), (_, again) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(saved, again), name
    # a checkpoint without the key is a default classifier, as every run before the setting
    assert not isinstance(load_classifier(tiny_checkpoint / "checkpoint"), MeanPooledClassifier)


def test_a_classifier_without_a_linear_head_is_refused(tiny_checkpoint: Path) -> None:
    model = load_torch_model(tiny_checkpoint / "checkpoint")
    model.classifier = torch.nn.Sequential(torch.nn.Linear(32, 3))
    with pytest.raises(ValueError, match="mean pooling needs a BERT-style sequence classifier"):
        with_pooling(model, "mean")
    with pytest.raises(ValueError, match="quoteframe_pooling 'Mean' is none of cls, mean"):
        with_pooling(load_torch_model(tiny_checkpoint / "checkpoint"), "Mean")


def test_a_mean_pooled_run_trains_and_exports_through_the_gates(
    tmp_path: Path, tiny_checkpoint: Path, tiny_gold: Path
) -> None:
    run_dir = train(
        load_config(REPO / "configs" / "tiny.yaml", tiny_settings(tmp_path, tiny_checkpoint, tiny_gold, "pooling=mean"))
    )
    record = json.loads((run_dir / RUN_FILE).read_text())
    assert record["config"]["pooling"] == "mean"
    # the run's final scores come from the reloaded checkpoint: read back with its mean head, they are the
    # scores of the epoch it kept
    kept = record["history"][record["best_epoch"] - 1]
    assert record["dev_metrics"]["macro_f1"] == pytest.approx(kept["dev_macro_f1"], abs=1e-9)
    assert isinstance(load_torch_model(run_dir / MODEL_FOLDER), MeanPooledClassifier)
    report = export_model(run_dir, tmp_path / "model", gold_path=tiny_gold)
    assert all(gate.passed for gate in report.gates)
    assert Classifier.load(tmp_path / "model").predict(["The council met on Tuesday."])[0].label
