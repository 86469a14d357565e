"""Hand labels kept in this repository by sentence id, without the sentences' text.

The corpora may not be copied into the repository, so labels made here on corpus articles keep only the
sentence id, the label, ``framing`` on quotes, the evidence as character offsets into the sentence
(``evidence_span``, rebuilt into the gold format's ``evidence`` text on reading) and a short hash of the
sentence. The build loads each labelled article (PolNeAR and BBC articles cut by the project's splitter,
the other corpora in their own units), finds every id and checks the hash: a changed splitter or corpus
copy is reported instead of silently labelling the wrong sentence.

An article's labels are used whole or not at all. A sentence's context (the previous sentence, the open
quotation) comes from the labelled sentences around it, so one unresolvable, repeated or out-of-order row
would shift the context of its neighbours.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from quoteframe.labels import LABELS
from quoteframe.training.loaders import GoldRow, load_corpus, readers_of

log = logging.getLogger(__name__)

__all__ = ["REPO_LABELS_SOURCE", "read_label_files", "resolve_labels", "text_hash"]

#: ``source`` of the rows these labels become, beside ``gold`` for rows of the gold file
REPO_LABELS_SOURCE = "repo_labels"

#: Fields every label row must carry besides its ``id``.
REQUIRED = ("label", "text_sha1", "readers")
#: Key of a row that failed its checks, holding why: its article is left out whole.
INVALID = "invalid"


def text_hash(text: str) -> str:
    """Short fingerprint of a sentence: enough to catch a shifted sentence cut, useless to rebuild the text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def _check_id(record: object) -> str:
    """The record's sentence id, which says which article a bad row belongs to; an error when there is none."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    sentence_id = record.get("id")
    if not isinstance(sentence_id, str) or "#" not in sentence_id or ":" not in sentence_id:
        raise ValueError(f"id {sentence_id!r} is not <corpus>:<article>#<k>")
    return sentence_id


def _check_record(record: dict) -> None:
    missing = [name for name in REQUIRED if name not in record]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    if record["label"] not in LABELS:
        raise ValueError(f"unknown label {record['label']!r}")
    span = record.get("evidence_span")
    if span is not None:
        valid = isinstance(span, list) and len(span) == 2 and all(isinstance(x, int) for x in span)
        if not valid or not 0 <= span[0] < span[1]:
            raise ValueError(f"evidence_span {span!r} is not [start, end] with 0 <= start < end")
    readers_of(record)


def read_label_files(folder: Path) -> list[dict]:
    """Label rows of every ``*.jsonl`` in ``folder`` (sorted by name).

    A line that is not JSON or names no sentence id is reported and skipped; a row with an id that fails a
    check (a missing field, an unknown label, a bad span or ``readers``) is kept as a marker of its problem,
    which :func:`resolve_labels` reports while leaving the article out. Each row keeps ``where``
    (``file:line``) so later problems can name it. A folder that is missing or holds no ``*.jsonl`` is an
    error: building without the labels by accident would go unnoticed.
    """
    paths = sorted(Path(folder).glob("*.jsonl"))
    if not paths:
        raise ValueError(f"no *.jsonl label files in {folder} (use --labels-dir, or --no-repo-labels)")
    rows: list[dict] = []
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            log.error("skipped %s: %s", path, error)
            continue
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                sentence_id = _check_id(record)
            except ValueError as error:
                log.error("skipped %s:%d: %s", path, number, error)
                continue
            try:
                _check_record(record)
            except ValueError as error:
                # Kept as a marker: resolve_labels leaves its article out whole, since a gap would shift the
                # context of the rows after it.
                record = {"id": sentence_id, INVALID: str(error)}
            rows.append({**record, "where": f"{path}:{number}"})
    return rows


def _evidence_span(row: dict) -> tuple[int, int]:
    """The row's evidence offsets; ``(0, 0)``, an empty span, when it has none."""
    start, end = row.get("evidence_span", (0, 0))
    return start, end


def _article_problem(rows: Sequence[dict], found: dict[str, tuple[str, str, int]]) -> str | None:
    """Why an article's rows cannot be used as they stand, or None when they can."""
    positions = []
    for row in rows:
        if INVALID in row:
            return f"{row['where']}: {row[INVALID]}"
        if row["id"] not in found:
            return f"{row['where']}: no sentence {row['id']} in the corpora"
        text, _, position = found[row["id"]]
        if text_hash(text) != row["text_sha1"]:
            return f"{row['where']}: sentence {row['id']} changed since it was labelled"
        start, end = _evidence_span(row)
        if end > len(text):
            return f"{row['where']}: evidence_span {[start, end]} runs past the sentence's {len(text)} characters"
        positions.append(position)
    if len(set(positions)) != len(positions):
        return f"{rows[0]['where']}: a sentence of the article is labelled more than once"
    if positions != sorted(positions):
        return f"{rows[0]['where']}: the article's rows are not in sentence order"
    return None


def resolve_labels(rows: Sequence[dict], corpora_root: Path) -> tuple[list[GoldRow], Counter]:
    """Gold rows with their text read from the corpora, and how many rows were left out, by reason.

    An article with any row that is invalid or does not resolve (missing sentence, changed text, evidence
    past the sentence end, a repeated or out-of-order sentence) is reported once, naming a file and line,
    and left out whole.
    """
    wanted: dict[str, set[str]] = {}
    for row in rows:
        prefix = row["id"].split("#", 1)[0]
        wanted.setdefault(prefix.split(":", 1)[0], set()).add(prefix)
    found: dict[str, tuple[str, str, int]] = {}
    for corpus, articles in wanted.items():
        try:
            loaded = load_corpus(corpus, corpora_root, None, only=articles)
        except ValueError as error:
            log.error("labels of corpus %s skipped: %s", corpus, error)
            continue
        for article in loaded:
            for position, (sentence_id, text) in enumerate(zip(article.sentence_ids, article.sentences, strict=True)):
                found[sentence_id] = (text, article.article_id, position)
    # Group by the article that holds the sentence (a BABE or NewsSD row is its own article); a row whose
    # sentence is missing stays with the article its id names, so that article is reported.
    by_article: dict[str, list[dict]] = {}
    for row in rows:
        article = found[row["id"]][1] if row["id"] in found else row["id"].split("#", 1)[0]
        by_article.setdefault(article, []).append(row)
    resolved: list[GoldRow] = []
    dropped: Counter = Counter()
    for article_rows in by_article.values():
        problem = _article_problem(article_rows, found)
        if problem is not None:
            log.error("labels of one article left out (%d rows): %s", len(article_rows), problem)
            dropped["repo labels (article left out)"] += len(article_rows)
            continue
        for row in article_rows:
            text, article, _ = found[row["id"]]
            start, end = _evidence_span(row)
            resolved.append(
                GoldRow(
                    id=row["id"],
                    article=article,
                    text=text,
                    label=row["label"],
                    framing=row.get("framing", ""),
                    evidence=text[start:end],
                    source=REPO_LABELS_SOURCE,
                    readers=row["readers"],  # checked by read_label_files
                )
            )
    return resolved, dropped
