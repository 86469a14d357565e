"""Encode ``(sentence, context)`` pairs with a fast tokenizer, cutting the context before the sentence.

The tokenizers library's own pair truncation either cuts both segments (``longest_first``) or fails
outright when the sentence alone is too long (``only_second``). The model must see as much of the
sentence as fits and only then the context, so each segment is tokenized on its own and cut here
before the tokenizer's post-processor adds the special tokens. The tokenizer object is only read
after :class:`PairEncoder` configures it, which keeps concurrent ``encode`` calls from several threads
safe (the tokenizer's settings are never changed while it encodes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer


@dataclass(frozen=True)
class EncodedPair:
    """Token ids and segment ids of one pair, special tokens included, unpadded."""

    ids: list[int]
    type_ids: list[int]
    truncated: bool
    #: the sentence gave no token at all (whitespace, or characters the tokenizer drops: zero-width and
    #: control characters, a lone combining mark): the model would label an empty input
    empty: bool = False


class PairEncoder:
    """Turn text pairs into model inputs of at most ``max_length`` tokens."""

    def __init__(self, tokenizer: Tokenizer, max_length: int) -> None:
        special = tokenizer.num_special_tokens_to_add(is_pair=True)
        if max_length <= special:
            raise ValueError(f"max_length {max_length} leaves no room beside {special} special tokens")
        # Padding and truncation are done per batch by the caller; a tokenizer.json may ship either enabled.
        tokenizer.no_padding()
        tokenizer.no_truncation()
        # Text is text: a literal "[SEP]" or "[CLS]" in a scraped page must not become a control token
        # (it could fake a segment boundary or the open-quotation context).
        tokenizer.encode_special_tokens = True
        self.tokenizer = tokenizer
        self.max_length = max_length
        self._budget = max_length - special

    @classmethod
    def from_file(cls, path: Path, max_length: int) -> PairEncoder:
        """Load a ``tokenizer.json`` and wrap it."""
        return cls(Tokenizer.from_file(str(path)), max_length)

    def encode(self, pairs: Sequence[tuple[str, str]]) -> list[EncodedPair]:
        """Encode pairs in one batch call per segment; flag pairs whose sentence itself had to be cut."""
        sentences = self.tokenizer.encode_batch([sentence for sentence, _ in pairs], add_special_tokens=False)
        contexts = self.tokenizer.encode_batch([context for _, context in pairs], add_special_tokens=False)
        encoded = []
        for sentence, context in zip(sentences, contexts, strict=True):
            truncated = len(sentence.ids) > self._budget
            if truncated:
                sentence.truncate(self._budget)
            room = self._budget - len(sentence.ids)
            if len(context.ids) > room:
                context.truncate(room)
            pair = self.tokenizer.post_process(sentence, context, add_special_tokens=True)
            encoded.append(
                EncodedPair(ids=pair.ids, type_ids=pair.type_ids, truncated=truncated, empty=not sentence.ids)
            )
        return encoded
