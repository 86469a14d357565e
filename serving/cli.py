"""The ``quoteframe`` command line: one entry point for serving, data, training and export."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import click

#: BABE's biased-word lexicon, relative to the corpora root; the rules baseline uses it beside the guideline's list.
BABE_LEXICON = Path("babe/data/bias_word_lexicon.xlsx")

F = TypeVar("F", bound=Callable[..., Any])


def _stderr_is_terminal() -> bool:
    """Whether a progress bar would be read: redrawn frames fill a log file or a pipe with carriage returns."""
    return sys.stderr.isatty()


#: ``--model``, shared by every command that runs a model folder.
model_option = click.option(
    "--model",
    "model_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Model folder (default: $QUOTEFRAME_MODEL, else the repository's models/).",
)

#: ``--gold``, the gold file that ``evaluate`` and ``compare`` score on.
gold_option = click.option(
    "--gold",
    "gold_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=Path("../shared/gold/dev.jsonl"),
    show_default=True,
    help="Gold file in the guideline's format.",
)


def dataset_option(help_text: str) -> Callable[[F], F]:
    """``--dataset``, the built dataset whose held-out split ``evaluate`` and ``compare`` score."""
    return click.option(
        "--dataset",
        "dataset_dir",
        type=click.Path(path_type=Path),
        default=Path("data/build/dataset"),
        show_default=True,
        help=help_text,
    )


def corpora_root_option(help_text: str, flag: str = "--corpora-root", exists: bool = False) -> Callable[[F], F]:
    """The folder holding the public corpora (``--corpora-root``; ``evaluate`` and ``compare`` call it ``--corpora``).

    ``exists`` for a command that cannot do without it: ``data build`` would otherwise write a dataset
    without a corpus text, its repository labels all dropped.
    """
    return click.option(
        flag,
        "corpora_root",
        type=click.Path(exists=exists, file_okay=False, path_type=Path),
        default=Path("../shared/corpora"),
        show_default=True,
        help=help_text,
    )


def require_train_extra() -> None:
    """Fail with an install hint when a training-side command runs on the serving-only install."""
    missing = []
    for module in ("torch", "transformers", "datasets", "sklearn"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise click.ClickException(
            f"this command needs the training extra (missing: {', '.join(missing)}); "
            "install it with: pip install 'quoteframe[train]'"
        )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="quoteframe")
def main() -> None:
    """Label news sentences as direct quote, neutral paraphrase or loaded paraphrase."""


@main.group()
def data() -> None:
    """Build the labelled training dataset from the corpora and the hand-labelled gold files."""


@data.command("build")
@corpora_root_option(
    "Folder holding basil/, babe/ (BABE, and MBIC's articles), polnear/, newssd_eng/, bbc_news/.", exists=True
)
@click.option(
    "--corpora",
    default="basil,babe,polnear",
    show_default=True,
    help="Comma-separated corpora that add weak (rule-labelled) rows: basil, babe, polnear, newssd, bbc.",
)
@click.option(
    "--gold-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("../shared/gold"),
    show_default=True,
    help="Folder with train.jsonl (hand labels) and dev.jsonl (kept out of the dataset).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/build/dataset"),
    show_default=True,
    help="Where the DatasetDict and data_card.json are written.",
)
@click.option("--seed", type=int, default=13, show_default=True, help="Seed of the article-level heldout draw.")
@click.option(
    "--heldout-fraction",
    type=click.FloatRange(0.0, 1.0, max_open=True),
    default=0.08,
    show_default=True,
    help="Share of articles held out (each article drawn by a hash of the seed and its id; BABE rows and MBIC "
    "articles by their news page).",
)
@click.option("--no-weak", is_flag=True, help="Hand labels only: no rule-labelled rows.")
@click.option(
    "--labels-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/labels"),
    show_default=True,
    help="Hand labels kept here by sentence id (data/README.md), used beside train.jsonl.",
)
@click.option("--no-repo-labels", is_flag=True, help="Leave out the labels of --labels-dir: gold files only.")
@click.option(
    "--readme",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("data/README.md"),
    show_default=True,
    help="Markdown file whose rule-table and data-card blocks are rewritten.",
)
@click.option("--progress/--no-progress", default=True, help="Show progress bars on stderr.")
def data_build(
    corpora_root: Path,
    corpora: str,
    gold_dir: Path,
    out: Path,
    seed: int,
    heldout_fraction: float,
    no_weak: bool,
    labels_dir: Path,
    no_repo_labels: bool,
    readme: Path,
    progress: bool,
) -> None:
    """Write the train/heldout dataset, print the rule measurements and the data card."""
    require_train_extra()
    from quoteframe.training.dataset import BuildConfig, build

    try:
        config = BuildConfig(
            corpora_root=corpora_root,
            gold_dir=gold_dir,
            seed=seed,
            heldout_fraction=heldout_fraction,
            weak_corpora=tuple(name.strip() for name in corpora.split(",") if name.strip()),
            weak=not no_weak,
            progress=progress,
            labels_dir=None if no_repo_labels else labels_dir,
        )
        _, text = build(config, out, readme)
    except (OSError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    click.echo(text)


@data.command("baselines")
@click.option(
    "--dataset",
    "dataset_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/build/dataset"),
    show_default=True,
    help="Dataset written by `quoteframe data build` (TF-IDF trains on its train split).",
)
@click.option(
    "--gold-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("../shared/gold"),
    show_default=True,
    help="Folder with dev.jsonl.",
)
@corpora_root_option("Corpora folder (PolNeAR dev paragraphs, BABE's biased-word lexicon).")
@click.option(
    "--readme",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("data/README.md"),
    show_default=True,
    help="Markdown file whose baselines block is rewritten.",
)
def data_baselines(dataset_dir: Path, gold_dir: Path, corpora_root: Path, readme: Path) -> None:
    """Score the rules-only and TF-IDF baselines on dev gold and on the heldout split."""
    require_train_extra()
    from quoteframe.training.baselines import format_results, run_baselines
    from quoteframe.training.dataset import replace_between_markers

    # Minutes of fitting must not end in a traceback over the file the results go to.
    if not readme.parent.is_dir():
        raise click.ClickException(f"--readme {readme}: its folder {readme.parent} does not exist")
    try:
        results = run_baselines(dataset_dir, gold_dir / "dev.jsonl", corpora_root, corpora_root / BABE_LEXICON)
    except (OSError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    summary, details = format_results(results)
    click.echo(f"{details}\n\n{summary}")
    try:
        replace_between_markers(readme, "baselines", f"{summary}\n\n```\n{details}\n```")
    except (OSError, ValueError) as err:  # a file that is no UTF-8 text fails to decode
        raise click.ClickException(f"--readme {readme}: the results above were not written ({err})") from err


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Training config (YAML), e.g. configs/default.yaml.",
)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config value (repeatable).")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Delete the run.json and checkpoint/ of an earlier run in output_dir before training (else refused).",
)
def train(config_path: Path, overrides: tuple[str, ...], overwrite: bool) -> None:
    """Fine-tune the encoder on the built dataset; writes a checkpoint and run.json to the config's output_dir.

    The files the config names (base model, dataset, dev gold, teacher) are checked before anything loads.
    """
    require_train_extra()
    from quoteframe.training.config import ConfigError, load_config
    from quoteframe.training.teacher import TeacherError
    from quoteframe.training.train import train as run_training

    try:
        config = load_config(config_path, overrides)
    except ConfigError as err:
        raise click.ClickException(str(err)) from err
    try:
        run_dir = run_training(config, overwrite)
    except ConfigError as err:  # a setting that names a missing file or an unusable folder, found before training
        raise click.ClickException(f"{config_path}: {err}") from err
    except TeacherError as err:  # every one is about the run folder the config names as its teacher
        raise click.ClickException(f"{config_path}: teacher: {err}") from err
    click.echo(f"run written to {run_dir}")


@main.command()
@model_option
@gold_option
@dataset_option("Built dataset: the hand-labelled rows of its held-out split are scored; the baselines train on it.")
@corpora_root_option(
    "Corpora root: paragraph breaks of the dev articles (PolNeAR dev texts), and BABE's lexicon for the "
    "'guideline + BABE lexicon' baseline (left out without it).",
    flag="--corpora",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports/evaluation"),
    show_default=True,
    help="Where the report, its JSON and the plots go.",
)
@click.option(
    "--baselines/--no-baselines",
    default=True,
    show_default=True,
    help="Score the rules and TF-IDF baselines in the same table.",
)
def evaluate(
    model_dir: Path | None, gold_path: Path, dataset_dir: Path, corpora_root: Path, out_dir: Path, baselines: bool
) -> None:
    """Score a model folder: macro-F1, per-class scores, confusion, calibration, baselines, top errors."""
    require_train_extra()
    from quoteframe.manifest import ModelFolderError
    from quoteframe.training.evaluation import evaluate_model

    try:
        report = evaluate_model(
            model_dir, gold_path, out_dir, dataset_dir, corpora_root, baselines, corpora_root / BABE_LEXICON
        )
    except (ModelFolderError, OSError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    click.echo(report)
    click.echo(f"\nplots and report.json written to {out_dir}")


@main.command()
@click.argument("model_a", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("model_b", type=click.Path(exists=True, file_okay=False, path_type=Path))
@gold_option
@dataset_option("Built dataset whose held-out hand rows are scored too.")
@corpora_root_option("Corpora root: paragraph breaks of the dev articles (PolNeAR dev texts).", flag="--corpora")
@click.option(
    "--resamples",
    type=click.IntRange(min=100),
    default=1000,
    show_default=True,
    help="Bootstrap resamples (each draws whole articles).",
)
def compare(
    model_a: Path, model_b: Path, gold_path: Path, dataset_dir: Path, corpora_root: Path, resamples: int
) -> None:
    """Compare two model folders: macro-F1 of each and a paired bootstrap interval for B - A."""
    require_train_extra()
    from quoteframe.manifest import ModelFolderError
    from quoteframe.training.evaluation import compare_models

    try:
        click.echo(compare_models(model_a, model_b, gold_path, dataset_dir, resamples, corpora_root))
    except (ModelFolderError, OSError, ValueError) as err:
        raise click.ClickException(str(err)) from err


@main.command()
@click.argument("archives", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o", "--out", required=True, type=click.Path(path_type=Path), help="Output folder, or NAME.parquet / NAME.jsonl."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "jsonl"]),
    default=None,
    help="Format of the sentence and article tables (default: OUT's suffix, else parquet).",
)
@click.option(
    "--text-field",
    default=None,
    help="JSONL field / CSV or Parquet column of the article text (default: text, content, body, article or maintext).",
)
@click.option(
    "--id-field",
    default=None,
    help="Field / column (WARC: header) of the article id (default: id, article_id, doc_id, uid or url; "
    "WARC: WARC-Target-URI, WARC-Record-ID); without one the id is FILE:POSITION (a .txt file: its path).",
)
@model_option
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Sentences per model call (default: 32).")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Batches run at once, one core each (default: every core available).",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=None,
    help="Input records per part file and checkpoint (default: 250); a kill loses at most one chunk of work.",
)
@click.option("--overwrite", is_flag=True, help="Delete the outputs or unfinished run found at OUT and start afresh.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar on stderr (default: when stderr is a terminal, not a log file or a pipe).",
)
def score(
    archives: tuple[Path, ...],
    out: Path,
    fmt: str | None,
    text_field: str | None,
    id_field: str | None,
    model_dir: Path | None,
    batch_size: int | None,
    threads: int | None,
    chunk_size: int | None,
    overwrite: bool,
    progress: bool | None,
) -> None:
    """Label every sentence of article archives: JSONL, CSV, Parquet, WARC, folders of .txt (.gz too, but not Parquet).

    \b
    Outputs, for OUT a folder (for OUT = NAME.parquet or NAME.jsonl):
      OUT/sentences.EXT (NAME.EXT): one row per sentence: article_index,
        article_id, sentence_index, start, end, label, p_<label>, ...
      OUT/articles.EXT (NAME.articles.EXT): one row per article: its file
        and position, count (n_<label>) and share of each label
      OUT/errors.jsonl (NAME.errors.jsonl): one row per bad record: file,
        unit, position, id, error
      OUT/summary.json (NAME.summary.json): run totals, label counts,
        articles/s, sentences/s, repeated ids, files left out of folders
      OUT/.parts/ (NAME.EXT.parts/): part files and checkpoint while the
        run is unfinished

    Positions are JSONL line numbers, CSV/Parquet row numbers (from 1) or WARC byte offsets. A bad
    record (invalid JSON or UTF-8, no text, empty article, HTML without article text, a CSV row with
    the wrong number of columns, an HTTP redirect or error page) becomes an error row and the run goes
    on. WARC response and resource records with HTML are articles; other records are not. Field and
    column names match exactly, case included (WARC header names in any case). A killed run resumes
    where it stopped when the same command is run again; the outputs are the same as those of an
    uninterrupted run.
    """
    from quoteframe import Classifier, ModelFolderError
    from quoteframe.archives import ArchiveError, resolve_inputs
    from quoteframe.scoring import ScoreOptions, ScoreRefused, format_summary, run_score

    options = ScoreOptions(
        inputs=archives,
        out=out,
        format=fmt,
        text_field=text_field,
        id_field=id_field,
        model=model_dir,
        overwrite=overwrite,
        progress=_stderr_is_terminal() if progress is None else progress,
        **{name: value for name, value in (("batch_size", batch_size), ("chunk_size", chunk_size)) if value},
    )

    def load_classifier() -> Classifier:
        return Classifier.load(model_dir, batch_size=options.batch_size, threads=threads)

    try:
        result = run_score(options, load_classifier)
    except (ArchiveError, ScoreRefused, ModelFolderError) as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        # The chunks written so far are checkpointed; say how to pick up rather than click's bare "Aborted!".
        click.echo(f"\ninterrupted; run the same command again to resume from {out}", err=True)
        raise SystemExit(130) from None
    if result.already_finished:
        click.echo(
            f"{out}: this run had finished already; nothing was scored again (its summary follows; "
            "--overwrite scores it afresh)",
            err=True,
        )
    summary = result.summary
    click.echo(format_summary(summary))
    if not summary["articles"]:
        # Usually a wrong --text-field or input: a run with nothing scored must not pass for a success.
        if summary["errors"]:
            raise click.ClickException(
                f"no article was scored: all {summary['errors']} records are errors ({summary['outputs']['errors']})"
            )
        warc = any(source.format == "warc" for source in resolve_inputs(list(archives)))
        raise click.ClickException(
            "no article was scored: the inputs hold no record to score"
            + (" (WARC records other than HTML pages are not articles)" if warc else "")
        )


@main.command()
@click.argument("source", type=click.File("rb"))
@model_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "table"]),
    default=None,
    help="json: one JSON object per sentence; table: colored table (default: table on a terminal, else json).",
)
def classify(source: BinaryIO, model_dir: Path | None, fmt: str | None) -> None:
    """Label every sentence of one article (a UTF-8 text file, gzipped or not, or - for standard input).

    Paragraphs are separated by blank lines. Each JSON line holds index, start and end (character
    offsets into the decoded text), text, paragraph, inside_quote, label, probabilities and flags.
    A byte-order mark for UTF-16 or UTF-32 (as Windows editors save "Unicode" text) is followed.
    Input that is not valid UTF-8 is refused with the byte offset of the first bad byte (offsets into
    a guessed decoding would point at the wrong characters); empty input prints no rows, only a note
    on stderr.
    """
    import gzip
    import sys

    from quoteframe.text import TextDecodeError, decode_text_file, is_blank

    name = getattr(source, "name", "-")
    data = source.read()
    if data.startswith(b"\x1f\x8b"):  # gzip's magic number, as score reads .gz archives
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise click.ClickException(f"{name}: gzip data could not be read ({err})") from err
    try:
        text = decode_text_file(data)
    except TextDecodeError as err:
        raise click.ClickException(f"{name}: {err}") from err
    if is_blank(text):  # whitespace and invisible characters only: what score calls an empty article
        click.echo(f"{name}: no text; nothing to classify", err=True)
        return

    from quoteframe import Classifier, ModelFolderError

    try:
        classifier = Classifier.load(model_dir)
    except ModelFolderError as err:
        raise click.ClickException(str(err)) from err
    results = classifier.classify_article(text)
    if (fmt or ("table" if sys.stdout.isatty() else "json")) == "table":
        from quoteframe.render import print_table

        print_table(results, sys.stdout)
        return
    from quoteframe.render import json_lines

    for line in json_lines(results):
        click.echo(line)


@main.command()
@click.option(
    "--run",
    "run_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="Training run folder (run.json and checkpoint/), or its checkpoint/ folder.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("models"),
    show_default=True,
    help="Model folder to write: model.onnx (int8), tokenizer.json, manifest.json.",
)
@click.option(
    "--gold",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=Path("../shared/gold/dev.jsonl"),
    show_default=True,
    help="Gold sentences (JSONL, article order) the export gates are measured on.",
)
@click.option(
    "--max-length",
    type=click.IntRange(16, 512),
    default=None,
    help="Tokens per input pair (default: the run's config.max_length, else 128).",
)
@click.option(
    "--min-agreement",
    type=click.FloatRange(0.0, 1.0),
    default=0.99,
    show_default=True,
    help="Least share of gold labels on which int8 must agree with fp32. Lowering it is recorded in the "
    "manifest's gates; the model card must say so.",
)
@click.option(
    "--graph",
    type=click.Choice(["auto", "plain", "optimized"]),
    default="auto",
    show_default=True,
    help="Int8 graph to ship: auto keeps whichever runs faster here; name one to make the export repeatable.",
)
@click.option(
    "--quantization",
    type=click.Choice(["dynamic", "weight-only"]),
    default="dynamic",
    show_default=True,
    help="dynamic: int8 weights and activations, fastest, but a near-tie can change label with the other "
    "sentences of its batch. weight-only: 8-bit weights, fp32 activations, plain graph only: output independent "
    "of the batch and closer to fp32, at about half the speed.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace the model of an --out folder that holds one (else refused); its temperature goes with it.",
)
def export(
    run_dir: Path,
    out: Path,
    gold: Path,
    max_length: int | None,
    min_agreement: float,
    graph: str,
    quantization: str,
    overwrite: bool,
) -> None:
    """Export a training run to an int8 ONNX model folder, after checking it against PyTorch on gold."""
    require_train_extra()
    from quoteframe.training.export import ExportGateError, export_model

    try:
        report = export_model(
            run_dir,
            out,
            gold_path=gold,
            max_length=max_length,
            min_agreement=min_agreement,
            graph=None if graph == "auto" else graph,
            quantization=quantization,
            overwrite=overwrite,
        )
    except ExportGateError as err:
        for gate in err.report.gates:
            click.echo(gate.describe())
        raise click.ClickException(str(err)) from err
    except (OSError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    for gate in report.gates:
        click.echo(gate.describe())
    timing = ", ".join(f"{graph} {seconds:.3f}s" for graph, seconds in report.seconds_per_pass.items())
    click.echo(f"{report.quantization} quantized graphs, a pass over {report.gold_sentences} gold sentences: {timing}")
    click.echo(f"kept the {report.graph} graph; model folder written to {report.out_dir}")
    if report.replaced:
        click.echo(f"replaced the model in {report.out_dir}: its temperature is 1 until quoteframe calibrate fits one")
    if report.other_files:
        click.echo(
            f"also in {report.out_dir}, and describing the previous model: {', '.join(report.other_files)} "
            "(update or remove them)"
        )


@main.command()
@model_option
@gold_option
@dataset_option("Built dataset: the temperature is fitted on the hand-labelled rows of its held-out split.")
@click.option("--dry-run", is_flag=True, help="Print the fit and its effect; leave manifest.json as it is.")
def calibrate(model_dir: Path | None, gold_path: Path, dataset_dir: Path, dry_run: bool) -> None:
    """Fit the temperature that divides a model folder's logits, so its probabilities match its accuracy.

    Fitted on the held-out hand rows and checked on the gold file; no label changes. The temperature and
    the figures go into manifest.json.
    """
    require_train_extra()
    from quoteframe.manifest import ModelFolderError
    from quoteframe.training.calibration import calibrate_model

    try:
        report = calibrate_model(model_dir, dataset_dir, gold_path, write=not dry_run)
    except (ModelFolderError, OSError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    click.echo(report.table())
    click.echo("dry run: manifest.json left as it was" if dry_run else "temperature written to manifest.json")


if __name__ == "__main__":
    main()
