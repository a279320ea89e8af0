"""Many seeds in one process: S replicas trained as one stacked model (`train --seeds N --stacked`).

Replica s starts from exactly the weights a single run with seed s starts from, sees its own data
order (the same permutation generator as a single run) and its own augmentation draws; the loss is
the sum of the replicas' mean losses, so each replica gets exactly its own gradient (see
`Trainer._step_replicas`, tests/test_stacked.py). The LR schedule is shared, so
ReduceLROnPlateau, which reacts to each seed's own test loss, is refused. Each seed still gets
its own run directory (config, metrics, verdict, last.pt of its replica, report), so everything
that reads runs works.
A stacked group is not resumable: after Ctrl-C, rerun it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..data import Dataset, load
from ..errors import ConfigError, TinyCnnError
from ..nets import as_net
from ..rules import Target, with_preset
from ..settings import Recipe, Runtime
from ..spec import Spec
from . import runs
from .callbacks import Callback
from .loop import Trainer
from .runs import RunDir
from .seeds_result import SeedsResult


def run_stacked(
    model: str | Path | Spec,
    recipe: Recipe,
    target: Target,
    runtime: Runtime,
    seeds: list[int],
    *,
    data_dir: str | Path | None = None,
    data: Dataset | None = None,
    callbacks: Sequence[Callback] = (),
) -> SeedsResult:
    """S seeds as one `Trainer` of S replicas, each with its own run directory. `data`
    (already loaded, e.g. a subset) takes the place of `data_dir` when given."""
    if recipe.schedule == "plateau":
        raise ConfigError(
            "--stacked shares one LR schedule across seeds, but plateau follows "
            "each seed's test loss; use onecycle, step or constant, or drop --stacked"
        )
    net = as_net(model)
    data = load(data_dir) if data is None else data
    dirs = [RunDir.create(runtime.out, runs.run_name(net.name, data), seed) for seed in seeds]
    try:
        trainer = Trainer(net, recipe, target, runtime, data, dirs, seeds)
    except TinyCnnError:
        for d in dirs:  # refused before training: leave no empty runs
            d.discard()
        raise
    trainer.write_headers(data_dir)
    trainer.fit(callbacks)
    return SeedsResult(tuple(seeds), tuple(trainer.results), with_preset(target), net.name)
