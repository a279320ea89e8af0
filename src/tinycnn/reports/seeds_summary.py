"""A seeds group's directory: seeds.json (the summary), the curves with their spread, and a
report.md: the table over seeds, k/n that met the target, and every seed's verdict."""

from __future__ import annotations

from pathlib import Path

from .. import files
from ..training.seeds_result import SeedsResult
from . import plots

CURVES, REPORT, SUMMARY = "curves.png", "report.md", "seeds.json"


def save_seeds(res: SeedsResult, out: str | Path) -> Path:
    """A directory for the group: seeds.json (summary + run directories), the band picture
    and report.md."""
    name = res.model
    d = files.new_dir(out, f"{name}-seeds")
    files.write_json(
        d / SUMMARY,
        {**res.summary(), "line": res.line(), "verdicts": [r.verdict.line() for r in res.runs]},
    )
    fig = plots.learning_curves(res, res.target.target, f"{name}: {res.n} seeds")
    plots.save(fig, d / CURVES)
    files.write_text(d / REPORT, report(res, d))
    return d


def report(res: SeedsResult, d: Path) -> str:
    k = res.target.consistent
    rows = [
        f"| {seed} | {m:.2f}% | {r.metrics[-1]['test_acc']:.2f}% | "
        f"{'✓' if r.verdict.passed else '✗'} | [{r.run_dir.name}]({_rel(r.run_dir, d)}/report.md) |"
        for seed, m, r in zip(res.seeds, res.last_k_min(), res.runs, strict=True)
    ]
    epochs = [
        f"| {e['epoch']} | {e['mean']:.2f} ± {e['std']:.2f}% | {e['min']:.2f}% | {e['max']:.2f}% |"
        for e in res.per_epoch()
    ]
    verdicts = [
        f"- seed {s}: `{r.verdict.line()}`" for s, r in zip(res.seeds, res.runs, strict=True)
    ]
    last = "last epoch" if k == 1 else f"last {k} epochs"
    return "\n".join([
        f"# {res.model}: {res.n} seeds",
        "",
        f"**{res.line()}**",
        "",
        f"![Learning curves, mean ± std over seeds]({CURVES})",
        "",
        "## Seeds",
        "",
        f"| seed | min of the {last} | final test | met | run |",
        "|---:|---:|---:|:---:|---|",
        *rows,
        "",
        "## Test accuracy per epoch over the seeds",
        "",
        "| epoch | mean ± std | min | max |",
        "|---:|---:|---:|---:|",
        *epochs,
        "",
        "## Verdicts",
        "",
        *verdicts,
        "",
    ])  # fmt: skip


def _rel(run: Path, d: Path) -> str:
    """A run's directory as a link from the group's report (siblings under the same --out)."""
    try:
        return "../" + run.resolve().relative_to(d.resolve().parent).as_posix()
    except ValueError:
        return str(run.resolve())
