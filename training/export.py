"""Turn a training run into a serving model folder: ONNX export, int8 quantization and quality gates.

Steps: export the checkpoint to ONNX fp32 (eager attention, so onnxruntime's optimizer can fuse it),
build a second graph with the transformer optimizer, quantize both (:data:`QUANTIZATIONS`), time
the two quantized graphs and keep the faster (on some CPUs the fused graph is slower), then check on the
dev gold sentences that nothing was lost on the way:

- fp32 ONNX vs PyTorch: largest probability difference at most :data:`MAX_PROBABILITY_DIFF`;
- int8 vs fp32 ONNX: macro-F1 against the gold labels drops by at most :data:`MAX_F1_DROP`;
- int8 vs fp32 ONNX: the same label on at least :data:`MIN_AGREEMENT` of the sentences.

Model, tokenizer and manifest are written only when every gate passes, so a failed export never
replaces a working model folder; a folder that holds a model is replaced only when the caller says so.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import torch

from quoteframe.batching import pad_batch
from quoteframe.classifier import softmax
from quoteframe.encoding import EncodedPair, PairEncoder
from quoteframe.inputs import ContextMode
from quoteframe.labels import LABEL_TO_ID, LABELS
from quoteframe.manifest import MANIFEST_FILE, MODEL_FILE, TOKENIZER_FILE, Manifest, sha256_file, write_manifest
from quoteframe.runner import BatchRunner
from quoteframe.training.config import TrainConfig
from quoteframe.training.gold import read_gold_rows
from quoteframe.training.metrics import macro_f1
from quoteframe.training.pooling import load_classifier
from quoteframe.training.torch_inference import Batches, batches_of, row_pairs, torch_probabilities
from quoteframe.training.train import MODEL_FOLDER as CHECKPOINT_SUBDIR
from quoteframe.training.train import RUN_FILE

DEFAULT_GOLD = Path("../shared/gold/dev.jsonl")
#: Used when neither the caller nor the run's recorded config gives a max_length.
DEFAULT_MAX_LENGTH = 128
#: Sub-folder of a run folder that may hold the checkpoint (otherwise the run folder itself holds it).
ONNX_OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")

MAX_PROBABILITY_DIFF = 1e-4
MAX_F1_DROP = 0.01
MIN_AGREEMENT = 0.99
#: The two fp32 graphs an export builds and quantizes: as exported, and after the transformer optimizer.
GRAPHS = ("plain", "optimized")
#: Input rows that share one weight scale in the weight-only graph.
WEIGHT_BLOCK = 128
#: Timing passes over the gold inputs per int8 graph; the median decides which graph ships.
TIMING_REPEATS = 3
#: Threads for the timing; the serving target is a 2-core machine.
TIMING_THREADS = 2


@dataclass(frozen=True)
class Gate:
    """One export check: the measured value, the limit, and whether the value respects it."""

    name: str
    value: float
    limit: float
    passed: bool

    def describe(self) -> str:
        """One line for the console: ``PASS name: value (limit ...)``."""
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.value:.6g} (limit {self.limit:g})"


@dataclass(frozen=True)
class ExportReport:
    """What an export measured and wrote."""

    out_dir: Path
    gates: tuple[Gate, ...]
    graph: str
    quantization: str
    seconds_per_pass: dict[str, float]
    fused_operators: dict[str, int]
    gold_sentences: int
    manifest: Manifest | None = field(default=None)
    #: whether ``out_dir`` held a model that this export replaced (its temperature and calibration with it)
    replaced: bool = False
    #: what else lay in a replaced model's folder (a model card, an evaluation): it describes that model
    other_files: tuple[str, ...] = ()


class ExportGateError(RuntimeError):
    """At least one gate failed; ``report`` holds every gate so all of them can be shown."""

    def __init__(self, report: ExportReport) -> None:
        failed = ", ".join(gate.name for gate in report.gates if not gate.passed)
        super().__init__(f"export gates failed: {failed}; nothing was written to {report.out_dir}")
        self.report = report


def find_checkpoint(run_dir: Path) -> Path:
    """The checkpoint folder of a run: ``run_dir/checkpoint`` if present, else ``run_dir`` itself."""
    for candidate in (run_dir / CHECKPOINT_SUBDIR, run_dir):
        if (candidate / "config.json").is_file():
            if not (candidate / TOKENIZER_FILE).is_file():
                raise FileNotFoundError(f"{candidate / TOKENIZER_FILE}: the checkpoint has no fast tokenizer")
            return candidate
    raise FileNotFoundError(f"{run_dir}: no checkpoint (config.json) in it or in {CHECKPOINT_SUBDIR}/")


def read_run_info(run_dir: Path) -> dict[str, Any]:
    """The run's ``run.json`` (resolved config, data counts, metrics...), in ``run_dir`` or, for a
    ``checkpoint/`` folder, beside it.

    A model must be served with the context and length it was trained with, and only ``run.json``
    records them (a run writes it when training ends). Guessing the defaults instead would pass every
    export gate, since all of them feed PyTorch and ONNX the same inputs, and ship wrong inputs.
    """
    candidates = [run_dir / RUN_FILE]
    if run_dir.name == CHECKPOINT_SUBDIR:
        candidates.append(run_dir.parent / RUN_FILE)
    path = next((candidate for candidate in candidates if candidate.is_file()), None)
    if path is None:
        where = " or beside it" if len(candidates) > 1 else ""
        raise FileNotFoundError(
            f"{run_dir}: no {RUN_FILE} in it{where}; a run writes it when training ends, and it records the "
            "context and max_length the model must be served with"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc


def run_context(run_info: dict[str, Any]) -> ContextMode:
    """The context mode a run's model was trained with; a run without that record gets the config default."""
    return run_info.get("config", {}).get("context", TrainConfig.model_fields["context"].default)


def load_torch_model(checkpoint: Path) -> torch.nn.Module:
    """Load the classifier with plain (eager) attention, the form whose ONNX graph fuses attention."""
    model = load_classifier(checkpoint, attn_implementation="eager")
    labels = tuple(model.config.id2label[i] for i in range(model.config.num_labels))
    if labels != LABELS:
        raise ValueError(f"{checkpoint}: id2label {list(labels)} differs from {list(LABELS)}")
    return model.eval()


def export_fp32(model: torch.nn.Module, path: Path) -> None:
    """Export to ONNX with dynamic batch and sequence axes (TorchScript exporter, kept for fusability)."""
    example = pad_batch([EncodedPair(ids=[101, 102, 102], type_ids=[0, 0, 1], truncated=False)] * 2)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    # The tracer warns of Python branches on tensor values in the encoder; whether the traced graph holds
    # for other shapes is what the parity gate measures, on every dev batch.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            model,
            (),
            str(path),
            kwargs={name: torch.from_numpy(example[name]) for name in INPUT_NAMES},
            input_names=list(INPUT_NAMES),
            output_names=["logits"],
            dynamic_axes={**axes, "logits": {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )


def optimize_fp32(model: torch.nn.Module, source: Path, target: Path) -> dict[str, int]:
    """Write onnxruntime's transformer-optimized graph; return its fused operator counts."""
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(
        str(source),
        model_type="bert",
        num_heads=model.config.num_attention_heads,
        hidden_size=model.config.hidden_size,
    )
    optimized.save_model_to_file(str(target))
    return {name: int(count) for name, count in optimized.get_fused_operator_statistics().items() if count}


#: How onnxruntime's quantizer opens the advice it logs on every call, to run its pre-processing first.
PREPROCESSING_ADVICE = "Please consider to run pre-processing before quantization"


def _quantize_dynamic_int8(source: Path, target: Path, **selection: Any) -> None:
    """onnxruntime's ``quantize_dynamic`` with int8 per-channel weight scales; ``selection`` picks the nodes.

    The optimizer's fused operators (com.microsoft domain) defeat ONNX shape inference; their outputs are
    float tensors, which is what the quantizer needs to be told. Its advice to pre-process the model
    (shape inference and the transformer optimizer) is left out of the output: the optimizer is measured
    separately (``--graph``), and the gates check the quantized graph whatever it was made from.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    def not_advice(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(PREPROCESSING_ADVICE)

    root = logging.getLogger()
    root.addFilter(not_advice)
    try:
        quantize_dynamic(
            str(source),
            str(target),
            per_channel=True,
            weight_type=QuantType.QInt8,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            **selection,
        )
    finally:
        root.removeFilter(not_advice)


def quantize_int8(source: Path, target: Path, keep_fp32: Sequence[str] = ()) -> None:
    """Dynamic int8 quantization with per-channel weight scales (faster here than per-tensor).

    ``keep_fp32`` names nodes left unquantized, for measuring what a partly quantized graph buys.
    """
    _quantize_dynamic_int8(source, target, nodes_to_exclude=list(keep_fp32))


def _matmul_nbits_quantizer() -> Any:
    """onnxruntime's MatMulNBits quantizer class, imported without its logging setup.

    Importing the module calls ``logging.basicConfig`` at INFO level, which would print a line for
    every node of the graph (hundreds) and switch on INFO logs process-wide; the root logger is put
    back as it was.
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    root.setLevel(level)
    root.handlers[:] = handlers
    return MatMulNBitsQuantizer


def quantize_weights_only(source: Path, target: Path) -> None:
    """8-bit block-wise weights for the MatMul nodes, fp32 activations (see :data:`QUANTIZATIONS`).

    The embedding table, a third of the weights, is then quantized to int8 by ``quantize_dynamic``
    restricted to table lookups, which quantize only their weights: the file stays as small as the
    dynamic graph's without any activation quantized. The pooler and classifier (Gemm nodes, under
    1% of the weights) stay fp32.
    """
    import onnx

    quantizer = _matmul_nbits_quantizer()(
        onnx.load(str(source)),
        bits=8,
        block_size=WEIGHT_BLOCK,
        is_symmetric=True,
        op_types_to_quantize=("MatMul",),
        quant_axes=(("MatMul", 0),),
    )
    quantizer.process()
    blocks = target.with_suffix(".blocks.onnx")
    quantizer.model.save_model_to_file(str(blocks), use_external_data_format=False)
    _quantize_dynamic_int8(blocks, target, op_types_to_quantize=["Gather"])
    blocks.unlink()


@dataclass(frozen=True)
class Quantization:
    """One way to quantize a graph: the function, the graphs it can ship, what the manifest records."""

    quantize: Callable[[Path, Path], None]
    graphs: tuple[str, ...]
    record: str


#: How weights and activations are quantized, by the name ``export --quantization`` takes.
#: ``dynamic``: int8 weights per channel and int8 activations with one scale per batch, picked at run
#: time; the fastest on CPUs with 8-bit integer multiplies, but a near-tie can change label with the
#: other sentences in its batch. ``weight-only``: 8-bit weights in blocks of :data:`WEIGHT_BLOCK`
#: along the input axis (onnxruntime's MatMulNBits), activations kept in fp32; a sentence's output no
#: longer depends on its batch and follows fp32 more closely, at about half the speed (the model card
#: measures both). Its graph is the plain one only: the optimizer's fused operators (Attention,
#: EmbedLayerNormalization) hold their weights outside MatMul nodes, so weight-only quantization left
#: them in fp32 (a 67 MB file for MiniLM-L6).
QUANTIZATIONS = {
    "dynamic": Quantization(quantize_int8, GRAPHS, "onnxruntime quantize_dynamic, int8 weights per channel"),
    "weight-only": Quantization(
        quantize_weights_only,
        ("plain",),
        f"onnxruntime MatMulNBits, 8-bit symmetric weights in blocks of {WEIGHT_BLOCK}, fp32 activations; "
        "embedding table int8 (quantize_dynamic)",
    ),
}


def onnx_probabilities(model_path: Path, batches: Batches, count: int) -> np.ndarray:
    """Probabilities in input order from an ONNX model, batches run as serving runs them."""
    out = np.zeros((count, len(LABELS)), dtype=np.float64)
    with BatchRunner(model_path) as runner:
        for (index, _), logits in zip(batches, runner.map(itemgetter(1), batches), strict=True):
            out[index] = softmax(logits)
    return out


def seconds_per_pass(model_path: Path, batches: Batches, threads: int = TIMING_THREADS) -> float:
    """Median wall time of one pass over all batches, on ``threads`` cores."""
    timings = []
    with BatchRunner(model_path, threads) as runner:
        for _ in range(TIMING_REPEATS):
            start = time.perf_counter()
            for _ in runner.map(itemgetter(1), batches):
                pass
            timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def probability_macro_f1(gold: np.ndarray, probabilities: np.ndarray) -> float:
    """Macro-F1 of the most probable label of each row."""
    return macro_f1(gold, probabilities.argmax(axis=1))


def check_gates(
    torch_p: np.ndarray, fp32_p: np.ndarray, int8_p: np.ndarray, gold: np.ndarray, min_agreement: float = MIN_AGREEMENT
) -> tuple[Gate, ...]:
    """Compute the three gates on the gold sentences."""
    difference = float(np.abs(fp32_p - torch_p).max())
    f1_drop = probability_macro_f1(gold, fp32_p) - probability_macro_f1(gold, int8_p)
    agreement = float((int8_p.argmax(axis=1) == fp32_p.argmax(axis=1)).mean())
    return (
        Gate("max |p(fp32 ONNX) - p(PyTorch)|", difference, MAX_PROBABILITY_DIFF, difference <= MAX_PROBABILITY_DIFF),
        Gate("macro-F1 drop int8 vs fp32", f1_drop, MAX_F1_DROP, f1_drop <= MAX_F1_DROP),
        Gate("label agreement int8 vs fp32", agreement, min_agreement, agreement >= min_agreement),
    )


@dataclass(frozen=True)
class Graphs:
    """The ONNX files of one export, by graph kind (``plain`` or ``optimized``)."""

    fp32: dict[str, Path]
    int8: dict[str, Path]
    fused_operators: dict[str, int]


def build_graphs(model: torch.nn.Module, work: Path, quantization: str = "dynamic") -> Graphs:
    """Write into ``work`` the fp32 graphs that ``quantization`` can ship (the plain one always, the
    optimized one if it can ship), and the quantized version of each."""
    method = QUANTIZATIONS[quantization]
    fp32 = {name: work / f"{name}.onnx" for name in method.graphs}
    export_fp32(model, fp32["plain"])
    fused = optimize_fp32(model, fp32["plain"], fp32["optimized"]) if "optimized" in fp32 else {}
    int8 = {name: work / f"{name}.int8.onnx" for name in fp32}
    for name, path in int8.items():
        method.quantize(fp32[name], path)
    return Graphs(fp32, int8, fused)


def fastest_int8(graphs: Graphs, batches: Batches) -> tuple[str, dict[str, float]]:
    """The int8 graph kind that runs ``batches`` fastest on :data:`TIMING_THREADS`, and every timing."""
    timing = {name: seconds_per_pass(path, batches) for name, path in graphs.int8.items()}
    return min(timing, key=timing.__getitem__), timing


def check_out_dir(out_dir: Path, overwrite: bool) -> tuple[str, ...] | None:
    """Refuse an ``out_dir`` that holds a model unless ``overwrite``; ``None`` when it holds none.

    For a model to replace, return the other entries of its folder (not hidden ones), which an export
    does not write: a model card or an evaluation there still describes the old model.
    """
    if not (out_dir / MANIFEST_FILE).is_file():
        return None
    if not overwrite:
        raise FileExistsError(
            f"{out_dir} already holds a model ({MANIFEST_FILE}); choose another --out, or pass --overwrite to "
            "replace it (its temperature and calibration go with it)"
        )
    written = {MODEL_FILE, TOKENIZER_FILE, MANIFEST_FILE}
    return tuple(
        sorted(
            entry.name + ("/" if entry.is_dir() else "")
            for entry in out_dir.iterdir()
            if entry.name not in written and not entry.name.startswith(".")
        )
    )


def install(files: dict[str, Path], out_dir: Path) -> None:
    """Copy files into ``out_dir`` under their final names, each through a temporary name then a rename."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        partial = out_dir / f".{name}.partial"
        shutil.copyfile(source, partial)
        os.replace(partial, out_dir / name)


def export_model(
    run_dir: Path,
    out_dir: Path = Path("models"),
    gold_path: Path = DEFAULT_GOLD,
    max_length: int | None = None,
    min_agreement: float = MIN_AGREEMENT,
    graph: str | None = None,
    quantization: str = "dynamic",
    overwrite: bool = False,
) -> ExportReport:
    """Export the run in ``run_dir`` to the model folder ``out_dir``; raise :class:`ExportGateError` on a gate.

    ``max_length`` defaults to the run's recorded ``config.max_length``, else :data:`DEFAULT_MAX_LENGTH`.
    ``graph`` (one of :data:`GRAPHS`) fixes which quantized graph ships; by default the faster one on this
    machine does, which makes the shipped file depend on the machine's load at export time.
    ``quantization`` is one of :data:`QUANTIZATIONS`. An ``out_dir`` that holds a model (``manifest.json``)
    is refused, before any work, unless ``overwrite``: a calibrated model's temperature would be lost.
    """
    if graph is not None and graph not in GRAPHS:
        raise ValueError(f"unknown graph {graph!r}; expected one of {', '.join(GRAPHS)}")
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantization!r}; expected one of {', '.join(QUANTIZATIONS)}")
    shippable = QUANTIZATIONS[quantization].graphs
    if graph is not None and graph not in shippable:
        raise ValueError(f"{quantization} quantization ships only the {' or '.join(shippable)} graph, not {graph!r}")
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    other_files = check_out_dir(out_dir, overwrite)
    checkpoint = find_checkpoint(run_dir)
    run_info = read_run_info(run_dir)
    recorded = run_info.get("config", {})
    max_length = max_length or int(recorded.get("max_length", DEFAULT_MAX_LENGTH))
    model = load_torch_model(checkpoint)
    encoder = PairEncoder.from_file(checkpoint / TOKENIZER_FILE, max_length)

    rows = read_gold_rows(gold_path)
    context = run_context(run_info)
    encoded = encoder.encode(row_pairs(rows, context))
    gold = np.array([LABEL_TO_ID[r["label"]] for r in rows])
    batches = batches_of(encoded)
    torch_p = torch_probabilities(model, batches, len(rows))

    with tempfile.TemporaryDirectory(prefix="quoteframe-export-") as scratch:
        graphs = build_graphs(model, Path(scratch), quantization)
        fastest, timing = fastest_int8(graphs, batches)
        graph = graph or fastest
        fused = graphs.fused_operators
        int8_path = graphs.int8[graph]
        fp32_p = onnx_probabilities(graphs.fp32[graph], batches, len(rows))
        int8_p = onnx_probabilities(int8_path, batches, len(rows))
        gates = check_gates(torch_p, fp32_p, int8_p, gold, min_agreement)
        report = ExportReport(out_dir, gates, graph, quantization, timing, fused, len(rows))
        if not all(gate.passed for gate in gates):
            raise ExportGateError(report)
        install({MODEL_FILE: int8_path, TOKENIZER_FILE: checkpoint / TOKENIZER_FILE}, out_dir)

    manifest = Manifest(
        labels=LABELS,
        max_length=max_length,
        base_model=str(recorded.get("base_model", model.config.name_or_path)),
        files={name: sha256_file(out_dir / name) for name in (MODEL_FILE, TOKENIZER_FILE)},
        context=context,
        export={
            "graph": graph,
            "optimizer": {"used": graph == "optimized", "fused_operators": fused},
            "quantization": QUANTIZATIONS[quantization].record,
            "seconds_per_gold_pass_int8": timing,
            "timing_threads": TIMING_THREADS,
            "opset": ONNX_OPSET,
            "gold": {"path": gold_path.name, "sentences": len(rows)},
            "gates": [asdict(gate) for gate in gates],
            "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__},
        },
        training=run_info,
    )
    write_manifest(out_dir, manifest)
    replaced = other_files is not None
    return ExportReport(
        out_dir, gates, graph, quantization, timing, fused, len(rows), manifest, replaced, other_files or ()
    )
