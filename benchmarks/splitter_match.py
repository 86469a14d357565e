"""How closely ``quoteframe.sentences`` reproduces the gold sentence split of PolNeAR articles, and how fast.

The gold sentences were cut by pysbd one paragraph line at a time and kept as cut, so a difference is
either a splitter change of ours (a pysbd error that we repair: reported as "gold splitter error",
with examples to judge) or a miss of ours. The exact-match figure counts both as misses. The script
also measures how well ``inside_quote`` agrees with the gold labels and the splitting speed.

Usage: python benchmarks/splitter_match.py [--corpora ../shared/corpora] [--gold ../shared/gold/dev.jsonl]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from quoteframe.sentences import Sentence, quote_context, split_error, split_sentences

_QUOTE_MARK = re.compile(r"[\"“”«»„‘]|''|``|(?<![\w'])'(?=[A-Za-z])")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*$")
# A quotation's closing marks that pysbd left at the start of the next sentence (``" Then he left.``).
_STRAY_CLOSE = re.compile(r"^[\"'”’»]+\s")
EXAMPLES_PER_KIND = 3


@dataclass
class Article:
    """One article's text and its gold rows, in order."""

    name: str
    text: str
    rows: list[dict]


def _norm(text: str) -> str:
    return " ".join(text.split())


def load_articles(gold: Path, text_dir: Path, prefix: str) -> list[Article]:
    """Gold rows grouped by article, for the ids that start with ``prefix``; unreadable articles are named."""
    grouped: dict[str, list[dict]] = defaultdict(list)
    with gold.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                print(f"{gold}:{number}: skipped, not JSON ({error})", file=sys.stderr)
                continue
            if row["id"].startswith(prefix) and (prefix or ":" not in row["id"]):
                grouped[row["article"]].append(row)
    articles = []
    for name, rows in grouped.items():
        path = text_dir / f"{name.removeprefix(prefix)}.txt"
        try:
            articles.append(Article(name, path.read_text(encoding="utf-8"), rows))
        except OSError as error:
            print(f"{path}: skipped ({error})", file=sys.stderr)
    return articles


def _locate(text: str, sentences: list[str]) -> list[tuple[int, int] | None]:
    """Offsets of each gold sentence in the text, searched in order."""
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for sentence in sentences:
        found = text.find(sentence.strip(), cursor)
        if found < 0:
            spans.append(None)
            continue
        spans.append((found, found + len(sentence.strip())))
        cursor = found + len(sentence.strip())
    return spans


def _classify_miss(text: str, gold: list[str], spans: list, k: int, ours: list[Sentence]) -> tuple[str, bool]:
    """Failure kind of gold sentence ``k`` and whether pysbd (the gold splitter) erred there."""
    span = spans[k]
    if span is None:
        return "gold sentence not found in the text", False
    start, end = span
    stray = "gold put a quotation's closing mark at the start of the next sentence"
    if (k and _STRAY_CLOSE.match(gold[k])) or (k + 1 < len(gold) and _STRAY_CLOSE.match(gold[k + 1])):
        return stray, True
    overlapping = [s for s in ours if s.start < end and s.end > start]
    if len(overlapping) == 1 and overlapping[0].start <= start and overlapping[0].end >= end:
        # We kept together what the gold split: name the boundary we removed.
        for neighbour, before, after in ((k - 1, None, gold[k]), (k + 1, gold[k], None)):
            if 0 <= neighbour < len(gold) and spans[neighbour] is not None:
                n_start, n_end = spans[neighbour]
                if overlapping[0].start <= n_start and overlapping[0].end >= n_end:
                    reason = split_error(before or gold[neighbour], after or gold[neighbour])
                    if reason:
                        return f"gold split {reason}", True
            if 0 <= neighbour < len(gold) and not _SENTENCE_END.search(before or gold[neighbour]):
                return "gold split where no sentence-final punctuation is", True
        return "we merged gold sentences (no repair rule)", False
    if not overlapping:
        return "no sentence of ours covers it", False
    cuts = [s.end for s in overlapping[:-1]]
    if k == 0 and text[:end].count("\n") == 0:
        return "headline split", False
    near_mark = any(_QUOTE_MARK.search(text[max(cut - 2, 0) : cut + 3]) for cut in cuts)
    return ("we split at a quote boundary" if near_mark else "we split inside a gold sentence"), False


def match_figures(articles: list[Article], title: str) -> None:
    """Print the exact-match rate, failure kinds with examples, and splitting speed."""
    total = matched = 0
    kinds: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    gold_errors = 0
    sentence_count = 0
    elapsed = 0.0
    for article in articles:
        began = time.process_time()
        ours = split_sentences(article.text)
        elapsed += time.process_time() - began
        sentence_count += len(ours)
        available = Counter(_norm(s.text) for s in ours)
        gold = [row["text"] for row in article.rows]
        spans = _locate(article.text, gold)
        for k, sentence in enumerate(gold):
            total += 1
            if available[_norm(sentence)] > 0:
                available[_norm(sentence)] -= 1
                matched += 1
                continue
            kind, pysbd_erred = _classify_miss(article.text, gold, spans, k, ours)
            gold_errors += pysbd_erred
            kinds[kind] += 1
            if len(examples[kind]) < EXAMPLES_PER_KIND:
                examples[kind].append(f"{article.rows[k]['id']}: {sentence[:150]!r}")
    print(f"== {title}: {len(articles)} articles")
    print(f"exact sentence match: {matched}/{total} = {matched / max(total, 1):.2%}")
    print(f"misses: {total - matched}, of which gold splitter error (pysbd erred; we differ on purpose): {gold_errors}")
    for kind, count in kinds.most_common():
        print(f"  {count:4d}  {kind}")
        for example in examples[kind]:
            print(f"          {example}")
    print(
        f"speed: {sentence_count} sentences in {elapsed:.2f} s of CPU time = "
        f"{sentence_count / max(elapsed, 1e-9):,.0f} sentences/s"
    )


def quote_figures(articles: list[Article], title: str) -> None:
    """Print how ``inside_quote`` (from quote_context on the gold sentences) agrees with the gold labels."""
    for with_paragraphs in (True, False):
        quote_hit = quote_total = wrong = paraphrase_total = 0
        for article in articles:
            gold = [row["text"] for row in article.rows]
            starts = None
            if with_paragraphs:
                spans = _locate(article.text, gold)
                starts = [_paragraph_start(article.text, span, k) for k, span in enumerate(spans)]
            inside = quote_context(gold, starts)
            for row, flag in zip(article.rows, inside, strict=True):
                if row["label"] == "direct_quote" and not _QUOTE_MARK.search(row["text"]):
                    quote_total += 1
                    quote_hit += flag
                elif row["label"] != "direct_quote":
                    paraphrase_total += 1
                    wrong += flag
        mode = "with paragraph starts" if with_paragraphs else "without paragraph info"
        print(
            f"inside_quote on {title} ({mode}): direct_quote rows without a mark of their own: "
            f"{quote_hit}/{quote_total} True; neutral/loaded rows wrongly True: {wrong}/{paraphrase_total}"
        )


def _paragraph_start(text: str, span: tuple[int, int] | None, k: int) -> bool:
    """A gold sentence starts a paragraph if only whitespace holding a blank line precedes it on its line."""
    if span is None:
        return k == 0
    line_start = text.rfind("\n", 0, span[0]) + 1
    if text[line_start : span[0]].strip():
        return False
    before = text[:line_start].rstrip(" \t\r")
    return k == 0 or before.endswith("\n\n") or not before.strip() or _blank_line_before(text, line_start)


def _blank_line_before(text: str, line_start: int) -> bool:
    previous_lines = text[:line_start].split("\n")
    return len(previous_lines) >= 2 and not previous_lines[-2].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--gold", type=Path, default=Path("../shared/gold/dev.jsonl"))
    parser.add_argument("--train-gold", type=Path, default=Path("../shared/gold/train.jsonl"))
    args = parser.parse_args()
    polnear = args.corpora / "polnear" / "data"
    dev = load_articles(args.gold, polnear / "dev" / "text", "")
    match_figures(dev, f"PolNeAR dev ({args.gold})")
    quote_figures(dev, "dev")
    if args.train_gold.exists():
        train = load_articles(args.train_gold, polnear / "train" / "text", "polnear:")
        match_figures(train, f"PolNeAR train rows of {args.train_gold}")
        quote_figures(train, "train PolNeAR rows")


if __name__ == "__main__":
    main()
