"""Output of ``quoteframe classify``: JSON lines for programs, a colored table for people.

rich is imported only for the table, so piping JSON out of a short command stays fast to start.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TextIO

from quoteframe.labels import DIRECT_QUOTE, LOADED_PARAPHRASE, NEUTRAL_PARAPHRASE
from quoteframe.results import SentenceResult

LABEL_STYLES = {DIRECT_QUOTE: "bold cyan", NEUTRAL_PARAPHRASE: "green", LOADED_PARAPHRASE: "bold red"}


def json_lines(results: Iterable[SentenceResult]) -> Iterable[str]:
    """One JSON object per sentence (non-ASCII kept as is, since articles are UTF-8)."""
    for result in results:
        yield json.dumps(result.to_dict(), ensure_ascii=False)


def print_table(results: Sequence[SentenceResult], stream: TextIO) -> None:
    """Print a table of sentences with their label, colored by label, and its probability.

    Cells are :class:`rich.text.Text`, so brackets in article text are never read as rich markup.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False, header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("label")
    table.add_column("p", justify="right")
    table.add_column("quote", justify="center")
    table.add_column("flags")
    table.add_column("sentence", overflow="fold")
    for result in results:
        table.add_row(
            str(result.index),
            Text(result.label, style=LABEL_STYLES[result.label]),
            f"{result.prediction.probability:.2f}",
            "yes" if result.inside_quote else "",
            ",".join(result.prediction.flags),
            Text(result.text),
        )
    Console(file=stream).print(table)
