"""Evaluation says when the gold file or held-out split is not what the model's training recorded."""

from __future__ import annotations

import json
from pathlib import Path

from quoteframe.manifest import sha256_file
from quoteframe.training.provenance import evaluation_warnings


def build(folder: Path, settings: dict, inputs: dict) -> Path:
    """A dataset folder as ``quoteframe data build`` leaves it, as far as provenance looks."""
    folder.mkdir()
    (folder / "dataset_dict.json").write_text("{}", encoding="utf-8")
    (folder / "data_card.json").write_text(json.dumps({"settings": settings, "inputs": inputs}), encoding="utf-8")
    return folder


def test_matching_files_give_no_warning_and_others_are_named(tmp_path: Path) -> None:
    dev = tmp_path / "dev.jsonl"
    dev.write_text('{"id": "d1"}\n', encoding="utf-8")
    other_gold = tmp_path / "test.jsonl"
    other_gold.write_text('{"id": "t1"}\n', encoding="utf-8")
    inputs = {"../shared/gold/dev.jsonl": sha256_file(dev), "data/labels/a.jsonl": "ab12"}
    settings = {"seed": 13, "heldout_fraction": 0.08}
    training = {"data_card": {"settings": settings, "inputs": inputs}}
    same = build(tmp_path / "same", settings, inputs)
    reseeded = build(tmp_path / "reseeded", {**settings, "seed": 14}, inputs)
    relabelled = build(tmp_path / "relabelled", settings, {**inputs, "data/labels/a.jsonl": "cd34"})

    assert evaluation_warnings(training, dev, same) == []
    # The same label files built from another folder are the same data.
    moved_inputs = {"/elsewhere/gold/dev.jsonl": sha256_file(dev), "/scratch/labels/a.jsonl": "ab12"}
    moved = build(tmp_path / "moved", {**settings, "labels_dir": "/scratch/labels"}, moved_inputs)
    assert evaluation_warnings(training, dev, moved) == []
    assert evaluation_warnings(training, dev, None) == []
    [gold_note] = evaluation_warnings(training, other_gold, same)
    assert gold_note == f"{other_gold} is not the dev file this model was selected on (its sha256 differs)"
    [seed_note] = evaluation_warnings(training, dev, reseeded)
    assert "built with other settings than the model's training data" in seed_note
    [labels_note] = evaluation_warnings(training, dev, relabelled)
    assert "built with other inputs than" in labels_note and "too high" in labels_note
    [unknown] = evaluation_warnings({}, dev, same)
    assert "records no data card" in unknown
