"""The model folder format: one ``manifest.json`` that names and fingerprints the files beside it.

A model folder holds ``model.onnx`` (int8), ``tokenizer.json`` (a fast ``tokenizers`` file) and
``manifest.json``. The export writes it and the classifier reads it; both go through this module so
the format is defined once. The sha256 of every file is checked on load, because a model and a
tokenizer that do not belong together still run and silently give wrong labels.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from quoteframe.inputs import CONTEXT_MODES, ContextMode
from quoteframe.labels import LABELS

FORMAT_VERSION = 1
#: The temperatures a manifest may hold. A fitted one lies near 1 (0.79 for the shipped model); one far
#: outside this range means a broken fit, and a tiny one would overflow the float32 logits it divides.
TEMPERATURE_RANGE = (0.01, 100.0)
#: The token limits a manifest may hold: room for the special tokens and a few words at least, and no
#: more than the position table of a BERT-style encoder (512), beyond which the model cannot run.
MAX_LENGTH_RANGE = (8, 512)
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"
#: Environment variable that points :meth:`Classifier.load` at another model folder.
MODEL_ENV_VAR = "QUOTEFRAME_MODEL"


class ModelFolderError(Exception):
    """A model folder is missing a file, has a file that does not match its manifest, or a bad manifest."""


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` records about a model folder."""

    labels: tuple[str, ...]
    max_length: int
    base_model: str
    files: dict[str, str]
    #: the context the model was trained with (:data:`quoteframe.inputs.ContextMode`); serving must
    #: build the same pair, since a model never shown the previous sentence is misled by it
    context: ContextMode
    export: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    #: divides the logits before the softmax; 1.0 until ``quoteframe calibrate`` fits it. It changes
    #: how sure the probabilities are, never which label is highest.
    temperature: float = 1.0
    #: how the temperature was fitted (:mod:`quoteframe.training.calibration`); empty when it was not
    calibration: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form written to ``manifest.json``."""
        data = asdict(self)
        data["labels"] = list(self.labels)
        return {"format_version": data.pop("format_version"), **data}


def default_model_dir() -> Path:
    """The model folder used when none is given: ``$QUOTEFRAME_MODEL``, else the repository's ``models/``."""
    from_env = os.environ.get(MODEL_ENV_VAR)
    if from_env:
        return Path(from_env).expanduser()
    return Path(__file__).resolve().parents[1] / "models"


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file, read in chunks so large models do not sit in memory twice."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(model_dir: Path, manifest: Manifest) -> Path:
    """Write ``manifest.json`` into ``model_dir`` and return its path."""
    path = model_dir / MANIFEST_FILE
    path.write_text(json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_manifest(model_dir: Path) -> Manifest:
    """Read and validate ``manifest.json`` of ``model_dir``; :func:`verify` hashes the files."""
    path = model_dir / MANIFEST_FILE
    if model_dir.is_file():
        raise ModelFolderError(f"{model_dir} is a file; pass the model folder that holds it ({model_dir.parent})")
    if not model_dir.is_dir():
        raise ModelFolderError(
            f"model folder not found: {model_dir} (pass a model folder, or set {MODEL_ENV_VAR} to one)"
        )
    if not path.is_file():
        raise ModelFolderError(f"{path}: manifest missing; export a model with `quoteframe export`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        manifest = Manifest(
            labels=tuple(data["labels"]),
            max_length=data["max_length"],
            base_model=str(data["base_model"]),
            files=dict(data["files"]),
            context=str(data["context"]),
            export=dict(data.get("export", {})),
            training=dict(data.get("training", {})),
            temperature=data.get("temperature", 1.0),
            calibration=data.get("calibration", {}),
            format_version=int(data["format_version"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFolderError(f"{path}: invalid manifest ({type(exc).__name__}: {exc})") from exc
    if manifest.format_version != FORMAT_VERSION:
        raise ModelFolderError(
            f"{path}: format_version {manifest.format_version} is not supported (expected {FORMAT_VERSION})"
        )
    if manifest.context not in CONTEXT_MODES:
        raise ModelFolderError(f"{path}: context {manifest.context!r} is not one of {', '.join(CONTEXT_MODES)}")
    check_max_length(path, manifest.max_length)
    check_calibration(path, manifest.temperature, manifest.calibration)
    if manifest.labels != LABELS:
        raise ModelFolderError(f"{path}: labels {list(manifest.labels)} differ from {list(LABELS)}")
    for name in (MODEL_FILE, TOKENIZER_FILE):
        if name not in manifest.files:
            raise ModelFolderError(f"{path}: no sha256 recorded for {name}")
    for name in manifest.files:
        if not isinstance(name, str) or Path(name).name != name or name in (".", ".."):
            raise ModelFolderError(f"{path}: files must name files inside the model folder, got {name!r}")
    return manifest


def check_max_length(path: Path, max_length: object) -> None:
    """Refuse a ``max_length`` that is not a whole number in :data:`MAX_LENGTH_RANGE`.

    A longer limit than the encoder's position table loads and then fails inside onnxruntime at the
    first long sentence, far from the file that caused it.
    """
    low, high = MAX_LENGTH_RANGE
    if isinstance(max_length, bool) or not isinstance(max_length, int):
        raise ModelFolderError(f"{path}: max_length must be a whole number, got {max_length!r}")
    if not low <= max_length <= high:
        raise ModelFolderError(f"{path}: max_length must be between {low} and {high}, got {max_length}")


def check_calibration(path: Path, temperature: object, calibration: object) -> None:
    """Refuse a temperature that is not a number in :data:`TEMPERATURE_RANGE`, or a record that is not an object.

    Checked by type rather than converted: ``true`` or ``"0.8"`` in the file is a hand edit gone wrong,
    not a temperature.
    """
    low, high = TEMPERATURE_RANGE
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise ModelFolderError(f"{path}: temperature must be a number, got {temperature!r}")
    if not (math.isfinite(temperature) and low <= temperature <= high):
        raise ModelFolderError(f"{path}: temperature must be between {low} and {high}, got {temperature}")
    if not isinstance(calibration, dict):
        raise ModelFolderError(f"{path}: calibration must be an object, got {type(calibration).__name__}")


def verify(model_dir: Path, manifest: Manifest) -> None:
    """Check every file the manifest lists exists and matches its sha256; the error names the file."""
    for name, expected in manifest.files.items():
        path = model_dir / name
        if not path.is_file():
            raise ModelFolderError(f"{path}: file listed in {MANIFEST_FILE} is missing")
        actual = sha256_file(path)
        if actual != expected:
            raise ModelFolderError(
                f"{path}: sha256 {actual} does not match {MANIFEST_FILE} ({expected}); "
                "the folder mixes files from different exports"
            )


def load_manifest(model_dir: Path) -> Manifest:
    """Read the manifest of ``model_dir`` and verify the files it lists."""
    manifest = read_manifest(model_dir)
    verify(model_dir, manifest)
    return manifest
