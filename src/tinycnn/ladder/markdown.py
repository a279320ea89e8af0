"""`ladder.md`: per step Target · Results · Analysis, one overlay picture, links to reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import files
from ..reports import plots
from ..rules import load_preset
from ..training.runs import read_run
from .analysis import StepStats, analyse

AUGMENT_FIELDS = ("rotate", "shift", "scale", "erase")


def concepts(recipe: dict[str, Any], has_bn: bool, has_drop: bool) -> frozenset[str]:
    out = set()
    if has_bn:
        out.add("bn")
    if has_drop:
        out.add("dropout")
    if any(recipe.get(f, 0) for f in AUGMENT_FIELDS):
        out.add("augmentation")
    if recipe.get("schedule", "constant") != "constant":
        out.add("schedule")
    return frozenset(out)


def step_stats(run_dirs: list[Path], target: float | None, k: int) -> StepStats:
    loaded = [read_run(r) for r in run_dirs]
    first = loaded[0]
    d = first.config["data"]
    table = first.table()  # a spec's, or the traced table of your own module
    params = table.total_params
    kinds = {r.kind for r in table.rows}
    return StepStats(
        params=params,
        train_acc=[[m["train_acc"] for m in r.metrics] for r in loaded],
        test_acc=[[m["test_acc"] for m in r.metrics] for r in loaded],
        target=target,
        k=k,
        concepts=concepts(first.config["recipe"], "bn" in kinds, "dropout" in kinds),
        classes=d["classes"],
        seconds=sum(m["seconds"] for r in loaded for m in r.metrics) / len(loaded),
    )


def _results(s: StepStats) -> str:
    spread = f" ± {s.spread:.2f}" if s.seeds > 1 else ""
    held = f"from epoch {s.held_from}" if s.mean_held else "no"
    return "<br>".join(
        [
            f"params {s.params:,}",
            f"best train {s.best_train:.2f}%",
            f"best test {s.best_test:.2f}%",
            f"last-{s.k} min {s.last_k_min:.2f}%{spread}",
            f"{s.seeds_met}/{s.seeds} seeds met the target"
            if s.target is not None
            else f"{s.seeds} seeds",
            f"mean held the target: {held}" if s.target is not None else "no target",
            f"{s.seconds / 60:.1f} min per seed",
        ]
    )


def _published(p: dict[str, Any]) -> str:
    """The write-up's figures for the step (one run, its best epoch as published), or –."""
    parts = [f"params {p['params']:,}"] if "params" in p else []
    parts += [f"{k} {p[k]:.2f}%" for k in ("train", "test") if k in p]
    parts += [f"*{p['note']}*"] if "note" in p else []
    return "<br>".join(parts) or "–"


def write_ladder_md(ladder: Any, state: dict[str, Any], d: Path) -> Path:
    t = ladder.target
    target = t.target
    k = t.consistent
    if t.preset is not None:
        p = load_preset(t.preset)
        target, k = p.target, p.consistent
    rows, curves, prev = [], {}, None
    published = any(step.published for step in ladder.steps)  # the column, when a step has it
    for step in ladder.steps:
        entry = state["steps"].get(str(step.index))
        if not entry:
            pub = f" {_published(step.published)} |" if published else ""
            rows.append(f"| {step.index}. {step.title} | {step.goal} |{pub} not run yet | |")
            continue
        s = step_stats([d / r for r in entry["runs"]], target, k)
        report = f"{entry['runs'][0]}/report.md"
        title = (
            f"[{step.index}. {step.title}]({report})"
            if (d / report).is_file()
            else f"{step.index}. {step.title}"
        )
        goal = f"{step.goal}<br>*change: {step.change}*"
        pub = f" {_published(step.published)} |" if published else ""
        rows.append(f"| {title} | {goal} |{pub} {_results(s)} | {' '.join(analyse(s, prev))} |")
        curves[f"{step.index}. {step.title}"] = s.mean_curve
        prev = s
    lines = [f"# {ladder.title}", ""]
    if ladder.description:
        lines += [ladder.description, ""]
    rule = f"preset `{t.preset}`" if t.preset else f"target {target}%"
    lines += [
        f"Ladder file: `{ladder.source.name}` · {rule} "
        f"({'the last epoch' if k == 1 else f'last {k} epochs'}) · accuracies are "
        f"means over the seeds shown.",
        "",
    ]
    if state.get("rehearsal"):
        how = ", ".join(f"{k} = {v:,}" for k, v in state["rehearsal"].items())
        lines += [
            f"> **Rehearsal** ({how}): a quick run-through of the ladder, not its results; run "
            f"it again without `--epochs`/`--limit-train` for those.",
            "",
        ]
    if curves:
        plots.save(plots.step_curves(curves, target), d / "steps.png")
        lines += ["![test accuracy per step](steps.png)", ""]
    head = ["Step", "Target", *(["Published (1 run)"] if published else []), "Results", "Analysis"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *rows, ""]
    out = d / "ladder.md"
    files.write_text(out, "\n".join(lines))
    return out
