"""PyTorch inference on exactly the inputs serving builds, for dev scoring in training and export checks.

Pairs are encoded by serving's :class:`~quoteframe.encoding.PairEncoder` and padded by
:func:`~quoteframe.batching.pad_batch`, so PyTorch, ONNX fp32 and ONNX int8 are compared on the
same token ids that :class:`~quoteframe.Classifier` feeds the shipped model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from quoteframe.batching import length_batches, pad_batch
from quoteframe.classifier import DEFAULT_BATCH_SIZE, softmax
from quoteframe.encoding import EncodedPair, PairEncoder
from quoteframe.inputs import ContextMode, model_pair
from quoteframe.labels import LABELS

#: Padded model inputs with the input positions of their rows, length-sorted.
Batches = list[tuple[np.ndarray, dict[str, np.ndarray]]]


def row_pairs(rows: Sequence[dict], mode: ContextMode) -> list[tuple[str, str]]:
    """The model's text pairs for rows with ``text``, ``previous`` and ``inside_quote``."""
    return [model_pair(r["text"], r.get("previous", ""), bool(r.get("inside_quote", False)), mode) for r in rows]


def to_tensors(feed: dict[str, np.ndarray], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """A padded numpy batch as torch tensors on ``device``."""
    return {name: torch.from_numpy(array).to(device) for name, array in feed.items()}


def batches_of(encoded: Sequence[EncodedPair], batch_size: int = DEFAULT_BATCH_SIZE) -> Batches:
    """Length-sorted padded batches with the input indices they hold, shared by every model compared.

    The default is serving's batch size: dynamic int8 picks its activation scales per batch, so the
    export's gates must see the batches that :class:`~quoteframe.Classifier` runs."""
    return [
        (index, pad_batch([encoded[i] for i in index]))
        for index in length_batches([len(pair.ids) for pair in encoded], batch_size)
    ]


def torch_probabilities(model: torch.nn.Module, batches: Batches, count: int) -> np.ndarray:
    """Probabilities in input order (``LABELS`` order per row) from the PyTorch model."""
    model.eval()
    device = next(model.parameters()).device
    out = np.zeros((count, len(LABELS)), dtype=np.float64)
    with torch.inference_mode():
        for index, feed in batches:
            out[index] = softmax(model(**to_tensors(feed, device)).logits.float().cpu().numpy())
    return out


def predict_proba(model: torch.nn.Module, encoder: PairEncoder, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    """Class probabilities of text pairs, in input order."""
    return torch_probabilities(model, batches_of(encoder.encode(pairs)), len(pairs))
