"""Several seeds of one recipe: "consistently" measured, not claimed.

Seeds run in parallel processes when cores allow, each process with its share of the cores
(threads are set per process: oversubscription makes tiny CPU models many times slower). The
result says, per epoch, mean ± std test accuracy over the seeds; per seed, the minimum over the
last k epochs; and how many seeds met the target.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing as mp
import os
import signal
import statistics
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import zoo
from ..errors import ConfigError, TrainingInterrupted
from ..spec import Spec
from . import runs
from .config import Recipe, Runtime, Target
from .loop import RunResult

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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

    model, recipe, target, runtime, data_dir, run_dir = args
    return train(model, recipe, target, runtime, data_dir, run_dir=run_dir)


def _stop_once(signum: int, frame: object) -> None:
    """A worker stops at the first SIGINT/SIGTERM and ignores the rest: a terminal's Ctrl-C
    reaches every process of the group and the parent forwards it as well."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt


def _worker_init() -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, _stop_once)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Interrupt every worker (each keeps its last checkpoint) and wait for them to finish."""
    with contextlib.suppress(ValueError):  # not the main thread: a second Ctrl-C can't be held
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    for proc in getattr(pool, "_processes", {}).values():  # no public list of the workers
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGINT)
    pool.shutdown(wait=True, cancel_futures=True)


def _interrupted(seeds: list[int], dirs: list[Path]) -> TrainingInterrupted:
    lines = []
    for seed, d in zip(seeds, dirs, strict=True):
        if (d / runs.VERDICT).is_file():
            lines.append(f"seed {seed}: finished ({d})")
        elif (d / runs.LAST).is_file():
            lines.append(f"seed {seed}: resume with: tinycnn train --resume {d}")
        else:
            lines.append(f"seed {seed}: stopped before its first epoch ended; nothing to resume")
    return TrainingInterrupted("interrupted; each seed's run:\n  " + "\n  ".join(lines))


def _discard_unused(dirs: list[Path]) -> None:
    """Remove the run directories of seeds that never started (still empty)."""
    for d in dirs:
        with contextlib.suppress(OSError):
            d.rmdir()  # only succeeds when empty


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
    if not seeds:
        raise ConfigError("no seeds given; give at least one (--seeds 1 or more)")
    procs, threads = workers_for(len(seeds))
    if workers is not None:
        procs, threads = workers, max(1, (os.cpu_count() or 1) // workers)
    if runtime.threads is not None:
        threads = runtime.threads
    rt = dataclasses.replace(runtime, threads=threads, progress=False)
    spec = zoo.resolve(model)
    # made here, so that after Ctrl-C this process can name every seed's run
    dirs = [runs.new_run_dir(runtime.out, spec.name) for _ in seeds]
    jobs = [
        (spec, dataclasses.replace(recipe, seed=s), target, rt, data_dir, d)
        for s, d in zip(seeds, dirs, strict=True)
    ]
    try:
        if procs == 1:
            results = [_one(j) for j in jobs]
        else:
            ctx = mp.get_context("spawn")
            with ProcessPoolExecutor(procs, mp_context=ctx, initializer=_worker_init) as pool:
                futures = [pool.submit(_one, j) for j in jobs]
                try:
                    results = [f.result() for f in futures]
                except (KeyboardInterrupt, TrainingInterrupted):
                    _stop_workers(pool)
                    raise
    except (KeyboardInterrupt, TrainingInterrupted):
        raise _interrupted(seeds, dirs) from None
    finally:
        _discard_unused(dirs)
    return SeedsResult(tuple(seeds), tuple(results), target, spec.name)


def save_seeds(res: SeedsResult, out: str | Path) -> Path:
    """A directory for the group: seeds.json (summary + run directories) and a band picture."""
    from ..reports import plots  # matplotlib only when saving pictures

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
