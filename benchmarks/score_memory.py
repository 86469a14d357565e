"""Peak memory of ``quoteframe score`` on a large generated archive, by default with a tiny model.

``throughput.py --score-gb`` measures ``score`` with the benchmark's MiniLM weights, at 250-500
sentences/s on 2 cores: a 1 GB archive (about 6 million sentences) takes 3.5-7 hours. This script
runs the same ``score`` command on the same kind of archive (the same BASIL articles over and over) with
:mod:`quoteframe.training.tiny`'s 2-layer random model: the same tokenizer, splitter, batching, writers
and record of done articles, with inference that costs next to nothing. It prints ``throughput.py``'s
memory line, and a progress line every ``--report-every`` seconds.

Memory that grows with the archive in the loop around the model (reading, splitting, batching,
writing) shows here. The MiniLM model's own memory does not: its weights, and onnxruntime's arena for
its activations, which grows with the batch shapes it meets. ``throughput.py`` measures that part with
MiniLM on a smaller archive; ``--model`` runs this script with a real model folder instead (such as
the shipped ``models/``), for a longer run with progress lines.

``--longest`` rejoins each article's sentences in runs of eight with semicolons, so that most sentences
fill the model's ``max_length`` (it prints the share): most batches then have the largest shape the
model can meet, and onnxruntime's arena reaches, early and on a small archive, the size that ordinary
news reaches only in rare steps over a long run.

``--work DIR`` keeps the archive and the output in ``DIR`` instead of a temporary folder. A run of
many hours can then be stopped (Ctrl-C, ``kill``) and resumed by the same command, since ``score``
resumes where it stopped; the peak memory of the whole run is the largest of the printed peaks. An
archive already in ``DIR`` is scored as it is, whatever ``--gb`` and ``--longest`` say; a new size or
kind needs a new ``DIR``. The same command on a finished ``DIR`` only checks its output again.

At the end the script reads the output back and checks that no article was lost or scored twice,
which matters most for a run that was stopped and resumed: one article row per archive line, in
order, and for each article exactly its sentences, numbered from 0, in the sentence table.

    python benchmarks/score_memory.py [--gb 1] [--corpora ../shared/corpora] [--model models] [--longest]
        [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from throughput import THREADS, Article, archive_texts, basil_articles, cpu_summary, score_memory, write_model_folder

from quoteframe.encoding import PairEncoder
from quoteframe.inputs import ContextMode
from quoteframe.manifest import TOKENIZER_FILE
from quoteframe.scoring import output_paths
from quoteframe.sentences import split_sentences
from quoteframe.training.export import build_graphs, load_torch_model
from quoteframe.training.tiny import write_tiny_run

#: Length cap and context of the tiny model's inputs: the shipped model's, so batches have its shapes.
MAX_LENGTH = 128
CONTEXT: ContextMode = "quote_state"
#: BASIL sentences per rejoined sentence in ``--longest`` (about 30 tokens each).
JOINED = 8
_FINAL_STOP = re.compile(r"[.!?]+(?=[\"'”’]*$)")


def longest_articles(articles: list[Article]) -> list[Article]:
    """Each article as one paragraph of sentences that each join ``JOINED`` of its sentences with semicolons."""
    out: list[Article] = []
    for article in articles:
        sentences = [_FINAL_STOP.sub("", sentence.strip()) for paragraph in article for sentence in paragraph]
        joined = ["; ".join(sentences[i : i + JOINED]) + "." for i in range(0, len(sentences), JOINED)]
        out.append([joined])
    return out


def share_at_max_length(articles: list[Article], model_dir: Path) -> tuple[int, float]:
    """Sentences the splitter cuts from ``articles``, and the share of them the model truncates."""
    encoder = PairEncoder.from_file(model_dir / TOKENIZER_FILE, MAX_LENGTH)
    sentences = [sentence.text for text in archive_texts(articles) for sentence in split_sentences(text)]
    encoded = encoder.encode([(sentence, "") for sentence in sentences])
    return len(sentences), sum(pair.truncated for pair in encoded) / max(len(encoded), 1)


class OutputMismatch(RuntimeError):
    """A finished run's output does not hold each archive line's article and sentences exactly once."""


def expect(ok: bool, problem: str) -> None:
    """Raise :class:`OutputMismatch` with ``problem`` unless ``ok``."""
    if not ok:
        raise OutputMismatch(problem)


def check_output(work: Path) -> str:
    """Read a finished run's output back: every archive line scored once, in order, with all its sentences.

    Raises :class:`OutputMismatch` naming the first difference; returns the line that says what was checked.
    """
    paths = output_paths(work / "scored")
    with (work / "archive.jsonl").open("rb") as handle:
        lines = sum(1 for _ in handle)
    with paths.errors.open("rb") as handle:
        errors = sum(1 for _ in handle)
    expect(errors == 0, f"{errors} error rows, but every record of the generated archive is well formed")
    articles = pq.read_table(paths.articles, columns=["article_index", "position", "sentences"])
    article_index = articles["article_index"].to_numpy()
    expect(np.array_equal(article_index, np.arange(lines)), "article rows are not one per archive line, in order")
    expect(np.array_equal(articles["position"].to_numpy(), np.arange(1, lines + 1)), "article positions differ")
    counts = articles["sentences"].to_numpy().astype(np.int64)
    sentences = pq.read_table(paths.sentences, columns=["article_index", "sentence_index"])
    expect(len(sentences) == counts.sum(), f"{len(sentences)} sentence rows, the article rows count {counts.sum()}")
    expect(
        np.array_equal(sentences["article_index"].to_numpy(), np.repeat(article_index, counts)),
        "sentence rows are not grouped by article in order",
    )
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    expected = np.arange(len(sentences)) - starts
    expect(np.array_equal(sentences["sentence_index"].to_numpy(), expected), "sentence indices are not 0..n-1")
    summary = json.loads(paths.summary.read_text(encoding="utf-8"))
    expect(summary["articles"] == lines and summary["sentences"] == len(sentences), "the summary's counts differ")
    return (
        f"output check passed: {lines} archive lines, {lines} article rows in order, "
        f"{len(sentences)} sentence rows (each article's sentences once, numbered from 0), no error rows"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--gb", type=float, default=1.0, help="archive size in GB")
    parser.add_argument("--sentences", type=int, default=2000, help="BASIL sentences the archive repeats")
    parser.add_argument("--report-every", type=float, default=300.0, help="seconds between progress lines (0: none)")
    parser.add_argument("--model", type=Path, default=None, help="model folder to score with (default: tiny model)")
    parser.add_argument("--longest", action="store_true", help="sentences that fill max_length (largest batches)")
    parser.add_argument("--work", type=Path, default=None, help="keep archive and output here (resumable run)")
    args = parser.parse_args()

    print(cpu_summary())
    articles = basil_articles(args.corpora, args.sentences)
    if args.longest:
        articles = longest_articles(articles)
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
    folder = nullcontext(args.work.resolve()) if args.work else tempfile.TemporaryDirectory(prefix="quoteframe-memory-")
    with folder as scratch:
        work = Path(scratch)
        if args.model is not None:
            model_dir, name = args.model.resolve(), f"model folder {args.model}"
        else:
            checkpoint = write_tiny_run(work / "run", max_length=MAX_LENGTH, context=CONTEXT) / "checkpoint"
            graphs = build_graphs(load_torch_model(checkpoint), work)
            model_dir, name = work / "model", "tiny 2-layer model"
            write_model_folder(model_dir, graphs.int8["plain"], checkpoint, MAX_LENGTH, "plain", CONTEXT)
        if args.longest:
            count, share = share_at_max_length(articles, model_dir)
            print(f"--longest: the splitter cuts {count} sentences from the articles; {share:.1%} fill max_length")
        line, rate = score_memory(model_dir, work, articles, args.gb, report_every=args.report_every)
        print(f"quoteframe score, {name}, {THREADS} threads: {line}")
        if not rate:
            sys.exit(1)
        print(check_output(work))


if __name__ == "__main__":
    main()
