"""Shared fixtures: a tiny random-weight classifier checkpoint and its exported serving model folder.

The checkpoint is :mod:`quoteframe.training.tiny`'s: the real MiniLM tokenizer with a 2-layer, 32-wide
encoder, so exporting and running it takes seconds while every file format and code path is the real one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

#: Two short articles in the gold format, in article order, covering all three labels and a quotation
#: that continues into the next sentence without marks of its own.
TINY_GOLD = [
    ("a", "Council approves housing plan after long debate.", "neutral_paraphrase"),
    ("a", '"This is the largest investment in a generation," said the mayor.', "direct_quote"),
    ("a", '"Families who work here should live here.', "direct_quote"),
    ("a", 'Nobody should be left out," she added.', "direct_quote"),
    ("a", "Opponents slammed the vote in a desperate bid to stall it.", "loaded_paraphrase"),
    ("a", "Construction is expected to begin next spring.", "neutral_paraphrase"),
    ("b", "The minister claimed the figures were exaggerated.", "loaded_paraphrase"),
    ("b", "According to the ministry, exports rose 4 percent.", "neutral_paraphrase"),
    ("b", '"We will not change course," the minister said.', "direct_quote"),
    ("b", "Critics blasted the brazen move as a disaster.", "loaded_paraphrase"),
    ("b", "The report was published on Tuesday.", "neutral_paraphrase"),
    ("b", "(With agency inputs)", "neutral_paraphrase"),
]


def write_gold(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """Write ``(article, text, label)`` rows as a gold JSONL file with ids ``article#n``."""
    lines = [
        json.dumps({"id": f"{article}#{n}", "article": article, "text": text, "label": label})
        for n, (article, text, label) in enumerate(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_gold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-sentence gold file in the guideline's format."""
    return write_gold(tmp_path_factory.mktemp("gold") / "dev.jsonl", TINY_GOLD)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A training run folder: ``checkpoint/`` (tiny seeded BERT + real fast tokenizer) and ``run.json``."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from quoteframe.training.tiny import write_tiny_run

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        return write_tiny_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path, tiny_gold: Path) -> Path:
    """``tiny_checkpoint`` exported through :func:`quoteframe.training.export.export_model` (gates on)."""
    from quoteframe.training.export import export_model

    out_dir = tmp_path_factory.mktemp("model")
    export_model(tiny_checkpoint, out_dir, gold_path=tiny_gold)
    return out_dir


@pytest.fixture
def model_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """A copy of ``tiny_model_dir`` that a test may break or rewrite."""
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))
