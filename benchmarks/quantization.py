"""Dynamic against static and weight-only quantization of a training run, and partly quantized graphs, on dev.

The export ships dynamic int8 (activation scales computed per batch). Static quantization fixes the
activation scales from calibration batches instead, which saves the per-batch quantize step and makes a
sentence's label independent of its batch. Weight-only quantization (the export's ``--quantization
weight-only``) leaves activations in fp32. Keeping the feed-forward matrix products in fp32 (the
output one of each layer reads GELU activations, a skewed range for a single 8-bit scale) trades
speed for agreement with fp32. This script measures whether any of these pays here: for each graph
it prints the share of dev labels that agree with fp32, the share that stay the same when each
sentence runs as its own batch, dev macro-F1, model-only sentences/s on dev (bucketed batches of
serving's size, 2 threads, median of 3 passes, as the export times its graphs) and the file size.

    python benchmarks/quantization.py --run runs/labels5 [--calibration 512] [--dataset data/build/dataset]
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
from pathlib import Path

import numpy as np
import onnx
from datasets import load_from_disk
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)

from quoteframe.classifier import DEFAULT_BATCH_SIZE
from quoteframe.encoding import PairEncoder
from quoteframe.labels import LABELS
from quoteframe.manifest import TOKENIZER_FILE
from quoteframe.training.export import (
    DEFAULT_GOLD,
    build_graphs,
    find_checkpoint,
    load_torch_model,
    onnx_probabilities,
    probability_macro_f1,
    quantize_int8,
    quantize_weights_only,
    read_run_info,
    run_context,
    seconds_per_pass,
)
from quoteframe.training.gold import read_gold
from quoteframe.training.torch_inference import Batches, batches_of, row_pairs

THREADS = 2
#: Matrix products kept in fp32 by the partly quantized graphs, as patterns on the exported node names.
KEPT_FP32 = {
    "feed-forward output": r"layer\.\d+/output/dense/MatMul$",
    "whole feed-forward": r"layer\.\d+/(intermediate|output)/dense/MatMul$",
}


class BatchReader(CalibrationDataReader):
    """Feeds the calibration batches to the quantizer once."""

    def __init__(self, batches: Batches) -> None:
        self._feeds = iter([feed for _, feed in batches])

    def get_next(self) -> dict | None:
        return next(self._feeds, None)


def sentences_per_second(path: Path, batches: Batches, count: int) -> float:
    """Model-only speed of one graph on ``batches``, timed as the export times its graphs."""
    return count / seconds_per_pass(path, batches, THREADS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="training run folder (checkpoint/ + run.json)")
    parser.add_argument("--dataset", type=Path, default=Path("data/build/dataset"), help="calibration source")
    parser.add_argument("--calibration", type=int, default=512, help="train sentences to calibrate on")
    args = parser.parse_args()

    run_info = read_run_info(args.run)
    checkpoint, context = find_checkpoint(args.run), run_context(run_info)
    model = load_torch_model(checkpoint)
    encoder = PairEncoder.from_file(checkpoint / TOKENIZER_FILE, int(run_info["config"]["max_length"]))
    rows = read_gold(DEFAULT_GOLD)
    gold = np.array([LABELS.index(row["label"]) for row in rows])
    encoded = encoder.encode(row_pairs(rows, context))
    dev, alone = batches_of(encoded), batches_of(encoded, 1)
    train = load_from_disk(str(args.dataset))["train"]
    picked = random.Random(0).sample(range(len(train)), args.calibration)
    calibration = batches_of(encoder.encode(row_pairs([train[i] for i in picked], context)))

    with tempfile.TemporaryDirectory(prefix="quoteframe-quantization-") as scratch:
        graphs = build_graphs(model, Path(scratch))
        candidates = {f"dynamic int8 {name}": path for name, path in graphs.int8.items()}
        names = [node.name for node in onnx.load(str(graphs.fp32["plain"])).graph.node]
        for kept, pattern in KEPT_FP32.items():
            path = Path(scratch) / f"dynamic-{len(candidates)}.onnx"
            excluded = [name for name in names if re.search(pattern, name)]
            quantize_int8(graphs.fp32["plain"], path, keep_fp32=excluded)
            candidates[f"dynamic int8 plain, {kept} fp32 ({len(excluded)})"] = path
        weight_only = Path(scratch) / "weight-only.onnx"
        quantize_weights_only(graphs.fp32["plain"], weight_only)
        candidates["weight-only 8-bit plain"] = weight_only
        for fmt in (QuantFormat.QOperator, QuantFormat.QDQ):
            for per_channel in (False, True):
                path = Path(scratch) / f"static-{fmt.name}-{per_channel}.onnx"
                quantize_static(
                    str(graphs.fp32["plain"]),
                    str(path),
                    BatchReader(calibration),
                    quant_format=fmt,
                    per_channel=per_channel,
                    activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax,
                    op_types_to_quantize=["MatMul", "Gemm"],
                )
                candidates[f"static {fmt.name}, per-channel {per_channel}"] = path
        fp32 = onnx_probabilities(graphs.fp32["plain"], dev, len(rows))
        print(f"{len(rows)} dev sentences, {args.calibration} calibration sentences, ", end="")
        print(f"{THREADS} threads, batch {DEFAULT_BATCH_SIZE}")
        print("agreement: labels as fp32's; alone: labels as when each sentence is its own batch")
        print(f"{'graph':52} {'agreement':>9} {'alone':>6} {'macro-F1':>8} {'sent/s':>7} {'MB':>6}")
        for name, path in {"fp32 plain": graphs.fp32["plain"], **candidates}.items():
            probabilities = onnx_probabilities(path, dev, len(rows))
            labels = probabilities.argmax(axis=1)
            agreement = float((labels == fp32.argmax(axis=1)).mean())
            same_alone = float((labels == onnx_probabilities(path, alone, len(rows)).argmax(axis=1)).mean())
            speed = sentences_per_second(path, dev, len(rows))
            size = path.stat().st_size / 1e6
            f1 = probability_macro_f1(gold, probabilities)
            print(f"{name:52} {agreement:9.4f} {same_alone:6.4f} {f1:8.3f} {speed:7.1f} {size:6.1f}")


if __name__ == "__main__":
    main()
