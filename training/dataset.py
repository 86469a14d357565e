"""The training dataset: hand labels at the core, weak rows from corpus rules around them.

One row per sentence with the context the model sees (previous sentence, whether a quotation is
open at its start) and where its label came from (``label_quality``: hand > corpus > rule, and
``source``: the gold file or the rule's name), so training can weight or filter by trust.

Leakage guards, in order: articles of the evaluation gold file never enter either split; a sentence
whose normalised text matches a dev-gold sentence is dropped; duplicates are removed across the whole
set before splitting (the hand-labelled copy wins, then the more trusted weak copy), so no sentence
sits on both sides; and the train/heldout split is drawn by article, never by sentence (BABE's sentences
and MBIC's articles by the news page they come from).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tqdm import tqdm

from quoteframe.labels import LABEL_TO_ID, LABELS
from quoteframe.sentences import quote_context
from quoteframe.training.loaders import Article, GoldRow, gold_articles, load_corpus, load_gold
from quoteframe.training.repo_labels import REPO_LABELS_SOURCE, read_label_files, resolve_labels
from quoteframe.training.rules import RULES, RuleScore, SentenceView, apply_rules, measure_rules, rules_for

if TYPE_CHECKING:
    from datasets import DatasetDict

log = logging.getLogger(__name__)

#: Corpora whose articles feed weak rows by default. BBC has no labels at all, so its rows would rest
#: on text heuristics alone; it is opt-in (``--corpora ...,bbc``).
DEFAULT_WEAK_CORPORA: tuple[str, ...] = ("basil", "babe", "polnear")
QUALITY_RANK = {"hand": 0, "corpus": 1, "rule": 2, "model": 3}
#: Corpora whose units are single sentences: no article context exists.
SENTENCE_CORPORA = frozenset({"babe", "newssd"})

COLUMNS: tuple[str, ...] = (
    "text",
    "label",
    "label_id",
    "corpus",
    "article_id",
    "sentence_id",
    "label_quality",
    "readers",
    "source",
    "previous",
    "inside_quote",
    "framing",
    "evidence",
)
#: Row key for serving's quotation state, carried to the split: the held-out rows take it (served_context).
SERVED = "served_inside_quote"


@dataclass
class BuildConfig:
    """Inputs of one dataset build (the ``quoteframe data build`` options)."""

    corpora_root: Path
    gold_dir: Path
    weak_corpora: Sequence[str] = DEFAULT_WEAK_CORPORA
    seed: int = 13
    heldout_fraction: float = 0.08
    weak: bool = True
    progress: bool = True
    #: folder of hand labels kept in this repository by sentence id (``quoteframe.training.repo_labels``)
    labels_dir: Path | None = None

    def __post_init__(self) -> None:
        # A corpus without rules (MBIC's articles, read for hand labels only) would load and split every
        # article and add no row at all: a slow build that silently does nothing is refused instead.
        ruleless = [name for name in self.weak_corpora if not rules_for(name, only_used=False)]
        if self.weak and ruleless:
            with_rules = sorted({rule.corpus for rule in RULES})
            raise ValueError(
                f"no label rules for corpus {', '.join(ruleless)}, so it cannot add weak rows "
                f"(corpora with rules: {', '.join(with_rules)})"
            )


@dataclass
class BuildResult:
    """Rows of both splits plus what the data card and the rule table need."""

    train: list[dict]
    heldout: list[dict]
    rule_scores: list[RuleScore]
    dropped: Counter = field(default_factory=Counter)
    seconds: float = 0.0


_PUNCT_OR_SPACE = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """Key for near-duplicate detection: case, whitespace, punctuation and accents ignored."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _PUNCT_OR_SPACE.sub(" ", folded.lower()).strip()


def article_context(sentences: Sequence[str], paragraph_starts: Sequence[bool] | None) -> tuple[list[str], list[bool]]:
    """``previous`` and ``inside_quote`` of every sentence of one article, in order."""
    previous = [""] + [s for s in sentences[:-1]]
    # The quotation state the shipped model was trained on: single-mark quotations continued into the next
    # paragraph (5 rows of the default build) and block quotations after a lead-in stay off until the model
    # is next trained (data/README.md).
    return previous, quote_context(list(sentences), paragraph_starts, continue_single_quotes=False, block_quotes=False)


def served_context(
    article_corpus: str, sentences: Sequence[str], paragraph_starts: Sequence[bool] | None
) -> list[bool]:
    """``inside_quote`` of every sentence as serving computes it (:func:`quote_context`'s defaults).

    The held-out split takes it, so that it scores what ``classify_article`` gives; the train split keeps
    :func:`article_context`'s, the shipped model's training data.
    """
    if article_corpus in SENTENCE_CORPORA:
        return [False] * len(sentences)
    return quote_context(list(sentences), paragraph_starts)


def _row(
    text: str,
    label: str,
    corpus: str,
    article_id: str,
    sentence_id: str,
    quality: str,
    source: str,
    previous: str,
    inside: bool,
    framing: str = "",
    evidence: str = "",
    readers: int = 0,
) -> dict:
    return {
        "text": text,
        "label": label,
        "label_id": LABEL_TO_ID[label],
        "corpus": corpus,
        "article_id": article_id,
        "sentence_id": sentence_id,
        "label_quality": quality,
        "readers": readers,
        "source": source,
        "previous": previous,
        "inside_quote": inside,
        "framing": framing,
        "evidence": evidence,
    }


def hand_rows(grouped: dict[str, list[GoldRow]], corpus_articles: dict[str, Article]) -> list[dict]:
    """Rows of the hand-labelled file, with context computed over each gold article in order.

    Paragraph starts come from the corpus article when it is loaded (quotations reopen per paragraph).
    """
    rows = []
    for article_id, gold in grouped.items():
        corpus = gold[0].corpus
        texts = [row.text for row in gold]
        starts = None
        source_article = corpus_articles.get(article_id)
        if source_article is not None:
            by_id = dict(zip(source_article.sentence_ids, source_article.paragraph_starts, strict=True))
            starts = [by_id.get(row.id, False) for row in gold]
            starts[0] = True
        if corpus in SENTENCE_CORPORA:
            previous, inside = [""] * len(texts), [False] * len(texts)
        else:
            previous, inside = article_context(texts, starts)
        served = served_context(corpus, texts, starts)
        for row, before, flag, served_flag in zip(gold, previous, inside, served, strict=True):
            rows.append(
                _row(
                    row.text,
                    row.label,
                    corpus,
                    article_id,
                    row.id,
                    "hand",
                    row.source,
                    before,
                    flag,
                    row.framing,
                    row.evidence,
                    row.readers,
                )
                | {SERVED: served_flag}
            )
    return rows


def article_views(article: Article) -> tuple[list[str], list[SentenceView]]:
    """Previous sentences and rule views of one corpus article."""
    if article.corpus in SENTENCE_CORPORA:
        previous, inside = [""] * len(article.sentences), [False] * len(article.sentences)
    else:
        previous, inside = article_context(article.sentences, article.paragraph_starts)
    views = [
        SentenceView(text, flag, tags) for text, flag, tags in zip(article.sentences, inside, article.tags, strict=True)
    ]
    return previous, views


def weak_rows(article: Article, previous: Sequence[str], views: Sequence[SentenceView]) -> list[dict]:
    """Rows the corpus's used rules label; sentences every rule abstains on are left out."""
    rules = rules_for(article.corpus)
    served = served_context(article.corpus, article.sentences, article.paragraph_starts)
    rows = []
    for sentence_id, before, view, served_flag in zip(article.sentence_ids, previous, views, served, strict=True):
        rule = apply_rules(view, rules)
        if rule is not None:
            rows.append(
                _row(
                    view.text,
                    rule.label,
                    article.corpus,
                    article.article_id,
                    sentence_id,
                    rule.quality,
                    rule.name,
                    before,
                    view.inside_quote,
                )
                | {SERVED: served_flag}
            )
    return rows


def deduplicate(rows: Iterable[dict], blocked: Collection[str] = ()) -> tuple[list[dict], Counter]:
    """Keep one row per normalised text, the most trusted copy; drop texts in ``blocked`` (dev gold).

    Hand-labelled fragments without letters or digits are all kept (see below).
    """
    ordered = sorted(enumerate(rows), key=lambda item: (QUALITY_RANK[item[1]["label_quality"]], item[0]))
    seen: set[str] = set(blocked)
    kept: list[tuple[int, dict]] = []
    dropped: Counter = Counter()
    for position, row in ordered:
        key = normalise(row["text"])
        if not key:
            # A fragment of marks only (``''``, ``”``) takes its label from the quotation around it, so
            # its hand copies are not duplicates of each other; weak copies carry no such judgement.
            if row["label_quality"] == "hand":
                kept.append((position, row))
            else:
                dropped["empty (weak)"] += 1
            continue
        if key in seen:
            dropped["dev gold" if key in blocked else f"duplicate ({row['label_quality']})"] += 1
            continue
        seen.add(key)
        kept.append((position, row))
    kept.sort(key=lambda item: item[0])
    return [row for _, row in kept], dropped


def source_key(link: str) -> str:
    """A news page's address reduced to host and path: with or without ``www.``, scheme, trailing slash
    or query string, it is one group."""
    parts = urlsplit(link.strip().lower())
    host = parts.netloc.removeprefix("www.")
    return f"page:{host}{parts.path.rstrip('/')}" if host else ""


def split_by_article(
    rows: Sequence[dict], fraction: float, seed: int, groups: Mapping[str, str] | None = None
) -> tuple[list[dict], list[dict]]:
    """Seeded article-level split: an article is held out when a hash of the seed and its group falls
    under ``fraction``.

    An article's group is its id, or the key ``groups`` gives it: BABE's sentences and MBIC's articles
    are grouped by the news page they come from, so rows that link the same page fall on the same side.
    A page linked two ways (a feed redirect, a renamed section) or not at all is not joined. Each
    article's side depends on nothing but its own id and page, so labelling more articles never moves
    an existing one across the split, and models trained before and after stay comparable on the old
    held-out articles.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"heldout fraction must be in [0, 1), got {fraction}")
    groups = groups or {}
    cut = fraction * 2**64

    def drawn(article_id: str) -> bool:
        key = groups.get(article_id, article_id)
        return int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "big") < cut

    held = {row["article_id"] for row in rows if drawn(row["article_id"])}
    train = [row for row in rows if row["article_id"] not in held]
    heldout = [row for row in rows if row["article_id"] in held]
    return train, heldout


def repo_hand_labels(
    folder: Path, corpora_root: Path, gold_article_ids: Collection[str]
) -> tuple[list[GoldRow], Counter]:
    """Hand labels of ``folder`` for articles the gold file does not hold, and the rows left out by reason.

    The gold file wins a whole article: its sentence cut may differ from the splitter's, so mixing the two
    cuts in one article would garble the context.
    """
    resolved, dropped = resolve_labels(read_label_files(folder), corpora_root)
    overlap = [row for row in resolved if row.article in gold_article_ids]
    if overlap:
        log.warning(
            "%d labels in %s belong to articles the gold file holds (first: %s); the gold labels are kept",
            len(overlap),
            folder,
            overlap[0].id,
        )
        dropped["repo labels (article in gold file)"] += len(overlap)
    return [row for row in resolved if row.article not in gold_article_ids], dropped


def _article_key(article_id: str) -> str:
    """Article id without the corpus prefix, so PolNeAR ids match the prefix-less dev ids."""
    return article_id.split(":", 1)[-1]


def build_rows(config: BuildConfig) -> BuildResult:
    """Load, label, measure, deduplicate and split; the caller turns the rows into a dataset."""
    started = time.perf_counter()
    gold_train = load_gold(config.gold_dir / "train.jsonl")
    gold_dev = load_gold(config.gold_dir / "dev.jsonl")
    if not gold_train:
        raise ValueError(f"no hand-labelled rows read from {config.gold_dir / 'train.jsonl'}")
    repo_dropped: Counter = Counter()
    if config.labels_dir is not None:
        repo, repo_dropped = repo_hand_labels(
            config.labels_dir, config.corpora_root, {row.article for row in gold_train}
        )
        gold_train += repo
    dev_articles = {_article_key(row.article) for row in gold_dev}
    grouped = {
        article: rows
        for article, rows in gold_articles(gold_train).items()
        if _article_key(article) not in dev_articles
    }
    gold_texts = {article: [row.text for row in rows] for article, rows in grouped.items()}
    gold_by_id = {row.id: row for rows in grouped.values() for row in rows}

    measured = sorted({row.corpus for row in gold_train})
    corpora = sorted(set(measured) | (set(config.weak_corpora) if config.weak else set()))
    corpus_articles: dict[str, Article] = {}
    pairs: list[tuple[str, SentenceView, str]] = []
    weak: list[dict] = []
    groups: dict[str, str] = {}
    empty: list[str] = []
    for name in corpora:
        wanted_weak = config.weak and name in config.weak_corpora
        # Sentence splitting is the slow part: without weak rows only the gold articles are needed.
        only = None if wanted_weak else set(grouped)
        articles = load_corpus(name, config.corpora_root, gold_texts, only=only)
        if not articles:
            log.error("corpus %s: nothing loaded under %s", name, config.corpora_root)
            empty.append(name)
        for article in tqdm(articles, desc=f"label {name}", unit="article", disable=not config.progress):
            if key := source_key(article.source):
                groups[article.article_id] = key
            in_gold = article.article_id in grouped
            if _article_key(article.article_id) in dev_articles:
                continue
            if in_gold:
                corpus_articles[article.article_id] = article
            previous, views = article_views(article)
            if not in_gold:
                if wanted_weak:
                    weak.extend(weak_rows(article, previous, views))
                continue
            for sentence_id, view in zip(article.sentence_ids, views, strict=True):
                gold = gold_by_id.get(sentence_id)
                if gold is not None:
                    pairs.append((name, view, gold.label))
    if corpora and len(empty) == len(corpora):
        # One missing corpus costs its rows; none at all is a wrong folder, and its build would hold no context.
        raise ValueError(
            f"no corpus loaded under {config.corpora_root} ({', '.join(corpora)}): is it the folder that holds "
            "basil/, babe/, polnear/, newssd_eng/ and bbc_news/?"
        )

    rows = hand_rows(grouped, corpus_articles) + weak
    rows, dropped = deduplicate(rows, blocked={normalise(row.text) for row in gold_dev})
    dropped.update(repo_dropped)
    train, heldout = split_by_article(rows, config.heldout_fraction, config.seed, groups)
    for row in heldout:
        row["inside_quote"] = row[SERVED]
    return BuildResult(train, heldout, measure_rules(pairs), dropped, time.perf_counter() - started)


class DatasetFolderError(ValueError):
    """A folder that holds a built dataset's ``dataset_dict.json`` but cannot be read as one."""


def load_built_dataset(dataset_dir: Path) -> DatasetDict:
    """The splits that ``quoteframe data build`` saved under ``dataset_dir``.

    A folder edited by hand or copied in part fails inside the datasets library with a bare ``KeyError``
    or a JSON error; this names the folder and how to mend it.
    """
    from datasets import load_from_disk

    try:
        return load_from_disk(str(dataset_dir))
    except (KeyError, ValueError, TypeError, OSError) as err:
        raise DatasetFolderError(
            f"{dataset_dir}: not a readable built dataset ({type(err).__name__}: {err}); "
            "quoteframe data build writes it again"
        ) from err


def to_dataset_dict(result: BuildResult) -> DatasetDict:
    """A ``datasets.DatasetDict`` with ``train`` and ``heldout`` splits and fixed column types.

    An empty split is left out (``datasets`` cannot read back a saved split without rows), which
    happens only with ``heldout_fraction`` 0 or a build too small for any article to be drawn.
    """
    from datasets import Dataset, DatasetDict, Features, Value

    types = {"inside_quote": "bool", "label_id": "int64", "readers": "int64"}
    features = Features({column: Value(types.get(column, "string")) for column in COLUMNS})
    return DatasetDict(
        {
            name: Dataset.from_dict({column: [row[column] for row in rows] for column in COLUMNS}, features=features)
            for name, rows in (("train", result.train), ("heldout", result.heldout))
            if rows
        }
    )


def data_card(result: BuildResult, config: BuildConfig) -> dict:
    """Counts per split, corpus, label quality and label, plus the build's settings and drops."""
    table: dict[str, dict[str, dict[str, dict[str, int]]]] = {}
    for split, rows in (("train", result.train), ("heldout", result.heldout)):
        for row in rows:
            cell = (
                table.setdefault(split, {})
                .setdefault(row["corpus"], {})
                .setdefault(row["label_quality"], dict.fromkeys(LABELS, 0))
            )
            cell[row["label"]] += 1
    return {
        "rows": {"train": len(result.train), "heldout": len(result.heldout)},
        "articles": {
            "train": len({row["article_id"] for row in result.train}),
            "heldout": len({row["article_id"] for row in result.heldout}),
        },
        "labels": {
            split: dict(Counter(row["label"] for row in rows))
            for split, rows in (("train", result.train), ("heldout", result.heldout))
        },
        "counts": table,
        # hand rows by the number of readings their label rests on (``read_once_weight`` acts on those of 1)
        "readers": {
            split: {
                str(n): count
                for n, count in sorted(Counter(r["readers"] for r in rows if r["label_quality"] == "hand").items())
            }
            for split, rows in (("train", result.train), ("heldout", result.heldout))
        },
        "dropped": dict(result.dropped),
        "settings": {
            "weak_corpora": list(config.weak_corpora) if config.weak else [],
            "seed": config.seed,
            "heldout_fraction": config.heldout_fraction,
            "labels_dir": str(config.labels_dir) if config.labels_dir is not None else None,
            "repo_label_rows": {
                split: sum(row["source"] == REPO_LABELS_SOURCE for row in rows)
                for split, rows in (("train", result.train), ("heldout", result.heldout))
            },
        },
        "inputs": input_hashes(config),
        "seconds": round(result.seconds, 1),
    }


def input_hashes(config: BuildConfig) -> dict[str, str]:
    """sha256 of each label file the build read, so a run records exactly which labels it learned from."""
    paths = [config.gold_dir / "train.jsonl", config.gold_dir / "dev.jsonl"]
    if config.labels_dir is not None:
        paths += sorted(Path(config.labels_dir).glob("*.jsonl"))
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in paths if path.is_file()}


def format_card(card: dict) -> str:
    """The data card as a Markdown table (one line per split, corpus and label quality)."""
    lines = [
        f"Rows: train {card['rows']['train']} ({card['articles']['train']} articles), "
        f"heldout {card['rows']['heldout']} ({card['articles']['heldout']} articles). "
        f"Weak corpora: {', '.join(card['settings']['weak_corpora']) or 'none'}; seed {card['settings']['seed']}; "
        f"heldout fraction {card['settings']['heldout_fraction']}.",
        "",
        "| split | corpus | label quality | " + " | ".join(LABELS) + " | total |",
        "|---|---|---|" + "---|" * (len(LABELS) + 1),
    ]
    for split in ("train", "heldout"):
        for corpus, qualities in sorted(card["counts"].get(split, {}).items()):
            for quality, counts in sorted(qualities.items(), key=lambda item: QUALITY_RANK[item[0]]):
                values = [counts[label] for label in LABELS]
                lines.append(
                    f"| {split} | {corpus} | {quality} | " + " | ".join(map(str, values)) + f" | {sum(values)} |"
                )
        totals = card["labels"][split]
        lines.append(
            f"| {split} | **all** | | "
            + " | ".join(str(totals.get(label, 0)) for label in LABELS)
            + f" | {card['rows'][split]} |"
        )
    dropped = ", ".join(f"{reason} {count}" for reason, count in sorted(card["dropped"].items()))
    lines += ["", f"Dropped before splitting: {dropped or 'nothing'}."]
    return "\n".join(lines)


def replace_between_markers(path: Path, name: str, body: str) -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->`` (appended if absent)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in text and end in text:
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        text = head + block + tail
    else:
        text = text.rstrip() + ("\n\n" if text.strip() else "") + block + "\n"
    path.write_text(text, encoding="utf-8")


def build(config: BuildConfig, out: Path, readme: Path | None = None) -> tuple[dict, str]:
    """Build, save the dataset and ``data_card.json`` under ``out``, update ``readme``; return the card.

    The returned text holds the rule table and the data card, as printed by ``quoteframe data build``.
    """
    import json

    from quoteframe.training.rules import format_rule_table

    result = build_rows(config)
    dataset = to_dataset_dict(result)
    out.mkdir(parents=True, exist_ok=True)
    dataset.save_to_disk(str(out))
    card = data_card(result, config)
    card["rules"] = [
        {
            "rule": s.name,
            "label": s.label,
            "used": s.use,
            "fires": s.fired,
            "precision": round(s.precision, 3),
            "recall": round(s.recall, 3),
        }
        for s in result.rule_scores
    ]
    (out / "data_card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    rule_table = format_rule_table(result.rule_scores)
    card_text = format_card(card)
    if readme is not None:
        replace_between_markers(readme, "rule-table", rule_table)
        replace_between_markers(readme, "data-card", card_text)
    return card, f"{rule_table}\n\n{card_text}\n\nBuilt in {card['seconds']} s; dataset saved to {out}"
