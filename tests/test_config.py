"""Training configs are validated on load: typos and bad values fail before any training starts."""

from pathlib import Path

import pytest

from quoteframe.training.config import ConfigError, TrainConfig, load_config

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(path.name for path in (REPO / "configs").glob("*.yaml")))
def test_shipped_configs_are_valid(name: str) -> None:
    config = load_config(REPO / "configs" / name)
    assert isinstance(config, TrainConfig)
    assert config.quality_weights["hand"] > 0


def test_overrides_are_parsed_as_yaml_and_validated(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 2\n")
    config = load_config(path, ("learning_rate=3e-5", 'quality_weights={"hand": 1.0, "rule": 0.2}'))
    assert config.epochs == 2
    assert config.learning_rate == pytest.approx(3e-5)
    assert config.quality_weights == {"hand": 1.0, "rule": 0.2}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epochs: 2\nlearnig_rate: 0.1\n", "learnig_rate: Extra inputs are not permitted"),
        ("epochs: 0\n", "epochs: Input should be greater than or equal to 1"),
        ("class_weighting: cubic\n", "class_weighting"),
        ("context: paragraph\n", "context: Input should be 'previous_sentence', 'previous_tail', 'quote_state' or"),
        ("quality_weights: {hand: 0.0}\n", "at least one label quality a positive weight"),
        ("quality_weights: {gold: 1.0}\n", "quality_weights.gold"),
        ("quality_weights: {hand: .inf}\n", "quality_weights.hand: Input should be a finite number"),
        ("quality_weights: {hand: 1.0, corpus: .nan}\n", "quality_weights.corpus: Input should be a finite number"),
        ("quality_weights: {hand: 1.0e+39}\n", "quality_weights.hand: Input should be less than or equal to 1000"),
        ("seed: true\n", "seed: Input should be a valid integer"),
        ("max_train_rows: true\n", "max_train_rows: Input should be a valid integer"),
        ("epochs: 2.5\n", "epochs: Input should be a valid integer"),
        ("freeze_embeddings: 'no'\n", "freeze_embeddings: Input should be a valid boolean"),
        ("distill_weight: 0.5\n", "distill_weight needs a teacher run folder"),
        ("teacher: runs/t\ndistill_weight: 0.5\n", "a teacher needs distill_temperature"),
        ("teacher: runs/t\ndistill_weight: 1.5\ndistill_temperature: 2\n", "distill_weight: Input should be less"),
        ("- a\n- b\n", "expected a mapping"),
        ("epochs: [1\n", "not valid YAML"),
        ("epochs: 1\nlearning_rate: 1.0e-3\nbatch_size: 8\nlearning_rate: 5\n", "key 'learning_rate' is set twice"),
        ("quality_weights: {hand: 1.0, hand: 0.5}\n", "key 'hand' is set twice"),
        ("", "sets nothing"),
        ("# epochs: 2\n# seed: 3\n", "sets nothing"),
        ("{}\n", "sets nothing"),
        ("weight_decay: true\n", "weight_decay: Input should be a number, not a boolean"),
        ("quality_weights: {hand: true}\n", "quality_weights.hand: Input should be a number, not a boolean"),
        ("teacher: t\ndistill_weight: true\ndistill_temperature: 2\n", "distill_weight: Input should be a number"),
        ("teacher: t\ndistill_weight: .nan\ndistill_temperature: 2\n", "distill_weight: Input should be a finite"),
        ("num_threads: 100000\n", "num_threads: Input should be less than or equal to 1024"),
        ("seed: -1\n", "seed: Input should be greater than or equal to 0"),
        ("seed: 4294967296\n", "seed: Input should be less than or equal to 4294967295"),
        ("read_once_weight: 0\n", "read_once_weight: Input should be greater than 0"),
        ("read_once_weight: true\n", "read_once_weight: Input should be a number, not a boolean"),
        ("pooling: max\n", "pooling: Input should be 'cls' or 'mean'"),
        ("learning_rate: .nan\n", "learning_rate: Input should be a finite number"),
        ("label_smoothing: .inf\n", "label_smoothing: Input should be a finite number"),
    ],
)
def test_bad_configs_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")) as caught:
        load_config(path)
    assert str(path) in str(caught.value)


def test_missing_file_and_malformed_override(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 2\n")
    with pytest.raises(ConfigError, match="not KEY=VALUE"):
        load_config(path, ("epochs",))
    with pytest.raises(ConfigError, match=r"override 'epochs=\[1': the value is not valid YAML"):
        load_config(path, ("epochs=[1",))


def test_a_check_across_settings_reads_without_pydantic_wording(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("teacher: runs/t\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: a teacher needs distill_weight and distill_temperature"


def test_the_last_override_of_a_key_wins_and_a_mapping_is_set_whole(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 2\n")
    assert load_config(path, ("epochs=3", "epochs=4")).epochs == 4
    with pytest.raises(ConfigError, match=r"quality_weights is set whole, e.g. --set 'quality_weights=\{hand: 0.5\}'"):
        load_config(path, ("quality_weights.hand=0.5",))
    with pytest.raises(ConfigError, match=r"override 'epochs.x=3': epochs has no setting 'x'"):
        load_config(path, ("epochs.x=3",))


def test_duplicate_keys_are_named_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 1\nlearning_rate: 1.0e-3\nbatch_size: 8\nlearning_rate: 5\n")
    with pytest.raises(ConfigError, match=r"key 'learning_rate' is set twice \(lines 2 and 4\)"):
        load_config(path)


def test_numbers_at_the_edges_of_their_ranges_load(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    # YAML 1.1 reads 5e-5 (no dot) as a string: the float fields refuse bools, not strings of numbers
    path.write_text(f"seed: {2**32 - 1}\nlearning_rate: 5e-5\nnum_threads: 1024\nweight_decay: 0\n")
    config = load_config(path)
    assert (config.seed, config.learning_rate, config.num_threads, config.weight_decay) == (2**32 - 1, 5e-5, 1024, 0.0)


def test_bad_override_is_named_as_an_override(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 2\n")
    with pytest.raises(ConfigError, match=r"epochs \(from --set\): Input should be greater than or equal to 1"):
        load_config(path, ("epochs=0",))
    path.write_text("epochs: 0\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "--set" not in str(caught.value)
