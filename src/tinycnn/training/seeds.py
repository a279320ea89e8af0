"""Several seeds of one recipe: "consistently" measured, not claimed.

Seeds run in parallel processes when cores allow, each process with its share of the cores
(threads are set per process: oversubscription makes tiny CPU models many times slower). The
result says, per epoch, mean ± std test accuracy over the seeds; per seed, the minimum over the
last k epochs; and how many seeds met the target.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import statistics
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import zoo
from ..spec import Spec
from .config import Recipe, Runtime, Target
from .loop import RunResult


@dataclass(frozen=True)
class SeedsResult:
    seeds: tuple[int, ...]
    runs: tuple[RunResult, ...]
    target: Target
    model: str = "model"  # the spec's name, for naming the group's directory

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def passed(self) -> int:
        return sum(r.verdict.passed for r in self.runs)

    def last_k_min(self) -> list[float]:
        k = self.target.consistent
        return [min(m["test_acc"] for m in r.metrics[-k:]) for r in self.runs]

    def per_epoch(self) -> list[dict[str, float]]:
        epochs = min(len(r.metrics) for r in self.runs)
        out = []
        for e in range(epochs):
            accs = [r.metrics[e]["test_acc"] for r in self.runs]
            out.append(
                {
                    "epoch": e + 1,
                    "mean": statistics.fmean(accs),
                    "std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                    "min": min(accs),
                    "max": max(accs),
                }
            )
        return out

    def summary(self) -> dict[str, Any]:
        mins = self.last_k_min()
        return {
            "seeds": list(self.seeds),
            "n": self.n,
            "passed": self.passed,
            "last_k": self.target.consistent,
            "target": self.target.target,
            "last_k_min": mins,
            "last_k_min_mean": statistics.fmean(mins),
            "last_k_min_std": statistics.stdev(mins) if len(mins) > 1 else 0.0,
            "per_epoch": self.per_epoch(),
            "runs": [str(r.run_dir) for r in self.runs],
            "seconds_per_epoch": statistics.fmean(
                m["seconds"] for r in self.runs for m in r.metrics
            ),
        }

    def line(self) -> str:
        s = self.summary()
        return (
            f"{s['passed']}/{s['n']} seeds met the target; min of the last {s['last_k']} "
            f"epochs: {s['last_k_min_mean']:.2f} ± {s['last_k_min_std']:.2f}% "
            f"(mean ± std over {s['n']} seeds)"
        )


def _one(args: tuple[Any, ...]) -> RunResult:
    from .api import train

    model, recipe, target, runtime, data_dir = args
    return train(model, recipe, target, runtime, data_dir)


def workers_for(n_seeds: int, cores: int | None = None) -> tuple[int, int]:
    """(processes, threads each): one process per two cores, never more processes than seeds."""
    cores = cores or os.cpu_count() or 1
    procs = max(1, min(n_seeds, cores // 2 if cores >= 4 else cores))
    return procs, max(1, cores // procs)


def run_seeds(
    model: str | Path | Spec,
    recipe: Recipe,
    target: Target,
    runtime: Runtime,
    seeds: list[int],
    data_dir: str | Path | None = None,
    workers: int | None = None,
    stacked: bool = False,
) -> SeedsResult:
    """One run per seed: in parallel processes, or (`stacked`) as one stacked model."""
    if stacked:
        from .stacked import run_stacked  # stacked.py builds on SeedsResult

        return run_stacked(model, recipe, target, runtime, seeds, data_dir)
    procs, threads = workers_for(len(seeds))
    if workers is not None:
        procs, threads = workers, max(1, (os.cpu_count() or 1) // workers)
    if runtime.threads is not None:
        threads = runtime.threads
    rt = dataclasses.replace(runtime, threads=threads, progress=False)
    jobs = [(model, dataclasses.replace(recipe, seed=s), target, rt, data_dir) for s in seeds]
    if procs == 1:
        results = [_one(j) for j in jobs]
    else:
        with ProcessPoolExecutor(procs, mp_context=mp.get_context("spawn")) as pool:
            results = list(pool.map(_one, jobs))
    return SeedsResult(tuple(seeds), tuple(results), target, zoo.resolve(model).name)


def save_seeds(res: SeedsResult, out: str | Path) -> Path:
    """A directory for the group: seeds.json (summary + run directories) and a band picture."""
    from ..reports import plots  # matplotlib only when saving pictures
    from . import runs

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
