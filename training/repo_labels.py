"""Hand labels kept in this repository by sentence id, without the sentences' text.

The corpora may not be copied into the repository, so labels made here on corpus articles keep only the
sentence id, the label, ``framing`` on quotes, the evidence as character offsets into the sentence
(``evidence_span``, rebuilt into the gold format's ``evidence`` text on reading) and a short hash of the
sentence. The build cuts each article with the project's splitter, finds every id and checks the hash:
a changed splitter or corpus copy is reported instead of silently labelling the wrong sentence.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from quoteframe.labels import LABELS
from quoteframe.training.loaders import GoldRow, load_corpus

log = logging.getLogger(__name__)

__all__ = ["read_label_files", "resolve_labels", "text_hash"]

#: Fields every label row must carry.
REQUIRED = ("id", "label", "text_sha1")


def text_hash(text: str) -> str:
    """Short fingerprint of a sentence: enough to catch a shifted sentence cut, useless to rebuild the text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def read_label_files(folder: Path) -> list[dict]:
    """Label rows of every ``*.jsonl`` in ``folder`` (sorted by name); a bad line is reported and skipped."""
    rows: list[dict] = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    missing = [name for name in REQUIRED if name not in record]
                    if missing:
                        raise ValueError(f"missing {', '.join(missing)}")
                    if record["label"] not in LABELS:
                        raise ValueError(f"unknown label {record['label']!r}")
                    if "#" not in record["id"] or ":" not in record["id"]:
                        raise ValueError(f"id {record['id']!r} is not <corpus>:<article>#<k>")
                except (ValueError, TypeError) as error:
                    log.error("skipped %s:%d: %s", path, number, error)
                    continue
                rows.append({**record, "where": f"{path}:{number}"})
    return rows


def resolve_labels(rows: Sequence[dict], corpora_root: Path) -> list[GoldRow]:
    """Gold rows with their text read from the corpora (articles cut by the project's splitter).

    A row whose article or sentence is missing, or whose text no longer matches its hash, is reported
    with its file and line and left out.
    """
    articles: dict[str, set[str]] = {}
    for row in rows:
        article = row["id"].split("#", 1)[0]
        articles.setdefault(article.split(":", 1)[0], set()).add(article)
    found: dict[str, tuple[str, str]] = {}
    for corpus, wanted in articles.items():
        try:
            loaded = load_corpus(corpus, corpora_root, None, only=wanted)
        except ValueError as error:
            log.error("labels of corpus %s skipped: %s", corpus, error)
            continue
        for article in loaded:
            for sentence_id, text in zip(article.sentence_ids, article.sentences, strict=True):
                found[sentence_id] = (text, article.article_id)
    resolved: list[GoldRow] = []
    for row in rows:
        if row["id"] not in found:
            log.error("skipped %s: no sentence %s in the corpora", row["where"], row["id"])
            continue
        text, article = found[row["id"]]
        if text_hash(text) != row["text_sha1"]:
            log.error("skipped %s: sentence %s changed since it was labelled", row["where"], row["id"])
            continue
        start, end = row.get("evidence_span", (0, 0))
        resolved.append(
            GoldRow(
                id=row["id"],
                article=article,
                text=text,
                label=row["label"],
                framing=row.get("framing", ""),
                evidence=text[start:end],
            )
        )
    return resolved
