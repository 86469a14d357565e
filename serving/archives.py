"""Streaming readers for article archives: JSONL, CSV, Parquet, plain-text files and WARC, gzip too.

Every reader turns one archive file into a stream of records, each an :class:`Article` or a
:class:`RecordError` that says which file and which line, row or WARC offset was bad. A bad record
never stops the stream: scoring millions of crawled articles must not die on one broken line.

Readers yield records lazily and hold at most one batch (or one CSV row) in memory. The expensive part of a record
(JSON parsing, HTML extraction) is deferred until :func:`read_records` decides to keep it, so a
resumed run skips the records it already scored cheaply and sees exactly the same record sequence.
A parser that fails on one record in a way no reader foresaw (a recursion limit, an odd exception of
an HTML library) still costs only that record: it becomes an error row, and the same one on a resume.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import zlib
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any

from quoteframe.text import TextDecodeError, decode_text_file, is_blank, unpaired_surrogate

#: Text field names tried in order when ``--text-field`` is not given.
DEFAULT_TEXT_FIELDS: tuple[str, ...] = ("text", "content", "body", "article", "maintext")
#: Id field names tried in order when ``--id-field`` is not given (WARC: header names).
DEFAULT_ID_FIELDS: tuple[str, ...] = ("id", "article_id", "doc_id", "uid", "url")
DEFAULT_WARC_ID_HEADERS: tuple[str, ...] = ("WARC-Target-URI", "WARC-Record-ID")

#: Archive formats by file suffix (after an optional ``.gz``).
SUFFIX_FORMATS: dict[str, str] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".warc": "warc",
    ".txt": "txt",
}
#: Rows read from Parquet per batch: bounded memory whatever the row-group size.
PARQUET_BATCH_ROWS = 512
#: What a CSV row whose quoted field runs to the end of the file is told (the csv module says "unexpected end of data").
UNCLOSED_QUOTE = "a quotation mark opened in this row is never closed"
#: Added to the error of a row whose quotation ran to the end of the file: the lines after its first are read again.
REREAD_NOTE = "; the lines after its first line are read again as rows"
#: Characters one CSV field may hold: far above any article, low enough that a quotation never closed
#: early in a large file fails there rather than holding the rest of the file in memory (the csv module
#: keeps 4 bytes per character, and the lines are kept to be read again).
CSV_FIELD_LIMIT = 2**24
#: Added to the csv module's complaint about text after a closing quote, the usual sign of backslash escapes.
ESCAPE_HINT = " (a quotation mark inside a quoted field must be doubled; backslash escapes are not read)"
#: Characters of a parser's message an error row quotes (warcio quotes a broken record's whole first line).
MESSAGE_CHARS = 80
#: Errors a reader turns into one error record where the file stops being readable.
READ_ERRORS = (OSError, EOFError, zlib.error, csv.Error, ValueError)


@dataclass(frozen=True)
class Location:
    """Where a record is: the file as named on the command line and a line, row or byte offset.

    ``unit`` is ``line`` (JSONL, 1-based), ``row`` (CSV data row or Parquet row, 1-based), ``offset``
    (WARC record byte offset) or ``file`` (the whole file; ``position`` is then ``None``).
    """

    file: str
    unit: str
    position: int | None

    def __str__(self) -> str:
        return self.file if self.position is None else f"{self.file}:{self.position}"


@dataclass(frozen=True)
class Article:
    """One article to score: its id (given, or ``file:position`` when the record has none) and text."""

    location: Location
    id: str
    text: str


@dataclass(frozen=True)
class RecordError:
    """A record that could not become an article, kept so that no input record goes missing."""

    location: Location
    message: str
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the error as one row of ``errors.jsonl``."""
        return {
            "file": self.location.file,
            "unit": self.location.unit,
            "position": self.location.position,
            "id": self.id,
            "error": self.message,
        }


Record = Article | RecordError


@dataclass(frozen=True)
class Deferred:
    """A record whose parsing waits until it is kept: where it is, and the function that builds it."""

    location: Location
    build: Callable[[], Record]
    id: str | None = None

    def record(self) -> Record:
        """Build the record; a failure of the parser on it becomes this record's error.

        A missing module and exhausted memory are not errors of one record: a missing module would fail
        every record alike and leave a run that looks finished, and after a ``MemoryError`` the process
        is not to be trusted. They stop the run; a resume meets the same record again.
        """
        try:
            return self.build()
        except (ImportError, MemoryError):
            raise
        except Exception as exc:  # one record that breaks a parser must not stop a run over millions
            return RecordError(self.location, f"record could not be read: {exc!r}", self.id)


#: What a reader yields: a finished record, or one to build when it is kept.
Pending = Record | Deferred


@dataclass(frozen=True)
class Fields:
    """Which text and id fields to read; ``None`` means try the defaults in order."""

    text: str | None = None
    id: str | None = None

    def text_candidates(self) -> tuple[str, ...]:
        return (self.text,) if self.text else DEFAULT_TEXT_FIELDS

    def id_candidates(self, defaults: tuple[str, ...] = DEFAULT_ID_FIELDS) -> tuple[str, ...]:
        return (self.id,) if self.id else defaults


@dataclass(frozen=True)
class InputFile:
    """One archive file to read: its path, the name used in output rows, and its format."""

    path: Path
    name: str
    format: str


class ArchiveError(Exception):
    """An input path that is not an archive this module can read (raised before any scoring starts)."""


def detect_format(path: Path) -> str | None:
    """Return the archive format of ``path`` from its suffix (``.gz`` allowed), or ``None``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return SUFFIX_FORMATS.get(suffixes[-1]) if suffixes else None


def _readable_format(path: Path) -> str | None:
    """The archive format of ``path`` as :func:`detect_format` says, refusing a gzipped Parquet file.

    Parquet is read by seeking to its footer and its row groups, which a gzip stream cannot do, and it
    compresses its pages itself, so the ``.gz`` only gets in the way. Refused before any scoring starts,
    rather than becoming an error row that reads like a broken file.
    """
    fmt = detect_format(path)
    if fmt == "parquet" and path.suffix.lower() == ".gz":
        raise ArchiveError(
            f"{path}: a gzipped Parquet file cannot be read (Parquet compresses inside the file and is read "
            "by seeking, which gzip does not allow); gunzip it first so that it ends in .parquet"
        )
    return fmt


def resolve_inputs(paths: list[Path]) -> list[InputFile]:
    """Expand the command-line paths into archive files, in a fixed order.

    A folder stands for every archive file below it (sorted, recursively), so a folder of ``.txt``
    files is a folder of articles. The order is part of the output, so it must not depend on the
    file system's listing order. A file named twice (itself and through its folder, say) is read
    once, where it first appears: scoring it twice would give every one of its articles two rows.
    """
    files: list[InputFile] = []
    seen: set[Path] = set()

    def add(path: Path, fmt: str) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            files.append(InputFile(path, str(path), fmt))

    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if _is_listed_archive(p))
            if not found:
                raise ArchiveError(f"{path}: folder holds no archive file ({', '.join(SUFFIX_FORMATS)})")
            for file in found:
                add(file, _readable_format(file) or "")
            continue
        fmt = _readable_format(path)
        if fmt is None:
            raise ArchiveError(
                f"{path}: unknown archive format; expected one of {', '.join(SUFFIX_FORMATS)} "
                "(optionally .gz, except .parquet)"
            )
        add(path, fmt)
    return files


def _is_listed_archive(path: Path) -> bool:
    """A folder entry read as an archive: a file with an archive suffix, or a link to one whose target is gone.

    A broken link is kept so that it becomes an error row naming it, rather than a gap in the run.
    """
    return bool(detect_format(path)) and (path.is_file() or (path.is_symlink() and not path.exists()))


def files_left_out(paths: list[Path]) -> list[str]:
    """Files below the folders among ``paths`` that are not read, no archive suffix being theirs (sorted).

    The summary names them, so that a folder of ``.html`` pages or ``.md`` notes does not pass for a
    folder whose every file was scored. A file below two of the folders (one inside the other) counts once.
    """
    left_out: list[str] = []
    seen: set[Path] = set()
    for path in paths:
        if not path.is_dir():
            continue
        for file in sorted(path.rglob("*")):
            if file.is_file() and not detect_format(file) and (key := file.resolve()) not in seen:
                seen.add(key)
                left_out.append(str(file))
    return left_out


def read_records(source: InputFile, fields: Fields, skip: int = 0) -> Iterator[Record]:
    """Yield the records of one archive file, leaving out the first ``skip`` ones unparsed."""
    reader = _READERS[source.format]
    for number, pending in enumerate(reader(source, fields), start=1):
        if number <= skip:
            continue
        yield pending.record() if isinstance(pending, Deferred) else pending


def _open_binary(path: Path) -> IO[bytes]:
    """Open ``path`` for reading bytes, decompressing gzip when the file starts with its magic number."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")


def _names(columns: Sequence[str], shown: int = 12) -> str:
    """Column names for an error message, the first ``shown`` of a wide table."""
    if not columns:
        return "none"
    more = f" and {len(columns) - shown} more" if len(columns) > shown else ""
    return ", ".join(repr(name) for name in columns[:shown]) + more


def _quoted(text: str) -> str:
    """A parser's message for an error row: as it is when short and printable, else the repr of its start.

    warcio quotes the whole first line of a broken record, raw bytes and all, and pyarrow's messages
    may hold control characters; an error row names the problem, it does not carry the file's bytes.
    """
    text = " ".join(text.split())
    if len(text) <= MESSAGE_CHARS and text.isprintable():
        return text
    more = f" and {len(text) - MESSAGE_CHARS} more characters" if len(text) > MESSAGE_CHARS else ""
    return repr(text[:MESSAGE_CHARS]) + more


def _first_present(mapping: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    return next((name for name in names if mapping.get(name) is not None), None)


def _record_id(given_id: Any, location: Location, escaped_bytes: bool = False) -> str:
    """The record's own id as text (undecodable bytes and unpaired surrogates escaped), else ``file:position``.

    With ``escaped_bytes`` the surrogates of a string stand for the bytes they were read from (CSV), which
    are escaped as the bytes of any other format are (``\\xff``), so the same id reads the same whatever file
    it came from.
    """
    if given_id is None or given_id == "" or given_id == b"":
        return str(location)
    if isinstance(given_id, bytes):
        return given_id.decode("utf-8", errors="backslashreplace")
    # JSON's own notation for values that are no string (true, NaN, {"a": 1}), not Python's (True, nan, {'a': 1}).
    if isinstance(given_id, (bool, float, dict, list)):
        text = json.dumps(given_id, ensure_ascii=False, default=str)
    else:
        text = str(given_id)
    if unpaired_surrogate(text) is None:
        return text
    if escaped_bytes:
        try:
            return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")
        except UnicodeEncodeError:  # a JSON escape of half a surrogate pair beside the escaped bytes
            pass
    return text.encode("utf-8", errors="backslashreplace").decode("utf-8")


def _article(
    location: Location,
    text: Any,
    given_id: Any,
    text_field: str | None,
    escaped_bytes: bool = False,
    names: Sequence[str] | None = None,
) -> Record:
    """Check the text of a record and build its article; the id falls back to ``file:position``.

    ``escaped_bytes`` says that unpaired surrogates stand for undecodable bytes kept while reading (CSV),
    not for a string's own bad escapes (JSON), so the error names them as invalid UTF-8. ``names`` are the
    record's own field names, listed when it has no text: a record whose fields differ from record to
    record (JSONL) shows there which ``--text-field`` it needs.
    """
    article_id = _record_id(given_id, location, escaped_bytes)
    if text is None:
        wanted = text_field or ", ".join(DEFAULT_TEXT_FIELDS)
        listed = "" if names is None else f"; its fields are {_names(names)}"
        return RecordError(location, f"no text: field missing or null ({wanted}){listed}", article_id)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return RecordError(location, f"invalid UTF-8 in text at byte {exc.start}", article_id)
    if not isinstance(text, str):
        return RecordError(location, f"text field {text_field!r} is {type(text).__name__}, not a string", article_id)
    bad = unpaired_surrogate(text)
    if bad is not None and escaped_bytes:
        return RecordError(location, f"invalid UTF-8 in column {text_field!r} at character {bad}", article_id)
    if bad is not None:
        return RecordError(location, f"invalid Unicode in text: unpaired surrogate at character {bad}", article_id)
    if is_blank(text):
        return RecordError(location, "empty article", article_id)
    return Article(location, article_id, text)


def _mapping_article(
    record: Mapping[str, Any], location: Location, fields: Fields, escaped_bytes: bool = False
) -> Record:
    id_field = _first_present(record, fields.id_candidates())
    text_field = _first_present(record, fields.text_candidates())
    given_id = record[id_field] if id_field else None
    text = record[text_field] if text_field else None
    return _article(location, text, given_id, fields.text or text_field, escaped_bytes, list(record))


def _parse_jsonl_line(raw: bytes, location: Location, fields: Fields) -> Record:
    """Parse one line without its line ending: parsed with it, a line cut short fails past its end, on "line 2"."""
    raw = raw.rstrip(b"\r\n")
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"invalid UTF-8 at byte {exc.start} of the line"
        return RecordError(location, message, _undecodable_line_id(raw, location, fields))
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return RecordError(location, f"invalid JSON: {exc.msg} (column {exc.colno})")
    except (ValueError, RecursionError) as exc:  # valid JSON beyond Python's limits: huge integers, deep nesting
        return RecordError(location, f"JSON could not be read: {exc}")
    if not isinstance(record, dict):
        return RecordError(location, f"JSON line is a {type(record).__name__}, not an object")
    return _mapping_article(record, location, fields)


def _undecodable_line_id(line: bytes, location: Location, fields: Fields) -> str | None:
    """The id of a JSONL line (without its line ending) that is not valid UTF-8, its bad bytes kept, as a CSV row's is.

    The line stays an error (JSON text is UTF-8), but its id names the article to fix. A bad byte in the
    id itself is escaped (``\\xff``), as in every format; a line that is no JSON object has no id.
    """
    try:
        record = json.loads(line.decode("utf-8", errors="surrogateescape"))
    except (ValueError, RecursionError):
        return None
    name = _first_present(record, fields.id_candidates()) if isinstance(record, dict) else None
    return None if name is None else _record_id(record[name], location, escaped_bytes=True)


def _read_jsonl(source: InputFile, fields: Fields) -> Iterator[Pending]:
    """One record per non-blank line; blank lines are layout, not records. A byte-order mark is not text."""
    line_no = 0
    try:
        with _open_binary(source.path) as handle:
            for raw in handle:
                line_no += 1
                if line_no == 1:
                    raw = raw.removeprefix(codecs.BOM_UTF8)
                if raw.strip():
                    location = Location(source.name, "line", line_no)
                    yield Deferred(location, partial(_parse_jsonl_line, raw, location, fields))
    except READ_ERRORS as exc:
        yield RecordError(Location(source.name, "line", line_no + 1), f"file unreadable from here on: {exc}")


def _csv_article(row: list[str], header: list[str], location: Location, fields: Fields) -> Record:
    if len(row) != len(header):
        return RecordError(
            location, f"row has {len(row)} columns, header has {len(header)}", _csv_id(row, header, location, fields)
        )
    # Undecodable bytes are kept as surrogates while reading. In the text column they spoil the article;
    # in any other they only change how the id is written (escaped, as for every format).
    return _mapping_article(dict(zip(header, row, strict=True)), location, fields, escaped_bytes=True)


def _csv_id(row: list[str], header: list[str], location: Location, fields: Fields) -> str | None:
    """The id of a row of the wrong width, when the id column comes before the text column; else ``None``.

    A row with a column too many or too few is most often one with an unquoted comma in its text: the
    columns before the text keep their places, so an id there names the article to fix, while one after
    it would be a piece of the text.
    """
    id_field = next((name for name in fields.id_candidates() if name in header), None)
    text_field = next((name for name in fields.text_candidates() if name in header), None)
    if id_field is None or text_field is None:
        return None
    at = header.index(id_field)
    if at > header.index(text_field) or at >= len(row):
        return None
    return _record_id(row[at], location, escaped_bytes=True)


def _broken_row_id(first_line: str, header: list[str], location: Location, fields: Fields) -> str | None:
    """The id of a row whose quoting broke, read leniently from its first line, as :func:`_csv_id` allows.

    Quoting breaks in the text; the columns before it, the id among them, were read whole before it.
    """
    try:
        row = next(csv.reader([first_line]), [])
    except csv.Error:
        return None
    return _csv_id(row, header, location, fields)


class _RowLines:
    """The lines of a CSV text stream, keeping those of the row being parsed so they can be read again.

    A stream that fails (a gzip file cut short) ends the lines here instead of raising through the
    csv module, so that lines already read and put back are still parsed; ``failure`` keeps the error.
    """

    def __init__(self, stream: Iterator[str]) -> None:
        self._stream = stream
        self._again: deque[str] = deque()
        self.row: list[str] = []
        self.failure: Exception | None = None

    def __iter__(self) -> _RowLines:
        return self

    def __next__(self) -> str:
        if self._again:
            line = self._again.popleft()
        elif self.failure is not None:
            raise StopIteration
        else:
            try:
                line = next(self._stream)
            except READ_ERRORS as exc:
                self.failure = exc
                raise StopIteration from None
        self.row.append(line)
        return line

    def read_again_after_first_line(self) -> bool:
        """Put back the current row's lines after its first; ``False`` when the row had only one line."""
        again = self.row[1:]
        self.row = []
        self._again.extendleft(reversed(again))
        return bool(again)


def _csv_problem(exc: csv.Error, lines: _RowLines) -> str:
    """Say what is wrong with a row, putting its lines after the first back when its quotation ran on unclosed."""
    lines_read = len(lines.row)
    unclosed = str(exc) == "unexpected end of data"
    if unclosed or str(exc).startswith("field larger than field limit"):
        problem = UNCLOSED_QUOTE if unclosed else f"{exc}: a quotation mark opened in this row runs on"
        return problem + (REREAD_NOTE if lines.read_again_after_first_line() else "")
    lines.row = []
    if lines_read > 1:
        return f"{exc} (the row ran over {lines_read} lines)"
    return _with_hint(exc)


def _with_hint(exc: csv.Error) -> str:
    """The csv module's complaint, with the likely cause when it is text after a closing quote."""
    return f"{exc}{ESCAPE_HINT}" if "expected after" in str(exc) else str(exc)


def _csv_header_problem(exc: csv.Error) -> str:
    """Say what is wrong with a header the csv module cannot read: without it no row can be read."""
    problem = UNCLOSED_QUOTE if str(exc) == "unexpected end of data" else _with_hint(exc)
    return f"unreadable CSV header, so no row of the file can be read: {problem}"


def _read_csv(source: InputFile, fields: Fields) -> Iterator[Pending]:
    """One record per data row after the header; a quoted field may span lines.

    The reader is strict: without it a quotation mark that is never closed silently swallows every
    later row into one field, and a row with text after a closing quote is read mangled. Strict,
    such a row is an error row. When its quotation ran to the end of the file (or past the field
    limit), the lines after its first are read again as rows, so the records there are not lost with
    it. A row that ran over several lines and then broke is not read again: its later lines are as
    likely the paragraphs of its own article as rows, and read again they could pass for articles.
    Spreadsheets write a byte-order mark before the header, which ``utf-8-sig`` drops.
    """
    csv.field_size_limit(CSV_FIELD_LIMIT)  # articles are longer than the csv module's 128 kB default
    row_no = 0
    try:
        with _open_binary(source.path) as raw:
            lines = _RowLines(io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline=""))
            reader = csv.reader(lines, strict=True)
            try:
                header = next(reader, None)
            except csv.Error as exc:
                yield RecordError(Location(source.name, "file", None), _csv_header_problem(exc))
                return
            if header is None and lines.failure is not None:
                raise lines.failure
            if header is None:
                yield RecordError(Location(source.name, "file", None), "empty CSV file: no header row")
                return
            if not any(name in header for name in fields.text_candidates()):
                wanted = " or ".join(fields.text_candidates())
                yield RecordError(
                    Location(source.name, "file", None),
                    f"no text column ({wanted}) in header; its columns are {_names(header)} (see --text-field)",
                )
                return
            while True:
                lines.row = []
                try:
                    row = next(reader)
                except StopIteration:
                    if lines.failure is not None:
                        raise lines.failure from None
                    return
                except csv.Error as exc:
                    row_no += 1
                    location = Location(source.name, "row", row_no)
                    given_id = _broken_row_id(lines.row[0] if lines.row else "", header, location, fields)
                    yield RecordError(location, f"malformed CSV row: {_csv_problem(exc, lines)}", given_id)
                    reader = csv.reader(lines, strict=True)  # a fresh parser state for any lines put back
                    continue
                if row:  # a blank line is not a row
                    row_no += 1
                    location = Location(source.name, "row", row_no)
                    yield Deferred(location, partial(_csv_article, row, header, location, fields))
    except READ_ERRORS as exc:
        yield RecordError(Location(source.name, "row", row_no + 1), f"file unreadable from here on: {exc}")


def _read_parquet(source: InputFile, fields: Fields) -> Iterator[Pending]:
    """One record per row, read row group by row group, a bounded batch of the two needed columns at a time.

    Text columns (string, large, view or dictionary-encoded) are read as bytes and decoded row by
    row, so that one cell of invalid UTF-8 (which some writers let through) is one error row, not the
    end of the file. Row groups are read apart for the same reason: each is compressed on its own, so
    one that is corrupt costs its own rows, and those of the groups after it are still read.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(source.path)
    except (*READ_ERRORS, pa.ArrowException) as exc:
        yield RecordError(Location(source.name, "file", None), f"not a readable Parquet file: {exc}")
        return
    try:
        names = parquet.schema_arrow.names
        text_field = next((name for name in fields.text_candidates() if name in names), None)
        if text_field is None:
            wanted = " or ".join(fields.text_candidates())
            yield RecordError(
                Location(source.name, "file", None),
                f"no text column ({wanted}) in Parquet schema; its columns are {_names(names)} (see --text-field)",
            )
            return
        id_field = next((name for name in fields.id_candidates() if name in names), None)
        columns = [text_field] if id_field is None else [text_field, id_field]
        sizes = [parquet.metadata.row_group(group).num_rows for group in range(parquet.num_row_groups)]
    except (*READ_ERRORS, pa.ArrowException) as exc:
        yield RecordError(Location(source.name, "file", None), f"Parquet file unreadable: {_quoted(str(exc))}")
        return
    first = 1
    for group, size in enumerate(sizes):
        yield from _parquet_row_group(parquet, group, range(first, first + size), columns, source.name)
        first += size


def _parquet_row_group(parquet: Any, group: int, rows: range, columns: list[str], name: str) -> Iterator[Pending]:
    """The records of one row group (``rows``: their numbers in the file); what cannot be read is one error row.

    A page that fails partway through the group leaves the rows before it read, and the error row at the
    first row not read names the rows lost with it.
    """
    import pyarrow as pa

    row_no = rows.start - 1
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, row_groups=[group], columns=columns):
            texts = _as_bytes(batch.column(0)).to_pylist()
            ids = _as_bytes(batch.column(1)).to_pylist() if len(columns) > 1 else [None] * len(texts)
            for text, given_id in zip(texts, ids, strict=True):
                row_no += 1
                location = Location(name, "row", row_no)
                yield Deferred(location, partial(_article, location, text, given_id, columns[0]))
    except (*READ_ERRORS, pa.ArrowException) as exc:
        lost = f"rows {row_no + 1}-{rows.stop - 1} (row group {group + 1})"
        yield RecordError(Location(name, "row", row_no + 1), f"{lost} unreadable: {_quoted(str(exc))}")


def _as_bytes(column: Any) -> Any:
    """A column of text as binary, without decoding (dictionary-encoded text decoded to its values
    first); other columns as they are."""
    import pyarrow as pa

    if pa.types.is_dictionary(column.type) and _is_text(column.type.value_type):
        column = column.dictionary_decode()
    if _is_text(column.type):
        return column.cast(pa.large_binary() if pa.types.is_large_string(column.type) else pa.binary())
    return column


def _is_text(arrow_type: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type)


def _txt_article(source: InputFile) -> Record:
    location = Location(source.name, "file", None)
    try:
        with _open_binary(source.path) as handle:
            data = handle.read()
    except READ_ERRORS as exc:
        return RecordError(location, f"file unreadable: {exc}", source.name)
    try:
        text = decode_text_file(data)  # as ``quoteframe classify`` reads a file, so that offsets agree
    except TextDecodeError as exc:
        message = f"invalid {exc.encoding.upper()} in text at byte {exc.at} of the file; {exc.hint}"
        return RecordError(location, message, source.name)
    return _article(location, text, source.name, None)


def _read_txt(source: InputFile, _fields: Fields) -> Iterator[Pending]:
    """A text file is one article, named by its path (there are no fields to pick)."""
    location = Location(source.name, "file", None)
    yield Deferred(location, partial(_txt_article, source), source.name)


def _text_encoding(name: str | None) -> str | None:
    """``name`` if it names a text encoding, else ``None``: ``charset=base64`` names a codec, not a charset."""
    if not name:
        return None
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    return name if getattr(info, "_is_text_encoding", True) else None


def _html_text(body: bytes, content_type: str | None) -> str | bytes:
    """The page as text: valid UTF-8 as such, else in its declared charset, else UTF-8 or trafilatura's guess.

    Left to trafilatura, one stray byte in a UTF-8 page made it guess a Cyrillic code page for the whole
    page, and quotation marks no quote tracker knows. So:

    - a byte-order mark decides first;
    - bytes that decode as UTF-8 (and hold no NUL, as UTF-16 would) are UTF-8 whatever the page declares: a
      legacy page's non-ASCII bytes rarely form valid UTF-8, while a server may label a UTF-8 page with its
      default ``charset=iso-8859-1``, and an ASCII page reads the same either way;
    - otherwise the charset of the HTTP ``Content-Type``, else of a ``<meta>`` tag, decodes the page, each
      invalid sequence becoming U+FFFD. A name that is no text encoding counts as none, and UTF-16 or
      UTF-32 in a ``<meta>`` tag, which an HTML parser has already read as ASCII, means UTF-8, as in HTML;
    - an undeclared page is read as UTF-8, invalid sequences replaced, when its valid multi-byte characters
      outnumber its invalid sequences, which a legacy page's accented letters rarely do; otherwise its
      bytes go to trafilatura, whose guess reads undeclared legacy pages (windows-1252).
    """
    from w3lib.encoding import html_body_declared_encoding, html_to_unicode, http_content_type_encoding, read_bom

    if read_bom(body)[0]:
        return html_to_unicode(None, body)[1]
    if b"\x00" not in body:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
    declared = _text_encoding(http_content_type_encoding(content_type))
    if declared is None:
        declared = _text_encoding(html_body_declared_encoding(body))
        if declared is not None and codecs.lookup(declared).name.startswith(("utf-16", "utf-32")):
            declared = "utf-8"
    if declared is not None:
        # through w3lib, which maps labels as browsers do (latin-1 is read as windows-1252)
        return html_to_unicode(f"text/html; charset={declared}", body)[1]
    text = body.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd")
    multibyte = sum(1 for char in text if char > "\x7f") - invalid
    return text if multibyte > invalid else body


def _warc_article(body: bytes, content_type: str | None, location: Location, given_id: str | None) -> Record:
    """Extract the article text of one HTML page with trafilatura."""
    import trafilatura

    article_id = given_id or str(location)
    try:
        page = _html_text(body, content_type) if body.strip() else None
        text = trafilatura.extract(page, include_comments=False, include_tables=False) if page else None
    except (ValueError, TypeError, UnicodeError, LookupError) as exc:
        return RecordError(location, f"HTML could not be parsed: {exc}", article_id)
    if not text or is_blank(text):
        return RecordError(location, "no article text in HTML page", article_id)
    # trafilatura puts one paragraph per line; the sentence splitter starts a paragraph at a blank line.
    return Article(location, article_id, "\n\n".join(line for line in text.splitlines() if line.strip()))


def _is_html(content_type: str | None) -> bool:
    return content_type is None or "html" in content_type.lower()


def _read_warc(source: InputFile, fields: Fields) -> Iterator[Pending]:
    """One record per HTML ``response`` or ``resource`` record; requests, metadata and non-HTML are not articles.

    An HTML response with an HTTP status other than 2xx (a redirect, an error page) is an error row, not an
    article. A file cut off in transfer must not pass for a shorter one: warcio hands over an uncompressed
    record that ends early as if it were whole, and stops without a word at a gzip member that ends early.
    So a record of any kind whose header is cut or whose content is shorter than its ``Content-Length`` is
    an error, and so are bytes left after the last whole record; so is a page followed by bytes where its
    ``Content-Length`` says it ends (a length too short, which warcio would pass on as a page cut short).
    A broken record costs only itself: reading goes on at the next place a record starts (the next gzip
    member, or the next ``WARC/1.`` line), so one bad record in a crawl of thousands does not lose the rest
    of the file.
    """
    try:
        with source.path.open("rb") as handle:
            gzipped = handle.read(2) == b"\x1f\x8b"
            start: int | None = 0
            while start is not None:
                handle.seek(start)
                start = yield from _warc_records_from(handle, gzipped, source, fields)
    except OSError as exc:
        yield RecordError(Location(source.name, "file", None), f"WARC file unreadable: {exc}")


def _warc_records_from(
    handle: IO[bytes], gzipped: bool, source: InputFile, fields: Fields
) -> Generator[Pending, None, int | None]:
    """Read records from where ``handle`` stands; return where to read again after a broken stretch, or ``None``.

    A page whose ``Content-Length`` is too short would pass on cut short. Two signs give it away: its
    digests (crawlers write ``WARC-Block-Digest`` and ``WARC-Payload-Digest``) do not match the bytes
    read, and bytes follow where the record says it ends. warcio sees the second only once it moves on
    to the next record, so each page is held back until then. When the iterator then fails, on what
    is most likely the page's own tail, the page's error row is the only one.
    """
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    # Offsets are file offsets: the iterator starts from the handle's position. Digest problems are
    # collected on each record rather than printed or raised.
    records = ArchiveIterator(handle, check_digests=True)
    # warcio counts stray bytes after a record in err_count and writes them to stderr as its INC_RECORD
    # message; here they make the record's error row, so the message (raw page bytes) is emptied.
    records.INC_RECORD = ""
    held: Pending | None = None
    counted = records.err_count
    try:
        for record in _warcio_records(records):
            if held is not None:
                yield _unless_overlong(held, records.err_count > counted)
                held = None
            counted = records.err_count
            held = _warc_entry(record, records, source.name, fields)
        if held is not None:
            yield _unless_overlong(held, records.err_count > counted)
            held = None
        end = records.offset
        handle.seek(end)
        # Read in bounded blocks: an iterator that stopped early may leave most of a large file.
        if not any(block.strip() for block in iter(partial(handle.read, 1 << 20), b"")):
            return None
        yield RecordError(
            Location(source.name, "offset", end), "WARC cut off: the bytes from this offset hold no whole record"
        )
        return _next_record_start(handle, end + 1, gzipped)
    except (*READ_ERRORS, ArchiveLoadFailed, _WarcioFailure) as exc:
        # The iterator's offset is where the record it failed on starts (the end of the last one it read).
        broken = records.offset
        page = None if held is None else _unless_overlong(held, records.err_count > counted)
        if page is not None:
            yield page
        if not isinstance(page, RecordError):
            # warcio's own failures are Python errors on a header it could not make sense of
            why = (
                "its header is cut off or invalid, warcio failed on it with " if isinstance(exc, _WarcioFailure) else ""
            )
            yield RecordError(
                Location(source.name, "offset", broken), f"WARC unreadable at this offset: {why}{_quoted(str(exc))}"
            )
        return _next_record_start(handle, broken + 1, gzipped)


class _WarcioFailure(Exception):
    """An exception warcio raised while parsing the next record, of a type no reader foresaw."""


def _warcio_records(records: Any) -> Iterator[Any]:
    """warcio's records, its unforeseen failures on a broken record (a record without ``WARC-Target-URI``
    raises an AttributeError) turned into :class:`_WarcioFailure`.

    Only warcio's parsing of the next record is wrapped, not the code that handles a record: a bug there
    must stop the run rather than pass for a broken record. A missing module and exhausted memory stop it
    too, as in :meth:`Deferred.record`.
    """
    from warcio.exceptions import ArchiveLoadFailed

    iterator = iter(records)
    while True:
        try:
            record = next(iterator)
        except StopIteration:
            return
        except (ImportError, MemoryError, ArchiveLoadFailed, *READ_ERRORS):
            raise
        except Exception as exc:
            raise _WarcioFailure(repr(exc)) from exc
        yield record


def _warc_entry(record: Any, records: Any, name: str, fields: Fields) -> Pending | None:
    """The page or the error row of one WARC record read to its end; ``None`` for a whole record that is no page.

    Every record is checked for a cut, whatever it holds: a cut-off image or PDF loses the rest of the file
    as a cut-off page does, and only the record shows it.
    """
    content_type = (record.http_headers or record.rec_headers).get_header("Content-Type")
    is_page = record.rec_type in ("response", "resource") and _is_html(content_type)
    body = record.content_stream().read() if is_page else b""
    # The offset is known once the record is read to its end, which warcio does in bounded blocks.
    location = Location(name, "offset", records.get_record_offset())
    id_names = fields.id_candidates(DEFAULT_WARC_ID_HEADERS)
    given_id = next(filter(None, (record.rec_headers.get_header(header) for header in id_names)), None)
    cut = _warc_cut(record)
    if cut is not None:
        return RecordError(location, cut, given_id or str(location))
    return _warc_page(record, body, content_type, location, given_id) if is_page else None


def _warc_cut(record: Any) -> str | None:
    """What shows that a record read to its end was cut off, or ``None``.

    A record cut inside its header lacks the headers every WARC record has, or has a ``Content-Length``
    cut to nothing, which warcio takes for 0; one cut after its header is shorter than its length.
    """
    kind, length = record.rec_type, record.rec_headers.get_header("Content-Length")
    if record.format == "warc" and not (kind and length and length.strip().isdecimal()):
        headers = _quoted(f"WARC-Type {kind!r}, Content-Length {length!r}")
        return f"WARC record header cut off or invalid ({headers})"
    missing = getattr(record.raw_stream, "limit", 0)  # bytes of Content-Length never read
    if missing:
        return f"WARC record cut off: {missing} of its {record.length} bytes are missing"
    return None


def _warc_page(record: Any, body: bytes, content_type: str | None, location: Location, given_id: str | None) -> Pending:
    """The page of a whole HTML record, or the error row of a record changed or not an article page."""
    article_id = given_id or str(location)
    if record.digest_checker.problems:
        problems = "; ".join(record.digest_checker.problems)
        return RecordError(
            location,
            f"WARC record does not match its digest, so its Content-Length is wrong or its bytes changed ({problems})",
            article_id,
        )
    # A redirect, a "not found" or a server error page holds the site's boilerplate, not the article the URI
    # names: scored, it would pass for one.
    status = record.http_headers.get_statuscode() if record.http_headers else None
    if status and not status.startswith("2"):
        return RecordError(location, f"HTTP {_quoted(status)} response, not an article page", article_id)
    return Deferred(location, partial(_warc_article, body, content_type, location, given_id), article_id)


def _unless_overlong(page: Pending, overlong: bool) -> Pending:
    """``page``, or its error row when bytes followed where its ``Content-Length`` said it ends."""
    if not overlong or isinstance(page, RecordError):
        return page
    return RecordError(
        page.location,
        "WARC record longer than its Content-Length: bytes follow where it should end, so its page would be cut short",
        page.id,
    )


def _next_record_start(handle: IO[bytes], after: int, gzipped: bool) -> int | None:
    """Offset of the first place at or after ``after`` where a WARC record may start, or ``None``.

    In a ``.warc.gz`` every record is its own gzip member, which starts with the gzip magic number and
    the deflate method byte; in a plain WARC a record starts with its version line.
    """
    signature, lead = (b"\x1f\x8b\x08", 0) if gzipped else (b"\nWARC/1.", 1)
    handle.seek(after - lead)
    position, carry = after - lead, b""
    for block in iter(partial(handle.read, 1 << 20), b""):
        data = carry + block
        found = data.find(signature)
        if found >= 0:
            return position - len(carry) + found + lead
        carry = data[-(len(signature) - 1) :]
        position += len(block)
    return None


_READERS: dict[str, Callable[[InputFile, Fields], Iterator[Pending]]] = {
    "jsonl": _read_jsonl,
    "csv": _read_csv,
    "parquet": _read_parquet,
    "txt": _read_txt,
    "warc": _read_warc,
}
