"""Whether the files an evaluation reads are the ones the model's training recorded.

A held-out split is held out only from the build it was cut from: rebuilt with another seed, fraction
or label files, most of its articles may be training articles of the model under test, and its
figures would be too high with nothing to show it. The manifest keeps the build's data card
(settings and the sha256 of every input), so an evaluation can say when it reads something else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from quoteframe.manifest import sha256_file

DATA_CARD_FILE = "data_card.json"


def heldout_mismatch(training: dict[str, Any], dataset_dir: Path) -> str | None:
    """Why the held-out split in ``dataset_dir`` may not be held out from this model, or ``None``."""
    recorded = training.get("data_card") or {}
    if not recorded:
        return "the model's manifest records no data card, so its held-out rows cannot be checked against its training"
    path = dataset_dir / DATA_CARD_FILE
    if not path.is_file():
        return f"{path} is missing, so the held-out rows cannot be checked against the model's training"
    card = json.loads(path.read_text(encoding="utf-8"))
    differs = [key for key in ("settings", "inputs") if _content(card, key) != _content(recorded, key)]
    if not differs:
        return None
    return (
        f"the dataset at {dataset_dir} was built with other {' and '.join(differs)} than the model's training "
        "data: some of its held-out rows may be training rows of this model, which would make its figures too high"
    )


def _content(card: dict[str, Any], key: str) -> Any:
    """What a data card's ``settings`` or ``inputs`` say about the rows, not where their files lay.

    The same label files built from another folder make the same split, so folders are left out:
    ``labels_dir`` of the settings, and the folders of the inputs, whose sha256 are compared by file name.
    """
    value = card.get(key)
    if key == "settings" and isinstance(value, dict):
        return {name: setting for name, setting in value.items() if name != "labels_dir"}
    if key == "inputs" and isinstance(value, dict):
        return sorted((Path(name).name, digest) for name, digest in value.items())
    return value


def gold_mismatch(training: dict[str, Any], gold_path: Path) -> str | None:
    """A note when ``gold_path`` is not the dev file the model was selected on, or ``None``."""
    inputs = (training.get("data_card") or {}).get("inputs", {})
    recorded = [digest for name, digest in inputs.items() if Path(name).name == "dev.jsonl"]
    if not recorded or sha256_file(gold_path) in recorded:
        return None
    return f"{gold_path} is not the dev file this model was selected on (its sha256 differs)"


def evaluation_warnings(training: dict[str, Any], gold_path: Path, dataset_dir: Path | None) -> list[str]:
    """Every mismatch between what an evaluation reads and what the model's training recorded."""
    notes = [gold_mismatch(training, gold_path)]
    if dataset_dir is not None and (dataset_dir / "dataset_dict.json").is_file():
        notes.append(heldout_mismatch(training, dataset_dir))
    return [note for note in notes if note]
