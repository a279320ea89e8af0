"""Several seeds of one recipe: "consistently" measured, not claimed.

Seeds run in parallel processes when cores allow, each process with its share of the cores
(threads are set per process: oversubscription makes tiny CPU models many times slower). The
result says, per epoch, mean ± std test accuracy over the seeds; per seed, the minimum over the
last k epochs; and how many seeds met the target.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import multiprocessing as mp
import os
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from ..data import load
from ..errors import ConfigError, ResumeAt, TrainingInterrupted
from ..nets import ModuleNet, as_net
from ..rules import Target, with_preset
from ..settings import Recipe, Runtime
from ..spec import Spec
from . import runs
from .callbacks import Callback
from .engine import train
from .result import RunResult
from .runs import RunDir
from .seeds_result import SeedsResult
from .seeds_stacked import run_stacked

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOP_GRACE_S = 60.0  # for an interrupted worker to save its checkpoint and report
EXIT_GRACE_S = 5.0  # for a worker that has reported to exit before it is terminated


_parent: list[int] = []  # the pid that started this worker (set in the worker)


def _one(args: tuple[Any, ...]) -> RunResult:
    model, recipe, target, runtime, data_dir, run_dir, callbacks = args
    try:
        return train(
            model, recipe, target, runtime, data_dir=data_dir, run_dir=run_dir, callbacks=callbacks
        )
    except (KeyboardInterrupt, TrainingInterrupted):
        if _orphaned():  # no one to report to: exit, the checkpoint is kept
            os._exit(128 + signal.SIGTERM)
        if _parent:  # a worker, stopped and saved: the pool may end it now (a broken pool
            # terminates its workers with SIGTERM; an ignored one would hang the parent's exit)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise


def _orphaned() -> bool:
    """The process that started this worker has died (or is dying: a zombie until reaped)."""
    if not _parent:
        return False
    if os.getppid() != _parent[0]:
        return True
    try:  # /proc/PID/stat: "pid (name) STATE …"
        state = Path(f"/proc/{_parent[0]}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False  # no /proc here: only the parent pid tells
    return state in ("Z", "X")


def _stop_once(signum: int, frame: object) -> None:
    """A worker stops at the first SIGINT/SIGTERM and ignores the rest while it saves: a
    terminal's Ctrl-C (or `timeout`'s SIGTERM) reaches every process of the group and the parent
    forwards it as well. The rest get a handler that does nothing rather than SIG_IGN: a signal
    already pending when the handler changes would make Python print "Signal 15 ignored due to
    race condition"."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _already_stopping)
    raise KeyboardInterrupt


def _already_stopping(signum: int, frame: object) -> None:
    """A repeat of the signal that is stopping this worker: nothing more to do."""


def _worker_init() -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, _stop_once)
    _parent.append(os.getppid())
    _die_with_parent()


PR_SET_PDEATHSIG = 1  # Linux prctl option: a signal for this process when its parent dies


def _die_with_parent() -> None:
    """If the process that started the seeds dies (kill -9, a crashed notebook kernel), its
    workers get SIGTERM and stop as on Ctrl-C, checkpoints kept, instead of training on for no
    one. Linux only; elsewhere the workers end when they next talk to the parent."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop_workers(pool: ProcessPoolExecutor, futures: list[Future[RunResult]]) -> None:
    """Interrupt every worker, wait for each to save its checkpoint and report, then make sure
    it has exited. The pool's own shutdown is not trusted to end them: when its manager thread
    calls the pool broken (seen after a SIGTERM to the whole process group), it leaves the idle
    workers waiting for work, and interpreter exit then joins them forever."""
    with contextlib.suppress(ValueError):  # not the main thread: a second Ctrl-C can't be held
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    procs = list(getattr(pool, "_processes", {}).values())  # no public list of the workers
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGINT)
    wait(futures, timeout=STOP_GRACE_S)  # each stops at its next op, saves and reports
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.join(EXIT_GRACE_S)  # the pool's sentinel ends an idle worker at once
        if proc.is_alive():  # reported (or stuck): a stopped worker takes SIGTERM
            proc.terminate()
            proc.join(EXIT_GRACE_S)
        if proc.is_alive():
            proc.kill()
            proc.join()


def _interrupted(seeds: list[int], dirs: list[Path]) -> TrainingInterrupted:
    parts: list[str | ResumeAt] = ["interrupted; each seed's run:"]
    for seed, d in zip(seeds, dirs, strict=True):
        if (d / runs.VERDICT).is_file():
            parts.append(f"\n  seed {seed}: finished ({d})")
        elif (d / runs.LAST).is_file():
            parts += [f"\n  seed {seed}: resume with: ", ResumeAt(d)]
        else:
            parts.append(
                f"\n  seed {seed}: stopped before its first epoch ended; nothing to resume"
            )
    return TrainingInterrupted(*parts)


def _discard_unused(dirs: list[Path]) -> None:
    """Remove the run directories of seeds that never trained."""
    for d in dirs:
        with contextlib.suppress(OSError):
            RunDir(d).discard()


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
    seeds: Sequence[int],
    *,
    data_dir: str | Path | None = None,
    workers: int | None = None,
    stacked: bool = False,
    callbacks: Sequence[Callback] = (),
) -> SeedsResult:
    """One run per seed: in parallel processes, or (`stacked`) as one stacked model."""
    seeds = list(seeds)
    if stacked:
        return run_stacked(
            model, recipe, target, runtime, seeds, data_dir=data_dir, callbacks=callbacks
        )
    if not seeds:
        raise ConfigError("no seeds given; give at least one (--seeds 1 or more)")
    procs, threads = workers_for(len(seeds))
    if workers is not None:
        procs, threads = workers, max(1, (os.cpu_count() or 1) // workers)
    net = as_net(model)
    if isinstance(net, ModuleNet) and not net.pickles():  # e.g. a class from a notebook
        procs, threads = 1, os.cpu_count() or 1  # one by one, in this process
    if runtime.threads is not None:
        threads = runtime.threads
    rt = dataclasses.replace(runtime, threads=threads, progress=False)
    # made here, so that after Ctrl-C this process can name every seed's run
    name = runs.run_name(net.name, load(data_dir))
    dirs = [RunDir.create(runtime.out, name, seed).path for seed in seeds]
    jobs = [
        (net, dataclasses.replace(recipe, seed=s), target, rt, data_dir, d, tuple(callbacks))
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
                    _stop_workers(pool, futures)
                    raise
    except (KeyboardInterrupt, TrainingInterrupted):
        raise _interrupted(seeds, dirs) from None
    finally:
        _discard_unused(dirs)
    return SeedsResult(tuple(seeds), tuple(results), with_preset(target), net.name)
