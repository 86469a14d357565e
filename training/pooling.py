"""Which token states the classifier head reads: the ``[CLS]`` pooler, or the mean of all tokens.

all-MiniLM-L6-v2 was trained as a sentence encoder whose sentence vector is the mean of its token states;
its ``[CLS]`` pooler is the pre-trained MiniLM's, never tuned for sentences. Hugging Face's sequence
classifiers read the pooler. :class:`MeanPooledClassifier` gives the same classifier a head on the mean,
keeping its dropout and linear layer, so a checkpoint stays a plain Hugging Face folder: the pooling is a
key of its ``config.json``, and :func:`load_classifier` reads it back. Only quoteframe's loaders read
that key: ``AutoModelForSequenceClassification.from_pretrained`` or a ``pipeline`` on a mean-pooled
checkpoint would put its head on the ``[CLS]`` pooler, which it was not trained on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import torch
from transformers import AutoModelForSequenceClassification, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from quoteframe.training.config import Pooling

#: the key of a checkpoint's ``config.json`` that names its pooling; absent means ``cls``
POOLING_KEY = "quoteframe_pooling"


class MeanPooledClassifier(torch.nn.Module):
    """A BERT-style sequence classifier whose head reads the mean of the unpadded token states.

    Padding is left out of the mean, so a sentence gets the same logits alone or padded in a batch.
    """

    def __init__(self, model: PreTrainedModel) -> None:
        super().__init__()
        if not isinstance(getattr(model, "classifier", None), torch.nn.Linear) or not hasattr(model, "dropout"):
            raise ValueError(
                f"{type(model).__name__} has no linear classifier over a pooled vector; mean pooling needs a "
                "BERT-style sequence classifier"
            )
        self.model = model
        self.config = model.config

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        output_hidden_states: bool = False,
    ) -> SequenceClassifierOutput:
        """Logits from the mean of the token states where ``attention_mask`` is 1."""
        # the flag is passed only when set: given as False, transformers' output capture breaks the ONNX trace
        extra = {"output_hidden_states": True} if output_hidden_states else {}
        encoded = self.model.base_model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, **extra
        )
        states = encoded.last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        logits = self.model.classifier(self.model.dropout(pooled))
        return SequenceClassifierOutput(logits=logits, hidden_states=encoded.hidden_states)

    def get_input_embeddings(self) -> torch.nn.Module:
        """The word embeddings, as on the wrapped model (training may freeze them)."""
        return self.model.get_input_embeddings()

    def save_pretrained(self, path: Path | str) -> None:
        """Save the wrapped model; its config carries ``quoteframe_pooling: mean``."""
        self.model.save_pretrained(path)


def with_pooling(model: PreTrainedModel, pooling: Pooling) -> torch.nn.Module:
    """``model`` with the head reading ``pooling``, the choice recorded in its config for saving.

    An unknown value is refused, not read as ``cls``: a checkpoint whose head was trained on another
    pooling must not load with a head that reads something else.
    """
    if pooling not in get_args(Pooling):
        raise ValueError(f"{POOLING_KEY} {pooling!r} is none of {', '.join(get_args(Pooling))}")
    setattr(model.config, POOLING_KEY, pooling)
    return MeanPooledClassifier(model) if pooling == "mean" else model


def load_classifier(path: Path | str, **kwargs: Any) -> torch.nn.Module:
    """Load a sequence classifier with the pooling its config names (``from_pretrained`` keyword arguments)."""
    model = AutoModelForSequenceClassification.from_pretrained(path, **kwargs)
    return with_pooling(model, getattr(model.config, POOLING_KEY, "cls"))
