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
    # A variation selector, a combining accent, a grapheme joiner, a private-use character: other
    # characters the tokenizer drops, which a list of invisible categories would miss.
    assert classifier.predict(["\ufe0f", "\u0301", "\u034f", "\ue000"]) == [EMPTY_PREDICTION] * 4


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
    with pytest.raises(TypeError, match=r"sentence 1 \(by position\) is NoneType, not a string"):
        classifier.predict([SENTENCES[0], None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"context 0 \(by position\) is float, not a string: nan"):
        classifier.predict([SENTENCES[0]], context=[float("nan")])  # type: ignore[list-item]


def test_inside_quote_takes_bools_and_refuses_what_would_read_as_true(classifier: Classifier) -> None:
    flagged = classifier.predict(SENTENCES[:1], inside_quote=[True])
    assert classifier.predict(SENTENCES[:1], inside_quote=[np.bool_(True)]) == flagged
    assert classifier.predict(SENTENCES[:1], inside_quote=[1]) == flagged
    assert classifier.predict(SENTENCES[:1], inside_quote=np.array([1.0])) == flagged  # a float 0/1 column
    for bad in ("False", float("nan"), None, 2):
        with pytest.raises(TypeError, match=r"inside_quote 0 \(by position\) is .*, not a bool"):
            classifier.predict(SENTENCES[:1], inside_quote=[bad])  # type: ignore[list-item]


def test_dataframe_is_refused_with_a_hint(classifier: Classifier) -> None:
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"text": SENTENCES[:2]})
    with pytest.raises(TypeError, match=r"not a DataFrame \(pass one column"):
        classifier.predict(frame[["text"]])
    assert classifier.predict(frame["text"]) == classifier.predict(SENTENCES[:2])


def test_special_token_strings_in_text_are_text(classifier: Classifier) -> None:
    # "[SEP]" typed in a page must not end the sentence segment and start a context of the writer's choosing.
    (encoded,) = classifier.encoder.encode([("Yes [SEP] no [CLS]", "")])
    special = {classifier.encoder.tokenizer.token_to_id(token) for token in ("[SEP]", "[CLS]")}
    assert sum(token in special for token in encoded.ids) == 3  # the pair's own [CLS] and two [SEP]


def test_classify_article_without_sentences_or_text(classifier: Classifier) -> None:
    assert classifier.classify_article("") == []
    assert classifier.classify_article(" \n\n\t") == []
    with pytest.raises(TypeError, match="takes the article as a string, got NoneType"):
        classifier.classify_article(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unpaired surrogate at character 16"):
        classifier.classify_article("Fine here.\n\nBad \ud83d here.")


def test_invalid_unicode_is_refused_naming_the_sentence(classifier: Classifier) -> None:
    message = r"sentence 1 \(by position\) is not valid Unicode: an unpaired surrogate at character 4"
    with pytest.raises(ValueError, match=message):
        classifier.predict([SENTENCES[0], "Cut \ud83d here."])
    with pytest.raises(ValueError, match=r"context 0 \(by position\) is not valid Unicode"):
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
    # Containers whose iteration is not one item per sentence: keys, column names, bytes.
    with pytest.raises(TypeError, match="not a dict"):
        classifier.predict({"id": SENTENCES[0]})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a single bytes"):
        classifier.predict(b"abc")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="context must be a sequence"):
        classifier.predict(["a", "b", "c"], context="xyz")  # type: ignore[arg-type]
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


def test_thread_count_and_batch_size_must_be_positive_whole_numbers(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="threads must be a whole number of at least 1, got 0"):
        Classifier.load(tiny_model_dir, threads=0)
    with pytest.raises(ValueError, match=r"threads must be a whole number of at least 1, got 2\.5"):
        Classifier.load(tiny_model_dir, threads=2.5)  # type: ignore[arg-type]
    for bad in (2.5, None, 0, True):
        with pytest.raises(ValueError, match="batch_size must be a whole number of at least 1"):
            Classifier.load(tiny_model_dir, batch_size=bad)  # type: ignore[arg-type]
    assert Classifier.load(tiny_model_dir, batch_size=np.int64(8), threads=1).batch_size == 8


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


@pytest.mark.parametrize("value", [10000, 64.9, 0, "128", True])
def test_manifest_max_length_out_of_range_is_rejected(model_copy: Path, value: object) -> None:
    path = model_copy / MANIFEST_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["max_length"] = value
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelFolderError, match=r"manifest\.json: max_length must be"):
        Classifier.load(model_copy)


@pytest.mark.parametrize("name", ["../outside.txt", "/etc/hostname", "sub/file"])
def test_manifest_files_outside_the_folder_are_rejected(model_copy: Path, name: str) -> None:
    path = model_copy / MANIFEST_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["files"][name] = "0" * 64
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelFolderError, match="files must name files inside the model folder"):
        Classifier.load(model_copy)


def test_unreadable_files_that_match_their_hashes_are_model_folder_errors(model_copy: Path) -> None:
    from quoteframe.manifest import sha256_file

    path = model_copy / MANIFEST_FILE
    for name, content, message in (
        (TOKENIZER_FILE, b'{"not": "a tokenizer"}', r"tokenizer\.json: not a readable tokenizer"),
        (MODEL_FILE, b"\x08\x01 truncated", r"model\.onnx: onnxruntime cannot load it"),
    ):
        backup = (model_copy / name).read_bytes()
        (model_copy / name).write_bytes(content)
        data = json.loads(path.read_text(encoding="utf-8"))
        data["files"][name] = sha256_file(model_copy / name)
        path.write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(ModelFolderError, match=message):
            Classifier.load(model_copy)
        (model_copy / name).write_bytes(backup)
        data["files"][name] = sha256_file(model_copy / name)
        path.write_text(json.dumps(data), encoding="utf-8")


def test_missing_folder_message_names_the_environment_variable(tmp_path: Path) -> None:
    with pytest.raises(ModelFolderError, match=MODEL_ENV_VAR):
        Classifier.load(tmp_path / "nowhere")


def test_manifest_with_unknown_context_is_rejected(model_copy: Path) -> None:
    path = model_copy / MANIFEST_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["context"] = "paragraph"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelFolderError, match="context 'paragraph'"):
        Classifier.load(model_copy)
