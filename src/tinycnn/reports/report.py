"""`report.md` for a run: spec, layer table, recipe, log, verdict, evaluation and pictures.

GitHub renders it as is: pictures are PNG files next to it, linked relatively.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..data import Dataset
from ..render import render_markdown
from ..training import augment, runs
from ..training.callbacks import Callback, lr_text
from ..training.result import RunResult
from ..training.runs import EVALUATION, REPORT, Run, RunDir
from . import plots
from .evaluate import Evaluation, evaluate_run

FIGURES = "figures"


def write_figures(run: Run, ev: Evaluation, data: Dataset) -> dict[str, str]:
    """Draw every picture of a run into run/figures; returns caption → relative path."""
    out = run.path / FIGURES
    target = run.config["target"].get("target")
    steps = len(run.lr_steps()) // max(1, len(run.metrics)) or None
    things = "digits" if data.is_mnist else "images"  # "digit" only where they are digits
    names, x = data.class_names, data.test_x
    figs = {
        "Learning curves": plots.learning_curves([run.metrics], target, run.model_name),
        "Learning rate per step": plots.lr_curve(run.lr_steps(), steps),
        "Confusion matrix": plots.confusion(ev.confusion, names),
        f"Misclassified test {things} (true→pred, confidence)": plots.mistakes_grid(
            x, ev.misclassified, names=names
        ),
        f"Correctly classified test {things} (label, confidence)": plots.correct_grid(
            x, ev.correct_sample, names=names
        ),
    }
    names = ["curves", "lr", "confusion", "mistakes", "correct"]
    return {
        caption: f"{FIGURES}/{plots.save(fig, out / f'{name}.png').name}"
        for (caption, fig), name in zip(figs.items(), names, strict=True)
    }


# the recipe fields that only one schedule or optimizer reads
SCHEDULE_FIELDS = {
    "onecycle": ("pct_start", "div_factor", "final_div_factor"),
    "step": ("step_size", "gamma"),
    "plateau": ("plateau_metric", "plateau_factor", "plateau_patience"),
}
SGD_FIELDS = ("momentum", "nesterov")


def used_settings(recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe without the settings this run never read (a OneCycle run's step size)."""
    unused = {f for kind, fs in SCHEDULE_FIELDS.items() if kind != recipe.get("schedule")
              for f in fs}  # fmt: skip
    if recipe.get("optimizer", "sgd") != "sgd":
        unused |= set(SGD_FIELDS)
    if not any(recipe.get(op) for op in augment.AFFINE):
        unused.add("aug_p")  # the policy's probability, with no geometric op to apply
    if not any(recipe.get(op) for op in augment.NAMES):
        unused.add("clean_epochs")  # nothing to leave out of the last epochs
    return {k: v for k, v in recipe.items() if k not in unused}


def _kv_table(d: dict[str, Any]) -> list[str]:
    return ["| setting | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in d.items())]


def _log_table(metrics: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| epoch | train loss | train acc | test loss | test acc | correct | lr | s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in metrics:
        lines.append(
            f"| {m['epoch']} | {m['train_loss']:.4f} | {m['train_acc']:.2f}% | "
            f"{m['test_loss']:.4f} | {m['test_acc']:.2f}% | "
            f"{m['test_correct']}/{m['test_total']} | {lr_text(m['lr'])} | "
            f"{m['seconds']:.1f} |"
        )
    return lines


def _class_table(ev: Evaluation) -> list[str]:
    lines = ["| class | images | precision | recall (accuracy) |", "|---:|---:|---:|---:|"]
    for c, (p, r, n) in enumerate(zip(ev.precision, ev.recall, ev.support, strict=True)):
        lines.append(f"| {ev.name(c)} | {n} | {p:.2f}% | {r:.2f}% |")
    return lines


def _data_lines(run: Run, ev: Evaluation) -> list[str]:
    d, r = run.config.get("data", {}), run.config["recipe"]
    limits = [f"{k} {r[k]:,}" for k in ("limit_train", "limit_test", "val") if r.get(k)]
    names = d.get("class_names")
    return [
        f"**Data:** {d.get('name', 'MNIST')} ({d.get('source', '?')}): "
        f"{'×'.join(map(str, d.get('input_shape', [])))} images, {d.get('classes')} classes"
        + (f" ({', '.join(names)})" if names else "")
        + f"; used {d.get('train', 0):,} train / {d.get('val', 0):,} val / "
        f"{d.get('test', 0):,} test images" + (f" (limits: {', '.join(limits)})" if limits else ""),
        "",
    ]


def _no_target(run: Run) -> list[str]:
    if run.config["target"].get("target") is not None:
        return []
    return [
        "No accuracy target was set, so there is no pass/fail on accuracy: set one with "
        "`--target 90` (or `--preset NAME`), or put `target = 90` in the data set's "
        "`dataset.toml`.",
        "",
    ]


def _model_lines(run: Run) -> list[str]:
    """A spec as its TOML; your own module as where it came from and what the run kept."""
    if not run.is_module:
        return [run.spec.description, "", "```toml", run.spec.to_toml().rstrip(), "```", ""]
    m = run.config["model"]
    origin, kept = m["module"], m.get("kept")
    where = (
        f"`{origin['file']}`, `{origin['attr']}` (sha256 {origin['sha256'][:12]}…)"
        if origin.get("kind") == "file"
        else f"Python (`{origin.get('object', run.model_name)}`)"
    )
    keeps = (
        f"This run keeps {', '.join(f'`{k}`' for k in kept)}, so evaluate, predict, export "
        f"and serve work on it without your code."
        if isinstance(kept, list) and kept
        else f"It could not be saved with the run ({kept}): evaluate it in Python."
    )
    return [f"Your own `nn.Module` **{run.model_name}**, from {where}. {keeps}", ""]


def write_report(run_dir: str | Path, data_dir: str | Path | None = None) -> Path:
    run, ev, data = evaluate_run(run_dir, data_dir)
    pictures = write_figures(run, ev, data)
    rd = RunDir(run.path)
    rd.write_data(EVALUATION, ev.to_json())
    table = run.table()
    verdict = run.verdict["line"] if run.verdict else f"(run {run.status.get('state')})"
    lines = [
        f"# {run.model_name} — {run.name}",
        "",
        f"**Verdict:** `{verdict}`",
        "",
        *_no_target(run),
        *_data_lines(run, ev),
        f"Test accuracy of the final model: **{ev.accuracy:.2f}%** ({ev.correct}/{ev.total} "
        f"of {ev.images}), loss {ev.loss:.4f}; {len(ev.misclassified)} misclassified. One run "
        f"(seed {run.config['recipe']['seed']}): use `tinycnn train --seeds N` to see the spread.",
        "",
        "## Learning curves",
        "",
        f"![Learning curves]({pictures['Learning curves']})",
        "",
        "## Model",
        "",
        *_model_lines(run),
        "## Layer table",
        "",
        render_markdown(table),
        "",
        "## Recipe",
        "",
        *_kv_table(used_settings(run.config["recipe"])),
        "",
        "## Target",
        "",
        *_kv_table(run.config["target"]),
        "",
        "## Training log",
        "",
        *_log_table(run.metrics),
        "",
        "## Per-class results",
        "",
        *_class_table(ev),
        "",
    ]
    for caption, path in list(pictures.items())[1:]:
        lines += [f"## {caption}", "", f"![{caption}]({path})", ""]
    env = run.path / runs.ENV
    if env.is_file():
        lines += ["## Environment", "", "```json", env.read_text().rstrip(), "```", ""]
    return rd.write_file(REPORT, "\n".join(lines))


class ReportWriter(Callback):
    """Writes report.md and its pictures when a run ends, unless the run's `Runtime.report` is
    off (the trainer's, in memory). `tinycnn.run` attaches it; the training engine draws nothing."""

    def __init__(self, data_dir: str | Path | None = None):
        self.data_dir = data_dir

    def on_end(self, trainer: Any, result: RunResult | None) -> None:
        if result is not None and trainer.runtime.report:
            write_report(result.run_dir, self.data_dir)
