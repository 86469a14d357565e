"""Gold rows as model-ready dicts: the hand label plus the context the model sees at serving time.

Rows are in article order, so each row's context (previous sentence, open quotation) comes from the
rows before it in the same article, computed by the same splitter code that serving uses.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from quoteframe.sentences import quote_context
from quoteframe.training.loaders import GoldRow, gold_articles, load_gold, load_polnear


def read_gold(path: Path, corpora_root: Path | None = None) -> list[dict]:
    """Rows of a gold JSONL file with ``previous`` and ``inside_quote`` added, as serving computes them.

    The gold format has no paragraphs. When ``corpora_root`` holds the PolNeAR dev texts (the articles
    of ``dev.jsonl``), paragraph starts come from them, as ``classify_article`` finds them in an
    article's text: a quotation open at a paragraph's end continues only into a paragraph that opens
    with a mark, and a block quotation after a lead-in runs to its paragraph's end. Otherwise each
    article is one paragraph.
    """
    grouped = gold_articles(load_gold(Path(path)))
    starts_by_id = polnear_dev_paragraph_starts(grouped, corpora_root)
    rows: list[dict] = []
    for article in grouped.values():
        texts = [row.text for row in article]
        starts = [starts_by_id.get(row.id, False) for row in article] if starts_by_id else None
        previous, inside = ["", *texts[:-1]], quote_context(texts, starts)
        for row, before, in_quote in zip(article, previous, inside, strict=True):
            rows.append({**asdict(row), "previous": before, "inside_quote": in_quote})
    return rows


def polnear_dev_folder(corpora_root: Path | None) -> Path | None:
    """The PolNeAR corpus folder under ``corpora_root`` when it holds the dev texts, else ``None``."""
    folder = corpora_root / "polnear" if corpora_root is not None else None
    return folder if folder is not None and (folder / "data" / "dev" / "text").is_dir() else None


def polnear_dev_paragraph_starts(grouped: dict[str, list[GoldRow]], corpora_root: Path | None) -> dict[str, bool]:
    """Paragraph start of each gold sentence id found in the PolNeAR dev texts (empty without them)."""
    folder = polnear_dev_folder(corpora_root)
    if folder is None:
        return {}
    texts = {article: [row.text for row in rows] for article, rows in grouped.items()}
    starts: dict[str, bool] = {}
    for article in load_polnear(folder, "dev", texts, prefix="", only=set(grouped)):
        starts.update(zip(article.sentence_ids, article.paragraph_starts, strict=True))
    return starts


def read_gold_rows(path: Path, corpora_root: Path | None = None) -> list[dict]:
    """:func:`read_gold`, refusing a file that yields no row: a score, a gate or a model selection on
    nothing must fail where the file is named, not as an empty-array error far downstream."""
    rows = read_gold(path, corpora_root)
    if not rows:
        raise ValueError(
            f"{path}: no gold sentences read (the file is empty, or every line was skipped, as logged above)"
        )
    return rows
