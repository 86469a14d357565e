"""An auxiliary training loss that tags the words which make a sentence a loaded paraphrase.

Every loaded row carries its ``evidence``: the writer's words that take a side (the guideline's
format; the project's own labels give it as character offsets). The sentence label alone tells the
encoder only that something in the sentence is loaded; tagging the evidence tokens tells it which
words, and tagging no token of a neutral paraphrase tells it which words were not. A linear head on
the encoder's last hidden states predicts, for each token of the sentence segment, whether it lies
in the evidence. The head exists only during training: the exported model is the classifier alone.

Direct quotes get no token targets: loaded words inside a quotation are the speaker's, which the
guideline neither marks as evidence nor calls neutral.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from quoteframe.encoding import PairEncoder

IGNORE = -100.0


def evidence_targets(encoder: PairEncoder, rows: Sequence[dict]) -> list[np.ndarray | None]:
    """Per row, 1 for each sentence token that overlaps the evidence and 0 for the others, or ``None``.

    Offsets are taken on the stripped sentence, the first segment of every model pair
    (:func:`quoteframe.inputs.model_pair`), with the encoder's tokenizer, and cut to the sentence
    tokens the encoder keeps. ``None``: a direct quote, or a loaded row whose evidence is not found
    in its text.
    """
    budget = encoder.max_length - encoder.tokenizer.num_special_tokens_to_add(is_pair=True)
    texts = [row["text"].strip() for row in rows]
    encodings = encoder.tokenizer.encode_batch(texts, add_special_tokens=False)
    targets: list[np.ndarray | None] = []
    for row, text, encoding in zip(rows, texts, encodings, strict=True):
        offsets = encoding.offsets[:budget]
        if row["label"] == "neutral_paraphrase":
            targets.append(np.zeros(len(offsets), dtype=np.float32))
            continue
        evidence = row.get("evidence") or ""
        start = text.find(evidence) if row["label"] == "loaded_paraphrase" and evidence else -1
        if start < 0:
            targets.append(None)
            continue
        end = start + len(evidence)
        targets.append(np.array([float(a < end and b > start) for a, b in offsets], dtype=np.float32))
    return targets


def target_batch(targets: Sequence[np.ndarray | None], length: int) -> torch.Tensor:
    """Token targets laid out as the padded batch is (``[CLS]`` first), :data:`IGNORE` elsewhere."""
    batch = torch.full((len(targets), length), IGNORE)
    for row, target in enumerate(targets):
        if target is not None:
            batch[row, 1 : 1 + len(target)] = torch.from_numpy(target)
    return batch


class EvidenceHead(torch.nn.Module):
    """Scores each token's hidden state: is it part of the evidence?"""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.score = torch.nn.Linear(hidden_size, 1)

    def loss(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean binary cross-entropy over the tokens that have a target (zero when none has)."""
        logits = self.score(hidden).squeeze(-1)
        kept = targets != IGNORE
        if not kept.any():
            return logits.sum() * 0.0
        return torch.nn.functional.binary_cross_entropy_with_logits(logits[kept], targets[kept])
