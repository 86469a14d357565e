"""``quoteframe score``: label every sentence of whole article archives, resumably.

The run reads the archives as one stream of records and cuts it into chunks of ``chunk_size``
records. A background thread reads and splits the next chunk while the model labels the current
one, whose sentences all go to :meth:`Classifier.predict` in one call, so the model works on large
length-sorted batches rather than one small article at a time. Each chunk becomes three numbered
part files (sentences, articles, errors), written atomically, then the checkpoint records the part
number and the input position reached. A killed run restarted with the same command drops any part
newer than the checkpoint, skips the input it already scored, and goes on; chunks are cut from the
same record positions, so the merged output is identical to that of a run never interrupted.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from quoteframe.archives import (
    Article,
    Fields,
    InputFile,
    Location,
    Record,
    RecordError,
    files_left_out,
    read_records,
    resolve_inputs,
)
from quoteframe.checkpoint import (
    CHECKPOINT_FILE,
    DEFAULT_CHUNK_SIZE,
    Checkpoint,
    atomic_write_json,
    file_stamp,
    fingerprint_differences,
    fsync_dir,
)
from quoteframe.classifier import DEFAULT_BATCH_SIZE
from quoteframe.labels import LABELS
from quoteframe.manifest import MANIFEST_FILE, default_model_dir, sha256_file
from quoteframe.results import Prediction
from quoteframe.sentences import Sentence, split_sentences
from quoteframe.writers import (
    ARTICLE_SCHEMA,
    FORMATS,
    SENTENCE_SCHEMA,
    merge_parts,
    part_path,
    repeated_values,
    write_rows_part,
    write_table_part,
)

#: A chunk also ends once its articles hold this many characters, so a few huge articles cannot make
#: one chunk (and its sentence rows) grow without bound.
MAX_CHUNK_CHARS = 8_000_000
#: Names of files left out of input folders that the summary shows; it counts them all.
LEFT_OUT_EXAMPLES = 5
_PART_FILE = re.compile(r"^part-(\d{6})\.")

T = TypeVar("T")


class ScoreRefused(Exception):
    """The output location holds something this run must not overwrite or resume."""


class Predictor(Protocol):
    """What scoring needs of a classifier (see :meth:`quoteframe.Classifier.predict`)."""

    def predict(
        self,
        sentences: Sequence[str],
        context: Sequence[str] | None = None,
        inside_quote: Sequence[bool] | None = None,
    ) -> list[Prediction]: ...


@dataclass(frozen=True)
class OutputPaths:
    """Where a run's outputs go; see :func:`output_paths`."""

    sentences: Path
    articles: Path
    errors: Path
    summary: Path
    work: Path
    format: str
    #: ``-o`` named a folder that holds the outputs (not a sentence file with siblings)
    in_folder: bool

    @property
    def lock(self) -> Path:
        """The file a run holds locked while it writes: ``OUT/.lock``, or ``.NAME.lock`` beside ``NAME.EXT``.

        Named by ``NAME`` alone, because ``NAME.parquet`` and ``NAME.jsonl`` share their error and summary files.
        """
        if self.in_folder:
            return self.work.with_name(".lock")
        return self.sentences.with_name(f".{self.sentences.stem}.lock")

    def tables_of_every_format(self) -> set[Path]:
        """The sentence and article tables this output would have in each format ``score`` writes.

        ``--overwrite`` removes them all, so that a run in another format leaves none of the old run's
        tables beside a summary of its own.
        """
        if self.in_folder:
            folder = self.sentences.parent
            return {folder / f"{table}.{fmt}" for table in ("sentences", "articles") for fmt in FORMATS}
        stem = self.sentences.stem
        return {
            self.sentences.with_name(name) for fmt in FORMATS for name in (f"{stem}.{fmt}", f"{stem}.articles.{fmt}")
        }


#: Output names that ask for a table format ``score`` does not write; taken as a folder name, they
#: would give a folder called ``results.csv`` full of Parquet files.
NOT_WRITTEN = frozenset({"csv", "tsv", "json", "ndjson", "txt", "xlsx", "xls", "feather", "arrow"})


def output_paths(out: Path, fmt: str | None = None) -> OutputPaths:
    """Map ``-o OUT`` to the output files.

    ``OUT`` ending in ``.parquet`` or ``.jsonl`` is the sentence file, with siblings
    ``OUT-stem.articles.EXT``, ``OUT-stem.errors.jsonl``, ``OUT-stem.summary.json`` and the work folder
    ``OUT.parts``. Any other ``OUT`` is a folder holding ``sentences.EXT``, ``articles.EXT``,
    ``errors.jsonl``, ``summary.json`` and the work folder ``.parts``. ``EXT`` is ``fmt``, else the
    suffix of ``OUT``, else ``parquet``.
    """
    suffix = out.suffix.lower().lstrip(".")
    if suffix == "gz":
        raise ScoreRefused(
            f"{out}: score does not write compressed files; name the output NAME.parquet (compressed inside) "
            "or NAME.jsonl, or a folder"
        )
    if suffix in NOT_WRITTEN:
        raise ScoreRefused(
            f"{out}: score does not write {suffix.upper()}; name the output NAME.parquet or NAME.jsonl, or a folder"
        )
    if suffix in FORMATS:
        if fmt is not None and fmt != suffix:
            raise ScoreRefused(f"--format {fmt} contradicts the output name {out}")
        if out.is_dir():
            raise ScoreRefused(
                f"{out} is a folder; name the output file elsewhere, or pass a folder name without .{suffix}"
            )
        stem = out.name[: -len(out.suffix)]
        return OutputPaths(
            sentences=out,
            articles=out.with_name(f"{stem}.articles.{suffix}"),
            errors=out.with_name(f"{stem}.errors.jsonl"),
            summary=out.with_name(f"{stem}.summary.json"),
            work=out.with_name(f"{out.name}.parts"),
            format=suffix,
            in_folder=False,
        )
    if out.exists() and not out.is_dir():
        raise ScoreRefused(f"{out} is a file; name a folder for the outputs, or a file ending in .parquet or .jsonl")
    fmt = fmt or "parquet"
    return OutputPaths(
        sentences=out / f"sentences.{fmt}",
        articles=out / f"articles.{fmt}",
        errors=out / "errors.jsonl",
        summary=out / "summary.json",
        work=out / ".parts",
        format=fmt,
        in_folder=True,
    )


@dataclass(frozen=True)
class ScoreOptions:
    """Everything that decides a run's output; all of it except ``overwrite`` and ``progress`` is fingerprinted."""

    inputs: tuple[Path, ...]
    out: Path
    format: str | None = None
    text_field: str | None = None
    id_field: str | None = None
    model: Path | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    chunk_size: int = DEFAULT_CHUNK_SIZE
    overwrite: bool = False
    progress: bool = True


@dataclass
class Totals:
    """Running counts of a run, kept in the checkpoint so that a resumed run reports the whole run."""

    articles: int = 0
    sentences: int = 0
    errors: int = 0
    #: Articles of records that carry no id field, named ``file:position`` instead: a misspelled
    #: ``--id-field`` shows up here rather than in ids nobody asked for.
    without_id: int = 0
    elapsed_s: float = 0.0
    label_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))

    def add(self, out: ChunkOutput, elapsed_s: float) -> None:
        """Count a committed chunk; ``elapsed_s`` is the scoring time of the whole run so far."""
        self.articles += len(out.articles["article_index"])
        self.sentences += len(out.sentences["label"])
        self.errors += len(out.errors)
        self.without_id += sum(
            unit != "file" and article_id == str(Location(file, unit, position))
            for article_id, file, unit, position in zip(
                out.articles["article_id"],
                out.articles["file"],
                out.articles["unit"],
                out.articles["position"],
                strict=True,
            )
        )
        for label in out.sentences["label"]:
            self.label_counts[label] += 1
        self.elapsed_s = elapsed_s

    def summary(
        self, inputs: list[InputFile], left_out: list[str], paths: OutputPaths, fingerprint: dict[str, Any]
    ) -> dict[str, Any]:
        """The run summary written to ``summary.json`` and printed at the end.

        ``left_out`` are the files below the input folders that were not read (no archive suffix).
        """
        elapsed = max(self.elapsed_s, 1e-9)
        shares = {
            label: count / self.sentences if self.sentences else 0.0 for label, count in self.label_counts.items()
        }
        return {
            "articles": self.articles,
            "sentences": self.sentences,
            "errors": self.errors,
            "records": self.articles + self.errors,
            "articles_without_id": self.without_id,
            "label_counts": dict(self.label_counts),
            "label_shares": shares,
            "elapsed_s": round(self.elapsed_s, 3),
            "articles_per_s": round(self.articles / elapsed, 2),
            "sentences_per_s": round(self.sentences / elapsed, 2),
            "inputs": [source.name for source in inputs],
            "files_left_out": len(left_out),
            "files_left_out_examples": left_out[:LEFT_OUT_EXAMPLES],
            "outputs": {
                "sentences": str(paths.sentences),
                "articles": str(paths.articles),
                "errors": str(paths.errors),
            },
            "fingerprint": fingerprint,
        }


@dataclass
class Chunk:
    """Records of one chunk, each article with its sentences, and the input position after it."""

    items: list[tuple[Record, list[Sentence]]]
    file_index: int
    record_index: int


def run_fingerprint(options: ScoreOptions, inputs: list[InputFile], fmt: str) -> dict[str, Any]:
    """What a resumed run must share with the run it continues, as plain JSON values."""
    model_dir = options.model or default_model_dir()
    manifest = model_dir / MANIFEST_FILE
    return {
        "inputs": [[source.name, source.format, *file_stamp(source.path).values()] for source in inputs],
        "text_field": options.text_field,
        "id_field": options.id_field,
        "format": fmt,
        "chunk_size": options.chunk_size,
        "batch_size": options.batch_size,
        "model": sha256_file(manifest) if manifest.is_file() else str(model_dir),
    }


@dataclass(frozen=True)
class ScoreResult:
    """A run's summary, and whether the run had already finished before this call (nothing scored again)."""

    summary: dict[str, Any]
    already_finished: bool = False


def run_score(options: ScoreOptions, load_classifier: Callable[[], Predictor]) -> ScoreResult:
    """Score the archives of ``options`` into its output files and return the run's summary.

    Resumes an interrupted run with the same fingerprint, returns the stored summary of a finished
    one, and raises :class:`ScoreRefused` for an output location that belongs to a different run.
    The classifier is loaded only when there is something left to score; the result says when nothing was.
    """
    inputs = resolve_inputs(list(options.inputs))
    paths = output_paths(options.out, options.format)
    _refuse_overlap(paths, options.inputs)
    fingerprint = run_fingerprint(options, inputs, paths.format)
    with _only_run(paths):
        state = _prepare(paths, fingerprint, options.overwrite)
        if isinstance(state, dict):
            return ScoreResult(state, already_finished=True)
        totals = Totals(**state.totals) if state.totals else Totals()
        if not state.finished:
            fields = Fields(options.text_field, options.id_field)
            _score(inputs, fields, _load(load_classifier, state, paths), state, totals, paths, options)
        left_out = files_left_out(list(options.inputs))
        return ScoreResult(_finish(paths, state, totals.summary(inputs, left_out, paths, fingerprint)))


def _load(load_classifier: Callable[[], Predictor], state: Checkpoint, paths: OutputPaths) -> Predictor:
    """Load the classifier; a run that fails to and has scored nothing leaves no unfinished run behind.

    Its checkpoint would bind the output to this command, so the next command, with the model folder
    mended or another one named, would be refused as a different run.
    """
    try:
        return load_classifier()
    except BaseException:
        if not state.parts:
            shutil.rmtree(paths.work, ignore_errors=True)
        raise


@contextmanager
def _only_run(paths: OutputPaths) -> Iterator[None]:
    """Hold the output's lock for the run: a second run on the same output would delete the first's parts.

    The operating system releases the lock when the process ends, however it ends, so a run killed
    with ``kill -9`` leaves nothing that blocks its resume.
    """
    from filelock import FileLock, Timeout

    paths.lock.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(paths.lock, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ScoreRefused(
            f"another quoteframe score run is writing to {paths.lock.parent if paths.in_folder else paths.sentences}; "
            "wait for it to finish (or stop it), then run this command again"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _refuse_overlap(paths: OutputPaths, inputs: Sequence[Path]) -> None:
    """Refuse outputs that are an input or lie inside an input folder, and inputs inside the work folder.

    A rerun would read such outputs as archives of their own (so the run no longer matches its
    checkpoint and cannot resume), and ``--overwrite`` would delete an input before reading it.
    """
    work = paths.work.resolve()
    for given in inputs:
        source = given.resolve()
        if source.is_relative_to(work):
            raise ScoreRefused(f"input {given} lies inside the run's work folder {paths.work}")
        for output in (paths.sentences, paths.articles, paths.errors, paths.summary, paths.work):
            target = output.resolve()
            if target == source:
                raise ScoreRefused(f"output {output} is the input {given}; write the output elsewhere")
            if given.is_dir() and target.is_relative_to(source):
                raise ScoreRefused(f"output {output} lies inside the input folder {given}; write the output elsewhere")


def _read_summary(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _prepare(paths: OutputPaths, fingerprint: dict[str, Any], overwrite: bool) -> Checkpoint | dict[str, Any]:
    """Return the checkpoint to continue from (new or resumed), or the summary of a finished run."""
    if overwrite:
        # The summary goes first: it alone marks a run as finished. The tables of either format go, so
        # that a run in another format leaves none of the old run's files beside its own.
        paths.summary.unlink(missing_ok=True)
        shutil.rmtree(paths.work, ignore_errors=True)
        for path in {paths.errors} | paths.tables_of_every_format():
            path.unlink(missing_ok=True)
    try:
        checkpoint = Checkpoint.load(paths.work) if paths.work.is_dir() else None
    except (ValueError, TypeError) as exc:
        raise ScoreRefused(f"{exc}; pass --overwrite to start afresh") from exc
    summary = _read_summary(paths.summary)
    if checkpoint is None and summary is not None:
        if summary.get("fingerprint") != fingerprint:
            changed = fingerprint_differences(summary.get("fingerprint") or {}, fingerprint)
            raise ScoreRefused(
                f"{paths.summary} is the summary of a different run ({'; '.join(changed)}); "
                "pass --overwrite to replace its outputs"
            )
        gone = [path for path in (paths.sentences, paths.articles, paths.errors) if not path.is_file()]
        if gone:
            raise ScoreRefused(
                f"{gone[0]} of the finished run in {paths.summary} is missing; pass --overwrite to score again"
            )
        shutil.rmtree(paths.work, ignore_errors=True)
        return summary
    if checkpoint is not None:
        changed = fingerprint_differences(checkpoint.fingerprint, fingerprint)
        if changed:
            raise ScoreRefused(
                f"{paths.work} holds an unfinished run of a different command ({'; '.join(changed)}); "
                "rerun the original command to resume it, or pass --overwrite to start afresh"
            )
        _drop_uncommitted(paths.work, checkpoint.parts)
        return checkpoint
    existing = [path for path in (paths.sentences, paths.articles, paths.errors) if path.exists()]
    if existing:
        raise ScoreRefused(f"{existing[0]} already exists; pass --overwrite to replace it")
    shutil.rmtree(paths.work, ignore_errors=True)
    paths.work.mkdir(parents=True)
    checkpoint = Checkpoint(fingerprint=fingerprint)
    checkpoint.save(paths.work)
    return checkpoint


def _drop_uncommitted(work: Path, parts: int) -> None:
    """Delete part files written after the last checkpoint, and temporary files of killed writes."""
    for path in work.iterdir():
        match = _PART_FILE.match(path.name)
        if path.name.startswith(".") or (match and int(match.group(1)) > parts):
            path.unlink()


def _records_from(
    inputs: list[InputFile], fields: Fields, file_index: int, record_index: int
) -> Iterator[tuple[int, int, Record]]:
    """Records from an input position on, each with the position just after it."""
    for index in range(file_index, len(inputs)):
        skip = record_index if index == file_index else 0
        for number, record in enumerate(read_records(inputs[index], fields, skip), start=skip + 1):
            yield index, number, record


def _split(record: Record) -> tuple[Record, list[Sentence]]:
    """Split an article into sentences; an article that yields none becomes an error row."""
    if isinstance(record, RecordError):
        return record, []
    try:
        sentences = split_sentences(record.text)
    except Exception as exc:  # one unsplittable article must not stop a run over millions
        return RecordError(record.location, f"sentence splitting failed: {exc!r}", record.id), []
    if not sentences:
        return RecordError(record.location, "empty article: no sentences", record.id), []
    return record, sentences


def _chunks(inputs: list[InputFile], fields: Fields, checkpoint: Checkpoint, size: int) -> Iterator[Chunk]:
    """Cut the records after the checkpoint's position into chunks, split into sentences.

    Chunk ends depend only on the record stream (count and characters), never on timing, so a
    resumed run cuts exactly the chunks the uninterrupted run would have cut.
    """
    chunk = Chunk([], checkpoint.file_index, checkpoint.record_index)
    chars = 0
    for file_index, record_index, record in _records_from(
        inputs, fields, checkpoint.file_index, checkpoint.record_index
    ):
        chunk.items.append(_split(record))
        chunk.file_index, chunk.record_index = file_index, record_index
        chars += len(record.text) if isinstance(record, Article) else 0
        if len(chunk.items) >= size or chars >= MAX_CHUNK_CHARS:
            yield chunk
            chunk, chars = Chunk([], file_index, record_index), 0
    if chunk.items:
        yield chunk


class _Raised:
    """An exception of the background reader, carried to the consuming thread."""

    def __init__(self, error: Exception) -> None:
        self.error = error


_DONE = object()


def prefetch(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Produce ``items`` in a background thread, at most ``depth`` ahead of the consumer.

    Reading and sentence splitting are Python work, while onnxruntime and the tokenizer release the
    GIL; overlapping them keeps the model busy. The bounded queue keeps memory flat.
    """
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fill() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except Exception as exc:  # re-raised in the consuming thread
            put(_Raised(exc))
            return
        put(_DONE)

    worker = threading.Thread(target=fill, name="quoteframe-reader", daemon=True)
    worker.start()
    try:
        while (item := slots.get()) is not _DONE:
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()


@dataclass
class ChunkOutput:
    """The rows of one chunk, column-wise for the two tables and as dicts for the errors."""

    sentences: dict[str, list[Any]]
    articles: dict[str, list[Any]]
    errors: list[dict[str, Any]]


def score_chunk(chunk: Chunk, classifier: Predictor, first_article_index: int) -> ChunkOutput:
    """Label all sentences of a chunk in one ``predict`` call and build its rows."""
    texts: list[str] = []
    contexts: list[str] = []
    inside: list[bool] = []
    for _, sentences in chunk.items:
        previous = ""
        for sentence in sentences:
            texts.append(sentence.text)
            contexts.append(previous)
            inside.append(sentence.inside_quote)
            previous = sentence.text
    predictions = iter(classifier.predict(texts, contexts, inside) if texts else [])
    out = ChunkOutput({name: [] for name in SENTENCE_SCHEMA.names}, {name: [] for name in ARTICLE_SCHEMA.names}, [])
    article_index = first_article_index
    for record, sentences in chunk.items:
        if isinstance(record, RecordError):
            out.errors.append(record.to_dict())
            continue
        counts = dict.fromkeys(LABELS, 0)
        for sentence in sentences:
            prediction = next(predictions)
            counts[prediction.label] += 1
            row = {
                "article_index": article_index,
                "article_id": record.id,
                "sentence_index": sentence.index,
                "start": sentence.start,
                "end": sentence.end,
                "paragraph": sentence.paragraph,
                "inside_quote": sentence.inside_quote,
                "text": sentence.text,
                "label": prediction.label,
                **{f"p_{label}": p for label, p in zip(LABELS, prediction.probabilities, strict=True)},
                "flags": list(prediction.flags),
            }
            for name, value in row.items():
                out.sentences[name].append(value)
        article = {
            "article_index": article_index,
            "article_id": record.id,
            "file": record.location.file,
            "unit": record.location.unit,
            "position": record.location.position,
            "sentences": len(sentences),
            **{f"n_{label}": counts[label] for label in LABELS},
            **{f"share_{label}": counts[label] / len(sentences) for label in LABELS},
        }
        for name, value in article.items():
            out.articles[name].append(value)
        article_index += 1
    return out


def _write_parts(out: ChunkOutput, work: Path, number: int, fmt: str) -> None:
    """Write the three part files of one chunk; each is atomic, and the checkpoint that follows commits them."""
    write_table_part(part_path(work, number, "sentences", fmt), out.sentences, SENTENCE_SCHEMA, fmt)
    write_table_part(part_path(work, number, "articles", fmt), out.articles, ARTICLE_SCHEMA, fmt)
    write_rows_part(part_path(work, number, "errors", fmt), out.errors)


def _score(
    inputs: list[InputFile],
    fields: Fields,
    classifier: Predictor,
    checkpoint: Checkpoint,
    totals: Totals,
    paths: OutputPaths,
    options: ScoreOptions,
) -> None:
    """Score chunk after chunk, committing each one's parts and then the checkpoint."""
    from tqdm import tqdm

    started = time.perf_counter()
    elapsed_before, sentences_before = totals.elapsed_s, totals.sentences
    with tqdm(
        desc="scoring", unit=" articles", initial=totals.articles, disable=not options.progress, dynamic_ncols=True
    ) as bar:
        for chunk in prefetch(_chunks(inputs, fields, checkpoint, options.chunk_size)):
            out = score_chunk(chunk, classifier, totals.articles)
            _write_parts(out, paths.work, checkpoint.parts + 1, paths.format)
            run_time = time.perf_counter() - started
            totals.add(out, elapsed_before + run_time)
            checkpoint.parts += 1
            checkpoint.file_index, checkpoint.record_index = chunk.file_index, chunk.record_index
            checkpoint.totals = asdict(totals)
            checkpoint.save(paths.work)
            sentence_rate = (totals.sentences - sentences_before) / max(run_time, 1e-9)
            bar.set_postfix_str(f"{sentence_rate:,.0f} sentences/s, {_count(totals.errors, 'error')}", refresh=False)
            bar.update(len(out.articles["article_index"]))
    checkpoint.finished = True
    checkpoint.save(paths.work)


def _finish(paths: OutputPaths, checkpoint: Checkpoint, summary: dict[str, Any]) -> dict[str, Any]:
    """Merge the parts into the final files, then write the summary, then drop the work folder.

    The summary gains the count of articles whose id repeats an earlier article's, read from the
    merged article table: only that table holds the whole run, resumed chunks included.

    Each step is atomic and repeatable, and the summary is written only once all outputs are in
    place, so a run killed here is finished by running the same command again. The checkpoint goes
    before the parts: a run killed while the folder is deleted is then one that finished (a summary
    and no checkpoint), not one whose checkpoint names parts that are gone.
    """
    numbers = range(1, checkpoint.parts + 1)
    for table, dest, schema in (
        ("sentences", paths.sentences, SENTENCE_SCHEMA),
        ("articles", paths.articles, ARTICLE_SCHEMA),
        ("errors", paths.errors, None),
    ):
        parts = [part_path(paths.work, number, table, paths.format) for number in numbers]
        missing = [part for part in parts if not part.is_file()]
        if missing:
            raise ScoreRefused(f"{missing[0]} is missing; the work folder was changed, rerun with --overwrite")
        merge_parts(parts, dest, schema, "jsonl" if table == "errors" else paths.format)
    repeated, examples = repeated_values(paths.articles, "article_id", paths.format)
    summary = {**summary, "repeated_article_ids": repeated, "repeated_article_id_examples": examples}
    atomic_write_json(paths.summary, summary)
    (paths.work / CHECKPOINT_FILE).unlink(missing_ok=True)
    fsync_dir(paths.work)
    shutil.rmtree(paths.work, ignore_errors=True)
    return summary


def _count(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` with the words that agree with it: ``1 error``, ``2 errors``."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def format_summary(summary: dict[str, Any]) -> str:
    """The run summary as the lines printed at the end of ``quoteframe score``."""
    labels = ", ".join(
        f"{label} {count} ({summary['label_shares'][label]:.1%})" for label, count in summary["label_counts"].items()
    )
    return "\n".join(
        [
            f"articles {summary['articles']}, sentences {summary['sentences']}, errors {summary['errors']}",
            f"labels: {labels}",
            f"time {summary['elapsed_s']:.1f} s: {summary['articles_per_s']:.1f} articles/s, "
            f"{summary['sentences_per_s']:.1f} sentences/s",
            *(
                [
                    f"ids: {_count(unnamed, 'article has', 'articles have')} no id; "
                    "each is named by its file and position"
                ]
                if (unnamed := summary.get("articles_without_id"))
                else []
            ),
            *(
                [
                    f"ids: {_count(repeated, 'article repeats', 'articles repeat')} an earlier article's id "
                    f"(first: {', '.join(map(repr, summary['repeated_article_id_examples']))}); "
                    "article_index tells them apart"
                ]
                if (repeated := summary.get("repeated_article_ids"))
                else []
            ),
            *(
                [
                    f"left out: {_count(left_out, 'file', 'files')} below the input folders with no archive suffix "
                    f"(first: {', '.join(map(repr, summary['files_left_out_examples']))})"
                ]
                if (left_out := summary.get("files_left_out"))
                else []
            ),
            *(f"{table}: {path}" for table, path in summary["outputs"].items()),
        ]
    )
