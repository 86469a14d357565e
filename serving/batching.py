"""Length bucketing: group inputs of similar length so that padding wastes little model time.

News sentences range from a few tokens to the full ``max_length``; padding a batch in input order to
its longest member roughly halves throughput. Sorting by length, cutting the sorted order into
batches and padding each batch only to its own longest member avoids that; callers put results back
in input order with the returned indices.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from quoteframe.encoding import EncodedPair


def length_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Index arrays into ``lengths``: the length-sorted order cut into runs of ``batch_size``."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def pad_batch(encoded: Sequence[EncodedPair]) -> dict[str, np.ndarray]:
    """Pad a batch to its longest pair: int64 ``input_ids``, ``attention_mask``, ``token_type_ids``.

    Padded positions get id 0; the attention mask hides them, so their id never reaches a result.
    """
    width = max(len(pair.ids) for pair in encoded)
    input_ids = np.zeros((len(encoded), width), dtype=np.int64)
    token_type_ids = np.zeros((len(encoded), width), dtype=np.int64)
    attention_mask = np.zeros((len(encoded), width), dtype=np.int64)
    for row, pair in enumerate(encoded):
        size = len(pair.ids)
        input_ids[row, :size] = pair.ids
        token_type_ids[row, :size] = pair.type_ids
        attention_mask[row, :size] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
