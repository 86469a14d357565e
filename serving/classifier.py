"""The torch-free classifier: an int8 ONNX model and a fast tokenizer, loaded from a model folder.

``Classifier.predict`` labels sentences in any order and returns them in input order; internally it
sorts by token length and pads per batch (see :mod:`quoteframe.batching`). One ``Classifier`` may be
shared by several threads: onnxruntime sessions allow concurrent ``run`` calls, and the tokenizer is
configured once at load and only read afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from quoteframe.batching import length_batches, pad_batch
from quoteframe.encoding import PairEncoder
from quoteframe.inputs import model_pair
from quoteframe.labels import LABELS
from quoteframe.manifest import (
    MODEL_FILE,
    TOKENIZER_FILE,
    Manifest,
    ModelFolderError,
    default_model_dir,
    load_manifest,
)
from quoteframe.results import EMPTY_PREDICTION, FLAG_TRUNCATED, Prediction, SentenceResult
from quoteframe.runner import BatchRunner
from quoteframe.text import unpaired_surrogate

#: Pairs per model call. Batches are length-sorted, so padding costs little at any size; past that, a
#: smaller batch keeps each layer's activations in its core's cache: on a 2-core Xeon, 32 ran 11% faster
#: than 64, and 8 13% faster than 32, in the quieter of two runs (``benchmarks/batch_size.py``; README,
#: Benchmark); in the other, 8 to 32 were within 8% of each other. The default stays
#: at the size the shipped model's export gates and evaluation were measured at: dynamic int8 picks its
#: activation scales per batch, so the batch size moves a few labels.
DEFAULT_BATCH_SIZE = 32


def _items(name: str, values: Iterable) -> list:
    """A per-sentence argument as a list, refusing the containers whose iteration is not their items.

    A string iterates over characters, a mapping or a pandas ``DataFrame`` over its keys or column
    names: each would be labelled silently as if it were a list of sentences.
    """
    if isinstance(values, (str, bytes, bytearray)):
        raise TypeError(f"{name} must be a sequence with one item per sentence, not a single {type(values).__name__}")
    if isinstance(values, Mapping) or hasattr(values, "columns"):
        raise TypeError(
            f"{name} must be a sequence with one item per sentence, not a {type(values).__name__} "
            "(pass one column, e.g. df['text'])"
        )
    return list(values)


def _flag(position: int, value: object) -> bool:
    """One ``inside_quote`` item as a bool.

    A bool, or a number equal to 0 or 1 (a column of flags stored as integers, or as floats after pandas
    met a gap in it), is taken; anything else is refused: a string ``"False"`` or a missing value (NaN)
    would read as true and turn the sentence into a quote.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return bool(value)
    raise TypeError(f"inside_quote {position} (by position) is {type(value).__name__}, not a bool: {value!r:.60}")


def _check_count(name: str, value: object) -> None:
    """Refuse a batch size or thread count that is not a whole number of at least 1 (``2.5``, ``True``, ``0``)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, so probabilities of one row sum to 1 within rounding."""
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class Classifier:
    """Label sentences as ``direct_quote``, ``neutral_paraphrase`` or ``loaded_paraphrase``."""

    def __init__(
        self,
        runner: BatchRunner,
        encoder: PairEncoder,
        manifest: Manifest,
        model_dir: Path,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        _check_count("batch_size", batch_size)
        self.runner = runner
        self.encoder = encoder
        self.manifest = manifest
        self.model_dir = model_dir
        self.batch_size = batch_size

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads: int | None = None,
    ) -> Classifier:
        """Load a model folder (default: ``$QUOTEFRAME_MODEL`` or the repository's ``models/``).

        Every file is checked against the manifest's sha256 first; a missing or mismatched file raises
        :class:`quoteframe.manifest.ModelFolderError` naming it. ``threads`` is how many batches run
        at once, each on one core (default: every core this process may use; see
        :mod:`quoteframe.runner`).
        """
        model_dir = Path(path).expanduser() if path is not None else default_model_dir()
        manifest = load_manifest(model_dir)
        # The files match the manifest's sha256, so a failure here is a bad export, not a mixed folder;
        # the libraries' own messages name neither the file nor the folder.
        # tokenizers and onnxruntime raise exceptions of their own types (plain Exception subclasses), so
        # anything but exhausted memory is taken for the file's fault; the original stays chained.
        try:
            encoder = PairEncoder.from_file(model_dir / TOKENIZER_FILE, manifest.max_length)
        except MemoryError:
            raise
        except Exception as exc:
            raise ModelFolderError(f"{model_dir / TOKENIZER_FILE}: not a readable tokenizer ({exc})") from exc
        if threads is not None:
            _check_count("threads", threads)
        try:
            runner = BatchRunner(model_dir / MODEL_FILE, threads)
        except MemoryError:
            raise
        except Exception as exc:
            raise ModelFolderError(f"{model_dir / MODEL_FILE}: onnxruntime cannot load it ({exc})") from exc
        return cls(runner, encoder, manifest, model_dir, batch_size)

    @property
    def max_length(self) -> int:
        """Most tokens one input pair may have; longer context is cut first, then the sentence."""
        return self.encoder.max_length

    def predict(
        self,
        sentences: Iterable[str],
        context: Iterable[str] | None = None,
        inside_quote: Iterable[bool] | None = None,
    ) -> list[Prediction]:
        """Return one :class:`Prediction` per sentence, in input order.

        ``context[i]`` is the sentence before ``sentences[i]`` (empty for none) and ``inside_quote[i]``
        says whether a quotation opened earlier is still open when it starts; both are optional.
        A sentence that gives the tokenizer nothing to read (empty, whitespace, or only characters it
        drops: zero-width spaces, control characters, a lone combining mark) gets
        :data:`quoteframe.results.EMPTY_PREDICTION` without running the model; a sentence of more
        tokens than ``max_length`` leaves beside the three special tokens is cut and flagged
        ``truncated``. A string that is not valid Unicode (an unpaired surrogate) raises ``ValueError``
        naming it; an item that is not a string (``None``, a pandas ``NaN``), an ``inside_quote`` item
        that is not a bool, and a single string, mapping or ``DataFrame`` in place of a sequence raise
        ``TypeError``.

        Any iterable works, a generator or a pandas ``Series`` among them: items are taken in iteration
        order, never looked up by index label, so a filtered or sorted ``Series`` keeps its order.
        """
        sentences = _items("sentences", sentences)
        context = None if context is None else _items("context", context)
        if inside_quote is not None:
            inside_quote = [_flag(i, value) for i, value in enumerate(_items("inside_quote", inside_quote))]
        count = len(sentences)
        for name, values in (("context", context), ("inside_quote", inside_quote)):
            if values is not None and len(values) != count:
                raise ValueError(f"{name} has {len(values)} items for {count} sentences")
        for name, texts in (("sentence", sentences), ("context", () if context is None else context)):
            for i, text in enumerate(texts):
                if not isinstance(text, str):
                    raise TypeError(f"{name} {i} (by position) is {type(text).__name__}, not a string: {text!r:.60}")
                if (bad := unpaired_surrogate(text)) is not None:
                    raise ValueError(
                        f"{name} {i} (by position) is not valid Unicode: an unpaired surrogate at character {bad}"
                    )
        results: list[Prediction] = [EMPTY_PREDICTION] * count
        pairs = [
            model_pair(
                sentence,
                context[i] if context is not None else "",
                inside_quote[i] if inside_quote is not None else False,
                self.manifest.context,
            )
            for i, sentence in enumerate(sentences)
        ]
        encoded = self.encoder.encode(pairs)
        todo = [i for i, pair in enumerate(encoded) if not pair.empty]
        batches = length_batches([len(encoded[i].ids) for i in todo], self.batch_size)
        batch_logits = self.runner.map(lambda batch: pad_batch([encoded[todo[j]] for j in batch]), batches)
        for batch, logits in zip(batches, batch_logits, strict=True):
            for j, row in zip(batch, softmax(logits / self.manifest.temperature), strict=True):
                flags = (FLAG_TRUNCATED,) if encoded[todo[j]].truncated else ()
                results[todo[j]] = Prediction(
                    label=LABELS[int(row.argmax())], probabilities=tuple(row.tolist()), flags=flags
                )
        return results

    def predict_proba(
        self,
        sentences: Iterable[str],
        context: Iterable[str] | None = None,
        inside_quote: Iterable[bool] | None = None,
    ) -> np.ndarray:
        """Probabilities as an ``(n, 3)`` array, columns in :data:`quoteframe.LABELS` order.

        The array form of :meth:`predict`, for code written against scikit-learn's ``predict_proba``;
        the arguments and errors are the same.
        """
        predictions = self.predict(sentences, context=context, inside_quote=inside_quote)
        return np.array([p.probabilities for p in predictions], dtype=np.float64).reshape(-1, len(LABELS))

    def classify_article(self, text: str) -> list[SentenceResult]:
        """Split an article into sentences and label each in its context.

        The splitter gives each sentence its quotation state and previous sentence; the model reads
        what its manifest's ``context`` names. An article with no sentence (empty, whitespace) gives an
        empty list. A non-string raises ``TypeError`` and an unpaired surrogate ``ValueError``, both
        saying where in the article.
        """
        # Imported here: the splitter loads pysbd, which only whole-article callers need.
        from quoteframe.sentences import split_sentences

        if not isinstance(text, str):
            raise TypeError(f"classify_article takes the article as a string, got {type(text).__name__}: {text!r:.60}")
        if (bad := unpaired_surrogate(text)) is not None:
            raise ValueError(f"the article is not valid Unicode: an unpaired surrogate at character {bad}")
        sentences = split_sentences(text)
        if not sentences:
            return []
        previous = ["", *(sentence.text for sentence in sentences[:-1])]
        predictions = self.predict(
            [sentence.text for sentence in sentences],
            context=previous,
            inside_quote=[sentence.inside_quote for sentence in sentences],
        )
        return [
            SentenceResult(
                index=sentence.index,
                start=sentence.start,
                end=sentence.end,
                text=sentence.text,
                paragraph=sentence.paragraph,
                inside_quote=sentence.inside_quote,
                prediction=prediction,
            )
            for sentence, prediction in zip(sentences, predictions, strict=True)
        ]
