"""Evaluation of a trained model: accuracy, loss, per-class figures, confusion, mistakes.

Per-class *accuracy* is the share of that class's images classified correctly (= recall), the
figure the published write-ups print as "Accuracy of 3: 99%".
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..data import Dataset, load
from ..errors import ConfigError, DataError
from ..richtext import html_block, html_table, text_table
from ..training import scoring
from ..training.runs import Run, RunDirError, load_model

CORRECT_SAMPLE = 20  # correct predictions kept for the picture of what the model gets right


@dataclass(frozen=True)
class Evaluation:
    correct: int
    total: int
    loss: float
    confusion: list[list[int]]  # confusion[true][pred]
    precision: list[float]  # percent; NaN-free: a class never predicted has precision 0
    recall: list[float]  # percent, = per-class accuracy
    support: list[int]
    misclassified: list[dict[str, Any]]  # index, true, pred, confidence, most confident first
    correct_sample: list[dict[str, Any]]  # the first few correct: index, true, confidence
    images: str = ""  # which test images were scored, in words
    class_names: tuple[str, ...] | None = None  # in label order, when the data set names them

    def name(self, c: int) -> str:
        return self.class_names[c] if self.class_names else str(c)

    @property
    def accuracy(self) -> float:
        return 100 * self.correct / self.total

    def line(self) -> str:
        on = f" on {self.images}" if self.images else ""
        return (
            f"{self.accuracy:.2f}% ({self.correct:,}/{self.total:,}){on}, loss {self.loss:.4f}; "
            f"{len(self.misclassified):,} misclassified (.misclassified, most confident first)"
        )

    def _class_rows(self) -> tuple[list[str], list[list[Any]]]:
        head = ["class", "images", "accuracy %", "precision %", "most confused with"]
        rows = []
        for c, (n, rec, prec) in enumerate(
            zip(self.support, self.recall, self.precision, strict=True)
        ):
            wrong = [(v, p) for p, v in enumerate(self.confusion[c]) if p != c and v]
            top = max(wrong, default=None)
            confused = f"{self.name(top[1])} ({top[0]}×)" if top else "—"
            rows.append([self.name(c), n, f"{rec:.2f}", f"{prec:.2f}", confused])
        return head, rows

    def __repr__(self) -> str:  # not the dataclass's: that lists every mistake
        head, rows = self._class_rows()
        return f"Evaluation: {self.line()}\n{text_table(head, rows)}"

    def _repr_html_(self) -> str:
        head, rows = self._class_rows()
        return html_block(f"Evaluation: {self.line()}", html_table(head, rows))

    def to_json(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, **asdict(self)}


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, classes: int) -> torch.Tensor:
    return torch.bincount(y_true * classes + y_pred, minlength=classes * classes).view(
        classes, classes
    )


def per_class(cm: torch.Tensor) -> tuple[list[float], list[float], list[int]]:
    tp = cm.diag().double()
    predicted, support = cm.sum(0).double(), cm.sum(1)
    precision = torch.where(predicted > 0, 100 * tp / predicted.clamp(min=1), 0.0)
    recall = torch.where(support > 0, 100 * tp / support.double().clamp(min=1), 0.0)
    return precision.tolist(), recall.tolist(), support.tolist()


def summarize(probs: torch.Tensor, y: torch.Tensor, loss: float) -> Evaluation:
    """probs: (N, classes) softmax outputs; y: (N,) labels."""
    classes = probs.shape[1]
    conf, pred = probs.max(1)
    cm = confusion_matrix(y, pred, classes)
    precision, recall, support = per_class(cm)
    wrong = (pred != y).nonzero().flatten()
    order = conf[wrong].argsort(descending=True)
    mis = [
        {"index": int(i), "true": int(y[i]), "pred": int(pred[i]), "confidence": float(conf[i])}
        for i in wrong[order].tolist()
    ]
    right = (pred == y).nonzero().flatten()[:CORRECT_SAMPLE].tolist()
    sample = [{"index": i, "true": int(y[i]), "confidence": float(conf[i])} for i in right]
    return Evaluation(
        int((pred == y).sum()), len(y), loss, cm.tolist(), precision, recall, support, mis, sample
    )


def check_fits(run: Run, data: Dataset) -> None:
    """Refuse data of another image shape or class count than the run trained on."""
    shape, classes = run.input
    if tuple(data.input_shape) != tuple(shape) or data.classes != classes:
        raise DataError(
            f"{data.source}: images {_shape(data.input_shape)} in {data.classes} classes, but "
            f"{run.path.name} trained on {_shape(shape)} in {classes} classes; pass the "
            f"--data-dir it trained on"
        )


def _shape(s: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in s)


RUN_LIMIT = "run"  # evaluate_run's default: the test images the run itself was scored on


def evaluate_run(
    path: str | Path,
    data_dir: str | Path | None = None,
    limit_test: int | None | str = RUN_LIMIT,
) -> tuple[Run, Evaluation, Dataset]:
    """Evaluate a run directory (its last checkpoint) or a checkpoint file on the test set.

    limit_test: by default the run's own (its first N test images when it trained with
    `limit_test`, so the numbers match its log); None scores all of them; or a number.
    `Evaluation.images` says which were used. A run whose files are loadable but not as
    tinycnn wrote them (wrong types, wrong statistics) is one line naming the run."""
    try:
        return _evaluate(path, data_dir, limit_test)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as e:
        why = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise RunDirError(f"{path}: damaged ({why}); rerun the run") from None


def _evaluate(
    path: str | Path, data_dir: str | Path | None, limit_test: int | None | str
) -> tuple[Run, Evaluation, Dataset]:
    run, model = load_model(path)
    d = run.config.get("data", {})
    data = load(data_dir if data_dir is not None else d.get("dir"))
    check_fits(run, data)
    own = run.config.get("recipe", {}).get("limit_test")
    if limit_test == RUN_LIMIT:
        limit, whose = own, "the run's"
    elif limit_test is None or (isinstance(limit_test, int) and limit_test > 0):
        limit, whose = limit_test, "asked"
    else:
        raise ConfigError(
            f"limit_test = {limit_test!r}: give a positive number, None for all "
            f"test images, or leave it out for the run's own"
        )
    x, y = data.test_x[:limit], data.test_y[:limit]
    if limit is None or limit >= len(data.test_y):
        images = f"all {len(y):,} test images"
    else:
        images = f"the first {len(y):,} of {len(data.test_y):,} test images ({whose} limit_test)"
    mean, std = d.get("mean", data.mean), d.get("std", data.std)  # the model's own statistics
    # in the precision the run trained and logged in, so the report shows the log's numbers
    bf16 = bool(run.config.get("runtime", {}).get("bf16"))
    logits = scoring.logits(model, x, mean, std, bf16)
    loss = F.cross_entropy(logits, y).item()
    ev = summarize(logits.softmax(1), y, loss)
    return run, dataclasses.replace(ev, images=images, class_names=data.class_names), data
