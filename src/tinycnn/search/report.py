"""After a search: the Pareto front, the ranking of the trials, and search.md with pictures
(with the confirmation on the test set, `confirm.py`, where it was run)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from .. import files
from ..data import load
from ..render import render_markdown
from ..reports import plots
from ..rules import load_preset
from ..spec import Spec
from ..table import layer_table
from .storage import JOURNAL, masked


def pareto_front(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The points no other point beats on both: fewer (or as few) parameters and higher (or
    as high) accuracy, one strictly. Sorted by parameters."""
    front: list[tuple[int, float]] = []
    for params, acc in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or acc > front[-1][1]:
            front.append((params, acc))
    return front


def counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Trials per state: complete, pruned, rejected (before training), fail."""
    return dict(Counter(r["state"] for r in rows))


def top(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    done = [r for r in rows if r["state"] == "complete" and r["value"] is not None]
    return sorted(done, key=lambda r: (-r["value"], r["params"]))[:n]


def recipe_text(recipe: dict[str, Any]) -> str:
    """{"lr": 0.0994…, "batch_size": 64} → "lr 0.0994 · batch_size 64"."""
    return " · ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                      for k, v in recipe.items()) or "the defaults"  # fmt: skip


def write_search_md(
    d: Path, rows: list[dict[str, Any]], cfg: Any, confirmed: list[dict[str, Any]], n: int = 3
) -> Path:
    """search.md: counts, the best candidates (with their confirmation where run), the two
    pictures and each best candidate's layer table."""
    done = [r for r in rows if r["value"] is not None and r["params"] is not None]
    points = [(r["params"], r["value"]) for r in done]
    front = pareto_front(points)
    budget = load_preset(cfg.preset).params_below if cfg.preset else None
    if points:
        plots.save(plots.pareto(points, front, budget), d / "pareto.png")
        plots.save(plots.history([r["value"] for r in rows]), d / "history.png")
    states = counts(rows)
    by_trial = {c["trial"]: c for c in confirmed}
    where = masked(cfg.storage) if cfg.storage else f"{d / JOURNAL}"
    rehearsal = (
        [f"**Rehearsal:** trials trained on the first {cfg.limit_train:,} images only "
         f"(--limit-train); rank candidates with a full search.", ""]
        if cfg.limit_train else []
    )  # fmt: skip
    lines = [
        f"# Search {d.name}",
        "",
        f"Study `{cfg.study or d.name}` in {where}: every process that shares it writes this "
        f"page from the whole study ({len(rows)} trials when written).",
        "",
        *rehearsal,
        f"Space `{cfg.space}`, preset `{cfg.preset}`: a finished trial trains {cfg.budget} "
        f"epoch(s) with that budget's schedule ({cfg.pruner} pruner from epoch "
        f"{cfg.first_rung}) and {cfg.seeds} seed(s), scored as its worst seed's lowest "
        f"validation accuracy over the last {cfg.last_k} epoch(s); {cfg.val:,} validation "
        f"images are held out of the training set; the test set is read only to confirm the "
        f"best candidates.",
        "",
        "Trials: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())) + ".",
        "",
        "| rank | trial | params | MACs | score (val %) | confirmed on test | file |",
        "|---:|---:|---:|---:|---:|---|---|",
    ]
    best = top(rows, n)
    for rank, r in enumerate(best, 1):
        c = by_trial.get(r["number"])
        shown = (
            f"{c['passed']}/{c['n']} met, last-3 min {c['last_k_min_mean']:.2f} ± "
            f"{c['last_k_min_std']:.2f}%"
            if c
            else "not run (--confirm K)"
        )
        lines.append(
            f"| {rank} | {r['number']} | {r['params']:,} | {r['macs']:,} | {r['value']:.2f}% | "
            f"{shown} | [top{rank}.toml](top{rank}.toml) |"
        )
    front_text = ", ".join(f"{p:,} params → {a:.2f}%" for p, a in front)
    lines += ["", f"Pareto front (size vs validation accuracy): {front_text or 'none yet'}."]
    if cfg.multi:  # the study's own two objectives
        pairs = [(r["values"][1], r["values"][0]) for r in done if len(r["values"] or ()) == 2]
        shown = ", ".join(f"{x:,.4g} {cfg.objective} → {a:.2f}%" for x, a in pareto_front(pairs))
        lines += ["", f"The study's objectives (accuracy, {cfg.objective}): front {shown}."]
    lines.append("")
    if points:
        lines += ["![accuracy vs size](pareto.png)", "", "![history](history.png)", ""]
    for rank, r in enumerate(best, 1):
        data = load(cfg.data_dir)
        table = layer_table(Spec.from_dict(r["spec"]), data.input_shape, data.classes)
        lines += [f"## top{rank}: trial {r['number']}", "", f"Recipe: {recipe_text(r['recipe'])}.",
                  "", render_markdown(table), ""]  # fmt: skip
    out = d / "search.md"
    files.write_text(out, "\n".join(lines))
    return out
