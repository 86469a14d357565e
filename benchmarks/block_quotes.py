"""How the hand labels judge the sentences that a lead-in sets off as a block quotation.

``quoteframe.sentences.quote_context`` opens a block quotation after a short paragraph-final lead-in
such as ``The governor added:`` (the guideline's ruling: such a block is ``direct_quote``). This script
finds every sentence the rule adds, in the hand-labelled articles of the default build, train and
held-out (gold ``train.jsonl`` and ``data/labels/``, paragraph starts from the corpora), and in ``dev.jsonl``
(paragraph starts from the PolNeAR dev texts), and prints their hand labels per corpus: the rule's
precision, measured on labels made without it. Sentences that the quotation marks already put inside
a quotation are not counted. With ``--model``, it also prints how many of them the model labels right
without the open-quotation marker and with it, one sentence per batch (the shipped model was trained
without the rule; the build's articles include its training articles, whose labels it has seen).

Usage: python benchmarks/block_quotes.py [--corpora ../shared/corpora] [--gold-dir ../shared/gold]
       [--labels-dir data/labels] [--examples 3] [--model models]
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path

from quoteframe.classifier import Classifier
from quoteframe.labels import LABELS
from quoteframe.sentences import quote_context
from quoteframe.training.dataset import SENTENCE_CORPORA, repo_hand_labels
from quoteframe.training.gold import polnear_dev_paragraph_starts
from quoteframe.training.loaders import gold_articles, load_corpus, load_gold


def set_off(texts: list[str], starts: list[bool] | None) -> list[int]:
    """Indices of the sentences the lead-in rule adds to the marks' quotation state."""
    marks = quote_context(texts, starts, block_quotes=False)
    block = quote_context(texts, starts, block_quotes=True)
    return [i for i, (before, after) in enumerate(zip(marks, block, strict=True)) if after and not before]


def training_articles(corpora: Path, gold_dir: Path, labels_dir: Path) -> dict[str, list[tuple[str, str, str]]]:
    """Per corpus: (label, sentence, lead-in) of each sentence set off in a hand-labelled article."""
    gold = load_gold(gold_dir / "train.jsonl")
    repo, _ = repo_hand_labels(labels_dir, corpora, {row.article for row in gold})
    grouped = gold_articles(gold + repo)
    label_of = {row.id: row.label for rows in grouped.values() for row in rows}
    texts = {article: [row.text for row in rows] for article, rows in grouped.items()}
    found: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for corpus in sorted({rows[0].corpus for rows in grouped.values()} - SENTENCE_CORPORA):
        for article in load_corpus(corpus, corpora, texts, only=set(grouped)):
            for i in set_off(article.sentences, article.paragraph_starts):
                label = label_of.get(article.sentence_ids[i])
                if label is not None:
                    found[corpus].append((label, article.sentences[i], _lead_in(article.sentences, i)))
    return found


def dev_articles(gold_path: Path, corpora: Path) -> list[tuple[str, str, str]]:
    """(label, sentence, lead-in) of each dev sentence set off, with the dev texts' paragraph starts."""
    grouped = gold_articles(load_gold(gold_path))
    starts_by_article = polnear_dev_paragraph_starts(grouped, corpora)
    found = []
    for article_id, article in grouped.items():
        texts = [row.text for row in article]
        for i in set_off(texts, starts_by_article.get(article_id)):
            found.append((article[i].label, texts[i], _lead_in(texts, i)))
    return found


def _lead_in(texts: list[str], i: int) -> str:
    """The nearest sentence before ``i`` that ends with a colon: the lead-in, for the printed examples."""
    return next((texts[j] for j in range(i - 1, -1, -1) if texts[j].rstrip().endswith(":")), "")


def report(title: str, found: list[tuple[str, str, str]], examples: int, classifier: Classifier | None) -> None:
    counts = Counter(label for label, _, _ in found)
    share = counts["direct_quote"] / len(found) if found else 0.0
    cells = ", ".join(f"{label} {counts[label]}" for label in LABELS)
    print(f"{title}: {len(found)} sentences set off; {cells}; direct_quote share {share:.3f}")
    if classifier is not None and found:
        texts = [text for _, text, _ in found]
        right = [
            sum(
                p.label == label
                for p, (label, _, _) in zip(
                    classifier.predict(texts, inside_quote=[flag] * len(texts)), found, strict=True
                )
            )
            for flag in (False, True)
        ]
        print(f"    model labels right: {right[0]}/{len(found)} without the marker, {right[1]}/{len(found)} with it")
    for label, text, lead_in in [item for item in found if item[0] != "direct_quote"][:examples]:
        print(f"    {label}: {lead_in!r} -> {text[:90]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--gold-dir", type=Path, default=Path("../shared/gold"))
    parser.add_argument("--labels-dir", type=Path, default=Path("data/labels"))
    parser.add_argument("--examples", type=int, default=3, help="Sentences not labelled direct_quote, shown per set.")
    parser.add_argument("--model", type=Path, default=None, help="Model folder whose labels of them are counted too.")
    args = parser.parse_args()
    # One sentence per batch: the int8 graph's labels then do not depend on which sentences share a batch.
    classifier = Classifier.load(args.model, batch_size=1) if args.model is not None else None
    found = training_articles(args.corpora, args.gold_dir, args.labels_dir)
    for corpus in sorted(found):
        report(f"hand-labelled articles of the build, {corpus}", found[corpus], args.examples, classifier)
    report("all corpora of the build", [item for items in found.values() for item in items], 0, classifier)
    dev = dev_articles(args.gold_dir / "dev.jsonl", args.corpora)
    report("dev.jsonl (PolNeAR dev)", dev, args.examples, classifier)


if __name__ == "__main__":
    main()
