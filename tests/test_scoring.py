"""``quoteframe score`` end to end on the tiny model: every archive format, error rows, consistent outputs."""

from __future__ import annotations

import gzip
import json
from argparse import Namespace
from collections import Counter
from itertools import chain
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from test_archives import ARTICLE, write_warc

from quoteframe import Classifier
from quoteframe.cli import main
from quoteframe.labels import LABELS
from quoteframe.scoring import ScoreOptions, ScoreResult, format_summary, run_score

TEXTS = [
    'The council approved the plan on Monday. "We will build homes," the mayor said.',
    "Critics slammed the brazen move.\n\nThe vote was 7 to 2. Work starts in May.",
    '"This is only the start.\n\n"We will not stop," she added. The minister claimed victory.',
]


def write_inputs(folder: Path) -> tuple[list[Path], set[tuple[str, str, int | None]]]:
    """One archive of each format with good and bad records; returns the paths and the expected error places."""
    folder.mkdir()
    good = [json.dumps({"id": f"j{i}", "text": text}) for i, text in enumerate(TEXTS)]
    jsonl = "\n".join([good[0], "{not json", good[1], json.dumps({"id": "e", "text": ""}), good[2]]) + "\n"
    (folder / "news.jsonl").write_text(jsonl, encoding="utf-8")
    (folder / "more.jsonl.gz").write_bytes(gzip.compress(jsonl.encode() + b'{"text": "caf\xe9"}\n'))
    (folder / "news.csv").write_text(
        'id,text\nc1,"' + TEXTS[1].replace('"', '""') + '"\nc2,one,two\n', encoding="utf-8"
    )
    pq.write_table(pa.table({"text": [TEXTS[0], None, TEXTS[2]]}), folder / "news.parquet")
    (folder / "texts").mkdir()
    (folder / "texts" / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "texts" / "b.txt").write_text(" \n", encoding="utf-8")
    offsets = write_warc(folder / "crawl.warc.gz")
    paths = [folder / name for name in ("news.jsonl", "more.jsonl.gz", "news.csv", "news.parquet", "texts")]
    paths.append(folder / "crawl.warc.gz")
    errors = {
        (str(folder / "news.jsonl"), "line", 2),
        (str(folder / "news.jsonl"), "line", 4),
        (str(folder / "more.jsonl.gz"), "line", 2),
        (str(folder / "more.jsonl.gz"), "line", 4),
        (str(folder / "more.jsonl.gz"), "line", 6),
        (str(folder / "news.csv"), "row", 2),
        (str(folder / "news.parquet"), "row", 2),
        (str(folder / "texts" / "b.txt"), "file", None),
        (str(folder / "crawl.warc.gz"), "offset", offsets["empty"]),
    }
    return paths, errors


def score(*args: str | Path) -> str:
    """Run ``quoteframe score`` in-process; fail the test with its output when it fails."""
    result = CliRunner().invoke(main, ["score", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


def read_table(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_format_scored_with_consistent_outputs(tmp_path: Path, tiny_model_dir: Path) -> None:
    inputs, expected_errors = write_inputs(tmp_path / "in")
    out = tmp_path / "out"

    printed = score(*inputs, "-o", out, "--model", tiny_model_dir, "--threads", "1", "--no-progress")

    sentences = read_table(out / "sentences.parquet")
    articles = read_table(out / "articles.parquet")
    errors = read_table(out / "errors.jsonl")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert not (out / ".parts").exists()
    # Every bad record is an error row at its place; every good one is an article.
    assert {(e["file"], e["unit"], e["position"]) for e in errors} == expected_errors
    assert {a["file"] for a in articles} == {str(p) for p in inputs if p.is_file()} | {str(inputs[4] / "a.txt")}
    assert len(articles) == 3 + 3 + 1 + 2 + 1 + 1
    # Summary, article table and sentence table agree.
    assert (summary["articles"], summary["sentences"], summary["errors"]) == (
        len(articles),
        len(sentences),
        len(errors),
    )
    assert summary["label_counts"] == {label: Counter(s["label"] for s in sentences)[label] for label in LABELS}
    assert f"articles {len(articles)}, sentences {len(sentences)}, errors {len(errors)}" in printed
    # The Parquet file has no id column: its two articles are named by file and row, and the summary
    # says so (a text file is named by its path, which is its id).
    assert summary["articles_without_id"] == 2
    assert "ids: 2 articles have no id; each is named by its file and position" in printed
    assert [a["article_index"] for a in articles] == list(range(len(articles)))
    by_article = Counter(s["article_index"] for s in sentences)
    for article in articles:
        rows = [s for s in sentences if s["article_index"] == article["article_index"]]
        assert article["sentences"] == by_article[article["article_index"]] == len(rows) > 0
        assert [s["sentence_index"] for s in rows] == list(range(len(rows)))
        assert {s["article_id"] for s in rows} == {article["article_id"]}
        for label in LABELS:
            count = sum(s["label"] == label for s in rows)
            assert article[f"n_{label}"] == count
            assert article[f"share_{label}"] == pytest.approx(count / len(rows))
    # Offsets point into the article text, and the label is the most probable one.
    jsonl_texts = dict(enumerate(TEXTS))
    for row in sentences:
        if row["article_id"].startswith("j"):
            assert jsonl_texts[int(row["article_id"][1:])][row["start"] : row["end"]] == row["text"]
        probabilities = [row[f"p_{label}"] for label in LABELS]
        assert sum(probabilities) == pytest.approx(1.0)
        assert row["label"] == LABELS[probabilities.index(max(probabilities))]
    assert {a["article_id"] for a in articles if a["file"].endswith(".parquet")} == {
        f"{inputs[3]}:1",
        f"{inputs[3]}:3",
    }


class RecordingPredict:
    """Wraps a ``predict`` method and records the model inputs of each call."""

    def __init__(self, predict) -> None:
        self.inner = predict
        self.calls: list[list[tuple[str, str, bool]]] = []

    def __call__(self, sentences, context=None, inside_quote=None):
        self.calls.append(list(zip(sentences, context, inside_quote, strict=True)))
        return self.inner(sentences, context, inside_quote)


def test_chunks_send_the_model_what_classify_article_sends(tmp_path: Path, tiny_model_dir: Path) -> None:
    archive = tmp_path / "news.jsonl"
    archive.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(TEXTS)), encoding="utf-8")
    classifier = Classifier.load(tiny_model_dir)
    scoring = RecordingPredict(classifier.predict)
    per_article = RecordingPredict(classifier.predict)

    run_score(
        ScoreOptions((archive,), tmp_path / "out", chunk_size=2, progress=False), lambda: Namespace(predict=scoring)
    )
    classifier.predict = per_article  # classify_article calls predict on its instance
    for text in TEXTS:
        classifier.classify_article(text)

    # Sentences of several articles share one model call, with the same (sentence, context, inside_quote).
    assert [len(call) for call in scoring.calls] == [
        len(per_article.calls[0]) + len(per_article.calls[1]),
        len(per_article.calls[2]),
    ]
    assert list(chain(*scoring.calls)) == list(chain(*per_article.calls))
    assert any(inside for _, _, inside in chain(*scoring.calls))


def test_jsonl_output_with_sibling_files_holds_the_same_rows(tmp_path: Path, tiny_model_dir: Path) -> None:
    inputs, _ = write_inputs(tmp_path / "in")
    common = ("--model", tiny_model_dir, "--threads", "1", "--no-progress")
    score(*inputs, "-o", tmp_path / "scores.jsonl", *common)
    score(*inputs, "-o", tmp_path / "parquet", *common)

    for jsonl, parquet in (("scores.jsonl", "sentences.parquet"), ("scores.articles.jsonl", "articles.parquet")):
        assert read_table(tmp_path / jsonl) == read_table(tmp_path / "parquet" / parquet)
    assert read_table(tmp_path / "scores.errors.jsonl") == read_table(tmp_path / "parquet" / "errors.jsonl")
    assert json.loads((tmp_path / "scores.summary.json").read_text(encoding="utf-8"))["articles"] == len(
        read_table(tmp_path / "scores.articles.jsonl")
    )


@pytest.mark.parametrize("out_name", ["parquet-folder", "scores.jsonl"])
def test_summary_counts_repeated_ids(tmp_path: Path, tiny_model_dir: Path, out_name: str) -> None:
    ids = ["a", "b", "a", "c", "b", "a"]
    archive = tmp_path / "news.jsonl"
    archive.write_text("".join(json.dumps({"id": i, "text": ARTICLE}) + "\n" for i in ids), encoding="utf-8")
    out = tmp_path / out_name
    # Chunks of two articles: each repeat lies in another chunk than the id it repeats.
    common = ("--model", tiny_model_dir, "--threads", "1", "--no-progress", "--chunk-size", "2")
    printed = score(archive, "-o", out, *common)
    summary_path = out / "summary.json" if out.suffix != ".jsonl" else tmp_path / "scores.summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert summary["articles"] == 6
    assert (summary["repeated_article_ids"], summary["repeated_article_id_examples"]) == (3, ["a", "b"])
    assert "ids: 3 articles repeat an earlier article's id (first: 'a', 'b'); article_index tells them apart" in printed


def test_finished_run_is_kept_other_commands_are_refused(tmp_path: Path, tiny_model_dir: Path) -> None:
    archive = tmp_path / "news.jsonl"
    archive.write_text(json.dumps({"id": "a", "text": TEXTS[0]}) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    command = ["score", str(archive), "-o", str(out), "--model", str(tiny_model_dir), "--no-progress"]
    runner = CliRunner()

    first = runner.invoke(main, command)
    before = (out / "sentences.parquet").read_bytes()
    again = runner.invoke(main, command)
    after = (out / "sentences.parquet").read_bytes()
    other = runner.invoke(main, [*command, "--text-field", "body"])
    fresh = runner.invoke(main, [*command, "--text-field", "body", "--overwrite"])

    assert first.exit_code == again.exit_code == 0
    assert after == before and again.stdout == first.stdout
    # Nothing was scored again, and the second run says so rather than passing for a fresh one.
    assert "this run had finished already; nothing was scored again" in again.stderr
    assert "finished already" not in first.stderr
    assert other.exit_code != 0 and "--overwrite" in other.output
    assert "different run (--text-field was None, now body)" in other.output
    # Every record an error: the run finishes, writes its outputs, and says it scored nothing.
    assert fresh.exit_code == 1, fresh.output
    assert "no article was scored: all 1 records are errors" in fresh.output
    assert read_table(out / "sentences.parquet") == []
    assert "no text: field missing or null (body)" in (out / "errors.jsonl").read_text(encoding="utf-8")
    # A finished run whose output was deleted is not passed off as done.
    (out / "articles.parquet").unlink()
    gone = runner.invoke(main, [*command, "--text-field", "body"])
    assert gone.exit_code != 0 and "articles.parquet of the finished run" in gone.output
    assert "missing; pass --overwrite to score again" in gone.output


def test_outputs_inside_or_onto_an_input_are_refused_before_anything_is_written(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    archive = folder / "news.jsonl"
    archive.write_text(json.dumps({"id": "a", "text": TEXTS[0]}) + "\n", encoding="utf-8")
    model = ["--model", str(tiny_model_dir), "--no-progress"]
    runner = CliRunner()

    stray = tmp_path / "out" / ".parts" / "stray.jsonl"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(archive.read_bytes())

    inside = runner.invoke(main, ["score", str(folder), "-o", str(folder / "scored"), *model])
    onto = runner.invoke(main, ["score", str(archive), "-o", str(archive), "--overwrite", *model])
    in_work = runner.invoke(main, ["score", str(stray), "-o", str(tmp_path / "out"), "--overwrite", *model])

    assert inside.exit_code != 0 and "lies inside the input folder" in inside.output
    assert onto.exit_code != 0 and "is the input" in onto.output
    assert in_work.exit_code != 0 and "lies inside the run's work folder" in in_work.output
    as_csv = runner.invoke(main, ["score", str(archive), "-o", str(tmp_path / "results.csv"), *model])
    a_file = tmp_path / "notes"
    a_file.write_text("kept", encoding="utf-8")
    onto_file = runner.invoke(main, ["score", str(archive), "-o", str(a_file), *model])
    assert as_csv.exit_code != 0 and "does not write CSV; name the output NAME.parquet or NAME.jsonl" in as_csv.output
    assert not (tmp_path / "results.csv").exists()
    assert onto_file.exit_code != 0 and "notes is a file; name a folder for the outputs" in onto_file.output
    assert a_file.read_text(encoding="utf-8") == "kept"
    assert sorted(path.name for path in folder.iterdir()) == ["news.jsonl"]
    assert stray.read_bytes() == archive.read_bytes()
    assert json.loads(archive.read_text(encoding="utf-8"))["id"] == "a"


def test_help_gives_the_defaults_the_code_uses() -> None:
    from quoteframe.checkpoint import DEFAULT_CHUNK_SIZE
    from quoteframe.classifier import DEFAULT_BATCH_SIZE

    text = " ".join(CliRunner().invoke(main, ["score", "--help"]).output.split())
    assert f"Sentences per model call (default: {DEFAULT_BATCH_SIZE})" in text
    assert f"checkpoint (default: {DEFAULT_CHUNK_SIZE})" in text


@pytest.mark.parametrize("name", ["out.csv.gz", "out.jsonl.gz", "out.ndjson"])
def test_compressed_and_other_table_names_are_refused(tmp_path: Path, tiny_model_dir: Path, name: str) -> None:
    archive = tmp_path / "news.jsonl"
    archive.write_text(json.dumps({"id": "a", "text": TEXTS[0]}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["score", str(archive), "-o", str(tmp_path / name), "--no-progress"])
    assert result.exit_code != 0 and "does not write" in result.output
    assert not (tmp_path / name).exists()


def test_a_folder_named_like_an_output_file_is_refused(tmp_path: Path, tiny_model_dir: Path) -> None:
    archive = tmp_path / "news.jsonl"
    archive.write_text(json.dumps({"id": "a", "text": TEXTS[0]}) + "\n", encoding="utf-8")
    (tmp_path / "res.parquet").mkdir()
    command = ["score", str(archive), "-o", str(tmp_path / "res.parquet"), "--model", str(tiny_model_dir)]
    result = CliRunner().invoke(main, [*command, "--overwrite", "--no-progress"])
    assert result.exit_code != 0 and "res.parquet is a folder" in result.output
    assert (tmp_path / "res.parquet").is_dir()


def test_a_second_run_on_the_same_output_is_refused(tmp_path: Path, tiny_model_dir: Path) -> None:
    from filelock import FileLock

    from quoteframe.scoring import output_paths

    archive = tmp_path / "news.jsonl"
    archive.write_text(json.dumps({"id": "a", "text": TEXTS[0]}) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    command = ["score", str(archive), "-o", str(out), "--model", str(tiny_model_dir), "--no-progress"]
    lock = output_paths(out).lock
    lock.parent.mkdir()
    with FileLock(lock):  # a run in progress
        busy = CliRunner().invoke(main, command)
    assert busy.exit_code != 0 and "another quoteframe score run is writing to" in busy.output
    assert sorted(path.name for path in out.iterdir()) == [".lock"]
    assert CliRunner().invoke(main, command).exit_code == 0  # once the first is done, the output is free
    # NAME.parquet and NAME.jsonl share NAME.errors.jsonl and NAME.summary.json, so they share a lock.
    with FileLock(output_paths(tmp_path / "res.parquet").lock):
        other = CliRunner().invoke(main, [*command[:3], str(tmp_path / "res.jsonl"), *command[4:], "--overwrite"])
    assert other.exit_code != 0 and "another quoteframe score run is writing to" in other.output


def test_overwrite_in_another_format_leaves_no_old_table(tmp_path: Path, tiny_model_dir: Path) -> None:
    archive = tmp_path / "news.jsonl"
    archive.write_text(json.dumps({"id": "a", "text": TEXTS[0]}) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    score(archive, "-o", out, "--model", tiny_model_dir, "--no-progress")
    score(archive, "-o", out, "--format", "jsonl", "--overwrite", "--model", tiny_model_dir, "--no-progress")
    assert sorted(path.name for path in out.iterdir() if not path.name.startswith(".")) == [
        "articles.jsonl",
        "errors.jsonl",
        "sentences.jsonl",
        "summary.json",
    ]
    files = tmp_path / "files"
    files.mkdir()
    score(archive, "-o", files / "res.parquet", "--model", tiny_model_dir, "--no-progress")
    score(archive, "-o", files / "res.jsonl", "--overwrite", "--model", tiny_model_dir, "--no-progress")
    assert sorted(path.name for path in files.iterdir() if not path.name.startswith(".")) == [
        "res.articles.jsonl",
        "res.errors.jsonl",
        "res.jsonl",
        "res.summary.json",
    ]


def test_inputs_without_any_record_are_not_a_success(tmp_path: Path, tiny_model_dir: Path) -> None:
    archive = tmp_path / "empty.jsonl"
    archive.write_text("\n", encoding="utf-8")
    command = ["score", str(archive), "-o", str(tmp_path / "out"), "--model", str(tiny_model_dir), "--no-progress"]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1
    assert "no article was scored: the inputs hold no record to score\n" in result.output
    # a WARC without pages, here in a folder, says why its records did not count
    (tmp_path / "crawl").mkdir()
    (tmp_path / "crawl" / "crawl.warc").write_bytes(b"")
    command = ["score", str(tmp_path / "crawl"), "-o", str(tmp_path / "out2"), "--model", str(tiny_model_dir)]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1
    assert "hold no record to score (WARC records other than HTML pages are not articles)" in result.output


def test_progress_bar_is_shown_by_default_only_on_a_terminal(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "news.jsonl"
    archive.write_text(json.dumps({"id": "a", "text": TEXTS[0]}) + "\n", encoding="utf-8")
    seen: list[bool] = []

    def run_score(options: ScoreOptions, load: object) -> ScoreResult:
        seen.append(options.progress)
        return ScoreResult(summary_of(articles=1))

    monkeypatch.setattr("quoteframe.scoring.run_score", run_score)
    command = ["score", str(archive), "-o", str(tmp_path / "out"), "--model", str(tiny_model_dir)]
    for terminal in (False, True):
        monkeypatch.setattr("quoteframe.cli._stderr_is_terminal", lambda terminal=terminal: terminal)
        assert CliRunner().invoke(main, command).exit_code == 0
    for flag in ("--progress", "--no-progress"):
        assert CliRunner().invoke(main, [*command, flag]).exit_code == 0
    assert seen == [False, True, True, False]


def summary_of(**counts: object) -> dict:
    """A run summary as :func:`run_score` returns it in its result, with ``counts`` set."""
    return {
        "articles": 1,
        "sentences": 2,
        "errors": 0,
        "label_counts": dict.fromkeys(LABELS, 0),
        "label_shares": dict.fromkeys(LABELS, 0.0),
        "elapsed_s": 1.0,
        "articles_per_s": 1.0,
        "sentences_per_s": 2.0,
        "outputs": {},
        **counts,
    }


def test_summary_words_agree_with_their_counts() -> None:
    summary = summary_of(articles_without_id=1, repeated_article_ids=1, repeated_article_id_examples=["a"])
    printed = format_summary(summary)
    assert "ids: 1 article has no id; each is named by its file and position" in printed
    assert "ids: 1 article repeats an earlier article's id (first: 'a')" in printed
    left_out = format_summary(summary_of(files_left_out=7, files_left_out_examples=["in/a.html", "in/b.md"]))
    assert "left out: 7 files below the input folders with no archive suffix (first: 'in/a.html', 'in/b.md')" in (
        left_out
    )


def test_files_a_folder_holds_but_are_not_read_are_named_in_the_summary(tmp_path: Path, tiny_model_dir: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "page.html").write_text("<p>An article saved from a browser.</p>", encoding="utf-8")
    (folder / "gone.txt").symlink_to(tmp_path / "moved.txt")  # a link whose target was moved away
    out = tmp_path / "out"

    output = score(folder, "-o", out, "--model", tiny_model_dir, "--no-progress")

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert (summary["articles"], summary["errors"]) == (1, 1)
    assert (summary["files_left_out"], summary["files_left_out_examples"]) == (1, [str(folder / "page.html")])
    page = folder / "page.html"
    assert f"left out: 1 file below the input folders with no archive suffix (first: '{page}')" in output
    # The broken link is an error row that names it, not a silent gap.
    [error] = read_table(out / "errors.jsonl")
    assert error["file"] == str(folder / "gone.txt") and error["error"].startswith("file unreadable")
