"""Archive readers: every format yields its articles, and every bad record an error with file and position."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quoteframe.archives import (
    ESCAPE_HINT,
    REREAD_NOTE,
    UNCLOSED_QUOTE,
    ArchiveError,
    Article,
    Fields,
    InputFile,
    RecordError,
    detect_format,
    files_left_out,
    read_records,
    resolve_inputs,
)

ARTICLE = 'The council approved the plan on Monday. "We will build homes," the mayor said.'
ARTICLE_HTML = (
    "<html><head><title>Plan approved</title></head><body><article><h1>Plan approved</h1>"
    + "".join(
        f"<p>The council approved housing plan number {i} on Monday after a long debate. "
        f'"We will build homes for every family," the mayor said in a statement to reporters.</p>'
        for i in range(4)
    )
    + "</article></body></html>"
)


def records(path: Path, fields: Fields | None = None, skip: int = 0) -> list[Article | RecordError]:
    """Read one archive file the way a run does."""
    [source] = resolve_inputs([path])
    return list(read_records(source, fields or Fields(), skip))


def describe(record: Article | RecordError) -> tuple[str, str, int | None, str]:
    """(kind, unit, position, id or message) of a record, for compact assertions."""
    location = record.location
    if isinstance(record, Article):
        return ("article", location.unit, location.position, record.id)
    return ("error", location.unit, location.position, record.message)


def jsonl_bytes() -> bytes:
    lines = [
        json.dumps({"id": "a1", "text": ARTICLE}).encode(),
        b"",  # blank lines are layout, not records
        b'{"id": "broken", "text": ',
        json.dumps({"id": "no-text", "title": "x"}).encode(),
        json.dumps({"id": "blank", "text": "   "}).encode(),
        b'{"id": "latin1", "text": "caf\xe9"}',
        json.dumps(["not", "an", "object"]).encode(),
        json.dumps({"content": ARTICLE}).encode(),  # no id: falls back to file:line
    ]
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("name", ["news.jsonl", "news.jsonl.gz"])
def test_jsonl_articles_and_bad_lines(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    data = jsonl_bytes()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)

    got = [describe(record) for record in records(path)]

    assert got[0] == ("article", "line", 1, "a1")
    assert got[1][:3] == ("error", "line", 3) and "invalid JSON" in got[1][3]
    # The record's own fields are listed, as a CSV or Parquet file's columns are.
    assert got[2] == (
        "error",
        "line",
        4,
        "no text: field missing or null (text, content, body, article, maintext); its fields are 'id', 'title'",
    )
    assert got[3] == ("error", "line", 5, "empty article")
    assert got[4][:3] == ("error", "line", 6) and "invalid UTF-8" in got[4][3]
    assert got[5][:3] == ("error", "line", 7) and "not an object" in got[5][3]
    assert got[6] == ("article", "line", 8, f"{path}:8")
    assert len(got) == 7


@pytest.mark.parametrize(("name", "compressed"), [("plain.jsonl.gz", False), ("packed.jsonl", True)])
def test_gzip_is_told_by_its_first_bytes_not_the_name(tmp_path: Path, name: str, compressed: bool) -> None:
    # A .gz that was never compressed and a compressed file without .gz are both read, not lost.
    path = tmp_path / name
    data = json.dumps({"id": "a1", "text": ARTICLE}).encode() + b"\n"
    path.write_bytes(gzip.compress(data) if compressed else data)

    [article] = records(path)

    assert isinstance(article, Article)
    assert (article.id, article.text) == ("a1", ARTICLE)


def test_jsonl_selected_fields(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    path.write_text(json.dumps({"uid": 7, "key": "k1", "body": ARTICLE, "text": "other"}) + "\n", encoding="utf-8")

    [article] = records(path, Fields(text="body", id="key"))

    assert isinstance(article, Article)
    assert (article.id, article.text) == ("k1", ARTICLE)
    [wrong] = records(path, Fields(text="missing"))
    assert isinstance(wrong, RecordError) and "no text: field missing or null (missing)" in wrong.message


def test_truncated_gzip_becomes_an_error_after_the_good_lines(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    lines = b"".join(json.dumps({"id": f"a{i}", "text": ARTICLE}).encode() + b"\n" for i in range(200))
    path.write_bytes(gzip.compress(lines)[:-40])

    got = records(path)

    assert all(isinstance(record, Article) for record in got[:-1])
    assert isinstance(got[-1], RecordError) and "unreadable" in got[-1].message
    assert got[-1].location.position == len(got)


def test_csv_rows_multiline_wrong_columns_and_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "news.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([["id", "text"], ["c1", ARTICLE], ["c2", "First line.\nSecond line."], ["c3", "x", "extra"]])
    path.write_bytes(buffer.getvalue().encode() + b"c4,caf\xe9 text\n\nc5,\nc\xe96,Fine text.\n")

    got = [describe(record) for record in records(path)]

    assert got[0] == ("article", "row", 1, "c1")
    assert got[1] == ("article", "row", 2, "c2")
    assert got[2] == ("error", "row", 3, "row has 3 columns, header has 2")
    assert records(path)[2].id == "c3"  # the id column is there, so the row to fix is named
    # The bad byte is named by column, and the row keeps its id.
    assert got[3] == ("error", "row", 4, "invalid UTF-8 in column 'text' at character 3")
    assert records(path)[3].id == "c4"
    assert got[4] == ("error", "row", 5, "empty article")
    # A bad byte outside the text column costs the article nothing: the id is written escaped, as the
    # same byte is in a Parquet or JSONL id.
    assert got[5] == ("article", "row", 6, "c\\xe96")
    assert records(path)[1].text == "First line.\nSecond line."


def test_csv_without_text_column_is_one_file_error(tmp_path: Path) -> None:
    path = tmp_path / "news.csv"
    path.write_text("id,headline\n1,Plan approved\n", encoding="utf-8")

    [error] = records(path)

    assert isinstance(error, RecordError)
    assert (error.location.unit, error.location.position) == ("file", None)
    assert error.message == (
        "no text column (text or content or body or article or maintext) in header; "
        "its columns are 'id', 'headline' (see --text-field)"
    )


def test_unreadable_parquet_is_one_file_error(tmp_path: Path) -> None:
    path = tmp_path / "news.parquet"
    path.write_bytes(b"not parquet at all")

    [error] = records(path)

    assert describe(error)[:3] == ("error", "file", None)
    assert error.message.startswith("not a readable Parquet file")


def test_parquet_batches_nulls_and_id_fallback(tmp_path: Path) -> None:
    path = tmp_path / "news.parquet"
    table = pa.table({"text": [ARTICLE, None, "", ARTICLE] * 300, "id": ["p1", "p2", "p3", None] * 300})
    pq.write_table(table, path, row_group_size=250)

    got = records(path)

    assert len(got) == 1200
    assert describe(got[0]) == ("article", "row", 1, "p1")
    assert describe(got[1])[:3] == ("error", "row", 2) and "no text: field missing or null" in got[1].message
    assert describe(got[2]) == ("error", "row", 3, "empty article")
    assert describe(got[1199]) == ("article", "row", 1200, f"{path}:1200")


def test_parquet_selected_column_absent(tmp_path: Path) -> None:
    path = tmp_path / "news.parquet"
    pq.write_table(pa.table({"text": [ARTICLE]}), path)

    [error] = records(path, Fields(text="body"))

    assert isinstance(error, RecordError)
    assert "no text column (body) in Parquet schema; its columns are 'text'" in error.message


def test_folder_of_text_files(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "sub" / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "empty.txt").write_text("\n\n", encoding="utf-8")
    (folder / "bad.txt").write_bytes(b"caf\xe9")
    (folder / "notes.md").write_text("not an archive", encoding="utf-8")

    inputs = resolve_inputs([folder])
    got = [record for source in inputs for record in read_records(source, Fields())]

    assert [source.name for source in inputs] == [
        str(folder / name) for name in ("b.txt", "bad.txt", "empty.txt", "sub/a.txt")
    ]
    assert [type(record).__name__ for record in got] == ["Article", "RecordError", "RecordError", "Article"]
    assert "invalid UTF-8" in got[1].message and got[2].message == "empty article"
    assert got[3].id == str(folder / "sub" / "a.txt") and got[3].text == ARTICLE


def write_warc(path: Path) -> dict[str, int]:
    """A WARC with an article page, a request, an image, a page without article text; returns offsets."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    pages = [
        ("article", "response", "http://news.test/plan", "text/html; charset=utf-8", ARTICLE_HTML.encode()),
        ("request", "request", "http://news.test/plan", None, b""),
        ("image", "response", "http://news.test/logo.png", "image/png", b"\x89PNG"),
        (
            "empty",
            "response",
            "http://news.test/gallery",
            "text/html",
            b'<html><body><div><img src="a.png"></div></body></html>',
        ),
    ]
    offsets = {}
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=path.suffix == ".gz")
        for name, kind, uri, content_type, body in pages:
            offsets[name] = handle.tell()
            if kind == "request":
                headers = StatusAndHeaders("GET /plan HTTP/1.1", [("Host", "news.test")], is_http_request=True)
            else:
                headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
            record = writer.create_warc_record(uri, kind, payload=io.BytesIO(body), http_headers=headers)
            writer.write_record(record)
    return offsets


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz"])
def test_warc_html_responses_are_articles(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    offsets = write_warc(path)

    got = records(path)

    assert [describe(record)[:3] for record in got] == [
        ("article", "offset", offsets["article"]),
        ("error", "offset", offsets["empty"]),
    ]
    article, error = got
    assert article.id == "http://news.test/plan"
    assert "housing plan number 3" in article.text and "\n\n" in article.text
    assert error.message == "no article text in HTML page" and error.id == "http://news.test/gallery"


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("news.jsonl", lambda path: path.write_bytes(jsonl_bytes())),
        ("news.parquet", lambda path: pq.write_table(pa.table({"text": [ARTICLE, None, "x"] * 5}), path)),
        ("crawl.warc.gz", write_warc),
        ("news.csv", lambda path: path.write_bytes(UNCLOSED_CSV.replace(b"a0,Before.", b'a0,"ab"c\nx,"y\nz"'))),
    ],
)
def test_skip_continues_the_same_sequence(tmp_path: Path, name: str, write) -> None:
    path = tmp_path / name
    write(path)
    everything = records(path)

    for skip in range(len(everything) + 1):
        assert records(path, skip=skip) == everything[skip:]


def test_resolve_inputs_rejects_unknown_formats(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("x", encoding="utf-8")
    (tmp_path / "empty").mkdir()

    with pytest.raises(ArchiveError, match="unknown archive format"):
        resolve_inputs([tmp_path / "notes.md"])
    with pytest.raises(ArchiveError, match="no archive file"):
        resolve_inputs([tmp_path / "empty"])
    assert detect_format(Path("x.CSV.gz")) == "csv"
    assert resolve_inputs([tmp_path / "a.warc.gz"]) == [
        InputFile(tmp_path / "a.warc.gz", str(tmp_path / "a.warc.gz"), "warc")
    ]


def test_jsonl_records_beyond_the_parser_limits_and_invalid_unicode(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    lines = [
        b"\xef\xbb\xbf" + json.dumps({"id": "bom", "text": ARTICLE}).encode(),  # a byte-order mark is not text
        b'{"id": "deep", "text": "x", "meta": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"id": "huge", "text": "x", "n": ' + b"9" * 5_000 + b"}",
        b'{"id": "half-emoji", "text": "Cut here \\ud83d and on."}',
        b'{"id": "bad\\udc80id", "text": "' + ARTICLE.replace('"', '\\"').encode() + b'"}',
        json.dumps({"id": "last", "text": ARTICLE}).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")

    got = records(path)

    kinds = [describe(record)[:3] for record in got]
    assert kinds == [
        ("article", "line", 1),
        ("error", "line", 2),
        ("error", "line", 3),
        ("error", "line", 4),
        ("article", "line", 5),
        ("article", "line", 6),
    ]
    assert got[0].id == "bom" and got[0].text == ARTICLE
    assert "JSON could not be read" in got[1].message and "JSON could not be read" in got[2].message
    assert got[3].message == "invalid Unicode in text: unpaired surrogate at character 9"
    assert got[4].id == "bad\\udc80id"  # an id that cannot be written is escaped, not lost


def test_a_parser_failing_in_an_unforeseen_way_costs_one_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import quoteframe.archives as archives

    path = tmp_path / "news.jsonl"
    path.write_text("".join(json.dumps({"id": f"a{i}", "text": ARTICLE}) + "\n" for i in range(3)), encoding="utf-8")
    real = archives._mapping_article

    def flaky(record, location, fields):
        if record["id"] == "a1":
            raise KeyError("surprise")
        return real(record, location, fields)

    monkeypatch.setattr(archives, "_mapping_article", flaky)
    got = records(path)

    assert [describe(record)[:3] for record in got] == [
        ("article", "line", 1),
        ("error", "line", 2),
        ("article", "line", 3),
    ]
    assert got[1].message == "record could not be read: KeyError('surprise')"


def test_csv_byte_order_mark_unclosed_quote_and_text_after_a_quote(tmp_path: Path) -> None:
    path = tmp_path / "news.csv"
    body = f'id,text\nc1,"{ARTICLE.replace(chr(34), chr(34) * 2)}"\nc2,"quoted"then text\nc3,Plain row.\n'
    tail = 'c4,"Opening quote never closed.\nc5,Read again.\nc6,"Quoted, and closed."\n'
    path.write_bytes(b"\xef\xbb\xbf" + body.encode() + tail.encode())

    got = [describe(record) for record in records(path)]

    assert got[0] == ("article", "row", 1, "c1")  # the header's first name is "id", not "\ufeffid"
    assert got[1] == ("error", "row", 2, "malformed CSV row: ',' expected after '\"'" + ESCAPE_HINT)
    assert got[2] == ("article", "row", 3, "c3")
    # The quotation opened in c4 runs over the next lines to the next quotation mark, where it breaks.
    # Those lines may as well be paragraphs of c4's own article, so they are not read again as rows.
    assert got[3] == ("error", "row", 4, "malformed CSV row: ',' expected after '\"' (the row ran over 3 lines)")
    assert len(got) == 4
    # the id column comes before the text, where the quoting broke, so the error rows keep their ids
    assert [record.id for record in records(path)] == ["c1", "c2", "c3", "c4"]


#: No quotation mark after the one a1 opens, so it runs to the end of the file.
UNCLOSED_CSV = b'id,text\na0,Before.\na1,"Never closed.\na2,Row two.\n\na3,Row three.\n\n'


def test_csv_quote_never_closed_to_the_end_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "news.csv.gz"
    path.write_bytes(gzip.compress(UNCLOSED_CSV))

    got = [describe(record) for record in records(path)]

    assert got == [
        ("article", "row", 1, "a0"),
        ("error", "row", 2, "malformed CSV row: " + UNCLOSED_QUOTE + REREAD_NOTE),
        ("article", "row", 3, "a2"),
        ("article", "row", 4, "a3"),
    ]
    assert records(path)[1].id == "a1"
    assert records(path)[3].text == "Row three."


def test_csv_quote_running_past_the_field_limit_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import quoteframe.archives as archives

    path = tmp_path / "news.csv"
    path.write_bytes(b'id,text\na1,"Never closed.\n' + b"".join(b"a%d,Row %d.\n" % (i, i) for i in range(2, 40)))
    monkeypatch.setattr(archives, "CSV_FIELD_LIMIT", 100)

    got = [describe(record) for record in records(path)]

    assert got[0][:3] == ("error", "row", 1) and "field larger than field limit (100)" in got[0][3]
    assert got[0][3].endswith(REREAD_NOTE)
    assert got[1:] == [("article", "row", i, f"a{i}") for i in range(2, 40)]


def test_csv_cut_short_inside_an_unclosed_quote_keeps_the_rows_before_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "news.csv.gz"
    rows = b"".join(b"a%d,Row number %d of the file.\n" % (i, i) for i in range(2, 2000))
    path.write_bytes(gzip.compress(b'id,text\na1,"Never closed.\n' + rows)[:-30])

    got = records(path)

    assert describe(got[0])[:3] == ("error", "row", 1) and got[0].message.endswith(REREAD_NOTE)
    assert all(isinstance(record, Article) for record in got[1:-1]) and len(got) > 1900
    assert [record.id for record in got[1:4]] == ["a2", "a3", "a4"]
    assert describe(got[-1])[:3] == ("error", "row", len(got)) and "unreadable" in got[-1].message


@pytest.mark.parametrize("text_type", ["string", "large_string", "string_view", "dictionary"])
def test_parquet_invalid_utf8_cell_is_one_error(tmp_path: Path, text_type: str) -> None:
    path = tmp_path / "news.parquet"
    texts = [ARTICLE.encode()] * 1200
    texts[700] = b"caf\xe9 " + ARTICLE.encode()
    ids = [f"p{i}".encode() for i in range(1200)]
    ids[5] = b"id\xff"
    # Written from bytes without a UTF-8 check, as some writers leave text columns.
    text = pa.array(texts, pa.binary()).cast(pa.string(), safe=False)
    if text_type == "dictionary":
        text = text.dictionary_encode()
    elif text_type != "string":
        text = text.cast(getattr(pa, text_type)())
    pq.write_table(pa.table({"text": text, "id": pa.array(ids, pa.binary()).cast(pa.string(), safe=False)}), path)
    assert str(pq.read_schema(path).field("text").type).startswith(text_type.replace("dictionary", "dictionary<"))

    got = records(path)

    assert len(got) == 1200
    assert [index for index, record in enumerate(got) if isinstance(record, RecordError)] == [700]
    assert "invalid UTF-8 in text at byte 3" in got[700].message
    assert got[699].id == "p699" and got[701].text == ARTICLE
    assert got[5].id == "id\\xff"


def test_invisible_only_text_is_an_empty_article(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    path.write_text(json.dumps({"id": "zw", "text": "\u200b \u00ad\n\u200b"}) + "\n", encoding="utf-8")

    [error] = records(path)

    assert describe(error) == ("error", "line", 1, "empty article")


def test_a_missing_parser_module_stops_the_run_rather_than_failing_every_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    path = tmp_path / "crawl.warc"
    write_warc(path)
    monkeypatch.setitem(sys.modules, "trafilatura", None)

    with pytest.raises(ImportError):
        records(path)


def test_text_file_byte_order_mark_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbf" + ARTICLE.encode())

    [article] = records(path)

    assert article.text == ARTICLE


def test_warc_broken_after_a_page_reports_where_it_broke(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc"
    offsets = write_warc(path)
    end = path.stat().st_size
    with path.open("ab") as handle:
        handle.write(b"this is not a WARC record\r\n\r\n")

    got = records(path)

    assert describe(got[0])[:3] == ("article", "offset", offsets["article"])
    assert describe(got[-1])[:3] == ("error", "offset", end)
    assert "WARC unreadable at this offset" in got[-1].message


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz"])
def test_warc_broken_record_costs_only_itself(tmp_path: Path, name: str) -> None:
    # The request record between the article and the empty page is broken in place; the empty page
    # after it must still be read.
    path = tmp_path / name
    offsets = write_warc(path)
    data = bytearray(path.read_bytes())
    data[offsets["request"] : offsets["request"] + 12] = b"NOT A RECORD"
    path.write_bytes(bytes(data))

    got = records(path)

    assert [describe(record)[:3] for record in got] == [
        ("article", "offset", offsets["article"]),
        ("error", "offset", offsets["request"]),
        ("error", "offset", offsets["empty"]),
    ]
    assert got[1].message.startswith("WARC unreadable at this offset")
    assert got[2].message == "no article text in HTML page"
    assert records(path, skip=2) == got[2:]


@pytest.mark.parametrize(
    ("name", "keep", "message"),
    [
        # 30 bytes short, inside the last page's HTML (less the 4 of the record's closing blank line):
        # warcio would hand over the shorter page as if it were whole.
        ("crawl.warc", lambda size, last: size - 30, "WARC record cut off: 26 of its"),
        # 20 bytes into the last gzip member: warcio would stop without a word.
        ("crawl.warc.gz", lambda size, last: last + 20, "WARC cut off: the bytes from this offset hold no whole"),
        # Inside the last member's compressed data: gzip yields part of the record.
        ("crawl.warc.gz", lambda size, last: size - 30, "WARC record cut off"),
    ],
)
def test_warc_cut_off_in_a_record_reports_it(tmp_path: Path, name: str, keep, message: str) -> None:
    path = tmp_path / name
    offsets = write_warc(path)
    whole = path.read_bytes()
    path.write_bytes(whole[: keep(len(whole), offsets["empty"])])

    got = records(path)

    assert [describe(record)[:3] for record in got] == [
        ("article", "offset", offsets["article"]),
        ("error", "offset", offsets["empty"]),
    ]
    assert got[1].message.startswith(message)


PARAGRAPHS_HTML = (
    "<html><body><article>\n" + "\n".join(f"<p>{ARTICLE}</p>" for _ in range(3)) + "\n</article></body></html>"
)


def write_short_warc(path: Path, short_by: int, digests: bool) -> int:
    """Two pages; the first record's Content-Length is ``short_by`` bytes too short (and its digest
    headers gone unless ``digests``). Returns the second page's offset."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    members = []
    for uri in ("http://news.test/short", "http://news.test/whole"):
        buffer = io.BytesIO()
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        payload = io.BytesIO(PARAGRAPHS_HTML.encode())
        writer = WARCWriter(buffer, gzip=False)
        writer.write_record(writer.create_warc_record(uri, "response", payload=payload, http_headers=headers))
        members.append(buffer.getvalue())
    length = re.search(rb"Content-Length: (\d+)", members[0])
    members[0] = members[0].replace(length.group(0), b"Content-Length: %d" % (int(length.group(1)) - short_by), 1)
    if not digests:
        members[0] = re.sub(rb"WARC-(Block|Payload)-Digest: [^\r]*\r\n", b"", members[0])
    if path.suffix == ".gz":
        members = [gzip.compress(member) for member in members]
    path.write_bytes(b"".join(members))
    return len(members[0])


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz"])
@pytest.mark.parametrize(
    ("short_by", "digests", "message"),
    [
        # Cut inside the closing line, or right before a line break with several lines left over.
        (20, True, "WARC record does not match its digest, so its Content-Length is wrong"),
        (len("\n" + f"<p>{ARTICLE}</p>" + "\n</article></body></html>"), True, "WARC record does not match its digest"),
        # Without digests, the bytes that follow where the record says it ends give it away.
        (20, False, "WARC record longer than its Content-Length"),
        (len(f"{ARTICLE}</p>" + "\n</article></body></html>"), False, "WARC record longer than its Content-Length"),
    ],
)
def test_warc_record_longer_than_its_content_length_is_one_error(
    tmp_path: Path, name: str, short_by: int, digests: bool, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # warcio would pass the first page on cut short, and write the bytes left over to stderr.
    path = tmp_path / name
    second = write_short_warc(path, short_by, digests)

    got = records(path)

    assert [describe(record)[:3] for record in got] == [("error", "offset", 0), ("article", "offset", second)]
    assert got[0].message.startswith(message) and got[0].id == "http://news.test/short"
    assert capsys.readouterr().err == ""


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    for name in ("a.jsonl", "b.jsonl"):
        (folder / name).write_text(json.dumps({"text": ARTICLE}) + "\n", encoding="utf-8")

    inputs = resolve_inputs([folder / "b.jsonl", folder, folder / "b.jsonl"])

    assert [source.path for source in inputs] == [folder / "b.jsonl", folder / "a.jsonl"]


def test_jsonl_line_cut_short_is_reported_on_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    path.write_bytes(b'{"id":"t","text":"x"\n{"id":"u","text":"y"\r\n')

    got = [describe(record) for record in records(path)]

    # The column just past the end of the line, not "column 1" of a line 2 that is not there.
    assert got == [
        ("error", "line", 1, "invalid JSON: Expecting ',' delimiter (column 21)"),
        ("error", "line", 2, "invalid JSON: Expecting ',' delimiter (column 21)"),
    ]


def test_text_file_invalid_utf8_after_a_byte_order_mark_is_named_by_its_file_offset(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbfcaf\xe9")

    [error] = records(path)

    assert describe(error) == (
        "error",
        "file",
        None,
        "invalid UTF-8 in text at byte 6 of the file; convert it first, e.g. iconv -f latin1 -t utf-8",
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_text_file_in_utf16_or_utf32_is_read_by_its_byte_order_mark(tmp_path: Path, encoding: str) -> None:
    # Windows editors save "Unicode" text as UTF-16 with a byte-order mark.
    path = tmp_path / "a.txt"
    data = ARTICLE.encode(encoding)
    path.write_bytes(data if encoding != "utf-16-be" else b"\xfe\xff" + data)

    [article] = records(path)

    assert isinstance(article, Article) and article.text == ARTICLE


def test_utf16_file_cut_short_is_called_damaged_not_binary(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xff\xfeH\x00i\x00.\x00x")  # an odd number of bytes after the mark

    [error] = records(path)

    assert error.message == (
        "invalid UTF-16-LE in text at byte 8 of the file; the file is damaged or cut short "
        "(its byte-order mark says UTF-16-LE)"
    )


def test_binary_file_named_txt_is_not_sent_to_a_latin1_conversion(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe")

    [error] = records(path)

    assert error.message == (
        "invalid UTF-8 in text at byte 10 of the file; it holds NUL bytes: a binary file, "
        "or UTF-16 without a byte-order mark (save it as UTF-8)"
    )


def test_folder_keeps_a_broken_link_as_an_error_and_lists_the_files_it_leaves_out(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    (folder / "dir.txt").mkdir(parents=True)
    (folder / "dir.txt" / "inner.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "gone.txt").symlink_to(tmp_path / "moved.txt")
    (folder / "page.html").write_text("<p>x</p>", encoding="utf-8")

    inputs = resolve_inputs([folder])
    got = [describe(record) for source in inputs for record in read_records(source, Fields())]

    assert [source.name for source in inputs] == [str(folder / "dir.txt" / "inner.txt"), str(folder / "gone.txt")]
    assert got[0][0] == "article"
    assert got[1][:3] == ("error", "file", None) and got[1][3].startswith("file unreadable: [Errno 2]")
    assert files_left_out([folder, folder / "page.html"]) == [str(folder / "page.html")]
    (folder / "sub").mkdir()
    (folder / "sub" / "notes.md").write_text("notes", encoding="utf-8")
    # Below two of the folders named (one inside the other): counted once, as it would be read once.
    assert files_left_out([folder, folder / "sub"]) == [str(folder / "page.html"), str(folder / "sub" / "notes.md")]


def test_jsonl_line_of_invalid_utf8_keeps_its_id_and_ids_are_written_as_json(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    lines = [
        b'{"id": "bad-text", "text": "caf\xe9"}',
        b'{"id": "\xffid", "author": "\xe9", "text": "x"}',
        b'{"title": "\xe9", "text": "x"}',
        json.dumps({"id": True, "text": ARTICLE}).encode(),
        json.dumps({"id": {"site": "bbc", "n": 1}, "text": ARTICLE}).encode(),
        b'{"id": {"site": "b\xffc"}, "text": "x"}',
        b'{"id": NaN, "text": "A sentence."}',
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")

    got = records(path)

    assert [(record.location.position, record.id) for record in got] == [
        (1, "bad-text"),
        (2, "\\xffid"),  # escaped as a bad byte in an id is in every format
        (3, None),
        (4, "true"),  # JSON's notation, not Python's True
        (5, '{"site": "bbc", "n": 1}'),
        (6, '{"site": "b\\xffc"}'),  # a bad byte inside a mapping is escaped as anywhere else
        (7, "NaN"),
    ]
    assert all(isinstance(record, RecordError) for record in got[:3])
    assert got[0].message == "invalid UTF-8 at byte 31 of the line"


def test_csv_row_too_short_for_its_id_column_and_unreadable_header(tmp_path: Path) -> None:
    path = tmp_path / "news.csv"
    path.write_bytes(b"id,text\nc1\nc2,Fine text.,extra\n")

    got = records(path)

    assert [(describe(record), record.id) for record in got] == [
        (("error", "row", 1, "row has 1 columns, header has 2"), "c1"),
        (("error", "row", 2, "row has 3 columns, header has 2"), "c2"),
    ]
    # After the text column an unquoted comma shifts the columns: what sits at the id's place is text.
    path.write_bytes(b"text,id\nThe senator said yes, then no.,a1\n")
    [error] = records(path)
    assert (describe(error)[:3], error.id) == (("error", "row", 1), None)
    path.write_bytes(b'id,"te"xt",x\n1,Hi. Yes.,y\n')
    [error] = records(path)
    assert describe(error) == (
        "error",
        "file",
        None,
        "unreadable CSV header, so no row of the file can be read: ',' expected after '\"'" + ESCAPE_HINT,
    )


def test_parquet_corrupt_row_group_costs_only_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "news.parquet"
    table = pa.table({"id": [f"r{i + 1}" for i in range(1200)], "text": [ARTICLE] * 1200})
    pq.write_table(table, path, row_group_size=100, compression="none")
    column = pq.ParquetFile(path).metadata.row_group(5).column(1)  # the text of rows 501-600
    start = column.dictionary_page_offset or column.data_page_offset
    data = bytearray(path.read_bytes())
    data[start : start + column.total_compressed_size] = b"\xff" * column.total_compressed_size
    path.write_bytes(bytes(data))

    got = records(path)

    assert len(got) == 1101
    assert [describe(record)[:3] for record in got if isinstance(record, RecordError)] == [("error", "row", 501)]
    assert got[500].message.startswith("rows 501-600 (row group 6) unreadable: ")
    assert describe(got[499]) == ("article", "row", 500, "r500")
    assert describe(got[501]) == ("article", "row", 601, "r601")  # the file's row numbers go on
    assert describe(got[-1]) == ("article", "row", 1200, "r1200")
    assert records(path, skip=500) == got[500:]


def test_gzipped_parquet_is_refused_before_the_run(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    pq.write_table(pa.table({"text": [ARTICLE]}), folder / "a.parquet")
    (folder / "b.parquet.gz").write_bytes(gzip.compress((folder / "a.parquet").read_bytes()))

    with pytest.raises(ArchiveError, match=r"b\.parquet\.gz: a gzipped Parquet file cannot be read .* gunzip it"):
        resolve_inputs([folder / "b.parquet.gz"])
    with pytest.raises(ArchiveError, match=r"b\.parquet\.gz: a gzipped Parquet file"):
        resolve_inputs([folder])


def warc_bytes(pages: list[tuple[str, str, bytes, str | None]], gzipped: bool) -> tuple[bytes, list[int]]:
    """A WARC of ``(uri, content type, body, HTTP status)`` records (no status: a ``resource`` record
    without HTTP headers) and the offset where each record starts."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=gzipped)
    starts = []
    for uri, content_type, body, status in pages:
        starts.append(buffer.tell())
        if status is None:
            record = writer.create_warc_record(
                uri, "resource", payload=io.BytesIO(body), warc_content_type=content_type
            )
        else:
            headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
            record = writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=headers)
        writer.write_record(record)
    return buffer.getvalue(), starts


SHORT_HTML = f"<html><body><article><p>{ARTICLE}</p></article></body></html>".encode()
#: A page, a PDF and a page: what a cut anywhere in them must not hide.
PAGE_PDF_PAGE = [
    ("http://news.test/a1", "text/html", SHORT_HTML, "200 OK"),
    ("http://news.test/doc.pdf", "application/pdf", bytes(range(256)) * 4, "200 OK"),
    ("http://news.test/a2", "text/html", SHORT_HTML, "200 OK"),
]


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz"])
def test_warc_cut_anywhere_is_an_error_row_at_the_cut_record(tmp_path: Path, name: str) -> None:
    # Cut inside a record's header (a gzip member cut there once passed silently, or crashed warcio on
    # a header without WARC-Target-URI), inside a PDF (once skipped unread), or inside a page.
    path = tmp_path / name
    data, starts = warc_bytes(PAGE_PDF_PAGE, gzipped=name.endswith(".gz"))
    # What follows the content, and may go without losing any of it: the blank lines closing a plain
    # record, the end of the deflate stream and the gzip trailer of a member.
    closing = 11 if name.endswith(".gz") else 4
    ends = [*starts[1:], len(data)]
    cuts = [start + offset for start in starts for offset in (1, 20, 76, 150, 250)]
    cuts += range(1, len(data), 29)
    for cut in sorted(set(cuts)):
        start, end = next((start, end) for start, end in zip(starts, ends, strict=True) if start < cut <= end)
        if cut >= end - closing:
            continue
        path.write_bytes(data[:cut])

        got = records(path)

        assert isinstance(got[-1], RecordError) and got[-1].location.position == start, (cut, got[-1])
        assert [record.id for record in got[:-1] if isinstance(record, Article)] == [
            uri
            for (uri, content_type, _, _), begin in zip(PAGE_PDF_PAGE, starts, strict=True)
            if begin < start and content_type == "text/html"
        ]


def test_warc_gzip_cut_in_the_second_record_header_after_a_whole_first(tmp_path: Path) -> None:
    path = tmp_path / "two.warc.gz"
    data, starts = warc_bytes([PAGE_PDF_PAGE[0], PAGE_PDF_PAGE[2]], gzipped=True)
    path.write_bytes(data[: starts[1] + 76])

    got = records(path)

    assert [describe(record)[:3] for record in got] == [("article", "offset", 0), ("error", "offset", starts[1])]
    assert got[1].message.startswith("WARC record header cut off or invalid")


def test_warc_record_warcio_fails_on_costs_only_itself(tmp_path: Path) -> None:
    # warcio raises AttributeError on a response record without WARC-Target-URI.
    path = tmp_path / "crawl.warc"
    data, starts = warc_bytes(PAGE_PDF_PAGE, gzipped=False)
    second = data[starts[2] :]
    data = data[: starts[2]] + re.sub(rb"WARC-Target-URI: [^\r]*\r\n", b"", second) + second
    path.write_bytes(data)

    got = records(path)

    assert [describe(record)[:3] for record in got] == [
        ("article", "offset", 0),
        ("error", "offset", starts[2]),
        ("article", "offset", len(data) - len(second)),
    ]
    assert got[1].message.startswith(
        "WARC unreadable at this offset: its header is cut off or invalid, warcio failed on it with AttributeError("
    )
    assert records(path, skip=1) == got[1:]


@pytest.mark.parametrize("failure", [MemoryError, ImportError, AttributeError])
def test_warc_memory_missing_modules_and_bugs_of_ours_stop_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: type[Exception]
) -> None:
    import quoteframe.archives as archives

    path = tmp_path / "crawl.warc"
    path.write_bytes(warc_bytes(PAGE_PDF_PAGE, gzipped=False)[0])

    def fail(*args):
        raise failure("stop")

    # An AttributeError raised by our own handling of a record is a bug, not a broken record: it must not
    # turn into error rows (which, raised after the record was read, would also skip the next one).
    monkeypatch.setattr(archives, "_warc_entry", fail)
    with pytest.raises(failure):
        records(path)


def test_warc_garbage_in_an_error_message_is_shortened(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc"
    data, starts = warc_bytes(PAGE_PDF_PAGE, gzipped=False)
    path.write_bytes(data[: starts[1]] + bytes(range(14, 256)) * 3 + b"\r\n" + data[starts[1] :])

    got = records(path)

    [error] = [record for record in got if isinstance(record, RecordError)]
    assert error.location.position == starts[1]
    assert error.message.startswith("WARC unreadable at this offset: 'Invalid WARC record, first line: ")
    # The repr of the first 80 characters of the line, not its 700 raw bytes.
    assert error.message.isprintable() and re.search(r"' and \d+ more characters$", error.message)
    assert len(error.message) < 400


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz"])
def test_warc_http_error_and_redirect_pages_are_not_articles(tmp_path: Path, name: str) -> None:
    moved = b'<html><body><h1>Moved Permanently</h1><p>The document has moved <a href="/x">here</a>.</p></body></html>'
    pages = [
        ("http://news.test/moved", "text/html", moved, "301 Moved Permanently"),
        ("http://news.test/gone", "text/html", SHORT_HTML, "404 Not Found"),
        ("http://news.test/down", "text/html", SHORT_HTML, "503 Service Unavailable"),
        ("http://news.test/ok", "text/html", SHORT_HTML, "200 OK"),
        ("http://news.test/saved", "text/html", SHORT_HTML, None),
    ]
    path = tmp_path / name
    data, starts = warc_bytes(pages, gzipped=name.endswith(".gz"))
    path.write_bytes(data)

    got = records(path)

    assert [describe(record) for record in got[:3]] == [
        ("error", "offset", starts[0], "HTTP 301 response, not an article page"),
        ("error", "offset", starts[1], "HTTP 404 response, not an article page"),
        ("error", "offset", starts[2], "HTTP 503 response, not an article page"),
    ]
    assert [describe(record) for record in got[3:]] == [
        ("article", "offset", starts[3], "http://news.test/ok"),
        ("article", "offset", starts[4], "http://news.test/saved"),
    ]


QUOTE_PAGE = (
    "<html>{head}<body><article><p>\u201cWe will build it,\u201d said the mayor of the town on Tuesday.</p>"
    "<p>The caf\u00e9 owners disagreed with the council\u2019s plan.</p><p>A stray byte: X.</p></article></body></html>"
)


@pytest.mark.parametrize(
    ("content_type", "head"),
    [
        ("text/html; charset=utf-8", ""),
        ("text/html", '<head><meta charset="utf-8"></head>'),
        ("text/html", '<head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"></head>'),
        ("text/html", ""),
    ],
    ids=["http-charset", "meta-charset", "meta-http-equiv", "undeclared"],
)
def test_warc_utf8_page_with_a_stray_byte_keeps_its_characters(tmp_path: Path, content_type: str, head: str) -> None:
    """One invalid byte becomes U+FFFD; the page is not read in a code page that garbles its quotation marks."""
    body = QUOTE_PAGE.format(head=head).encode("utf-8").replace(b"X", b"\xff")
    path = tmp_path / "crawl.warc"
    path.write_bytes(warc_bytes([("http://news.test/a", content_type, body, "200 OK")], gzipped=False)[0])

    [article] = records(path)

    assert "\u201cWe will build it,\u201d said the mayor" in article.text
    assert "The caf\u00e9 owners disagreed with the council\u2019s plan." in article.text
    assert "A stray byte: \ufffd." in article.text


@pytest.mark.parametrize(
    ("content_type", "head", "stray"),
    [
        ("text/html; charset=iso-8859-1", "", b"x"),
        ("text/html; charset=base64", "", b"\xff"),
        ("text/html", '<head><meta charset="utf-16"></head>', b"\xff"),
    ],
    ids=["utf8-served-as-latin1", "not-a-text-encoding", "meta-utf16"],
)
def test_warc_misdeclared_utf8_page_is_read_as_utf8(tmp_path: Path, content_type: str, head: str, stray: bytes) -> None:
    """A wrong or unusable declaration does not garble a UTF-8 page, nor lose it."""
    body = QUOTE_PAGE.format(head=head).encode("utf-8").replace(b"X", stray)
    path = tmp_path / "crawl.warc"
    path.write_bytes(warc_bytes([("http://news.test/a", content_type, body, "200 OK")], gzipped=False)[0])

    [article] = records(path)

    assert "\u201cWe will build it,\u201d said the mayor" in article.text
    assert "The caf\u00e9 owners disagreed with the council\u2019s plan." in article.text


@pytest.mark.parametrize(
    "content_type", ["text/html; charset=windows-1252", "text/html"], ids=["declared", "undeclared"]
)
def test_warc_windows_1252_page_is_read_in_its_code_page(tmp_path: Path, content_type: str) -> None:
    body = QUOTE_PAGE.format(head="").replace("X", "x").encode("cp1252")
    path = tmp_path / "crawl.warc"
    path.write_bytes(warc_bytes([("http://news.test/a", content_type, body, "200 OK")], gzipped=False)[0])

    [article] = records(path)

    assert "\u201cWe will build it,\u201d said the mayor" in article.text
    assert "The caf\u00e9 owners disagreed" in article.text
