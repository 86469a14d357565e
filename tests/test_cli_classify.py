"""``quoteframe classify``: JSON lines out, table on request, clear errors for bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from quoteframe import LABELS
from quoteframe.cli import main

ARTICLE = (
    "Council approves riverside housing plan\n\n"
    'The council voted 7-2 on Tuesday. "This is the largest investment in a generation," said the mayor.\n\n'
    "Opponents slammed the vote as a giveaway [to developers].\n"
)


def run(args: list[str], stdin: bytes | None = None):
    return CliRunner().invoke(main, args, input=stdin)


def test_json_lines_one_per_sentence(tiny_model_dir: Path, tmp_path: Path) -> None:
    article = tmp_path / "article.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    result = run(["classify", str(article), "--model", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["index"] for row in rows] == list(range(len(rows)))
    assert len(rows) == 4
    for row in rows:
        assert ARTICLE[row["start"] : row["end"]] == row["text"]
        assert row["label"] in LABELS
        assert set(row["probabilities"]) == set(LABELS)
        assert isinstance(row["inside_quote"], bool)
        assert row["flags"] == []


def test_stdin_and_table_format(tiny_model_dir: Path) -> None:
    result = run(["classify", "-", "--model", str(tiny_model_dir), "--format", "table"], ARTICLE.encode())
    assert result.exit_code == 0, result.output
    assert "sentence" in result.stdout
    assert "[to developers]" in result.stdout
    assert not result.stdout.lstrip().startswith("{")


@pytest.mark.parametrize("data", [b"  \n\n", "\u200b\n\n\u00ad\ufeff".encode()])
def test_empty_input_prints_nothing_and_succeeds(tiny_model_dir: Path, data: bytes) -> None:
    # Invisible characters alone are no text either, as score's "empty article" says.
    result = run(["classify", "-", "--model", str(tiny_model_dir)], data)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "nothing to classify" in result.stderr


def test_invalid_utf8_is_refused_with_the_byte_offset(tiny_model_dir: Path, tmp_path: Path) -> None:
    article = tmp_path / "latin1.txt"
    article.write_bytes("Price: £5 a ticket.".encode("latin-1"))
    result = run(["classify", str(article), "--model", str(tiny_model_dir)])
    assert result.exit_code == 1
    assert "latin1.txt: not valid UTF-8 at byte 7" in result.stderr
    # Counted in the file: a byte-order mark before the text moves the offset by its three bytes.
    article.write_bytes(b"\xef\xbb\xbf" + "Price: £5 a ticket.".encode("latin-1"))
    result = run(["classify", str(article), "--model", str(tiny_model_dir)])
    assert "latin1.txt: not valid UTF-8 at byte 10" in result.stderr


def test_utf16_with_a_byte_order_mark_is_read_and_a_binary_file_is_named_as_such(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    plain = tmp_path / "article.txt"
    plain.write_text(ARTICLE, encoding="utf-8")
    wide = tmp_path / "unicode.txt"
    wide.write_bytes(ARTICLE.encode("utf-16"))  # Notepad's "Unicode": UTF-16 LE after its byte-order mark
    binary = tmp_path / "program.txt"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00\xff")

    expected = run(["classify", str(plain), "--model", str(tiny_model_dir), "--format", "json"])
    got = run(["classify", str(wide), "--model", str(tiny_model_dir), "--format", "json"])
    refused = run(["classify", str(binary), "--model", str(tiny_model_dir)])

    assert got.exit_code == 0 and got.stdout == expected.stdout != ""
    assert refused.exit_code == 1
    assert "program.txt: not valid UTF-8 at byte 10 (invalid start byte); it holds NUL bytes" in refused.stderr
    assert "iconv" not in refused.stderr


def test_gzipped_article_is_read_as_its_text(tiny_model_dir: Path, tmp_path: Path) -> None:
    plain = tmp_path / "article.txt"
    plain.write_text(ARTICLE, encoding="utf-8")
    packed = tmp_path / "article.txt.gz"
    packed.write_bytes(gzip.compress(ARTICLE.encode()))
    cut = tmp_path / "cut.txt.gz"
    cut.write_bytes(gzip.compress(ARTICLE.encode())[:-12])

    expected = run(["classify", str(plain), "--model", str(tiny_model_dir), "--format", "json"])
    got = run(["classify", str(packed), "--model", str(tiny_model_dir), "--format", "json"])
    broken = run(["classify", str(cut), "--model", str(tiny_model_dir)])

    assert got.exit_code == 0 and got.stdout == expected.stdout != ""
    assert broken.exit_code == 1 and "cut.txt.gz: gzip data could not be read" in broken.stderr


def test_broken_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = run(["classify", "-", "--model", str(tmp_path)], ARTICLE.encode())
    assert result.exit_code == 1
    assert "manifest missing" in result.stderr
