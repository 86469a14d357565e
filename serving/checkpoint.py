"""Crash-safe files for long scoring runs: atomic writes, and the checkpoint of what is already done.

A scoring run may be killed at any instant (``kill -9``, a lost machine). Every file it leaves is
therefore either complete or absent: data goes to a temporary file beside the target, is fsynced,
and replaces the target with ``os.replace``, which is atomic on POSIX. The checkpoint is written the
same way and last, so it never claims a part file that is not fully on disk.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CHECKPOINT_FILE = "checkpoint.json"
#: Raised whenever the readers may cut the same input into a different record sequence (version 2: bad
#: records that ended a file or a CSV read now become single error rows; version 3: a WARC record of any
#: kind cut off, or one warcio fails on, is an error row, and a bad Parquet row group no longer ends its
#: file; version 4: ids that are no string are written in JSON's notation, and an undecodable JSONL line
#: keeps its id), since a checkpoint counts records: a run resumed across that change would skip or repeat
#: some, or write one id two ways. An older checkpoint is refused with a message.
CHECKPOINT_VERSION = 4
#: Input records between two checkpoints (one part file per output table each): a kill loses at most this much work.
#: 250 news articles are ~5,000 sentences, enough for length bucketing. With 1,000, the benchmark's score run peaked
#: 180 MiB higher and ran 8% slower: inference waits for the whole first chunk to be split (benchmarks/throughput.py).
DEFAULT_CHUNK_SIZE = 250


def fsync_dir(path: Path) -> None:
    """Flush a directory entry, so a rename into it survives a power loss, not only a killed process."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_path(path: Path) -> Path:
    """The fixed temporary name of ``path``: a crashed write leaves one stale file, overwritten next time."""
    return path.with_name(f".{path.name}.tmp")


@contextlib.contextmanager
def atomic_path(path: Path, sync_dir: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write; on success fsync it and move it onto ``path`` atomically.

    ``sync_dir=False`` leaves flushing the directory entry to a later write in the same folder, as
    part files do: the checkpoint written after them syncs the folder once for all of them.
    """
    tmp = temporary_path(path)
    try:
        yield tmp
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir:
        fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old content or the new, never a part."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    atomic_write_bytes(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


@dataclass
class Checkpoint:
    """State of a run after its last committed part.

    ``file_index``/``record_index`` is the input position reached: files before ``file_index`` are
    done, and so are the first ``record_index`` records of that file. ``parts`` part files are
    committed. ``totals`` holds the running counts the run summary needs, so a resumed run reports
    the whole run, not only its own share.
    """

    fingerprint: dict[str, Any]
    parts: int = 0
    file_index: int = 0
    record_index: int = 0
    finished: bool = False
    totals: dict[str, Any] = field(default_factory=dict)
    version: int = CHECKPOINT_VERSION

    def save(self, work_dir: Path) -> None:
        """Commit this state: after this returns, a restart resumes from here."""
        atomic_write_json(work_dir / CHECKPOINT_FILE, asdict(self))

    @classmethod
    def load(cls, work_dir: Path) -> Checkpoint | None:
        """Read the checkpoint of ``work_dir``; ``None`` when there is none yet."""
        path = work_dir / CHECKPOINT_FILE
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != CHECKPOINT_VERSION:
            raise ValueError(
                f"{path}: checkpoint version {data.get('version')} is not {CHECKPOINT_VERSION} (written by another "
                "quoteframe release, whose readers may count records differently)"
            )
        return cls(**data)


def file_stamp(path: Path) -> dict[str, int | None]:
    """Size and modification time: enough to notice an input that changed between a run and its resume."""
    try:
        stat = path.stat()
    except OSError:  # a link whose target is gone: an error row now, a changed input once it is mended
        return {"size": None, "mtime_ns": None}
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


#: Fingerprint entries that are command-line options, by the option's name.
_OPTION_NAMES = {
    "text_field": "--text-field",
    "id_field": "--id-field",
    "format": "--format",
    "chunk_size": "--chunk-size",
    "batch_size": "--batch-size",
}


def fingerprint_differences(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What differs between two run fingerprints, in words a refusal message can show.

    Inputs are compared file by file, so the message names the file that changed, appeared or went
    (a path spelled another way counts as another file: output rows carry the name as given).
    """
    changes: list[str] = []
    for key in sorted(set(stored) | set(current)):
        before, after = stored.get(key), current.get(key)
        if before == after:
            continue
        if key == "inputs":
            changes.extend(_input_changes(before or [], after or []))
        elif key == "model":
            changes.append("the model is another one")
        else:
            changes.append(f"{_OPTION_NAMES.get(key, key)} was {before}, now {after}")
    return changes


def _input_changes(before: list[list[Any]], after: list[list[Any]]) -> list[str]:
    """Per-file differences of two fingerprints' ``inputs`` entries ``[name, format, size, mtime_ns]``."""
    old = {entry[0]: entry for entry in before}
    new = {entry[0]: entry for entry in after}
    changes = [f"{name} is no longer an input" for name in old if name not in new]
    changes += [f"{name} is a new input" for name in new if name not in old]
    changes += [
        f"{name} changed since the run started (size or modification time)"
        for name in new
        if name in old and old[name] != new[name]
    ]
    if not changes:
        changes.append("the inputs are given in another order")
    return changes
