"""Readers for the public corpora and the hand-labelled gold files, into one article shape.

Every corpus arrives as a list of :class:`Article`: its sentences in order, where each paragraph
starts, a sentence id in the gold files' id scheme (so a gold row finds its corpus sentence), and the
corpus's own annotations moved onto the sentence they belong to (``tags``). The label rules in
:mod:`quoteframe.training.rules` read only that shape, so they never parse a corpus format.

A file that cannot be read is reported with its path and skipped; the rest of the corpus still loads.
"""

from __future__ import annotations

import ast
import csv
import json
import logging
import re
import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from quoteframe.labels import LABELS
from quoteframe.sentences import split_sentences

log = logging.getLogger(__name__)

CORPORA: tuple[str, ...] = ("basil", "babe", "polnear", "newssd", "bbc", "mbic")

OPENING_MARKS = '"“«„'
_DOUBLE_MARK = re.compile(r"[\"“”«»„]")


def has_quote_mark(text: str) -> bool:
    """True if ``text`` holds a double quotation mark of any typographic kind."""
    return bool(_DOUBLE_MARK.search(text))


@dataclass
class Article:
    """One article (or one stand-alone sentence, for sentence-level corpora) with sentence-level tags."""

    corpus: str
    article_id: str
    sentences: list[str]
    sentence_ids: list[str]
    paragraph_starts: list[bool]
    #: per sentence, the corpus's own annotations that concern it (corpus-specific keys)
    tags: list[dict] = field(default_factory=list)
    #: the news page the text was taken from, where the corpus records it (BABE and MBIC): BABE's single
    #: sentences are excerpts of MBIC's articles, so rows of one page must fall on the same side of a split
    source: str = ""

    def __post_init__(self) -> None:
        if not self.tags:
            self.tags = [{} for _ in self.sentences]
        sizes = {len(self.sentences), len(self.sentence_ids), len(self.paragraph_starts), len(self.tags)}
        if len(sizes) != 1:
            raise ValueError(f"{self.article_id}: sentence, id, paragraph and tag lists differ in length")


@dataclass(frozen=True)
class GoldRow:
    """One hand-labelled sentence of ``train.jsonl`` / ``dev.jsonl``."""

    id: str
    article: str
    text: str
    label: str
    framing: str = ""
    evidence: str = ""
    #: where the label is kept: the gold file, or this repository's own labels (``repo_labels``)
    source: str = "gold"
    #: how many readings the label rests on: 1 = labelled once, 2 or more = read again (against the
    #: guideline's rulings in the gold file, blind by a second and third annotator in ``data/labels/``)
    readers: int = 1

    @property
    def corpus(self) -> str:
        """Corpus prefix of the id; dev ids carry none and are PolNeAR dev articles."""
        return self.id.split(":", 1)[0] if ":" in self.id else "polnear"


def readers_of(record: dict) -> int:
    """A label record's ``readers``: 1 when absent (``dev.jsonl`` carries none; this repository's label files
    must, :mod:`quoteframe.training.repo_labels`)."""
    readers = record.get("readers", 1)
    if not isinstance(readers, int) or isinstance(readers, bool) or readers < 1:
        raise ValueError(f"readers {readers!r} is not a count of 1 or more")
    return readers


def _report(path: Path, error: Exception) -> None:
    log.error("skipped %s: %s", path, error)


def load_gold(path: Path) -> list[GoldRow]:
    """Read a gold JSONL file; a malformed line is reported with its line number and skipped."""
    rows: list[GoldRow] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if record["label"] not in LABELS:
                    raise ValueError(f"unknown label {record['label']!r}")
                rows.append(
                    GoldRow(
                        id=record["id"],
                        article=record["article"],
                        text=record["text"],
                        label=record["label"],
                        framing=record.get("framing", ""),
                        evidence=record.get("evidence", ""),
                        readers=readers_of(record),
                    )
                )
            except KeyError as error:  # its repr alone (``'article'``) would not say what is wrong
                log.error("skipped %s line %d: missing field %s", path, number, error)
            except (ValueError, TypeError) as error:
                log.error("skipped %s line %d: %s", path, number, error)
    return rows


def gold_articles(rows: Sequence[GoldRow]) -> dict[str, list[GoldRow]]:
    """Group gold rows by article, keeping file order (which is article order)."""
    grouped: dict[str, list[GoldRow]] = {}
    for row in rows:
        grouped.setdefault(row.article, []).append(row)
    return grouped


# ----------------------------------------------------------------------------------------------
# Sentences with character offsets


def align_sentences(text: str, sentences: Sequence[str]) -> list[tuple[int, int]]:
    """Locate already-split sentences in their article text, in order.

    Gold articles keep the gold sentence cut, so corpus annotations (character offsets) are mapped
    onto exactly the sentences that carry the hand labels.
    """
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sentence in sentences:
        found = text.find(sentence, cursor)
        if found < 0:
            raise ValueError(f"sentence not found in article text: {sentence[:60]!r}")
        spans.append((found, found + len(sentence)))
        cursor = found + len(sentence)
    return spans


def gold_paragraph_starts(text: str, sentences: Sequence[str]) -> list[bool]:
    """Paragraph starts of already-split sentences found in order in their article text (``ValueError``
    when one is not found)."""
    return _paragraph_starts(text, align_sentences(text, sentences))


def _paragraph_starts(text: str, spans: Sequence[tuple[int, int]]) -> list[bool]:
    """A sentence opens a paragraph when two line breaks (or the article start) precede it since the
    previous sentence: a blank line, even one holding spaces, as
    :func:`quoteframe.sentences.split_sentences` reads it, or a line of the text that holds no sentence."""
    starts = []
    previous_end = None
    for start, end in spans:
        starts.append(previous_end is None or text.count("\n", previous_end, start) > 1)
        previous_end = end
    return starts


def _split_text(text: str) -> tuple[list[str], list[tuple[int, int]], list[bool]]:
    # The cut the hand labels of data/labels were made on (their sentence ids count it).
    sentences = split_sentences(text, return_stray_marks=False)
    starts = [i == 0 or s.paragraph != sentences[i - 1].paragraph for i, s in enumerate(sentences)]
    return [s.text for s in sentences], [(s.start, s.end) for s in sentences], starts


def _sentences_of(text: str, gold_texts: Sequence[str] | None) -> tuple[list[str], list[tuple[int, int]], list[bool]]:
    """Gold sentence cut when the article is in a gold file, else the project's splitter."""
    if gold_texts:
        spans = align_sentences(text, gold_texts)
        return list(gold_texts), spans, _paragraph_starts(text, spans)
    return _split_text(text)


# ----------------------------------------------------------------------------------------------
# BASIL


def load_basil(root: Path) -> list[Article]:
    """BASIL articles; sentence ``p<N>`` carries the bias spans whose ``id`` is ``p<N>``."""
    articles = []
    for path in sorted((root / "articles").glob("*/*.json")):
        year, stem = path.parent.name, path.stem
        annotation_path = root / "annotations" / year / f"{stem}_ann.json"
        try:
            article = json.loads(path.read_text(encoding="utf-8"))
            annotation = json.loads(annotation_path.read_text(encoding="utf-8"))
            spans: dict[str, list[dict]] = {}
            for span in annotation.get("phrase-level-annotations", []):
                spans.setdefault(span["id"], []).append(
                    {"bias": span["bias"], "quote": span["quote"], "txt": span["txt"]}
                )
            sentences, ids, starts, tags = [], [], [], []
            index = 0
            for paragraph in article["body-paragraphs"]:
                opens_paragraph = True
                for sentence in paragraph:
                    key = f"p{index}"
                    index += 1
                    if not sentence.strip():
                        continue
                    sentences.append(sentence.strip())
                    ids.append(f"basil:{year}/{stem}#{key}")
                    starts.append(opens_paragraph)
                    opens_paragraph = False
                    tags.append({"basil_spans": spans.get(key, [])})
        except (OSError, ValueError, KeyError, TypeError) as error:
            _report(path, error)
            continue
        articles.append(Article("basil", f"basil:{year}/{stem}", sentences, ids, starts, tags))
    return articles


# ----------------------------------------------------------------------------------------------
# BABE and NewsSD: one sentence per row


def load_babe(root: Path, group: str = "SG2") -> list[Article]:
    """BABE ``final_labels_<group>.csv`` rows as one-sentence articles ``babe:<group>#<i>``."""
    path = root / "data" / f"final_labels_{group}.csv"
    articles = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for i, row in enumerate(csv.DictReader(handle, delimiter=";")):
                try:
                    words = ast.literal_eval(row["biased_words"] or "[]")
                    tags = {
                        "babe_bias": row["label_bias"],
                        "babe_opinion": row["label_opinion"],
                        "babe_words": [str(word) for word in words],
                    }
                except (ValueError, SyntaxError, KeyError) as error:
                    log.error("skipped %s row %d: %s", path, i, error)
                    continue
                sentence_id = f"babe:{group}#{i}"
                text, link = row["text"].strip(), row.get("news_link") or ""
                articles.append(Article("babe", sentence_id, [text], [sentence_id], [True], [tags], link))
    except OSError as error:
        _report(path, error)
    return articles


def load_newssd(root: Path, split: str = "train") -> list[Article]:
    """NewsSD-ENG ``<split>.csv`` rows as one-sentence articles ``newssd:<split>#<i>``."""
    path = root / "data" / "english" / f"{split}.csv"
    articles = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for i, row in enumerate(csv.DictReader(handle)):
                if row.get("Label") not in ("OBJ", "SUBJ"):
                    log.error("skipped %s row %d: label %r", path, i, row.get("Label"))
                    continue
                sentence_id = f"newssd:{split}#{i}"
                tags = {"newssd_label": row["Label"], "newssd_conflict": row.get("Solved conflict") == "True"}
                articles.append(
                    Article("newssd", sentence_id, [row["Sentence"].strip()], [sentence_id], [True], [tags])
                )
    except OSError as error:
        _report(path, error)
    return articles


# ----------------------------------------------------------------------------------------------
# MBIC articles

#: Excel's limit on a cell's characters: an MBIC article of this length was cut off mid-sentence.
EXCEL_CELL_LIMIT = 32767


def load_mbic(root: Path, only: Collection[str] | None = None) -> list[Article]:
    """The full articles of BABE's ``final_labels_MBIC.xlsx`` as ``mbic:<row>``, each distinct text once.

    MBIC labels single sentences, but every row also carries the article its sentence came from: US
    news on political and social topics, mostly from partisan outlets (Breitbart, Alternet, MSNBC, the
    Federalist) that the whole-article corpora here cover little or not at all. ``<row>`` is the 0-based
    data row where a text first occurs, so ids do not depend on which other texts are loaded. Each line of
    a text is a paragraph. Texts at :data:`EXCEL_CELL_LIMIT` were truncated when the file was written and
    are skipped. ``only`` restricts loading to those article ids (splitting sentences is the slow part).
    """
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    path = root / "data" / "final_labels_MBIC.xlsx"
    texts: dict[str, tuple[int, str]] = {}
    try:
        workbook = load_workbook(path, read_only=True)
        try:
            rows = workbook.active.iter_rows(values_only=True)
            header = next(rows)
            column = header.index("article")
            # The page only groups the split; a workbook without it still has articles to read.
            link_column = header.index("news_link") if "news_link" in header else None
            for index, row in enumerate(rows):
                text = row[column]
                if isinstance(text, str) and text.strip() and text not in texts:
                    link = row[link_column] if link_column is not None else None
                    texts[text] = (index, str(link or ""))
        finally:
            workbook.close()
    except (OSError, ValueError, KeyError, StopIteration, zipfile.BadZipFile, InvalidFileException) as error:
        _report(path, error)
        return []
    articles = []
    for text, (index, link) in texts.items():
        article_id = f"mbic:{index}"
        if (only is not None and article_id not in only) or len(text) >= EXCEL_CELL_LIMIT:
            continue
        paragraphs = "\n\n".join(line.strip() for line in text.splitlines() if line.strip())
        sentences, _, starts = _split_text(paragraphs)
        ids = [f"{article_id}#{k}" for k in range(len(sentences))]
        articles.append(Article("mbic", article_id, sentences, ids, starts, source=link))
    return articles


# ----------------------------------------------------------------------------------------------
# BBC


def _read_latin1_fallback(path: Path) -> str:
    """UTF-8, except the odd file with a stray Latin-1 byte (``sport/199.txt``)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def load_bbc(
    root: Path, gold: Mapping[str, Sequence[str]] | None = None, only: Collection[str] | None = None
) -> list[Article]:
    """BBC articles ``bbc:<topic>/<number>``, exact duplicate files dropped.

    Of duplicate files the one a gold file uses is kept, else the first by name. ``only`` restricts
    loading to those article ids (splitting sentences is the slow part).
    """
    gold = gold or {}
    texts: dict[str, tuple[str, Path]] = {}
    for path in sorted((root / "bbc").glob("*/*.txt")):
        article_id = f"bbc:{path.parent.name}/{path.stem}"
        try:
            text = _read_latin1_fallback(path)
        except OSError as error:
            _report(path, error)
            continue
        if text not in texts or article_id in gold:
            texts[text] = (article_id, path)
    articles = []
    for text, (article_id, path) in sorted(texts.items(), key=lambda item: item[1][0]):
        if only is not None and article_id not in only:
            continue
        try:
            sentences, _, starts = _sentences_of(text, gold.get(article_id))
        except ValueError as error:
            _report(path, error)
            continue
        ids = [f"{article_id}#{k}" for k in range(len(sentences))]
        articles.append(Article("bbc", article_id, sentences, ids, starts))
    return articles


# ----------------------------------------------------------------------------------------------
# PolNeAR


@dataclass(frozen=True)
class Attribution:
    """One attribution relation: cue text, content pieces (offsets) and how the content is quoted."""

    cue: str
    cue_span: tuple[int, int]
    content: tuple[tuple[int, int], ...]
    #: ``direct`` (content fully inside quotation marks), ``mixed`` (a quoted fragment), ``indirect``
    kind: str


_CLOSES_INSIDE = re.compile(r"[\"”»][.,;:!?…]*$")
_OPENS_BEFORE = re.compile(r"[\"“«„]\s?$")
_CLOSES_AFTER = re.compile(r"^[.,;:!?…]*[\"”»]")


def quote_kind(text: str, start: int, end: int) -> str:
    """Classify a content span by its quotation marks, as the corpus README defines it.

    ``direct``: the span opens and closes with a mark (closing punctuation may follow), or the marks
    sit right outside it; ``mixed``: a mark elsewhere inside; ``indirect``: no mark at all.
    """
    inner = text[start:end].strip()
    opens = inner[:1] in OPENING_MARKS or bool(_OPENS_BEFORE.search(text[max(0, start - 2) : start]))
    closes = bool(_CLOSES_INSIDE.search(inner)) or bool(_CLOSES_AFTER.match(text[end : end + 3]))
    if opens and closes:
        return "direct"
    return "mixed" if has_quote_mark(inner) else "indirect"


# A span text with a line break continues on the next line, so only these prefixes start a record.
_SPAN_LINE = re.compile(r"^(T\d+)\t(\S+) ([\d ;]+)\t")
_RELATION_LINE = re.compile(r"^E\d+\t")


def parse_brat(ann: str, text: str) -> list[Attribution]:
    """Attribution relations of one brat ``.ann`` file (two passes: ``E`` lines may precede ``T``)."""
    spans: dict[str, tuple[str, tuple[tuple[int, int], ...]]] = {}
    relations: list[dict[str, str]] = []
    for line in ann.splitlines():
        match = _SPAN_LINE.match(line)
        if match:
            pieces = tuple((int(a), int(b)) for a, b in (piece.split() for piece in match.group(3).split(";")))
            spans[match.group(1)] = (match.group(2), pieces)
        elif _RELATION_LINE.match(line):
            _, _, arguments = line.partition("\t")
            relations.append(dict(argument.split(":", 1) for argument in arguments.split()))
    attributions = []
    for relation in relations:
        cue = spans.get(relation.get("Cue", ""))
        content = spans.get(relation.get("Content", ""))
        if cue is None or content is None:
            continue
        pieces = content[1]
        cue_span = (cue[1][0][0], cue[1][-1][1])
        kind = quote_kind(text, pieces[0][0], pieces[-1][1])
        attributions.append(Attribution(text[cue_span[0] : cue_span[1]], cue_span, pieces, kind))
    return attributions


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def polnear_tags(spans: Sequence[tuple[int, int]], attributions: Sequence[Attribution]) -> list[dict]:
    """Per sentence: the share of its characters in direct / mixed / indirect content, and its cues."""
    tags = []
    for span in spans:
        length = max(1, span[1] - span[0])
        share = {"direct": 0, "mixed": 0, "indirect": 0}
        cues = []
        for attribution in attributions:
            covered = sum(_overlap(span, piece) for piece in attribution.content)
            share[attribution.kind] += covered
            if _overlap(span, attribution.cue_span):
                cues.append({"cue": attribution.cue, "kind": attribution.kind})
        tags.append(
            {
                "polnear_share": {kind: min(1.0, value / length) for kind, value in share.items()},
                "polnear_cues": cues,
            }
        )
    return tags


def load_polnear(
    root: Path,
    split: str = "train",
    gold: Mapping[str, Sequence[str]] | None = None,
    prefix: str = "polnear:",
    only: Collection[str] | None = None,
) -> list[Article]:
    """PolNeAR articles of one split, one annotator's file each (the first by name, for repeatability).

    ``gold`` maps article ids to gold sentence texts; those articles keep the gold sentence cut.
    ``prefix`` is the article-id prefix: ``polnear:`` for train ids, empty for the dev gold ids.
    ``only`` restricts loading to those article ids.
    """
    gold = gold or {}
    base = root / "data" / split
    annotation_files: dict[str, Path] = {}
    for path in sorted((base / "attributions").glob("*.ann")):
        stem = path.stem.rsplit("_", 1)[0]
        annotation_files.setdefault(stem, path)
    articles = []
    for path in sorted((base / "text").glob("*.txt")):
        article_id = f"{prefix}{path.stem}"
        if only is not None and article_id not in only:
            continue
        try:
            text = path.read_text(encoding="utf-8")
            annotation = annotation_files.get(path.stem)
            if annotation is None:
                raise ValueError("no .ann file for this text")
            attributions = parse_brat(annotation.read_text(encoding="utf-8"), text)
            sentences, spans, starts = _sentences_of(text, gold.get(article_id))
        except (OSError, ValueError) as error:
            _report(path, error)
            continue
        ids = [f"{article_id}#{k}" for k in range(len(sentences))]
        tags = polnear_tags(spans, attributions)
        articles.append(Article("polnear", article_id, sentences, ids, starts, tags))
    return articles


# ----------------------------------------------------------------------------------------------
# All corpora


def load_corpus(
    name: str, root: Path, gold: Mapping[str, Sequence[str]] | None = None, only: Collection[str] | None = None
) -> list[Article]:
    """Load one corpus by name from the corpora root (``only``: just these article ids, where it saves time).

    NewsSD-ENG contributes its ``train`` and ``val`` files; its ``test`` file stays unread so that it
    remains a clean test set for anyone comparing against the corpus's own results.
    """
    if name == "basil":
        return load_basil(root / "basil")
    if name == "babe":
        return load_babe(root / "babe")
    if name == "polnear":
        return load_polnear(root / "polnear", "train", gold, only=only)
    if name == "newssd":
        return load_newssd(root / "newssd_eng", "train") + load_newssd(root / "newssd_eng", "val")
    if name == "bbc":
        return load_bbc(root / "bbc_news", gold, only=only)
    if name == "mbic":
        return load_mbic(root / "babe", only=only)
    raise ValueError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}")
