"""``Classifier.predict`` speed of one model folder at several batch sizes, timed side by side.

Length bucketing leaves little padding at any batch size, so what remains is how well each layer's
activations fit the cache: a smaller batch can run faster per sentence. This script times the
2,000 BASIL sentences of ``throughput.py`` (tokenization included, 2 threads) at each size, with the
repeats interleaved so that a load change on a shared machine hits every size alike, and prints the
sentences/s and the share of labels that agree with the first size's (dynamic int8 picks its
activation scales per batch, so a sentence's label can move with its batch-mates).

    python benchmarks/batch_size.py [--model models] [--sizes 64,32,16] [--repeats 5]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from throughput import THREADS, article_pairs, basil_articles, cpu_summary, load_average, median_rates

from quoteframe import Classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models"), help="model folder")
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--sizes", default="64,32,16", help="comma-separated batch sizes")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    sizes = [int(size) for size in args.sizes.split(",")]
    print(cpu_summary())
    rows = article_pairs(basil_articles(args.corpora, args.sentences))
    sentences, previous, inside = (list(column) for column in zip(*rows, strict=True))
    classifiers = {size: Classifier.load(args.model, batch_size=size, threads=THREADS) for size in sizes}
    labels = {
        size: [p.label for p in classifier.predict(sentences, previous, inside)]
        for size, classifier in classifiers.items()
    }
    print(f"{len(sentences)} BASIL sentences, model {args.model}, {THREADS} threads")
    print(f"load average before timing: {load_average()}")
    runs = {str(size): (lambda c=c: c.predict(sentences, previous, inside)) for size, c in classifiers.items()}
    rates = median_rates(len(sentences), args.repeats, runs)
    print(f"load average after timing: {load_average()}")
    first = sizes[0]
    header = f"sent/s (median of {args.repeats})"
    print(f"\n{'batch size':>10}{header:>26}{'labels as batch ' + str(first):>22}")
    for size in sizes:
        agree = sum(a == b for a, b in zip(labels[size], labels[first], strict=True)) / len(sentences)
        print(f"{size:>10}{rates[str(size)]:>26.1f}{agree:>22.2%}")


if __name__ == "__main__":
    main()
