"""Corpus loaders on small files written in each corpus's own format."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from quoteframe.training.loaders import (
    align_sentences,
    load_babe,
    load_basil,
    load_bbc,
    load_gold,
    load_mbic,
    load_newssd,
    load_polnear,
    parse_brat,
    quote_kind,
)


def _basil(root: Path) -> None:
    (root / "articles" / "2012").mkdir(parents=True)
    (root / "annotations" / "2012").mkdir(parents=True)
    article = {
        "title": "Title",
        "body-paragraphs": [["Obama spoke on Monday.", "He made a fierce attack."], ["", '"We win," he said.']],
    }
    spans = [
        {"id": "p1", "start": 10, "end": 16, "txt": "fierce", "bias": "lex", "quote": "no"},
        {"id": "p3", "start": 1, "end": 7, "txt": "We win", "bias": "inf", "quote": "yes"},
    ]
    (root / "articles" / "2012" / "abc_1.json").write_text(json.dumps(article), encoding="utf-8")
    (root / "annotations" / "2012" / "abc_1_ann.json").write_text(
        json.dumps({"phrase-level-annotations": spans}), encoding="utf-8"
    )


def test_basil_ids_follow_flattened_paragraphs_and_spans_land_on_their_sentence(tmp_path: Path) -> None:
    _basil(tmp_path)
    (article,) = load_basil(tmp_path)
    assert article.article_id == "basil:2012/abc_1"
    # the empty sentence p2 is skipped but still counted, as in the gold ids
    assert article.sentence_ids == ["basil:2012/abc_1#p0", "basil:2012/abc_1#p1", "basil:2012/abc_1#p3"]
    assert article.paragraph_starts == [True, False, True]
    assert article.tags[1]["basil_spans"][0]["txt"] == "fierce"
    assert article.tags[0]["basil_spans"] == []
    assert article.tags[2]["basil_spans"][0]["quote"] == "yes"


def test_basil_bad_file_is_reported_and_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _basil(tmp_path)
    (tmp_path / "articles" / "2012" / "bad_1.json").write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        articles = load_basil(tmp_path)
    assert [a.article_id for a in articles] == ["basil:2012/abc_1"]
    assert "bad_1.json" in caplog.text


def test_babe_rows_keep_labels_and_biased_words(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    csv_text = (
        "\ufefftext;news_link;outlet;topic;type;label_bias;label_opinion;biased_words\n"
        '"""We win,"" he said. ";l;Fox;t;right;Non-biased;Entirely factual;[]\n'
        "Radical leftists pushed the bill.;l;X;t;;Biased;Expresses writer’s opinion;['Radical', 'leftists']\n"
    )
    (tmp_path / "data" / "final_labels_SG2.csv").write_text(csv_text, encoding="utf-8")
    first, second = load_babe(tmp_path)
    assert first.article_id == "babe:SG2#0" and first.sentences == ['"We win," he said.']
    assert first.source == "l"
    assert second.sentence_ids == ["babe:SG2#1"]
    assert second.tags[0] == {
        "babe_bias": "Biased",
        "babe_opinion": "Expresses writer’s opinion",
        "babe_words": ["Radical", "leftists"],
    }


def test_newssd_strips_the_trailing_newline_and_skips_unknown_labels(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "english"
    folder.mkdir(parents=True)
    (folder / "val.csv").write_text(
        'Sentence,Label,Solved conflict\n"It rained.\n",OBJ,False\n"What a farce.\n",SUBJ,True\n"x",MAYBE,False\n',
        encoding="utf-8",
    )
    rows = load_newssd(tmp_path, "val")
    assert [a.sentences[0] for a in rows] == ["It rained.", "What a farce."]
    assert [a.article_id for a in rows] == ["newssd:val#0", "newssd:val#1"]
    assert rows[1].tags[0] == {"newssd_label": "SUBJ", "newssd_conflict": True}


def test_bbc_drops_duplicates_keeping_the_gold_copy_and_reads_latin1(tmp_path: Path) -> None:
    folder = tmp_path / "bbc" / "sport"
    folder.mkdir(parents=True)
    text = 'Team wins cup\n\nThe team won. "We are happy," the coach said.\n'
    (folder / "001.txt").write_text(text, encoding="utf-8")
    (folder / "002.txt").write_text(text, encoding="utf-8")
    (folder / "003.txt").write_bytes("Prices rise\n\nTickets cost \xa35 more.\n".encode("latin-1"))
    gold = {"bbc:sport/002": ["Team wins cup", "The team won.", '"We are happy," the coach said.']}
    articles = {a.article_id: a for a in load_bbc(tmp_path, gold)}
    assert sorted(articles) == ["bbc:sport/002", "bbc:sport/003"]
    assert articles["bbc:sport/002"].sentence_ids[2] == "bbc:sport/002#2"
    assert articles["bbc:sport/002"].paragraph_starts == [True, True, False]
    assert "£5" in articles["bbc:sport/003"].sentences[1]


def _mbic(root: Path, articles: list[str | None], links: bool = True) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["text", "news_link", "outlet", "article"] if links else ["text", "outlet", "article"])
    for row, article in enumerate(articles):
        link = [f"https://example.com/{row}"] if links else []
        sheet.append(["a sentence", *link, "reuters", article])
    (root / "data").mkdir(parents=True)
    book.save(root / "data" / "final_labels_MBIC.xlsx")


def test_mbic_reads_each_article_once_lines_as_paragraphs_and_skips_truncated_texts(tmp_path: Path) -> None:
    story = 'Senate passes bill\nThe Senate passed the bill. "It is a win," she said.\nVoters were split.'
    truncated = "Long story. " * 2730 + "Cut off mid-sen"
    _mbic(tmp_path, [None, story, story, truncated[:32767], "Other story\nIt rained."])
    articles = {a.article_id: a for a in load_mbic(tmp_path)}
    # ids are the data row of a text's first occurrence; the repeat and the cut-off text are not articles
    assert sorted(articles) == ["mbic:1", "mbic:4"]
    story_article = articles["mbic:1"]
    assert story_article.sentences == [
        "Senate passes bill",
        "The Senate passed the bill.",
        '"It is a win," she said.',
        "Voters were split.",
    ]
    assert story_article.paragraph_starts == [True, True, False, True]
    assert story_article.sentence_ids[3] == "mbic:1#3"
    assert story_article.source == "https://example.com/1"  # the page of the text's first row
    assert [a.article_id for a in load_mbic(tmp_path, only={"mbic:4"})] == ["mbic:4"]


def test_mbic_without_page_links_still_loads_its_articles(tmp_path: Path) -> None:
    _mbic(tmp_path, ["Other story\nIt rained."], links=False)
    (article,) = load_mbic(tmp_path)
    assert article.sentences == ["Other story", "It rained."] and article.source == ""


def test_mbic_reports_a_corrupt_workbook_and_loads_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("openpyxl")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "final_labels_MBIC.xlsx").write_bytes(b"not a zip file")
    with caplog.at_level(logging.ERROR):
        assert load_mbic(tmp_path) == []
    assert "final_labels_MBIC.xlsx" in caplog.text


POLNEAR_TEXT = (
    "Trump rallies in Ohio\n\n"
    'Trump said, "We will win in November.\n\n"We will win big." Clinton insisted the polls were wrong.\n\n'
    "Aides told reporters the event was full.\n"
)


def _span(text: str, piece: str) -> tuple[int, int]:
    start = text.index(piece)
    return start, start + len(piece)


def _polnear(root: Path) -> None:
    for sub in ("text", "attributions"):
        (root / "data" / "train" / sub).mkdir(parents=True)
    stem = "nyt_2016-01-01_rally"
    (root / "data" / "train" / "text" / f"{stem}.txt").write_text(POLNEAR_TEXT, encoding="utf-8")
    quote = _span(POLNEAR_TEXT, '"We will win in November.\n\n"We will win big."')
    cue1 = _span(POLNEAR_TEXT, "said")
    cue2 = _span(POLNEAR_TEXT, "insisted")
    content2 = _span(POLNEAR_TEXT, "the polls were wrong")
    ann = "\n".join(
        [
            "E1\tAttribution:T4 Cue:T2 Content:T3",  # E before its T lines
            f"T2\tCue {cue1[0]} {cue1[1]}\tsaid",
            f'T3\tContent {quote[0]} {quote[1]}\t"We will win in November.',
            "",  # the span text holds a blank line: continuation lines follow
            'E and T at a line start: We will win big."',
            f"T4\tAttribution {cue1[0]} {cue1[1]}\tsaid",
            f"T5\tCue {cue2[0]} {cue2[1]}\tinsisted",
            f"T6\tContent {content2[0]} {content2[1]}\tthe polls were wrong",
            "E2\tAttribution:T5 Cue:T5 Content:T6",
            "#1\tAnnotatorNotes T2\tnote",
        ]
    )
    (root / "data" / "train" / "attributions" / f"{stem}_ab12.ann").write_text(ann, encoding="utf-8")
    (root / "data" / "train" / "attributions" / f"{stem}_cd34.ann").write_text("", encoding="utf-8")


def test_brat_parsing_classifies_quoted_and_indirect_content(tmp_path: Path) -> None:
    _polnear(tmp_path)
    ann = (tmp_path / "data" / "train" / "attributions" / "nyt_2016-01-01_rally_ab12.ann").read_text()
    relations = parse_brat(ann, POLNEAR_TEXT)
    assert [(r.cue, r.kind) for r in relations] == [("said", "direct"), ("insisted", "indirect")]


def test_quote_kind_direct_mixed_indirect() -> None:
    text = 'He said "it works." She said it was "mostly" fine. They said it failed.'
    assert quote_kind(text, *_span(text, '"it works."')) == "direct"
    assert quote_kind(text, *_span(text, "it works")) == "direct"  # marks right outside the span
    assert quote_kind(text, *_span(text, 'it was "mostly" fine')) == "mixed"
    assert quote_kind(text, *_span(text, "it failed")) == "indirect"


def test_polnear_tags_every_sentence_a_quote_covers(tmp_path: Path) -> None:
    _polnear(tmp_path)
    (article,) = load_polnear(tmp_path, "train")
    assert article.article_id == "polnear:nyt_2016-01-01_rally"
    by_text = dict(zip(article.sentences, article.tags, strict=True))
    assert by_text['Trump said, "We will win in November.']["polnear_share"]["direct"] > 0.3
    assert by_text['"We will win big."']["polnear_share"]["direct"] == 1.0
    insisted = by_text["Clinton insisted the polls were wrong."]
    assert insisted["polnear_cues"] == [{"cue": "insisted", "kind": "indirect"}]
    assert insisted["polnear_share"]["direct"] == 0.0
    assert by_text["Aides told reporters the event was full."]["polnear_cues"] == []


def test_polnear_gold_articles_keep_the_gold_sentence_cut(tmp_path: Path) -> None:
    _polnear(tmp_path)
    gold_cut = [
        "Trump rallies in Ohio",
        'Trump said, "We will win in November.',
        '"We will win big." Clinton insisted the polls were wrong.',
        "Aides told reporters the event was full.",
    ]
    (article,) = load_polnear(tmp_path, "train", {"polnear:nyt_2016-01-01_rally": gold_cut})
    assert article.sentences == gold_cut
    assert article.sentence_ids[1] == "polnear:nyt_2016-01-01_rally#1"
    assert article.paragraph_starts == [True, True, True, True]
    assert load_polnear(tmp_path, "train", only=set()) == []


def test_align_sentences_reports_a_sentence_missing_from_the_text() -> None:
    assert align_sentences("A b. C d.", ["A b.", "C d."]) == [(0, 4), (5, 9)]
    with pytest.raises(ValueError, match="not found"):
        align_sentences("A b. C d.", ["A b.", "E f."])


def test_gold_loader_skips_malformed_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "train.jsonl"
    good = {"id": "x#0", "article": "x", "text": "A.", "label": "direct_quote", "framing": "loaded", "readers": 2}
    bad_label = {"id": "x#1", "article": "x", "text": "B.", "label": "opinion"}
    bad_readers = {"id": "x#2", "article": "x", "text": "C.", "label": "neutral_paraphrase", "readers": 0}
    once = {"id": "x#3", "article": "x", "text": "D.", "label": "neutral_paraphrase"}
    lines = [json.dumps(good), "{oops", json.dumps(bad_label), json.dumps(bad_readers), json.dumps(once)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        rows = load_gold(path)
    assert [(r.id, r.framing, r.corpus, r.readers) for r in rows] == [
        ("x#0", "loaded", "polnear", 2),
        ("x#3", "", "polnear", 1),
    ]
    assert "line 2" in caplog.text and "line 3" in caplog.text
    assert "line 4: readers 0 is not a count of 1 or more" in caplog.text


def test_gold_loader_names_a_missing_field(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "dev.jsonl"
    path.write_text(json.dumps({"id": "a#0", "text": "Hi.", "label": "direct_quote"}) + "\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        assert load_gold(path) == []
    assert f"skipped {path} line 1: missing field 'article'" in caplog.text
