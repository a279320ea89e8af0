"""The workbench in one call, as the CLI runs it: train or resume a run and write its report.

`tinycnn.training.train` is the engine and draws nothing; these add `reports.ReportWriter`
(report.md and pictures at the end, unless `Runtime(report=False)`). Without a `runtime`, a
progress bar and a line per epoch show where someone watches (a terminal or a notebook), as the
CLI does; `Runtime(progress=…)` decides it otherwise.

    import tinycnn
    result = tinycnn.train("gap7496", tinycnn.Recipe(epochs=15))
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import training, zoo
from .reports import ReportWriter
from .rules import Target
from .spec import Spec
from .training import Callback, Recipe, RunResult, Runtime
from .training import seeds as seeds_module
from .training.callbacks import watched
from .training.group import SeedsResult
from .training.loop import OnEpoch


def train(
    model: str | Path | Spec = zoo.DEFAULT_MODEL,
    recipe: Recipe | None = None,
    target: Target | None = None,
    runtime: Runtime | None = None,
    data_dir: str | Path | None = None,
    on_epoch: OnEpoch | None = None,
    on_start: Any = None,
    callbacks: Sequence[Callback] = (),
) -> RunResult:
    """`training.train`, then report.md in the run directory."""
    hooks = [*callbacks, ReportWriter(data_dir)]
    runtime = runtime or Runtime(progress=watched())
    return training.train(model, recipe, target, runtime, data_dir, on_epoch, on_start, None, hooks)


def resume(
    run_dir: str | Path,
    runtime: Runtime | None = None,
    on_epoch: OnEpoch | None = None,
    on_start: Any = None,
    changes: dict[str, Any] | None = None,
    epochs: int | None = None,
    callbacks: Sequence[Callback] = (),
) -> RunResult:
    """`training.resume`, then report.md in the run directory (in a notebook or terminal with
    the progress bar and epoch lines)."""
    if runtime is None and changes is None:
        changes = {"progress": watched()}
    hooks = [*callbacks, ReportWriter()]
    return training.resume(run_dir, runtime, on_epoch, on_start, changes, epochs, hooks)


def run_seeds(
    model: str | Path | Spec,
    recipe: Recipe,
    target: Target,
    runtime: Runtime,
    seeds: list[int],
    data_dir: str | Path | None = None,
    stacked: bool = False,
    callbacks: Sequence[Callback] = (),
) -> SeedsResult:
    """`training.seeds.run_seeds`, with a report in every seed's run directory."""
    hooks = [*callbacks, ReportWriter(data_dir)]
    return seeds_module.run_seeds(
        model, recipe, target, runtime, seeds, data_dir, stacked=stacked, callbacks=hooks
    )
