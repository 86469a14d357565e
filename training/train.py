"""Fine-tune a transformer encoder on the built dataset, selecting the epoch by dev-gold macro-F1."""

from __future__ import annotations

import json
import logging
import math
import platform
import random
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

from quoteframe.batching import pad_batch
from quoteframe.encoding import PairEncoder
from quoteframe.labels import LABEL_TO_ID, LABELS
from quoteframe.training.base_model import resolve_base_model
from quoteframe.training.config import ConfigError, TrainConfig
from quoteframe.training.dataset import DatasetFolderError, load_built_dataset
from quoteframe.training.evaluation import HELDOUT_SET, hand_rows
from quoteframe.training.evidence import EvidenceHead, evidence_targets, target_batch
from quoteframe.training.gold import read_gold_rows
from quoteframe.training.metrics import evaluate_predictions
from quoteframe.training.pooling import load_classifier, with_pooling
from quoteframe.training.torch_inference import predict_proba, row_pairs, to_tensors

RUN_FILE = "run.json"
MODEL_FOLDER = "checkpoint"
#: This module's folder: the code whose commit a run records, wherever the command is run from.
SOURCE_DIR = Path(__file__).resolve().parent

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    """Seed every generator a run draws from, so the same config, data and thread count give the same weights."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def git_commit(source: Path = SOURCE_DIR) -> str:
    """The commit of the checkout that holds ``source``, marked ``-dirty`` when its tree had uncommitted changes.

    Git runs in ``source``, not in the current folder, which may be any other repository. ``unknown`` when
    ``source`` is not tracked by a git checkout: an installed copy of the package, even one lying inside
    some repository's ignored folder (a virtualenv), has no commit.
    """

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=source, capture_output=True, text=True, check=True).stdout.strip()

    try:
        git("ls-files", "--error-unmatch", "--", ".")
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def hardware() -> str:
    """What trained the run, recorded in ``run.json``: thread count matters, it changes the float sums."""
    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def class_weights(labels: list[int], scheme: str) -> torch.Tensor:
    """Loss weights per class, normalised to mean 1 over the training rows."""
    counts = np.bincount(labels, minlength=len(LABELS)).astype(float)
    if scheme == "none":
        weights = np.ones(len(LABELS))
    else:
        weights = counts.sum() / np.maximum(counts, 1.0)
        if scheme == "sqrt_inverse":
            weights = np.sqrt(weights)
    weights = weights / (weights * counts).sum() * counts.sum()
    return torch.tensor(weights, dtype=torch.float32)


def distillation_loss(logits: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Per-row KL(teacher_T || student_T) between the two softened distributions.

    ``teacher`` holds log-probabilities; divided by the temperature they are no longer normalised, so
    they go through ``log_softmax`` like the student's logits. The result is scaled by the squared
    temperature so that its gradients keep their size whatever the temperature."""
    student = torch.log_softmax(logits / temperature, dim=-1)
    target = torch.log_softmax(teacher / temperature, dim=-1)
    return (target.exp() * (target - student)).sum(dim=-1) * temperature**2


def length_grouped_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of rows of similar length: far less padding than random batches, still random."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: lengths[i])
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def previous_run(output_dir: Path) -> list[Path]:
    """What an earlier run left in ``output_dir``: its run record and its checkpoint, where present."""
    return [path for path in (output_dir / RUN_FILE, output_dir / MODEL_FOLDER) if path.exists()]


def check_output_dir(output_dir: Path, overwrite: bool) -> None:
    """Refuse to train into a folder holding a run, unless told to replace it, or into a path a file blocks.

    A new run would write its checkpoint over the old one and, killed before the end, leave it beside the
    old ``run.json``, whose context and max_length an export would then ship the new weights with.
    """
    blocking = next((path for path in (output_dir, *output_dir.parents) if path.exists() and not path.is_dir()), None)
    if blocking is not None:
        raise ConfigError(f"output_dir: {blocking} is a file, where the run's folder {output_dir} would go")
    found = previous_run(output_dir)
    if found and not overwrite:
        names = ", ".join(path.name + ("/" if path.is_dir() else "") for path in found)
        raise ConfigError(
            f"output_dir: {output_dir} already holds a training run ({names}); set another output_dir, "
            "or pass --overwrite to delete it and train afresh"
        )


def remove_previous_run(output_dir: Path) -> None:
    """Delete an earlier run's record and checkpoint before training, so that no state of a killed run pairs
    new weights with the old record."""
    for path in previous_run(output_dir):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def check_inputs(config: TrainConfig) -> Path:
    """Fail on a setting that names a missing file before minutes of loading, not after; return the base
    model folder."""
    try:
        base = resolve_base_model(config.base_model)
    except FileNotFoundError as err:
        raise ConfigError(f"base_model: {err}") from err
    if not (Path(config.dataset) / "dataset_dict.json").is_file():
        raise ConfigError(
            f"dataset: {config.dataset} holds no built dataset (no dataset_dict.json); quoteframe data build writes one"
        )
    if not Path(config.gold_dev).is_file():
        raise ConfigError(f"gold_dev: {config.gold_dev} is not a file")
    return base


def training_rows(rows: list[dict], config: TrainConfig) -> list[dict]:
    """The rows of the label qualities the config weights.

    None at all is an error (a loop over no rows ends in a division by zero); a quality that the config
    weighted itself but the build lacks is a warning, since it usually means a config written for another
    build (the default weights name qualities that a build of hand rows alone does not have).
    """
    weights = config.quality_weights
    have = Counter(row["label_quality"] for row in rows)
    asked = sorted(quality for quality, weight in weights.items() if weight > 0)
    for quality in asked if "quality_weights" in config.model_fields_set else ():
        if not have[quality]:
            log.warning(
                "quality_weights: %s rows have weight %g, but the train split of %s holds none",
                quality,
                weights[quality],
                config.dataset,
            )
    train = [row for row in rows if weights.get(row["label_quality"], 0.0) > 0]
    if not train:
        held = ", ".join(f"{quality} {count}" for quality, count in sorted(have.items())) or "no rows at all"
        raise ConfigError(
            f"quality_weights: no training rows of the qualities weighted ({', '.join(asked)}); "
            f"the train split of {config.dataset} has {held}"
        )
    return train


def sample_weights(rows: list[dict], config: TrainConfig) -> list[float]:
    """Each row's loss weight: its label quality's, times ``read_once_weight`` on hand rows labelled once.

    A build from before the ``readers`` column cannot tell them apart, so asking for the weight there is an
    error rather than a run that quietly ignores it.
    """
    if config.read_once_weight != 1 and rows and "readers" not in rows[0]:
        raise ConfigError(
            f"read_once_weight: the train split of {config.dataset} has no readers column; "
            "rebuild it with quoteframe data build"
        )
    weights = []
    once = 0
    for row in rows:
        weight = config.quality_weights[row["label_quality"]]
        if row["label_quality"] == "hand" and row.get("readers") == 1:
            weight *= config.read_once_weight
            once += 1
        weights.append(weight)
    if config.read_once_weight != 1:
        log.info(
            "read_once_weight %g on %d of %d training rows (hand labels read once)",
            config.read_once_weight,
            once,
            len(rows),
        )
        if not once:
            log.warning("read_once_weight: the train split of %s holds no hand row labelled once", config.dataset)
    return weights


class Trainer:
    """One training run: data, model, loop, model selection and the run record."""

    def __init__(self, config: TrainConfig, overwrite: bool = False) -> None:
        self.config = config
        self.overwrite = overwrite
        check_output_dir(Path(config.output_dir), overwrite)
        self.base_path = check_inputs(config)
        self.commit = git_commit()  # the code that runs, not whatever is checked out when the run ends
        self.teacher = None
        if config.teacher is not None:
            from quoteframe.training.teacher import check_teacher, teacher_summary

            check_teacher(config.teacher, config.output_dir)  # before minutes of loading, not after
            self.teacher = teacher_summary(config.teacher)
        # The data before the model: an unusable file is found in seconds, not after the weights load.
        try:
            self.dev_rows = read_gold_rows(config.gold_dev)
        except ValueError as err:
            raise ConfigError(f"gold_dev: {err}") from err
        self.train_rows, self.heldout_rows, self.data_card = self._load_dataset()
        self.sample_w = sample_weights(self.train_rows, config)
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        seed_everything(config.seed)
        self.tokenizer = AutoTokenizer.from_pretrained(self.base_path)
        self.encoder = PairEncoder.from_file(self.base_path / "tokenizer.json", config.max_length)
        base = AutoModelForSequenceClassification.from_pretrained(
            self.base_path,
            num_labels=len(LABELS),
            id2label=dict(enumerate(LABELS)),
            label2id=LABEL_TO_ID,
            attn_implementation="eager",
            dtype=torch.float32,
        )
        self.model = with_pooling(base, config.pooling).to(self.device)
        if config.freeze_embeddings:
            self.model.get_input_embeddings().weight.requires_grad_(False)
        # Training only: the head shapes the encoder and is dropped with the run (not in the checkpoint).
        self.evidence_head = None
        if config.evidence_weight:
            self.evidence_head = EvidenceHead(self.model.config.hidden_size).to(self.device)

    def _load_dataset(self) -> tuple[list[dict], list[dict], dict]:
        try:
            dataset = load_built_dataset(Path(self.config.dataset))
        except DatasetFolderError as err:
            raise ConfigError(f"dataset: {err}") from err
        train = training_rows(list(dataset["train"]) if "train" in dataset else [], self.config)
        if self.config.max_train_rows:
            train = random.Random(self.config.seed).sample(train, min(len(train), self.config.max_train_rows))
        heldout = hand_rows(dataset["heldout"]) if "heldout" in dataset else []
        card_path = Path(self.config.dataset) / "data_card.json"
        card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        return train, heldout, card

    def _pairs(self, rows: list[dict]) -> list[tuple[str, str]]:
        return row_pairs(rows, self.config.context)

    def evaluate(self, rows: list[dict]) -> tuple[dict, np.ndarray]:
        probs = predict_proba(self.model, self.encoder, self._pairs(rows))
        predicted = [LABELS[i] for i in probs.argmax(axis=1)]
        report = evaluate_predictions([r["label"] for r in rows], predicted, probs)
        return report.to_dict(), probs

    def run(self) -> Path:
        cfg = self.config
        out = Path(cfg.output_dir)
        if self.overwrite:
            remove_previous_run(out)
        out.mkdir(parents=True, exist_ok=True)
        pairs = self._pairs(self.train_rows)
        labels = [LABEL_TO_ID[r["label"]] for r in self.train_rows]
        lengths = [len(a) + len(b) for a, b in pairs]
        per_class = class_weights(labels, cfg.class_weighting).to(self.device)
        loss_fn = torch.nn.CrossEntropyLoss(weight=per_class, reduction="none", label_smoothing=cfg.label_smoothing)
        soft = None
        if cfg.teacher is not None:
            from quoteframe.training.teacher import teacher_log_probs

            soft = torch.from_numpy(teacher_log_probs(cfg.teacher, self.train_rows, self.device)).to(self.device)
        evidence = None
        trained = [p for p in self.model.parameters() if p.requires_grad]
        if self.evidence_head is not None:
            evidence = evidence_targets(self.encoder, self.train_rows)
            trained += list(self.evidence_head.parameters())
        steps_per_epoch = math.ceil(len(pairs) / cfg.batch_size)
        optimizer = torch.optim.AdamW(trained, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        total = steps_per_epoch * cfg.epochs
        scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total), total)
        rng = random.Random(cfg.seed)
        history, best_f1, best_epoch, stale = [], -1.0, 0, 0
        started = time.time()
        for epoch in range(1, cfg.epochs + 1):
            self.model.train()
            running, seen = 0.0, 0
            batches = length_grouped_batches(lengths, cfg.batch_size, rng)
            bar = tqdm(batches, desc=f"epoch {epoch}/{cfg.epochs}", unit="batch")
            for index in bar:
                batch = pad_batch(self.encoder.encode([pairs[i] for i in index]))
                output = self.model(**to_tensors(batch, self.device), output_hidden_states=evidence is not None)
                logits = output.logits
                target = torch.tensor([labels[i] for i in index], device=self.device)
                weight = torch.tensor([self.sample_w[i] for i in index], device=self.device)
                row_loss = loss_fn(logits, target)
                if soft is not None:
                    # the hard label's class weight scales the soft term too, keeping the rebalancing
                    kl = distillation_loss(logits, soft[index], cfg.distill_temperature) * per_class[target]
                    row_loss = (1 - cfg.distill_weight) * row_loss + cfg.distill_weight * kl
                loss = (row_loss * weight).sum() / weight.sum()
                if evidence is not None:
                    tags = target_batch([evidence[i] for i in index], batch["input_ids"].shape[1])
                    loss = loss + cfg.evidence_weight * self.evidence_head.loss(
                        output.hidden_states[-1], tags.to(self.device)
                    )
                loss.backward()
                torch.nn.utils.clip_grad_norm_(trained, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                running += loss.item() * len(index)
                seen += len(index)
                bar.set_postfix(loss=f"{running / seen:.4f}")
            dev, _ = self.evaluate(self.dev_rows)
            entry = {
                "epoch": epoch,
                "train_loss": running / seen,
                "dev_macro_f1": dev["macro_f1"],
                "dev_f1": {k: v["f1"] for k, v in dev["per_class"].items()},
                "elapsed_s": round(time.time() - started, 1),
            }
            history.append(entry)
            tqdm.write(json.dumps(entry))
            if dev["macro_f1"] > best_f1:
                best_f1, best_epoch, stale = dev["macro_f1"], epoch, 0
                self.model.save_pretrained(out / MODEL_FOLDER)
                self.tokenizer.save_pretrained(out / MODEL_FOLDER)
            else:
                stale += 1
                if cfg.early_stopping_patience and stale >= cfg.early_stopping_patience:
                    tqdm.write(f"early stop: no dev gain for {stale} epochs")
                    break
        self.model = load_classifier(out / MODEL_FOLDER, attn_implementation="eager").to(self.device)
        dev, _ = self.evaluate(self.dev_rows)
        heldout = self.evaluate(self.heldout_rows)[0] if self.heldout_rows else None
        record = {
            "config": json.loads(cfg.model_dump_json()),
            "base_model_path_name": self.base_path.name,
            "git_commit": self.commit,
            "seed": cfg.seed,
            "hardware": hardware(),
            "torch": torch.__version__,
            "train_rows": len(self.train_rows),
            "teacher": self.teacher,
            "data_card": self.data_card,
            "history": history,
            "best_epoch": best_epoch,
            "train_seconds": round(time.time() - started, 1),
            "dev_metrics": dev,
            "heldout_set": HELDOUT_SET,
            "heldout_metrics": heldout,
        }
        (out / RUN_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        return out


def train(config: TrainConfig, overwrite: bool = False) -> Path:
    """Train as ``config`` says and return the run folder (``checkpoint/`` + ``run.json``).

    An ``output_dir`` that holds a run is refused, or with ``overwrite`` emptied of it before training.
    """
    return Trainer(config, overwrite).run()
