"""Dataset assembly: dedup, the article-level split, and ``data build`` end to end on a fake corpora tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from quoteframe.cli import main
from quoteframe.training.dataset import (
    BuildConfig,
    build,
    deduplicate,
    normalise,
    replace_between_markers,
    source_key,
    split_by_article,
)


def row(text: str, article: str, quality: str = "hand", label: str = "neutral_paraphrase", corpus: str = "x") -> dict:
    return {"text": text, "article_id": article, "label_quality": quality, "label": label, "corpus": corpus}


def test_normalise_ignores_case_space_punctuation_and_accents() -> None:
    assert normalise("  “Café” prices ROSE,\n 4%! ") == normalise('"cafe" prices rose 4')


def test_dedup_prefers_the_hand_copy_and_blocks_dev_sentences() -> None:
    rows = [
        row("The bill passed.", "weak-1", "rule", "direct_quote"),
        row("the bill passed", "gold-1", "hand"),
        row("Prices rose!", "weak-2", "corpus"),
        row("Prices   rose.", "weak-3", "rule"),
        row("A dev sentence.", "weak-4", "corpus"),
        row("...", "weak-5", "rule"),
        row("”", "gold-2", "hand", "direct_quote"),
        row("”", "gold-3", "hand", "direct_quote"),
    ]
    kept, dropped = deduplicate(rows, blocked={normalise("a dev sentence")})
    assert [r["article_id"] for r in kept] == ["gold-1", "weak-2", "gold-2", "gold-3"]
    assert dropped == {"duplicate (rule)": 2, "dev gold": 1, "empty (weak)": 1}


def test_split_is_by_article_seeded_and_stable_when_articles_are_added() -> None:
    rows = [row(f"s{a}-{k}", f"{c}{a}", corpus=c) for c in ("p", "q") for a in range(50) for k in range(3)]
    train, heldout = split_by_article(rows, 0.1, seed=7)
    train_articles = {r["article_id"] for r in train}
    heldout_articles = {r["article_id"] for r in heldout}
    assert not train_articles & heldout_articles
    assert 4 <= len(heldout_articles) <= 18
    assert len(heldout) == 3 * len(heldout_articles)  # whole articles move together
    assert split_by_article(rows, 0.1, seed=7) == (train, heldout)
    assert split_by_article(rows, 0.1, seed=8)[1] != heldout
    more = rows + [row(f"n{a}", f"p{a}", corpus="p") for a in range(50, 90)]
    _, heldout_more = split_by_article(more, 0.1, seed=7)
    assert {r["article_id"] for r in heldout_more} & train_articles == set()
    assert heldout_articles <= {r["article_id"] for r in heldout_more}
    with pytest.raises(ValueError):
        split_by_article(rows, 1.0, seed=7)


def test_split_keeps_the_rows_of_one_news_page_together() -> None:
    # Forty single-sentence articles from four pages: BABE's sentences of one MBIC page, and the page itself.
    rows = [row(f"s{i}", f"babe:{i}", corpus="babe") for i in range(40)] + [
        row(f"m{p}", f"mbic:{p}", corpus="mbic") for p in range(4)
    ]
    links = ["https://www.example.com/a/", "http://example.com/b", "https://EXAMPLE.com/c?x=1", "https://e.org/d"]
    groups = {f"babe:{i}": source_key(links[i % 4]) for i in range(40)}
    groups |= {f"mbic:{p}": source_key(links[p]) for p in range(4)}
    assert groups["babe:0"] == source_key("http://example.com/a") == "page:example.com/a"
    assert source_key("") == ""
    loose = [row(f"x{i}", f"babe:x{i}", corpus="babe") for i in range(40)]  # no page: drawn by id
    sizes, pages_held = set(), set()
    for seed in range(20):
        train, heldout = split_by_article(rows + loose, 0.3, seed=seed, groups=groups)
        held_pages = {groups[r["article_id"]] for r in heldout if r["article_id"] in groups}
        assert not held_pages & {groups.get(r["article_id"]) for r in train}
        paged = [r for r in heldout if r["article_id"] in groups]
        assert len(paged) == 11 * len(held_pages)  # whole pages: ten sentences and the article each
        sizes.add(len(heldout) - len(paged))
        pages_held.add(len(held_pages))
        # the page rows' sides are those of the page keys alone, with or without the loose rows
        assert paged == split_by_article(rows, 0.3, seed=seed, groups=groups)[1]
    assert min(sizes) > 0 and max(sizes) < 40  # loose rows are drawn one by one
    assert max(pages_held) > 0


def test_replace_between_markers_rewrites_only_its_block(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text("intro\n<!-- card:start -->\nold\n<!-- card:end -->\noutro\n", encoding="utf-8")
    replace_between_markers(path, "card", "new")
    replace_between_markers(path, "card", "newer")
    assert path.read_text(encoding="utf-8") == "intro\n<!-- card:start -->\nnewer\n<!-- card:end -->\noutro\n"
    replace_between_markers(path, "other", "x")
    assert path.read_text(encoding="utf-8").endswith("<!-- other:start -->\nx\n<!-- other:end -->\n")


# ----------------------------------------------------------------------------------------------
# A tiny corpora tree in every format, and gold files pointing into it


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _gold(article: str, sentences: list[tuple[str, str]], ids: list[str] | None = None) -> list[dict]:
    ids = ids or [f"{article}#{k}" for k in range(len(sentences))]
    return [
        {"id": i, "article": article, "text": text, "label": label}
        for i, (text, label) in zip(ids, sentences, strict=True)
    ]


def make_tree(root: Path) -> tuple[Path, Path]:
    """Corpora and gold folders: one hand-labelled and one weak article or row per corpus."""
    corpora, gold = root / "corpora", root / "gold"
    basil_articles = {
        "g_1": [["Obama spoke on Monday.", '"We will act," he said.'], ["Critics complained loudly."]],
        "w_1": [["The senate met on Tuesday.", '"This is a good day for the country," she said.']],
    }
    for stem, paragraphs in basil_articles.items():
        _write(corpora / "basil" / "articles" / "2014" / f"{stem}.json", json.dumps({"body-paragraphs": paragraphs}))
        _write(
            corpora / "basil" / "annotations" / "2014" / f"{stem}_ann.json",
            json.dumps({"phrase-level-annotations": []}),
        )
    _write(
        corpora / "babe" / "data" / "final_labels_SG2.csv",
        "text;news_link;outlet;topic;type;label_bias;label_opinion;biased_words\n"
        "Radical leftists pushed the bill.;l;X;t;;Biased;Expresses writer’s opinion;['Radical']\n"
        "The council voted on Monday.;l;X;t;;Non-biased;Entirely factual;[]\n"
        "Radical leftists pushed the bill!;l;X;t;;Biased;Expresses writer’s opinion;['Radical']\n"
        "The dev sentence repeats here.;l;X;t;;Non-biased;Entirely factual;[]\n",
    )
    polnear_text = 'NAME rallies\n\n"We will win big," NAME said.\n\nNAME insisted the polls were wrong.\n'
    for stem in ("nyt_2016-01-01_gold", "nyt_2016-01-02_weak", "nyt_2016-01-03_dev"):
        text = polnear_text.replace("NAME", stem[-4:])
        _write(corpora / "polnear" / "data" / "train" / "text" / f"{stem}.txt", text)
        cue = text.index("insisted")
        content = text.index("the polls")
        _write(
            corpora / "polnear" / "data" / "train" / "attributions" / f"{stem}_ab12.ann",
            f"T1\tCue {cue} {cue + 8}\tinsisted\nT2\tContent {content} {content + 20}\tthe polls were wrong\n"
            "E1\tAttribution:T1 Cue:T1 Content:T2\n",
        )
    _write(
        corpora / "newssd_eng" / "data" / "english" / "train.csv",
        'Sentence,Label,Solved conflict\n"It rained all day.\n",OBJ,False\n',
    )
    _write(corpora / "newssd_eng" / "data" / "english" / "val.csv", "Sentence,Label,Solved conflict\n")
    _write(corpora / "bbc_news" / "bbc" / "sport" / "001.txt", "Team wins\n\nThe team won the cup.\n")

    train = (
        _gold(
            "basil:2014/g_1",
            [
                ("Obama spoke on Monday.", "neutral_paraphrase"),
                ('"We will act," he said.', "direct_quote"),
                ("Critics complained loudly.", "loaded_paraphrase"),
            ],
            ["basil:2014/g_1#p0", "basil:2014/g_1#p1", "basil:2014/g_1#p2"],
        )
        + _gold("babe:SG2#1", [("The council voted on Monday.", "neutral_paraphrase")])
        + _gold(
            "polnear:nyt_2016-01-01_gold",
            [
                ("gold rallies", "neutral_paraphrase"),
                ('"We will win big," gold said.', "direct_quote"),
                ("gold insisted the polls were wrong.", "loaded_paraphrase"),
            ],
        )
        + _gold("polnear:nyt_2016-01-03_dev", [("_dev rallies", "neutral_paraphrase")])
        + _gold("newssd:train#0", [("It rained all day.", "neutral_paraphrase")])
        + _gold("bbc:sport/001", [("Team wins", "neutral_paraphrase"), ("The team won the cup.", "neutral_paraphrase")])
    )
    dev = _gold(
        "nyt_2016-01-03_dev",
        [("_dev rallies", "neutral_paraphrase"), ("The dev sentence repeats here.", "neutral_paraphrase")],
    )
    _write(gold / "train.jsonl", "".join(json.dumps(r) + "\n" for r in train))
    _write(gold / "dev.jsonl", "".join(json.dumps(r) + "\n" for r in dev))
    return corpora, gold


def test_build_end_to_end_on_a_fake_tree(tmp_path: Path) -> None:
    from datasets import load_from_disk

    corpora, gold = make_tree(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text("# Data\n<!-- data-card:start -->\nstale card\n<!-- data-card:end -->\n", encoding="utf-8")
    config = BuildConfig(corpora_root=corpora, gold_dir=gold, heldout_fraction=0.0, progress=False)
    card, text = build(config, tmp_path / "ds", readme)
    dataset = load_from_disk(str(tmp_path / "ds"))
    assert list(dataset) == ["train"]  # nothing held out, so no empty split is written
    rows = dataset["train"].to_list()
    by_id = {r["sentence_id"]: r for r in rows}

    # hand rows keep their labels, context and evidence columns
    assert by_id["basil:2014/g_1#p1"]["label_quality"] == "hand"
    assert by_id["basil:2014/g_1#p1"]["previous"] == "Obama spoke on Monday."
    assert by_id["basil:2014/g_1#p0"]["previous"] == ""
    assert by_id["basil:2014/g_1#p1"]["readers"] == 1  # the gold row carries no readers: labelled once
    assert by_id["polnear:nyt_2016-01-02_weak#2"]["readers"] == 0  # a weak label rests on no reading
    # weak rows come from articles the gold file does not hold, through used rules only
    assert by_id["basil:2014/w_1#p1"]["label"] == "direct_quote"
    assert by_id["basil:2014/w_1#p1"]["source"] == "basil.quote"
    assert by_id["polnear:nyt_2016-01-02_weak#2"]["label"] == "loaded_paraphrase"
    assert by_id["polnear:nyt_2016-01-02_weak#2"]["label_quality"] == "corpus"
    assert "polnear:nyt_2016-01-02_weak#0" not in by_id  # polnear.plain is not used
    # dev-gold articles and sentences are nowhere; the BABE near-duplicate is gone
    assert not any("_dev" in r["article_id"] for r in rows)
    assert not any(r["text"] == "The dev sentence repeats here." for r in rows)
    assert [r["text"] for r in rows].count("Radical leftists pushed the bill.") == 1
    assert sum(r["text"].startswith("Radical leftists") for r in rows) == 1
    # card: printed, saved next to the dataset, and written between the README markers
    assert card["rows"]["train"] == len(rows)
    assert card["readers"]["train"] == {"1": sum(r["label_quality"] == "hand" for r in rows)}
    saved = json.loads((tmp_path / "ds" / "data_card.json").read_text(encoding="utf-8"))
    assert saved["counts"]["train"]["basil"]["hand"]["direct_quote"] == 1
    assert saved["rules"] and "| train | basil | hand | 1 | 1 | 1 | 3 |" in text
    readme_text = readme.read_text(encoding="utf-8")
    assert "stale card" not in readme_text and "| train | basil | hand |" in readme_text


def test_no_weak_build_holds_hand_rows_only(tmp_path: Path) -> None:
    from datasets import load_from_disk

    corpora, gold = make_tree(tmp_path)
    config = BuildConfig(corpora_root=corpora, gold_dir=gold, weak=False, heldout_fraction=0.0, progress=False)
    card, _ = build(config, tmp_path / "ds")
    train = load_from_disk(str(tmp_path / "ds"))["train"]
    assert set(train["label_quality"]) == {"hand"} and set(train["source"]) == {"gold"}
    assert len(train) == 10  # 11 gold train rows minus the dev article's row
    assert card["settings"]["weak_corpora"] == []
    assert set(train.column_names) >= {
        "text",
        "label",
        "corpus",
        "article_id",
        "label_quality",
        "readers",
        "source",
        "previous",
        "inside_quote",
    }


def test_heldout_rows_take_servings_quotation_state_and_train_rows_the_shipped_models(tmp_path: Path) -> None:
    from datasets import load_from_disk

    corpora, gold = make_tree(tmp_path)
    _write(
        corpora / "bbc_news" / "bbc" / "sport" / "002.txt",
        "Coach speaks\n\nThe coach said:\n\nWe played well. We will win.\n\nThe team left.\n",
    )
    rows = _gold(
        "bbc:sport/002",
        [
            ("Coach speaks", "neutral_paraphrase"),
            ("The coach said:", "neutral_paraphrase"),
            ("We played well.", "direct_quote"),
            ("We will win.", "direct_quote"),
            ("The team left.", "neutral_paraphrase"),
        ],
    )
    with (gold / "train.jsonl").open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r | {"readers": 2}) + "\n" for r in rows)
    flags = {}
    for split, fraction in (("train", 0.0), ("heldout", 0.999999)):
        config = BuildConfig(corpora_root=corpora, gold_dir=gold, weak=False, heldout_fraction=fraction, progress=False)
        build(config, tmp_path / split)
        built = load_from_disk(str(tmp_path / split))[split]
        flags[split] = [
            flag
            for flag, article in zip(built["inside_quote"], built["article_id"], strict=True)
            if article == "bbc:sport/002"
        ]
        assert {n for n, a in zip(built["readers"], built["article_id"], strict=True) if a == "bbc:sport/002"} == {2}
    # The block after the lead-in is open for serving (held out), not in the tracking the model was trained on.
    assert flags == {"train": [False] * 5, "heldout": [False, False, True, True, False]}


def _cli_build(tmp_path: Path, corpora: Path, gold: Path) -> Result:
    return CliRunner().invoke(
        main,
        [
            "data",
            "build",
            "--corpora-root",
            str(corpora),
            "--gold-dir",
            str(gold),
            "--out",
            str(tmp_path / "ds"),
            "--readme",
            str(tmp_path / "README.md"),
            "--no-progress",
        ],
    )


def test_cli_build_reports_a_missing_gold_file(tmp_path: Path) -> None:
    missing_folder = _cli_build(tmp_path, tmp_path, tmp_path / "nowhere")
    assert missing_folder.exit_code != 0
    assert "'--gold-dir'" in missing_folder.output and "does not exist" in missing_folder.output
    (tmp_path / "gold").mkdir()
    missing_file = _cli_build(tmp_path, tmp_path, tmp_path / "gold")
    assert missing_file.exit_code != 0
    assert "train.jsonl" in missing_file.output
    assert not (tmp_path / "ds").exists()


def test_cli_build_refuses_a_missing_corpora_root(tmp_path: Path) -> None:
    _, gold = make_tree(tmp_path)
    result = _cli_build(tmp_path, tmp_path / "nowhere", gold)
    assert result.exit_code != 0
    assert "'--corpora-root'" in result.output and "does not exist" in result.output
    assert not (tmp_path / "ds").exists()


def test_build_refuses_a_corpora_root_holding_no_corpus(tmp_path: Path) -> None:
    _, gold = make_tree(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    config = BuildConfig(corpora_root=tmp_path / "elsewhere", gold_dir=gold, heldout_fraction=0.0, progress=False)
    with pytest.raises(ValueError, match=r"no corpus loaded under .*elsewhere \(babe, basil, bbc, newssd, polnear\)"):
        build(config, tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def _labels(folder: Path, rows: list[dict], extra: str = "") -> Path:
    _write(folder / "labels.jsonl", "".join(json.dumps(r) + "\n" for r in rows) + extra)
    return folder


#: The PolNeAR article of make_tree that the gold file does not hold
WEAK_POLNEAR = "polnear:nyt_2016-01-02_weak"


def _label(sentence_id: str, label: str, text: str, **fields) -> dict:
    from quoteframe.training.repo_labels import text_hash

    return {"id": sentence_id, "label": label, "readers": 1, **fields, "text_sha1": text_hash(text)}


def _build_with_labels(tmp_path: Path, corpora: Path, gold: Path, labels: Path) -> tuple[dict, dict]:
    from datasets import load_from_disk

    config = BuildConfig(
        corpora_root=corpora, gold_dir=gold, weak=False, heldout_fraction=0.0, progress=False, labels_dir=labels
    )
    card, _ = build(config, tmp_path / "ds")
    rows = load_from_disk(str(tmp_path / "ds"))["train"].to_list()
    return card, {r["sentence_id"]: r for r in rows}


def test_repo_labels_join_the_corpus_text_by_id(tmp_path: Path) -> None:
    corpora, gold = make_tree(tmp_path)
    weak = WEAK_POLNEAR
    rows = [
        _label(f"{weak}#0", "neutral_paraphrase", "weak rallies", readers=3),
        _label(f"{weak}#1", "direct_quote", '"We will win big," weak said.', framing="neutral", readers=2),
        _label(f"{weak}#2", "loaded_paraphrase", "weak insisted the polls were wrong.", evidence_span=[5, 13]),
        _label("babe:SG2#0", "loaded_paraphrase", "Radical leftists pushed the bill.", evidence_span=[0, 7]),
    ]
    card, by_id = _build_with_labels(tmp_path, corpora, gold, _labels(tmp_path / "labels", rows))

    assert by_id[f"{weak}#0"]["text"] == "weak rallies" and by_id[f"{weak}#0"]["source"] == "repo_labels"
    assert by_id[f"{weak}#1"]["label"] == "direct_quote" and by_id[f"{weak}#1"]["label_quality"] == "hand"
    assert by_id[f"{weak}#1"]["previous"] == "weak rallies"
    assert by_id[f"{weak}#2"]["evidence"] == "insisted"  # rebuilt from its character offsets
    assert [by_id[f"{weak}#{k}"]["readers"] for k in range(3)] == [3, 2, 1]
    assert card["readers"]["train"]["3"] == 1 and card["readers"]["train"]["2"] == 1
    assert by_id["babe:SG2#0"]["evidence"] == "Radical" and by_id["babe:SG2#0"]["previous"] == ""
    assert card["settings"]["repo_label_rows"] == {"train": 4, "heldout": 0}
    assert set(card["inputs"]) == {
        str(gold / "train.jsonl"),
        str(gold / "dev.jsonl"),
        str(tmp_path / "labels" / "labels.jsonl"),
    }


def test_repo_labels_leave_out_a_whole_article_that_does_not_resolve(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpora, gold = make_tree(tmp_path)
    weak = WEAK_POLNEAR
    rows = [
        _label(f"{weak}#0", "neutral_paraphrase", "weak rallies"),
        _label(f"{weak}#1", "direct_quote", "a sentence edited since", framing="neutral"),
        # out of sentence order: the article's context would be wrong
        _label(
            "basil:2014/w_1#p1",
            "direct_quote",
            '"This is a good day for the country," she said.',
            framing="neutral",
        ),
        _label("basil:2014/w_1#p0", "neutral_paraphrase", "The senate met on Tuesday."),
        # the gold file holds this article: the gold labels win, whole
        _label("polnear:nyt_2016-01-01_gold#0", "loaded_paraphrase", "gold rallies"),
    ]
    bad_lines = (
        '{"id": "polnear:x#0"}\n'
        + json.dumps(
            _label("babe:SG2#0", "loaded_paraphrase", "Radical leftists pushed the bill.", evidence_span=[7, 3])
        )
        + "\n"
    )
    labels = _labels(tmp_path / "labels", rows, bad_lines)
    card, by_id = _build_with_labels(tmp_path, corpora, gold, labels)

    assert not any(r["source"] == "repo_labels" for r in by_id.values())
    assert f"{weak}#0" not in by_id and "basil:2014/w_1#p0" not in by_id
    assert by_id["polnear:nyt_2016-01-01_gold#0"]["label"] == "neutral_paraphrase"
    # the 4 unresolved rows, and the invalid lines 6 and 7, which leave their articles out
    assert card["dropped"]["repo labels (article left out)"] == 6
    assert card["dropped"]["repo labels (article in gold file)"] == 1
    log = caplog.text
    assert "labels.jsonl:2: sentence polnear:nyt_2016-01-02_weak#1 changed since it was labelled" in log
    assert "labels.jsonl:3: the article's rows are not in sentence order" in log
    assert "labels.jsonl:6: missing label, text_sha1" in log
    assert "labels.jsonl:7: evidence_span [7, 3] is not [start, end]" in log
    assert "gold labels are kept" in log


def test_a_row_failing_its_checks_leaves_its_whole_article_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [
        _label(f"{WEAK_POLNEAR}#0", "neutral_paraphrase", "weak rallies"),
        _label(f"{WEAK_POLNEAR}#1", "direct_quote", '"We will win big," weak said.', framing="neutral", readers=0),
        _label(f"{WEAK_POLNEAR}#2", "loaded_paraphrase", "weak insisted the polls were wrong.", evidence_span=[5, 13]),
    ]
    without_readers = {
        k: v
        for k, v in _label("babe:SG2#0", "loaded_paraphrase", "Radical leftists pushed the bill.").items()
        if k != "readers"
    }
    corpora, gold = make_tree(tmp_path)
    labels = _labels(tmp_path / "labels", rows, json.dumps(without_readers) + "\n")
    card, by_id = _build_with_labels(tmp_path, corpora, gold, labels)

    # kept, #2's context would be #0's: the article goes whole
    assert not any(r["source"] == "repo_labels" for r in by_id.values())
    assert card["dropped"]["repo labels (article left out)"] == 4
    assert (
        "left out (3 rows): " in caplog.text and "labels.jsonl:2: readers 0 is not a count of 1 or more" in caplog.text
    )
    assert "labels.jsonl:4: missing readers" in caplog.text


def test_repo_labels_read_every_file_of_the_folder_and_a_sentence_labelled_twice_drops_its_article(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpora, gold = make_tree(tmp_path)
    weak = WEAK_POLNEAR
    folder = tmp_path / "labels"
    first = [
        _label(f"{weak}#0", "neutral_paraphrase", "weak rallies"),
        _label("babe:SG2#0", "loaded_paraphrase", "Radical leftists pushed the bill.", evidence_span=[0, 7]),
    ]
    _write(folder / "a.jsonl", "".join(json.dumps(r) + "\n" for r in first))
    # a later file labels the BABE sentence again: that article is left out, the other one stays
    again = _label("babe:SG2#0", "neutral_paraphrase", "Radical leftists pushed the bill.")
    _write(folder / "b.jsonl", json.dumps(again) + "\n")
    card, by_id = _build_with_labels(tmp_path, corpora, gold, folder)

    assert by_id[f"{weak}#0"]["source"] == "repo_labels"
    assert "babe:SG2#0" not in by_id
    assert card["dropped"]["repo labels (article left out)"] == 2
    assert "a sentence of the article is labelled more than once" in caplog.text
    assert {str(folder / "a.jsonl"), str(folder / "b.jsonl")} <= set(card["inputs"])


def test_a_missing_labels_folder_is_an_error(tmp_path: Path) -> None:
    corpora, gold = make_tree(tmp_path)
    config = BuildConfig(corpora_root=corpora, gold_dir=gold, weak=False, progress=False, labels_dir=tmp_path / "no")
    with pytest.raises(ValueError, match=r"no \*\.jsonl label files"):
        build(config, tmp_path / "ds")


def test_cli_build_takes_the_labels_folder_or_leaves_it_out(tmp_path: Path) -> None:
    corpora, gold = make_tree(tmp_path)
    common = ["data", "build", "--corpora-root", str(corpora), "--gold-dir", str(gold), "--no-weak", "--no-progress"]
    common += ["--out", str(tmp_path / "ds"), "--readme", str(tmp_path / "README.md"), "--heldout-fraction", "0"]
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = CliRunner().invoke(main, [*common, "--labels-dir", str(empty)])
    assert missing.exit_code != 0 and "no *.jsonl label files in" in missing.output
    without = CliRunner().invoke(main, [*common, "--labels-dir", str(empty), "--no-repo-labels"])
    assert without.exit_code == 0, without.output
    assert json.loads((tmp_path / "ds" / "data_card.json").read_text())["settings"]["labels_dir"] is None


def test_a_weak_corpus_without_rules_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no label rules for corpus mbic"):
        BuildConfig(corpora_root=tmp_path, gold_dir=tmp_path, weak_corpora=("basil", "mbic"))
    assert BuildConfig(corpora_root=tmp_path, gold_dir=tmp_path, weak_corpora=("mbic",), weak=False).weak is False
