"""The workbench in one call, as the CLI, ladders, a search's confirmation and notebooks run it.

`run` trains one run, or one run per seed (`seeds=[…]`: parallel processes, or one stacked model
with `stacked=True`), and adds what the engine (`training/`) leaves out: report.md with its
pictures (a default callback, unless `Runtime(report=False)`) and, without a `runtime`, a progress
bar and a line per epoch where someone watches (a terminal or a notebook).

    import tinycnn
    result = tinycnn.run("gap7496", tinycnn.Recipe(epochs=15))
    group = tinycnn.run("fast7806", seeds=[1, 2, 3])     # k/n, mean ± std

`train` is `run`; `run_seeds(model, recipe, target, runtime, seeds)` and `resume` are the other
names users know.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import training, zoo
from .data import load
from .reports import ReportWriter
from .rules import Target
from .settings import Recipe, Runtime
from .spec import Spec
from .training import Callback, RunResult, seeds_parallel
from .training.callbacks import Hooks, watched
from .training.engine import settle
from .training.loop import OnEpoch
from .training.seeds_result import SeedsResult


def _hooks(
    runtime: Runtime | None,
    callbacks: Sequence[Callback],
    data_dir: str | Path | None,
    on_start: Any = None,
    on_epoch: OnEpoch | None = None,
) -> list[Callback]:
    """The callbacks given, the plain functions as one more, and the report as a default one,
    decided from the runtime in memory (a resume's runtime is read from its run, so the writer
    also looks at the trainer's at the end)."""
    hooks = [*callbacks, *([Hooks(on_start, on_epoch)] if on_start or on_epoch else [])]
    if runtime is not None and not runtime.report:
        return hooks
    return [*hooks, ReportWriter(data_dir)]


def run(
    model: str | Path | Spec = zoo.DEFAULT_MODEL,
    recipe: Recipe | None = None,
    target: Target | None = None,
    runtime: Runtime | None = None,
    *,
    seeds: Sequence[int] | None = None,
    stacked: bool = False,
    data_dir: str | Path | None = None,
    callbacks: Sequence[Callback] = (),
    on_epoch: OnEpoch | None = None,
    on_start: Any = None,
) -> RunResult | SeedsResult:
    """Train `model` (zoo name, spec .toml or Spec) and judge it. Not given: the default recipe
    with a zoo model's own changes, the data set's own target, a progress display where someone
    watches. `seeds`: one run per seed, judged together (a `SeedsResult`); `on_epoch(row) ->
    stop?` and `on_start(trainer)` are plain-function callbacks of a single run."""
    runtime = runtime or Runtime(progress=watched())
    hooks = _hooks(runtime, callbacks, data_dir, on_start, on_epoch)
    if seeds is None:
        return training.train(model, recipe, target, runtime, data_dir=data_dir, callbacks=hooks)
    recipe, target = settle(model, recipe, target, load(data_dir).target)
    return seeds_parallel.run_seeds(
        model, recipe, target, runtime, list(seeds), data_dir=data_dir, stacked=stacked,
        callbacks=hooks,
    )  # fmt: skip


train = run  # the name the course's notebooks use


def run_seeds(
    model: str | Path | Spec, recipe: Recipe, target: Target, runtime: Runtime,
    seeds: Sequence[int], **options: Any,
) -> SeedsResult:  # fmt: skip
    """`run(…, seeds=seeds, **options)`: one run per seed, judged together."""
    return run(model, recipe, target, runtime, seeds=seeds, **options)  # type: ignore[return-value]


def resume(
    run_dir: str | Path,
    runtime: Runtime | None = None,
    *,
    callbacks: Sequence[Callback] = (),
    on_epoch: OnEpoch | None = None,
    on_start: Any = None,
    **options: Any,
) -> RunResult:
    """Continue an interrupted run in its directory, then report.md; in a notebook or terminal
    with the progress bar and epoch lines. `options`: `training.resume`'s (`changes` to the
    saved runtime, more `epochs`)."""
    if runtime is None and options.get("changes") is None:
        options["changes"] = {"progress": watched()}
    hooks = _hooks(runtime, callbacks, None, on_start, on_epoch)
    return training.resume(run_dir, runtime, callbacks=hooks, **options)
