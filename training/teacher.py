"""A trained run's class probabilities on training rows, the soft targets of distillation.

A larger teacher costs hours per pass on a laptop CPU, so its probabilities are computed once and
cached in its run folder (``train_log_probs.npz``). A student run then needs only that file and the
teacher's ``run.json``, not its checkpoint: the teacher can be trained and scored on another machine.
Rows are keyed by what any context mode can read (text, previous sentence, open quotation), so the
cache serves every student whatever its own context, and identical inputs share one entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from quoteframe.encoding import PairEncoder
from quoteframe.labels import LABELS
from quoteframe.training.torch_inference import predict_proba, row_pairs

CACHE_FILE = "train_log_probs.npz"


class TeacherError(ValueError):
    """A teacher run that cannot provide soft targets, with a message that says why."""


def row_key(row: dict) -> str:
    """A digest of everything a model may read for ``row``; rows with equal keys get equal probabilities."""
    parts = (row["text"], row.get("previous") or "", "1" if row.get("inside_quote") else "0")
    return hashlib.sha1("\x00".join(parts).encode("utf-8")).hexdigest()


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        return {}
    with np.load(path) as cache:
        if list(cache["labels"]) != list(LABELS):
            raise TeacherError(f"{path}: labels {list(cache['labels'])} differ from {list(LABELS)}")
        return dict(zip(cache["keys"].tolist(), cache["log_probs"], strict=True))


def _write_cache(path: Path, entries: dict[str, np.ndarray]) -> None:
    keys = sorted(entries)
    np.savez_compressed(
        path,
        keys=np.array(keys),
        log_probs=np.stack([entries[k] for k in keys]).astype(np.float32),
        labels=np.array(LABELS),
    )


def _teacher_log_probs(teacher_dir: Path, rows: Sequence[dict], device: torch.device) -> np.ndarray:
    """Run the teacher's checkpoint over ``rows`` with the context and length it was trained with."""
    from transformers import AutoModelForSequenceClassification

    from quoteframe.training.train import MODEL_FOLDER, RUN_FILE

    checkpoint = teacher_dir / MODEL_FOLDER
    if not checkpoint.is_dir():
        raise TeacherError(
            f"{teacher_dir}: {len(rows)} training rows are not in {CACHE_FILE} and there is no {MODEL_FOLDER}/ "
            "to compute them with"
        )
    trained = json.loads((teacher_dir / RUN_FILE).read_text(encoding="utf-8"))["config"]
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint, attn_implementation="eager").to(device)
    encoder = PairEncoder.from_file(checkpoint / "tokenizer.json", trained["max_length"])
    probs = predict_proba(model, encoder, row_pairs(rows, trained["context"]))
    return np.log(np.clip(probs, 1e-12, 1.0))


def teacher_log_probs(teacher_dir: Path, rows: Sequence[dict], device: torch.device | str = "cpu") -> np.ndarray:
    """Log-probabilities (``LABELS`` order) of the teacher run in ``teacher_dir`` for ``rows``.

    Rows missing from the cache are scored with the teacher's checkpoint and added to it."""
    from quoteframe.training.train import RUN_FILE

    teacher_dir = Path(teacher_dir)
    if not (teacher_dir / RUN_FILE).is_file():
        raise TeacherError(f"{teacher_dir}: not a training run folder (no {RUN_FILE})")
    cache = _read_cache(teacher_dir / CACHE_FILE)
    keys = [row_key(row) for row in rows]
    missing = {key: row for key, row in zip(keys, rows, strict=True) if key not in cache}
    if missing:
        scored = _teacher_log_probs(teacher_dir, list(missing.values()), torch.device(device))
        cache.update(zip(missing, scored, strict=True))
        _write_cache(teacher_dir / CACHE_FILE, cache)
    return np.stack([cache[key] for key in keys]).astype(np.float32)
