"""Run an ONNX model over many padded batches, whole batches in parallel, one core each.

A batch of 32 news sentences gives MiniLM small matrices. Split over cores inside every operator
(onnxruntime's intra-op threads), each of the graph's few hundred operators ends in a wait for the
slowest core, and on a few cores those waits cost more than the split saves. Here each worker runs
whole batches on a single-threaded session instead, so the cores never wait for each other. On a
2-core Xeon the shipped int8 model ran 14% faster so (``benchmarks/throughput.py``; README,
Benchmark). A sentence's result depends only on its batch (dynamic int8 picks activation scales per
batch), never on the thread count.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:
    import onnxruntime

__all__ = ["BatchRunner", "available_cores"]

T = TypeVar("T")
_INPUTS = frozenset({"input_ids", "attention_mask", "token_type_ids"})


def available_cores() -> int:
    """Logical CPUs this process may run on (its affinity mask where the OS has one).

    Hyper-threads count, and a container's CPU quota does not: where memory is tight, pass the number of
    physical cores as ``threads`` instead, since each batch in flight holds its own activations.
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def create_session(model_path: Path, intra_op_threads: int = 1) -> onnxruntime.InferenceSession:
    """Open an onnxruntime CPU session with every graph optimization on.

    Single-threaded by default, as :class:`BatchRunner` gives each batch one core; the benchmark passes
    more threads to time the older way of splitting each operator over the cores.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


class BatchRunner:
    """One shared onnxruntime session and ``threads`` workers that run batches through it.

    onnxruntime allows concurrent ``run`` calls on one session, so the weights are loaded once
    whatever the thread count. Several callers may share a runner: with ``threads`` above 1 their
    batches queue for the same workers, so no more than ``threads`` batches run at once; with 1, each
    calling thread runs its own batches.
    """

    def __init__(self, model_path: Path, threads: int | None = None) -> None:
        self.threads = threads if threads is not None else available_cores()
        if self.threads < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")
        self.session = create_session(model_path)
        self.input_names = [node.name for node in self.session.get_inputs()]
        unknown = set(self.input_names) - _INPUTS
        if unknown:
            raise ValueError(f"{model_path}: unexpected model inputs {sorted(unknown)}")
        self._pool = (
            ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="quoteframe-model")
            if self.threads > 1
            else None
        )

    def logits(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        """The model's logits for one padded batch (extra inputs the graph does not take are ignored)."""
        (out,) = self.session.run(["logits"], {name: feed[name] for name in self.input_names})
        return out

    def map(self, make_feed: Callable[[T], dict[str, np.ndarray]], items: Sequence[T]) -> Iterator[np.ndarray]:
        """Logits for each item's batch, in the order of ``items``.

        ``make_feed`` builds the padded batch inside the worker, so that padding overlaps inference
        and only the batches in flight are held padded.
        """
        if self._pool is None:
            return (self.logits(make_feed(item)) for item in items)
        return self._pool.map(lambda item: self.logits(make_feed(item)), items)

    def close(self) -> None:
        """Stop the workers once the batches already queued are done."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> BatchRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
