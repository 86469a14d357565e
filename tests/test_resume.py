"""A scoring run killed at any moment and started again gives exactly the output of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from quoteframe import Classifier, ModelFolderError
from quoteframe.checkpoint import CHECKPOINT_VERSION, fingerprint_differences
from quoteframe.cli import main
from quoteframe.scoring import ScoreOptions, ScoreRefused, output_paths, run_score

#: Summary entries that differ between two runs of the same data: run times and the output paths.
VARYING_KEYS = {"elapsed_s", "articles_per_s", "sentences_per_s", "outputs"}


def write_archive(path: Path, articles: int) -> Path:
    """A JSONL archive of short articles with a bad line every seventh record."""
    lines = []
    for i in range(articles):
        if i % 7 == 3:
            lines.append('{"id": "broken", "text": ')
            continue
        text = f'Article {i} opens here. "We expect {i} new homes," the mayor said.\n\nCritics slammed plan {i}.'
        lines.append(json.dumps({"id": f"a{i}", "text": text}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def outputs(out: Path) -> dict[str, object]:
    """Everything a run leaves at ``out`` except run times, in comparable form."""
    paths = output_paths(out)
    summary = json.loads(paths.summary.read_text(encoding="utf-8"))
    return {
        "sentences": pq.read_table(paths.sentences).to_pylist(),
        "articles": pq.read_table(paths.articles).to_pylist(),
        "errors": paths.errors.read_bytes(),
        "summary": {key: value for key, value in summary.items() if key not in VARYING_KEYS},
        "left": sorted(path.name for path in out.iterdir()),
    }


def small_chunks(archive: Path, out: Path, model_dir: Path) -> ScoreOptions:
    """Options of a run over ``archive`` in chunks of two records, so it commits many parts."""
    return ScoreOptions((archive,), out, model=model_dir, chunk_size=2, progress=False)


class Killed(BaseException):
    """Stands for the process dying: nothing of the run may catch it."""


def test_crash_before_any_rename_then_resume(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = write_archive(tmp_path / "news.jsonl", 6)
    classifier = Classifier.load(tiny_model_dir, threads=1)

    options = partial(small_chunks, archive, model_dir=tiny_model_dir)

    real_replace = os.replace
    renames: list[str] = []

    def counting_replace(source, target) -> None:
        renames.append(Path(target).name)
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", counting_replace)
    run_score(options(tmp_path / "reference"), lambda: classifier)
    expected = outputs(tmp_path / "reference")
    assert "part-000003.sentences.parquet" in renames and renames[-1] == "summary.json"

    # Every atomic rename of the run is a commit point; die just before each one, then run again.
    for crash_at in range(len(renames)):
        out = tmp_path / f"crash-{crash_at}"
        count = 0

        def dying_replace(source, target, crash_at: int = crash_at) -> None:
            nonlocal count
            count += 1
            if count > crash_at:
                raise Killed
            real_replace(source, target)

        monkeypatch.setattr(os, "replace", dying_replace)
        with pytest.raises(Killed):
            run_score(options(out), lambda: classifier)
        monkeypatch.setattr(os, "replace", real_replace)
        run_score(options(out), lambda: classifier)
        assert outputs(out) == expected, f"crash before rename {crash_at} ({renames[crash_at]})"


def test_sigkill_midway_then_same_command_resumes(tmp_path: Path, tiny_model_dir: Path) -> None:
    archive = write_archive(tmp_path / "news.jsonl", 80)
    out = tmp_path / "out"
    args = ["score", str(archive), "-o", str(out), "--model", str(tiny_model_dir), "--threads", "1"]
    command = [sys.executable, "-m", "quoteframe.cli", *args, "--chunk-size", "2", "--no-progress"]
    reference = ScoreOptions((archive,), tmp_path / "reference", model=tiny_model_dir, chunk_size=2, progress=False)
    run_score(reference, lambda: Classifier.load(tiny_model_dir, threads=1))

    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    third_part = out / ".parts" / "part-000003.errors.jsonl"
    deadline = time.monotonic() + 120
    while not third_part.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
    assert not (out / "summary.json").exists()
    checkpoint = json.loads((out / ".parts" / "checkpoint.json").read_text(encoding="utf-8"))
    assert checkpoint["parts"] > 0 and not checkpoint["finished"]

    refused = CliRunner().invoke(main, [*args, "--chunk-size", "3", "--no-progress"])
    assert refused.exit_code != 0 and "(--chunk-size was 2, now 3)" in refused.output

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    got, expected = outputs(out), outputs(tmp_path / "reference")
    assert got == expected
    keys = [(row["article_index"], row["sentence_index"]) for row in got["sentences"]]
    assert len(keys) == len(set(keys))
    assert [row["article_id"] for row in got["articles"]] == [f"a{i}" for i in range(80) if i % 7 != 3]


def test_killed_while_deleting_the_work_folder_counts_as_finished(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import quoteframe.scoring as scoring

    archive = write_archive(tmp_path / "news.jsonl", 12)
    classifier = Classifier.load(tiny_model_dir, threads=1)

    options = partial(small_chunks, archive, model_dir=tiny_model_dir)

    run_score(options(tmp_path / "reference"), lambda: classifier)

    real_rmtree = scoring.shutil.rmtree

    def dies_midway(path: Path, ignore_errors: bool = False) -> None:
        parts = sorted(path.glob("part-*"))
        if not parts:  # the new run clearing its work folder before it starts
            return real_rmtree(path, ignore_errors=ignore_errors)
        parts[0].unlink()  # some parts are gone, then the process dies
        raise Killed

    out = tmp_path / "out"
    with monkeypatch.context() as patch:
        patch.setattr(scoring.shutil, "rmtree", dies_midway)
        with pytest.raises(Killed):
            run_score(options(out), lambda: classifier)
    assert output_paths(out).work.is_dir()
    run_score(options(out), lambda: pytest.fail("a finished run must not load the model"))

    assert outputs(out) == outputs(tmp_path / "reference")


def test_checkpoint_of_another_release_is_refused(tmp_path: Path, tiny_model_dir: Path) -> None:
    archive = write_archive(tmp_path / "news.jsonl", 12)
    out = tmp_path / "out"
    options = small_chunks(archive, out, tiny_model_dir)
    classifier = Classifier.load(tiny_model_dir, threads=1)
    work = output_paths(out).work
    work.mkdir(parents=True)
    (work / "checkpoint.json").write_text(json.dumps({"fingerprint": {}, "parts": 1, "version": 1}), encoding="utf-8")

    with pytest.raises(ScoreRefused, match=rf"checkpoint version 1 is not {CHECKPOINT_VERSION} .*--overwrite"):
        run_score(options, lambda: classifier)
    run_score(ScoreOptions(**{**vars(options), "overwrite": True}), lambda: classifier)
    assert json.loads(output_paths(out).summary.read_text(encoding="utf-8"))["articles"] == 10


def test_a_model_that_fails_to_load_leaves_no_unfinished_run(tmp_path: Path, tiny_model_dir: Path) -> None:
    archive = write_archive(tmp_path / "news.jsonl", 3)
    out = tmp_path / "out"
    options = small_chunks(archive, out, tiny_model_dir)

    def broken_model() -> Classifier:
        raise ModelFolderError("tokenizer.json: sha256 does not match manifest.json")

    with pytest.raises(ModelFolderError):
        run_score(options, broken_model)

    # Its checkpoint would have bound the output to that command: the mended command must start cleanly.
    assert not output_paths(out).work.exists()
    result = run_score(options, lambda: Classifier.load(tiny_model_dir, threads=1))
    assert result.summary["articles"] == 3 and not result.already_finished


def test_refusal_names_what_changed() -> None:
    stored = {
        "inputs": [["a.jsonl", "jsonl", 10, 1], ["b.csv", "csv", 5, 1]],
        "chunk_size": 2,
        "model": "x",
    }
    touched = {**stored, "inputs": [["a.jsonl", "jsonl", 10, 2], ["b.csv", "csv", 5, 1]]}
    respelled = {**stored, "inputs": [["./a.jsonl", "jsonl", 10, 1], ["b.csv", "csv", 5, 1]], "model": "y"}
    reordered = {**stored, "inputs": stored["inputs"][::-1], "chunk_size": 3}

    assert fingerprint_differences(stored, stored) == []
    assert fingerprint_differences(stored, touched) == [
        "a.jsonl changed since the run started (size or modification time)"
    ]
    assert fingerprint_differences(stored, respelled) == [
        "a.jsonl is no longer an input",
        "./a.jsonl is a new input",
        "the model is another one",
    ]
    assert fingerprint_differences(stored, reordered) == [
        "--chunk-size was 2, now 3",
        "the inputs are given in another order",
    ]


def test_interrupt_says_how_to_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_args: object) -> dict:
        raise KeyboardInterrupt

    archive = tmp_path / "news.jsonl"
    archive.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr("quoteframe.scoring.run_score", interrupted)

    result = CliRunner().invoke(main, ["score", str(archive), "-o", str(tmp_path / "out"), "--no-progress"])

    assert result.exit_code == 130
    assert f"interrupted; run the same command again to resume from {tmp_path / 'out'}" in result.output
