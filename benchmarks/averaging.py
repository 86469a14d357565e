"""Whether averaging fine-tuned runs beats its ingredients: their probabilities, or their weights.

Runs fine-tuned from the same base with the same seed often sit close enough in weight space for a
uniform weight average (a "model soup") to work, and averaging their probabilities is a small
ensemble. This script scores, in PyTorch fp32, each run, the probability average and the weight
average, on the dev gold sentences and on the hand-labelled heldout rows of a dataset build. The
heldout draw is by article and seed, so builds with the same seed hold out the same articles and none
of the runs saw them, as long as every run was trained on a build with that seed.

    python benchmarks/averaging.py RUN RUN [RUN ...] [--dataset data/build/dataset]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from quoteframe.encoding import PairEncoder
from quoteframe.labels import LABEL_TO_ID
from quoteframe.manifest import TOKENIZER_FILE
from quoteframe.training.evaluation import heldout_hand_rows
from quoteframe.training.export import (
    DEFAULT_GOLD,
    find_checkpoint,
    load_torch_model,
    probability_macro_f1,
    read_run_info,
    run_context,
)
from quoteframe.training.gold import read_gold
from quoteframe.training.torch_inference import predict_proba, row_pairs

THREADS = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="training run folders (checkpoint/ + run.json)")
    parser.add_argument("--dataset", type=Path, default=Path("data/build/dataset"), help="build whose heldout to score")
    args = parser.parse_args()
    if len(args.runs) < 2:
        parser.error("averaging needs at least two runs")
    torch.set_num_threads(THREADS)

    infos = [read_run_info(run) for run in args.runs]
    contexts = {run_context(info) for info in infos}
    lengths = {int(info["config"]["max_length"]) for info in infos}
    if len(contexts) > 1 or len(lengths) > 1:
        raise SystemExit(f"the runs differ in context {sorted(contexts)} or max_length {sorted(lengths)}")
    context, max_length = contexts.pop(), lengths.pop()
    checkpoints = [find_checkpoint(run) for run in args.runs]
    encoder = PairEncoder.from_file(checkpoints[0] / TOKENIZER_FILE, max_length)

    dev_rows = read_gold(DEFAULT_GOLD)
    heldout_rows = heldout_hand_rows(args.dataset)
    sets = {
        "dev gold": (row_pairs(dev_rows, context), np.array([LABEL_TO_ID[r["label"]] for r in dev_rows])),
        "heldout (hand rows)": (row_pairs(heldout_rows, context), np.array([r["label_id"] for r in heldout_rows])),
    }
    print(f"{len(dev_rows)} dev sentences, {len(heldout_rows)} heldout rows of {args.dataset}, {THREADS} threads")
    print(f"{'model':44} {'dev macro-F1':>12} {'heldout macro-F1':>16}")

    def score(name: str, model: torch.nn.Module) -> list[np.ndarray]:
        probabilities = [predict_proba(model, encoder, pairs) for pairs, _ in sets.values()]
        scores = [probability_macro_f1(gold, p) for (_, gold), p in zip(sets.values(), probabilities, strict=True)]
        print(f"{name:44} {scores[0]:12.4f} {scores[1]:16.4f}", flush=True)
        return probabilities

    models = [load_torch_model(checkpoint) for checkpoint in checkpoints]
    each = [score(str(run), model) for run, model in zip(args.runs, models, strict=True)]
    averaged = [np.mean([p[i] for p in each], axis=0) for i in range(len(sets))]
    scores = [probability_macro_f1(gold, p) for (_, gold), p in zip(sets.values(), averaged, strict=True)]
    print(f"{'probability average':44} {scores[0]:12.4f} {scores[1]:16.4f}")

    states = [model.state_dict() for model in models]
    soup = load_torch_model(checkpoints[0])
    soup.load_state_dict({key: sum(state[key].float() for state in states) / len(states) for key in states[0]})
    score("weight average", soup)


if __name__ == "__main__":
    main()
