"""The evidence-tagging loss: which tokens it marks, how the batch lays them out, and a run that uses it."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import Dataset, DatasetDict

from quoteframe.encoding import PairEncoder
from quoteframe.training.config import load_config
from quoteframe.training.evidence import IGNORE, EvidenceHead, evidence_targets, target_batch
from quoteframe.training.train import MODEL_FOLDER, RUN_FILE, train

REPO = Path(__file__).resolve().parents[1]

ROWS = [
    {
        "text": "  The senator slammed the brazen, disastrous plan.",
        "label": "loaded_paraphrase",
        "evidence": "brazen, disastrous",
    },
    {"text": "Officials said the bridge will reopen on Monday.", "label": "neutral_paraphrase", "evidence": ""},
    {"text": '"We are proud of the crews," the mayor said.', "label": "direct_quote", "evidence": ""},
    {"text": "Critics claimed the mayor finally admitted defeat.", "label": "loaded_paraphrase", "evidence": "caved"},
]


def test_targets_mark_the_evidence_tokens_of_loaded_rows_only(tiny_checkpoint: Path) -> None:
    encoder = PairEncoder.from_file(tiny_checkpoint / MODEL_FOLDER / "tokenizer.json", 64)
    loaded, neutral, quote, not_found = evidence_targets(encoder, ROWS)

    text = ROWS[0]["text"].strip()
    offsets = encoder.tokenizer.encode(text, add_special_tokens=False).offsets
    marked = [span for span, tag in zip(offsets, loaded, strict=True) if tag]
    assert text[marked[0][0] : marked[-1][1]] == "brazen, disastrous"
    assert [bool(tag) for tag in loaded] == [span in marked for span in offsets]
    assert 0 < len(marked) < len(offsets)
    # A neutral paraphrase: every token is a "no"; a quote, or evidence missing from the text: no targets.
    assert neutral is not None and neutral.shape[0] > 0 and not neutral.any()
    assert quote is None and not_found is None
    # Only the sentence tokens the encoder keeps get a target: 6 tokens less [CLS] and two [SEP].
    short = PairEncoder.from_file(tiny_checkpoint / MODEL_FOLDER / "tokenizer.json", 6)
    assert len(evidence_targets(short, ROWS[:1])[0]) == 3


def test_target_batch_lines_up_with_the_padded_batch() -> None:
    batch = target_batch([np.array([0.0, 1.0], dtype=np.float32), None], length=5)
    assert batch.tolist() == [[IGNORE, 0.0, 1.0, IGNORE, IGNORE], [IGNORE] * 5]


def test_head_loss_counts_only_tokens_with_a_target() -> None:
    torch.manual_seed(0)
    head = EvidenceHead(4)
    hidden = torch.randn(2, 5, 4)
    assert head.loss(hidden, torch.full((2, 5), IGNORE)).item() == 0.0
    targets = torch.full((2, 5), IGNORE)
    targets[0, 1:3] = torch.tensor([0.0, 1.0])
    logits = head.score(hidden[0, 1:3]).squeeze(-1)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor([0.0, 1.0]))
    assert head.loss(hidden, targets).item() == pytest.approx(expected.item())


def test_run_with_the_evidence_loss_trains_and_keeps_only_the_classifier(
    tmp_path: Path, tiny_checkpoint: Path, tiny_gold: Path
) -> None:
    rows = ROWS * 8
    split = Dataset.from_dict(
        {
            "text": [r["text"] for r in rows],
            "label": [r["label"] for r in rows],
            "evidence": [r["evidence"] for r in rows],
            "label_quality": ["hand"] * len(rows),
            "previous": [""] * len(rows),
            "inside_quote": [False] * len(rows),
        }
    )
    DatasetDict({"train": split}).save_to_disk(str(tmp_path / "dataset"))
    settings = (
        f"base_model={tiny_checkpoint / MODEL_FOLDER}",
        f"dataset={tmp_path / 'dataset'}",
        f"gold_dev={tiny_gold}",
    )
    tiny = REPO / "configs" / "tiny.yaml"
    tagged = train(load_config(tiny, (*settings, "evidence_weight=1.0", f"output_dir={tmp_path / 'tagged'}")))
    plain = train(load_config(tiny, (*settings, f"output_dir={tmp_path / 'plain'}")))

    record = json.loads((tagged / RUN_FILE).read_text())
    assert record["config"]["evidence_weight"] == 1.0
    # The token loss adds to the label loss; the checkpoint holds the same classifier as a plain run's.
    plain_loss = json.loads((plain / RUN_FILE).read_text())["history"][0]["train_loss"]
    assert record["history"][0]["train_loss"] > plain_loss
    assert sorted(p.name for p in (tagged / MODEL_FOLDER).iterdir()) == sorted(
        p.name for p in (plain / MODEL_FOLDER).iterdir()
    )
