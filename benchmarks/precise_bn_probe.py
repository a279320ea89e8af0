"""A probe, not a setting: would precise batch-norm statistics lift a design on validation?

    python benchmarks/precise_bn_probe.py benchmarks/candidates/course-t14-w11.toml --seeds 4 \
        --images 10000 --out benchmarks/results/screen_w11_precise_bn.json

During training, batch norm's running statistics are a moving average over recent batches, taken
with dropout on; the evaluated model runs with dropout off (the "variance shift" between the
two). Before every evaluation this probe recomputes them exactly (a cumulative average) on the
first IMAGES un-augmented training images, dropout off, in the evaluated model (the EMA's where
the recipe has one). The weights train exactly as without it: train-mode batch norm normalises
with the batch's own statistics. Otherwise the same screen as benchmarks/screen.py (same split,
same seeds, candidates' .run.toml recipes), so its rows pair seed by seed with a screen of the
same candidates on the same machine. It patches the trainer's evaluation in its own worker
processes only; tinycnn itself has no such setting.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import screen
import torch
from torch import nn

from tinycnn.cli import run_script
from tinycnn.data import standardize
from tinycnn.errors import TinyCnnError
from tinycnn.nets import as_net
from tinycnn.training.fast.speed import autocast
from tinycnn.training.loop import Trainer
from tinycnn.training.machine import machine
from tinycnn.training.seeds_parallel import workers_for

BATCH = 1000


@torch.no_grad()
def recalibrate(net: nn.Module, x: torch.Tensor, mean: float, std: float, bf16: bool) -> None:
    """Batch norm's running statistics recomputed on uint8 images x, dropout off."""
    bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    was = net.training
    net.eval()  # dropout off ...
    momenta = [m.momentum for m in bns]
    for m in bns:  # ... batch norm collecting: momentum None is a cumulative average
        m.reset_running_stats()
        m.momentum = None
        m.train()
    for start in range(0, len(x), BATCH):
        with autocast(x.device, bf16):
            net(standardize(x[start : start + BATCH], mean, std))
    for m, momentum in zip(bns, momenta, strict=True):
        m.momentum = momentum
    net.train(was)


def probe(model: str, recipe, threads: int, images: int) -> list[dict]:
    evaluate = Trainer.evaluate

    def precise(self: Trainer, x: torch.Tensor, y: torch.Tensor):
        if getattr(self, "_recalibrated", None) != self.epoch:  # once per epoch, before both splits
            self._recalibrated = self.epoch
            net = self.ema.module if self.ema else self.net
            recalibrate(net, self.train_x[:images], self.mean, self.std, self.runtime.bf16)
        return evaluate(self, x, y)

    Trainer.evaluate = precise  # this worker process only
    return screen.one(model, recipe, threads)  # then exactly screen.py's run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    try:  # a wrong name or file is one line now, not a worker's traceback later
        for m in args.models:
            as_net(m)
    except TinyCnnError as e:
        ap.error(str(e))
    jobs = [
        (m, dataclasses.replace(screen.recipe_for(m, {}, 15, 10_000), seed=s))
        for m in args.models
        for s in range(1, args.seeds + 1)
    ]
    procs, threads = workers_for(len(jobs))
    t0 = time.time()
    with ProcessPoolExecutor(procs, mp_context=mp.get_context("spawn")) as pool:
        n = len(jobs)
        done = list(pool.map(probe, *zip(*jobs, strict=True), [threads] * n, [args.images] * n))
    rows = []
    for i, m in enumerate(args.models):
        metrics = done[i * args.seeds : (i + 1) * args.seeds]
        mins = [min(r["val_acc"] for r in ms[-screen.LAST_K :]) for ms in metrics]
        rows.append(
            {
                "model": m,
                "recipe": dataclasses.asdict(jobs[i * args.seeds][1]),
                "val_last3_min": mins,
                "mean": statistics.mean(mins),
                "std": statistics.stdev(mins) if len(mins) > 1 else 0.0,
                "metrics": metrics,
            }
        )
        print(f"{m}: val last-3 min {rows[-1]['mean']:.2f} ± {rows[-1]['std']:.2f} %  {mins}")
    result = {
        "command": "python benchmarks/precise_bn_probe.py "
        + " ".join(args.models)
        + f" --seeds {args.seeds} --images {args.images} --out {args.out}",
        "machine": {**machine(), "processes": procs, "threads_per_process": threads},
        "wall_seconds": time.time() - t0,
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    run_script(main)
