"""Gold rows as model-ready dicts: the hand label plus the context the model sees at serving time.

Rows are in article order, so each row's context (previous sentence, open quotation) comes from the
rows before it in the same article, computed by the same splitter code that serving uses.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from quoteframe.training.dataset import article_context
from quoteframe.training.loaders import gold_articles, load_gold


def read_gold(path: Path) -> list[dict]:
    """Rows of a gold JSONL file with ``previous`` and ``inside_quote`` added."""
    rows: list[dict] = []
    for article in gold_articles(load_gold(Path(path))).values():
        previous, inside = article_context([row.text for row in article], None)
        for row, before, in_quote in zip(article, previous, inside, strict=True):
            rows.append({**asdict(row), "previous": before, "inside_quote": in_quote})
    return rows


def read_gold_rows(path: Path) -> list[dict]:
    """:func:`read_gold`, refusing a file that yields no row: a score, a gate or a model selection on
    nothing must fail where the file is named, not as an empty-array error far downstream."""
    rows = read_gold(path)
    if not rows:
        raise ValueError(
            f"{path}: no gold sentences read (the file is empty, or every line was skipped, as logged above)"
        )
    return rows
