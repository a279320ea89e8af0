"""A seeds group's directory: its summary and a picture of the band of curves."""

from __future__ import annotations

from pathlib import Path

from ..training import runs
from ..training.group import SeedsResult
from . import plots


def save_seeds(res: SeedsResult, out: str | Path) -> Path:
    """A directory for the group: seeds.json (summary + run directories) and a band picture."""
    name = res.model
    d = runs.new_run_dir(out, f"{name}-seeds")
    runs.write_json(
        d / "seeds.json",
        {**res.summary(), "line": res.line(), "verdicts": [r.verdict.line() for r in res.runs]},
    )
    fig = plots.learning_curves(
        [r.metrics for r in res.runs], res.target.target, f"{name}: {res.n} seeds"
    )
    plots.save(fig, d / "curves.png")
    return d
