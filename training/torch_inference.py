"""Batched PyTorch inference over model-ready rows, for dev scoring during training and export checks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from quoteframe.encoding import PairEncoder
from quoteframe.inputs import model_pair


def row_pairs(rows: Sequence[dict], use_context: bool = True) -> list[tuple[str, str]]:
    """The model's text pairs for rows with ``text``, ``previous`` and ``inside_quote``."""
    if not use_context:
        return [model_pair(r["text"]) for r in rows]
    return [model_pair(r["text"], r.get("previous", ""), bool(r.get("inside_quote", False))) for r in rows]


def encode_pairs(encoder: PairEncoder, pairs: Sequence[tuple[str, str]], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Tokenize pairs exactly as serving does (same encoder), padded to the longest in the batch."""
    encoded = encoder.encode(pairs)
    width = max(len(e.ids) for e in encoded)
    ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    types = torch.zeros((len(encoded), width), dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, e in enumerate(encoded):
        ids[row, : len(e.ids)] = torch.tensor(e.ids)
        types[row, : len(e.ids)] = torch.tensor(e.type_ids)
        mask[row, : len(e.ids)] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


@torch.inference_mode()
def predict_proba(model, encoder: PairEncoder, pairs: Sequence[tuple[str, str]], batch_size: int = 64) -> np.ndarray:
    """Class probabilities in ``LABELS`` order; batches are length-sorted so padding stays small."""
    model.eval()
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    out = np.zeros((len(pairs), model.config.num_labels), dtype=np.float64)
    device = next(model.parameters()).device
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        batch = encode_pairs(encoder, [pairs[i] for i in index])
        logits = model(**{k: v.to(device) for k, v in batch.items()}).logits.float()
        out[index] = torch.softmax(logits, dim=-1).cpu().numpy()
    return out
