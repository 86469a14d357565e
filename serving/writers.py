"""Output tables of ``quoteframe score``: their schemas, numbered part files, and the streaming merge.

A run writes one part file per table and chunk, each atomically, and merges the parts into the final
files at the end. The merge copies one row group (Parquet) or one block of bytes (JSONL) at a time,
so memory stays flat however large the run's output is.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from quoteframe.checkpoint import atomic_path
from quoteframe.labels import LABELS

FORMATS = ("parquet", "jsonl")
PARQUET_COMPRESSION = "zstd"

#: One row per sentence. ``article_index`` numbers articles in input order over the whole run: unlike
#: ``article_id`` (taken from the input), it is unique, so it is the key to join with the article table.
SENTENCE_SCHEMA = pa.schema(
    [
        ("article_index", pa.int64()),
        ("article_id", pa.string()),
        ("sentence_index", pa.int32()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("paragraph", pa.int32()),
        ("inside_quote", pa.bool_()),
        ("text", pa.string()),
        ("label", pa.string()),
        *((f"p_{label}", pa.float64()) for label in LABELS),
        ("flags", pa.list_(pa.string())),
    ]
)

#: One row per scored article: where it came from, and the count and share of each label.
ARTICLE_SCHEMA = pa.schema(
    [
        ("article_index", pa.int64()),
        ("article_id", pa.string()),
        ("file", pa.string()),
        ("unit", pa.string()),
        ("position", pa.int64()),
        ("sentences", pa.int32()),
        *((f"n_{label}", pa.int32()) for label in LABELS),
        *((f"share_{label}", pa.float64()) for label in LABELS),
    ]
)


def part_path(work_dir: Path, number: int, table: str, fmt: str) -> Path:
    """Path of part ``number`` of ``table`` (``sentences``, ``articles`` or ``errors``)."""
    suffix = "jsonl" if table == "errors" else fmt
    return work_dir / f"part-{number:06d}.{table}.{suffix}"


def _jsonl_bytes(rows: Sequence[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def write_table_part(path: Path, columns: dict[str, list[Any]], schema: pa.Schema, fmt: str) -> None:
    """Write one part of a table atomically, in ``fmt``, from column lists named as in ``schema``.

    The folder entry is synced by the checkpoint that commits the part (see :func:`atomic_path`).
    """
    table = pa.Table.from_pydict(columns, schema=schema)
    with atomic_path(path, sync_dir=False) as tmp:
        if fmt == "parquet":
            pq.write_table(table, tmp, compression=PARQUET_COMPRESSION)
        else:
            tmp.write_bytes(_jsonl_bytes(table.to_pylist()))


def write_rows_part(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write JSON rows as one JSONL part, atomically (used for error rows, whose fields vary)."""
    with atomic_path(path, sync_dir=False) as tmp:
        tmp.write_bytes(_jsonl_bytes(rows))


def merge_parts(parts: Sequence[Path], dest: Path, schema: pa.Schema | None, fmt: str) -> None:
    """Concatenate part files into ``dest`` atomically, one row group or byte block at a time."""
    with atomic_path(dest) as tmp:
        if fmt == "parquet" and schema is not None:
            with pq.ParquetWriter(tmp, schema, compression=PARQUET_COMPRESSION) as writer:
                for part in parts:
                    source = pq.ParquetFile(part)
                    for group in range(source.num_row_groups):
                        writer.write_table(source.read_row_group(group))
        else:
            with tmp.open("wb") as out:
                for part in parts:
                    with part.open("rb") as handle:
                        shutil.copyfileobj(handle, out, 1 << 20)


def _column_values(path: Path, column: str, fmt: str) -> Iterator[Any]:
    """The values of one column of a table file, read one record batch (Parquet) or line (JSONL) at a time."""
    if fmt == "parquet":
        for batch in pq.ParquetFile(path).iter_batches(columns=[column]):
            yield from batch.column(0).to_pylist()
    else:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                yield json.loads(line)[column]


def repeated_values(path: Path, column: str, fmt: str, examples: int = 5) -> tuple[int, list[Any]]:
    """How many rows of a merged table repeat an earlier row's ``column`` value, and the first few values
    that repeat.

    Input ids are not checked for uniqueness while scoring (a run may resume, and its chunks are
    scored apart), so the finished table is read back in a stream; only its distinct values are held.
    """
    seen: set[Any] = set()
    repeated, first = 0, []
    for value in _column_values(path, column, fmt):
        if value in seen:
            repeated += 1
            if len(first) < examples and value not in first:
                first.append(value)
        else:
            seen.add(value)
    return repeated, first
