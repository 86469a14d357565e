"""Peak memory of ``quoteframe score`` on a large generated archive, by default with a tiny model.

``throughput.py --score-gb`` measures ``score`` with the benchmark's MiniLM weights, at about 200
sentences/s on 2 cores: a 1 GB archive would take about 8 hours. This script runs the same ``score``
command on the same kind of archive (the same BASIL articles over and over) with
:mod:`quoteframe.training.tiny`'s 2-layer random model: the same tokenizer, splitter, batching, writers
and record of done articles, with inference that costs next to nothing. It prints ``throughput.py``'s
memory line, and a progress line every ``--report-every`` seconds.

Memory that grows with the archive in the loop around the model (reading, splitting, batching,
writing) shows here. The MiniLM model's own memory does not: its weights, and onnxruntime's arena for
its activations, which grows with the batch shapes it meets. ``throughput.py`` measures that part with
MiniLM on a smaller archive; ``--model`` runs this script with a real model folder instead (such as
the shipped ``models/``), for a longer run with progress lines.

    python benchmarks/score_memory.py [--gb 1] [--corpora ../shared/corpora] [--model models]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from throughput import THREADS, basil_articles, cpu_summary, score_memory, write_model_folder

from quoteframe.inputs import ContextMode
from quoteframe.training.export import build_graphs, load_torch_model
from quoteframe.training.tiny import write_tiny_run

#: Length cap and context of the tiny model's inputs: the shipped model's, so batches have its shapes.
MAX_LENGTH = 128
CONTEXT: ContextMode = "quote_state"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--gb", type=float, default=1.0, help="archive size in GB")
    parser.add_argument("--sentences", type=int, default=2000, help="BASIL sentences the archive repeats")
    parser.add_argument("--report-every", type=float, default=300.0, help="seconds between progress lines (0: none)")
    parser.add_argument("--model", type=Path, default=None, help="model folder to score with (default: tiny model)")
    args = parser.parse_args()

    print(cpu_summary())
    articles = basil_articles(args.corpora, args.sentences)
    with tempfile.TemporaryDirectory(prefix="quoteframe-memory-") as scratch:
        work = Path(scratch)
        if args.model is not None:
            model_dir, name = args.model.resolve(), f"model folder {args.model}"
        else:
            checkpoint = write_tiny_run(work / "run", max_length=MAX_LENGTH, context=CONTEXT) / "checkpoint"
            graphs = build_graphs(load_torch_model(checkpoint), work)
            model_dir, name = work / "model", "tiny 2-layer model"
            write_model_folder(model_dir, graphs.int8["plain"], checkpoint, MAX_LENGTH, "plain", CONTEXT)
        line, _ = score_memory(model_dir, work, articles, args.gb, report_every=args.report_every)
        print(f"quoteframe score, {name}, {THREADS} threads: {line}")


if __name__ == "__main__":
    main()
