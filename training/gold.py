"""Gold rows as model-ready dicts: the hand label plus the context the model sees at serving time.

Rows are in article order, so each row's context (previous sentence, open quotation) comes from the
rows before it in the same article, computed by the same splitter code that serving uses.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

from quoteframe.sentences import quote_context
from quoteframe.training.loaders import GoldRow, gold_articles, gold_paragraph_starts, load_gold

log = logging.getLogger(__name__)


def read_gold(path: Path, corpora_root: Path | None = None) -> list[dict]:
    """Rows of a gold JSONL file with ``previous`` and ``inside_quote`` added, as serving computes them.

    The gold format has no paragraphs. When ``corpora_root`` holds the PolNeAR dev texts (the articles
    of ``dev.jsonl``), each article's paragraph starts come from its text, as ``classify_article``
    finds them: a quotation open at a paragraph's end continues only into a paragraph that opens with
    a mark, and a block quotation after a lead-in runs to its paragraph's end. An article not found
    there is one paragraph; its rows carry ``paragraph_breaks`` False (:func:`paragraph_warning`).
    """
    grouped = gold_articles(load_gold(Path(path)))
    starts_by_article = polnear_dev_paragraph_starts(grouped, corpora_root)
    rows: list[dict] = []
    for article_id, article in grouped.items():
        texts = [row.text for row in article]
        starts = starts_by_article.get(article_id)
        previous, inside = ["", *texts[:-1]], quote_context(texts, starts)
        for row, before, in_quote in zip(article, previous, inside, strict=True):
            rows.append(
                {**asdict(row), "previous": before, "inside_quote": in_quote, "paragraph_breaks": starts is not None}
            )
    return rows


def polnear_dev_folder(corpora_root: Path | None) -> Path | None:
    """The PolNeAR corpus folder under ``corpora_root`` when it holds the dev texts, else ``None``."""
    folder = corpora_root / "polnear" if corpora_root is not None else None
    return folder if folder is not None and (folder / "data" / "dev" / "text").is_dir() else None


def polnear_dev_paragraph_starts(grouped: dict[str, list[GoldRow]], corpora_root: Path | None) -> dict[str, list[bool]]:
    """Paragraph starts of each gold article found in the PolNeAR dev texts, one per row in the rows' order.

    The gold sentences are found in the article text one after another, so the starts line up with the
    rows as read: a line skipped from the gold file shifts nothing. An article without a text, or whose
    sentences are not all found in it, is left out (logged).
    """
    folder = polnear_dev_folder(corpora_root)
    if folder is None:
        return {}
    starts: dict[str, list[bool]] = {}
    for article_id, rows in grouped.items():
        path = folder / "data" / "dev" / "text" / f"{article_id}.txt"
        if not path.is_file():
            continue
        try:
            starts[article_id] = gold_paragraph_starts(path.read_text(encoding="utf-8"), [row.text for row in rows])
        except (OSError, UnicodeDecodeError, ValueError) as error:
            log.warning("%s: paragraph breaks not read (%s)", path, error)
    return starts


def paragraph_warning(rows: list[dict], corpora_root: Path | None) -> str | None:
    """A report warning naming the gold articles of ``rows`` (:func:`read_gold`) read without paragraph
    breaks, if any.

    Without them a block quotation after a lead-in covers only the sentence after the lead-in, so dev
    figures read that way are not those of the articles as served.
    """
    articles = list(dict.fromkeys(row["article"] for row in rows))
    missing = list(dict.fromkeys(row["article"] for row in rows if not row["paragraph_breaks"]))
    if not missing:
        return None
    where = f"the PolNeAR dev texts under {corpora_root}" if corpora_root is not None else "any corpora folder"
    return (
        f"{len(missing)} of {len(articles)} gold articles were read without paragraph breaks, not found in {where} "
        f"(first: {missing[0]}); a block quotation after a lead-in then covers only the sentence after it"
    )


def read_gold_rows(path: Path, corpora_root: Path | None = None) -> list[dict]:
    """:func:`read_gold`, refusing a file that yields no row: a score, a gate or a model selection on
    nothing must fail where the file is named, not as an empty-array error far downstream."""
    rows = read_gold(path, corpora_root)
    if not rows:
        raise ValueError(
            f"{path}: no gold sentences read (the file is empty, or every line was skipped, as logged above)"
        )
    return rows
