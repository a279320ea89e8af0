"""A seeds group's directory: its summary and a picture of the band of curves."""

from __future__ import annotations

from pathlib import Path

from .. import files
from ..training.seeds_result import SeedsResult
from . import plots


def save_seeds(res: SeedsResult, out: str | Path) -> Path:
    """A directory for the group: seeds.json (summary + run directories) and a band picture."""
    name = res.model
    d = files.new_dir(out, f"{name}-seeds")
    files.write_json(
        d / "seeds.json",
        {**res.summary(), "line": res.line(), "verdicts": [r.verdict.line() for r in res.runs]},
    )
    fig = plots.learning_curves(
        [r.metrics for r in res.runs], res.target.target, f"{name}: {res.n} seeds"
    )
    plots.save(fig, d / "curves.png")
    return d
