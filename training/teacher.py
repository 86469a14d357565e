"""A trained run's class probabilities on training rows, the soft targets of distillation.

A larger teacher costs hours per pass on a laptop CPU and minutes on a GPU, so its probabilities are
computed once and cached in its run folder (``train_log_probs.npz``). Once the cache holds every
training row, a student run needs only that file and the teacher's ``run.json``, not its checkpoint
(438 MB for all-mpnet-base-v2). Rows are keyed by what any context mode can read (text, previous
sentence, open quotation), so one cache serves students of every context, and identical inputs share
one entry. The cache records
the sha256 of the teacher's ``run.json``: a teacher trained again into the same folder invalidates it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from quoteframe.encoding import PairEncoder
from quoteframe.labels import LABELS
from quoteframe.training.export import CHECKPOINT_SUBDIR, RUN_FILE, load_torch_model
from quoteframe.training.torch_inference import predict_proba, row_pairs

CACHE_FILE = "train_log_probs.npz"

log = logging.getLogger(__name__)


class TeacherError(ValueError):
    """A teacher run that cannot provide soft targets, with a message that says why."""


def row_key(row: dict) -> str:
    """A digest of everything a model may read for ``row``; rows with equal keys get equal probabilities."""
    parts = [row["text"], row.get("previous") or "", bool(row.get("inside_quote"))]
    return hashlib.sha1(json.dumps(parts).encode("utf-8")).hexdigest()


def _run_record(teacher_dir: Path) -> bytes:
    path = teacher_dir / RUN_FILE
    if not path.is_file():
        raise TeacherError(f"{teacher_dir}: not a training run folder (no {RUN_FILE})")
    return path.read_bytes()


def run_fingerprint(teacher_dir: Path) -> str:
    """The sha256 of the teacher's ``run.json``, which a new training run into the folder rewrites."""
    return hashlib.sha256(_run_record(teacher_dir)).hexdigest()


def teacher_summary(teacher_dir: Path) -> dict:
    """What the student learned from: the teacher's base, hardware and scores, copied from its run record."""
    raw = _run_record(teacher_dir)
    try:
        record = json.loads(raw)
        config = record["config"]
        base_model, context = config["base_model"], config["context"]
    except (ValueError, KeyError) as err:
        raise TeacherError(f"{teacher_dir / RUN_FILE}: not a run record with a config ({err})") from err
    return {
        "run": teacher_dir.name,
        "run_json_sha256": hashlib.sha256(raw).hexdigest(),
        "base_model": base_model,
        "context": context,
        "hardware": record.get("hardware"),
        "git_commit": record.get("git_commit"),
        "dev_macro_f1": (record.get("dev_metrics") or {}).get("macro_f1"),
        "heldout_macro_f1": (record.get("heldout_metrics") or {}).get("macro_f1"),
    }


def check_teacher(teacher_dir: Path, output_dir: Path) -> None:
    """Fail before training starts when the teacher cannot teach: no run record, or neither cache nor checkpoint."""
    if teacher_dir.resolve() == output_dir.resolve():
        raise TeacherError(f"{teacher_dir}: the teacher is the run's own output folder, which training overwrites")
    _run_record(teacher_dir)
    if not (teacher_dir / CACHE_FILE).is_file() and not (teacher_dir / CHECKPOINT_SUBDIR).is_dir():
        raise TeacherError(f"{teacher_dir}: neither {CACHE_FILE} nor a {CHECKPOINT_SUBDIR}/ to compute it with")


def _read_cache(path: Path, fingerprint: str) -> dict[str, np.ndarray]:
    """The cached rows, or none when the cache belongs to an earlier teacher run in the same folder."""
    if not path.is_file():
        return {}
    try:
        with np.load(path) as cache:
            labels, keys, values = cache["labels"].tolist(), cache["keys"].tolist(), cache["log_probs"]
            made_by = str(cache["teacher_run_sha256"])
    except (OSError, ValueError, KeyError) as err:
        raise TeacherError(f"{path}: not a readable teacher cache ({err})") from err
    if labels != list(LABELS):
        raise TeacherError(f"{path}: labels {labels} differ from {list(LABELS)}")
    if made_by != fingerprint:
        log.warning("%s was made by an earlier run of this teacher; scoring the rows again", path)
        return {}
    return dict(zip(keys, values, strict=True))


def _write_cache(path: Path, entries: dict[str, np.ndarray], fingerprint: str) -> None:
    """Write atomically, so that a second student reading the cache never sees half a file."""
    keys = sorted(entries)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as out:
            np.savez_compressed(
                out,
                keys=np.array(keys),
                log_probs=np.stack([entries[k] for k in keys]).astype(np.float32),
                labels=np.array(LABELS),
                teacher_run_sha256=np.array(fingerprint),
            )
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _score(teacher_dir: Path, rows: Sequence[dict], device: torch.device) -> np.ndarray:
    """Run the teacher's checkpoint over ``rows`` with the context and length it was trained with."""
    checkpoint = teacher_dir / CHECKPOINT_SUBDIR
    if not checkpoint.is_dir():
        raise TeacherError(
            f"{teacher_dir}: {len(rows)} training rows are not in {CACHE_FILE} and there is no "
            f"{CHECKPOINT_SUBDIR}/ to compute them with"
        )
    try:
        trained = json.loads((teacher_dir / RUN_FILE).read_text(encoding="utf-8"))["config"]
        context, max_length = trained["context"], trained["max_length"]
    except (ValueError, KeyError) as err:
        raise TeacherError(f"{teacher_dir / RUN_FILE}: no config with context and max_length ({err})") from err
    log.warning("scoring %d training rows with the teacher in %s", len(rows), teacher_dir)
    # loading and running the teacher must not move the student's random streams
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        model = load_torch_model(checkpoint).to(device)
        encoder = PairEncoder.from_file(checkpoint / "tokenizer.json", max_length)
        probs = predict_proba(model, encoder, row_pairs(rows, context))
    return np.log(np.clip(probs, 1e-12, 1.0))


def teacher_log_probs(teacher_dir: Path, rows: Sequence[dict], device: torch.device | str = "cpu") -> np.ndarray:
    """Log-probabilities (``LABELS`` order) of the teacher run in ``teacher_dir`` for ``rows``.

    Rows missing from the cache are scored with the teacher's checkpoint and added to it; a teacher
    folder that cannot be written keeps the scores for this run only."""
    fingerprint = run_fingerprint(teacher_dir)
    path = teacher_dir / CACHE_FILE
    cache = _read_cache(path, fingerprint)
    keys = [row_key(row) for row in rows]
    missing = {key: row for key, row in zip(keys, rows, strict=True) if key not in cache}
    if missing:
        cache.update(zip(missing, _score(teacher_dir, list(missing.values()), torch.device(device)), strict=True))
        try:
            _write_cache(path, cache, fingerprint)
        except OSError as err:
            log.warning("could not write %s (%s); the scores serve this run only", path, err)
    return np.stack([cache[key] for key in keys]).astype(np.float32)
