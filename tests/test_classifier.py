"""The library contract of :class:`quoteframe.Classifier`, on the tiny exported model."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from quoteframe import LABELS, Classifier, ModelFolderError, Prediction
from quoteframe.manifest import MANIFEST_FILE, MODEL_ENV_VAR, MODEL_FILE, TOKENIZER_FILE
from quoteframe.results import EMPTY_PREDICTION, FLAG_EMPTY, FLAG_TRUNCATED

SENTENCES = [
    "The council voted 7-2 on Tuesday.",
    '"This is the largest investment in affordable housing this city has seen," said the mayor.',
    "Opponents slammed the vote.",
    "He asked the planning department to report back within 90 days, and the department agreed.",
    "Construction is expected to begin next spring.",
    "According to the planning department, about 40 percent of the homes will be rented below market rates next year.",
    "Critics called the plan a giveaway to developers.",
]


@pytest.fixture(scope="module")
def classifier(tiny_model_dir: Path) -> Classifier:
    return Classifier.load(tiny_model_dir, batch_size=3, threads=1)


def probabilities(predictions: list[Prediction]) -> np.ndarray:
    return np.array([p.probabilities for p in predictions])


def test_predictions_are_distributions_with_argmax_label(classifier: Classifier) -> None:
    predictions = classifier.predict(SENTENCES)
    assert len(predictions) == len(SENTENCES)
    for prediction in predictions:
        assert len(prediction.probabilities) == len(LABELS)
        assert sum(prediction.probabilities) == pytest.approx(1.0)
        assert prediction.label == LABELS[int(np.argmax(prediction.probabilities))]
        assert prediction.probability == max(prediction.probabilities)
        assert prediction.flags == ()


def test_prediction_serializes_to_json(classifier: Classifier) -> None:
    prediction = classifier.predict(SENTENCES[:1])[0]
    data = json.loads(json.dumps(prediction.to_dict()))
    assert data["label"] == prediction.label
    assert list(data["probabilities"]) == list(LABELS)
    assert data["probabilities"][prediction.label] == pytest.approx(prediction.probability)
    assert data["flags"] == []
    with pytest.raises(AttributeError):
        prediction.label = "other"  # type: ignore[misc]


def test_bucketing_restores_input_order(tiny_model_dir: Path) -> None:
    bucketed = Classifier.load(tiny_model_dir, batch_size=3)
    lengths = [len(pair.ids) for pair in bucketed.encoder.encode([(s, "") for s in SENTENCES])]
    assert len(set(lengths)) == len(SENTENCES), "distinct lengths make the buckets independent of input order"
    permutation = [4, 0, 6, 2, 5, 1, 3]
    forward = probabilities(bucketed.predict(SENTENCES))
    permuted = probabilities(bucketed.predict([SENTENCES[i] for i in permutation]))
    np.testing.assert_array_equal(permuted, forward[permutation])
    # Against one sentence per call: int8 activations are quantized per batch, so batch mates move
    # probabilities a little, never far.
    one_by_one = Classifier.load(tiny_model_dir, batch_size=1)
    expected = probabilities([one_by_one.predict([s])[0] for s in SENTENCES])
    np.testing.assert_allclose(forward, expected, atol=0.05)


def test_empty_and_whitespace_sentences_get_the_empty_result(classifier: Classifier) -> None:
    predictions = classifier.predict(["", SENTENCES[0], "  \n\t", SENTENCES[2]])
    assert predictions[0] == EMPTY_PREDICTION
    assert predictions[2] == EMPTY_PREDICTION
    assert predictions[0].label == "neutral_paraphrase"
    assert predictions[0].flags == (FLAG_EMPTY,)
    real = classifier.predict([SENTENCES[0], SENTENCES[2]])
    np.testing.assert_allclose(probabilities([predictions[1], predictions[3]]), probabilities(real), atol=1e-6)
    assert classifier.predict(["", " "]) == [EMPTY_PREDICTION, EMPTY_PREDICTION]
    assert classifier.predict([]) == []
    # Invisible characters only (zero-width space, soft hyphen, byte-order mark, word joiner): the
    # tokenizer drops them, so the model would see no tokens at all.
    assert classifier.predict(["\u200b", " \u00ad\ufeff\u2060 "]) == [EMPTY_PREDICTION, EMPTY_PREDICTION]
    assert classifier.predict(["\u200bYes."])[0].flags == ()


def test_numpy_arrays_are_sequences_too(classifier: Classifier) -> None:
    context = ["", SENTENCES[0]]
    from_arrays = classifier.predict(np.array(SENTENCES[:2]), context=np.array(context), inside_quote=np.array([0, 1]))
    assert from_arrays == classifier.predict(SENTENCES[:2], context=context, inside_quote=[False, True])


def test_any_iterable_is_read_in_iteration_order(classifier: Classifier) -> None:
    # A sorted or filtered pandas Series has index labels that are not positions; items must be taken
    # in iteration order, never looked up by label. A dict's keys and a generator stand in for it.
    expected = classifier.predict(SENTENCES[:3])
    by_label = {2: SENTENCES[0], 0: SENTENCES[1], 1: SENTENCES[2]}
    assert classifier.predict(by_label.values()) == expected
    assert classifier.predict(s for s in SENTENCES[:3]) == expected
    context = ["", SENTENCES[0], SENTENCES[1]]
    assert classifier.predict(iter(SENTENCES[:3]), context=iter(context)) == classifier.predict(
        SENTENCES[:3], context=context
    )


def test_predict_proba_is_the_array_form_of_predict(classifier: Classifier) -> None:
    proba = classifier.predict_proba([*SENTENCES[:3], ""])
    assert proba.shape == (4, len(LABELS))
    assert proba.tolist() == [list(p.probabilities) for p in classifier.predict([*SENTENCES[:3], ""])]
    assert classifier.predict_proba([]).shape == (0, len(LABELS))


def test_items_that_are_not_strings_are_refused_naming_them(classifier: Classifier) -> None:
    with pytest.raises(TypeError, match="sentence 1 is NoneType, not a string"):
        classifier.predict([SENTENCES[0], None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="context 0 is float, not a string: nan"):
        classifier.predict([SENTENCES[0]], context=[float("nan")])  # type: ignore[list-item]


def test_invalid_unicode_is_refused_naming_the_sentence(classifier: Classifier) -> None:
    with pytest.raises(ValueError, match="sentence 1 is not valid Unicode: an unpaired surrogate at character 4"):
        classifier.predict([SENTENCES[0], "Cut \ud83d here."])
    with pytest.raises(ValueError, match="context 0 is not valid Unicode"):
        classifier.predict([SENTENCES[0]], context=["\udc80"])


def test_long_sentence_is_truncated_and_flagged(classifier: Classifier) -> None:
    long_sentence = " ".join(["The council debated the plan again."] * 40)
    long_context = " ".join(["Earlier the mayor spoke."] * 40)
    sentence_cut, context_cut = classifier.predict(
        [long_sentence, SENTENCES[0]], context=["", long_context], inside_quote=[False, True]
    )
    assert FLAG_TRUNCATED in sentence_cut.flags
    assert sum(sentence_cut.probabilities) == pytest.approx(1.0)
    # Cutting the context to fit is normal operation, not a truncated sentence.
    assert context_cut.flags == ()


def test_encoder_cuts_context_before_sentence(classifier: Classifier) -> None:
    encoder = classifier.encoder
    sentence = "The council voted on Tuesday."
    context = " ".join(["Earlier the mayor spoke at length."] * 40)
    (pair,) = encoder.encode([(sentence, context)])
    (alone,) = encoder.encode([(sentence, "")])
    assert len(pair.ids) == classifier.max_length
    sentence_tokens = alone.ids[: alone.type_ids.index(1)] if 1 in alone.type_ids else alone.ids[:-1]
    assert pair.ids[: len(sentence_tokens)] == sentence_tokens
    assert not pair.truncated


def test_context_and_inside_quote_change_the_input(classifier: Classifier) -> None:
    sentence = "Nobody has asked the people who live next to the rail yard."
    plain, with_context, inside = classifier.predict(
        [sentence] * 3,
        context=["", "The mayor defended the plan on Tuesday.", ""],
        inside_quote=[False, False, True],
    )
    assert plain.probabilities != with_context.probabilities
    assert plain.probabilities != inside.probabilities
    assert with_context.probabilities != inside.probabilities


def test_argument_errors(classifier: Classifier) -> None:
    with pytest.raises(TypeError):
        classifier.predict("a single string")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="context has 1 items for 2 sentences"):
        classifier.predict(SENTENCES[:2], context=[""])
    with pytest.raises(ValueError, match="inside_quote has 3 items"):
        classifier.predict(SENTENCES[:2], inside_quote=[True, False, True])


@pytest.mark.parametrize("threads", [1, 3])
def test_concurrent_predict_matches_single_thread(classifier: Classifier, tiny_model_dir: Path, threads: int) -> None:
    # With threads=3 the callers' batches share one pool of model workers.
    shared = Classifier.load(tiny_model_dir, batch_size=3, threads=threads)
    inputs = [SENTENCES[i:] + SENTENCES[:i] for i in range(len(SENTENCES))]
    expected = [probabilities(classifier.predict(batch)) for batch in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(shared.predict, inputs * 4))
    for i, result in enumerate(results):
        np.testing.assert_allclose(probabilities(result), expected[i % len(inputs)], atol=1e-6)


def test_parallel_batches_match_one_thread(classifier: Classifier, tiny_model_dir: Path) -> None:
    # Three batches of three run on three workers at once; each batch's result must not depend on that.
    parallel = Classifier.load(tiny_model_dir, batch_size=3, threads=3)
    assert parallel.runner.threads == 3
    sentences = SENTENCES + SENTENCES[:2]
    np.testing.assert_array_equal(
        probabilities(parallel.predict(sentences)), probabilities(classifier.predict(sentences))
    )


def test_thread_count_must_be_positive(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        Classifier.load(tiny_model_dir, threads=0)


def test_classify_article_offsets_context_and_quotes(classifier: Classifier) -> None:
    text = (
        "Council approves plan\n\n"
        '"This is the largest investment in a generation," said the mayor. "Families should live here.\n\n'
        '"Nobody has told me where the cars go," Ellison said. Construction begins in spring.\n'
    )
    results = classifier.classify_article(text)
    assert len(results) >= 4
    assert [r.index for r in results] == list(range(len(results)))
    for result in results:
        assert text[result.start : result.end] == result.text
        data = json.loads(json.dumps(result.to_dict()))
        assert {"index", "start", "end", "text", "inside_quote", "label", "probabilities", "flags"} <= set(data)
    # The quotation opened in paragraph 2 is still open when paragraph 3 starts.
    nobody = next(r for r in results if "Nobody" in r.text)
    assert nobody.inside_quote
    previous = [""] + [r.text for r in results[:-1]]
    direct = classifier.predict(
        [r.text for r in results], context=previous, inside_quote=[r.inside_quote for r in results]
    )
    np.testing.assert_allclose(probabilities([r.prediction for r in results]), probabilities(direct), atol=1e-6)


def test_load_from_environment_variable(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_ENV_VAR, str(tiny_model_dir))
    loaded = Classifier.load()
    assert loaded.model_dir == tiny_model_dir
    assert loaded.manifest.labels == LABELS


def test_sha256_mismatch_names_the_file(model_copy: Path) -> None:
    with (model_copy / TOKENIZER_FILE).open("a", encoding="utf-8") as handle:
        handle.write("\n")
    with pytest.raises(ModelFolderError, match=r"tokenizer\.json: sha256 .* does not match"):
        Classifier.load(model_copy)


def test_missing_model_file_names_the_file(model_copy: Path) -> None:
    (model_copy / MODEL_FILE).unlink()
    with pytest.raises(ModelFolderError, match=r"model\.onnx: file listed in manifest\.json is missing"):
        Classifier.load(model_copy)


def test_missing_manifest_and_folder_are_reported(model_copy: Path, tmp_path: Path) -> None:
    (model_copy / MANIFEST_FILE).unlink()
    with pytest.raises(ModelFolderError, match=r"manifest\.json: manifest missing"):
        Classifier.load(model_copy)
    with pytest.raises(ModelFolderError, match="model folder not found"):
        Classifier.load(tmp_path / "nowhere")
    with pytest.raises(ModelFolderError, match=r"model\.onnx is a file; pass the model folder that holds it"):
        Classifier.load(model_copy / MODEL_FILE)


def test_manifest_with_wrong_labels_is_rejected(model_copy: Path) -> None:
    path = model_copy / MANIFEST_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["labels"] = list(reversed(data["labels"]))
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelFolderError, match="labels"):
        Classifier.load(model_copy)


def test_model_trained_without_context_gets_none(tmp_path: Path, tiny_model_dir: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["context"] = "none"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    sentence = ["The vote was delayed."]
    without = Classifier.load(folder)
    alone = without.predict(sentence)[0].probabilities
    context = {"context": ['"We will fight this," she said.'], "inside_quote": [True]}
    assert without.predict(sentence, **context)[0].probabilities == alone
    assert Classifier.load(tiny_model_dir).predict(sentence, **context)[0].probabilities != alone


def test_manifest_with_unknown_context_is_rejected(model_copy: Path) -> None:
    path = model_copy / MANIFEST_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["context"] = "paragraph"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelFolderError, match="context 'paragraph'"):
        Classifier.load(model_copy)
