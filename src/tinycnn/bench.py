"""Speed benchmark: the published pipeline style against tinycnn's, same model and recipe.

The reference is written here with torch alone, the way the published notebooks train: a
per-sample `Dataset` that rotates each image on its own, a `DataLoader` with 2 workers, an eager
model with `nn.Dropout`, log-softmax + NLL, and a `.item()` per batch for the progress line.
tinycnn's pipeline is `Trainer` itself. Both run the same spec and recipe (OneCycleLR over the
benchmark's epochs) in one process, so the ratio compares like with like on this machine.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from . import zoo
from .builder import build
from .data import Dataset, load
from .ranges import check_value
from .rules import Target
from .settings import Recipe, Runtime, model_recipe
from .training import runs
from .training.augment import apply_affine, rotation_matrix
from .training.fast.speed import pick_device, resolve_bf16
from .training.loop import Trainer
from .training.machine import machine
from .training.optim import Schedule, make_optimizer
from .training.runs import RunDir
from .training.seeds_parallel import workers_for
from .training.seeds_stacked import run_stacked

PUBLISHED_MEAN, PUBLISHED_STD = 0.1307, 0.3081  # what the notebooks type in
REFERENCE_WORKERS = 2
Metrics = list[dict[str, float]]  # one run's epochs: seconds, test_acc


class PerSampleMNIST(TorchDataset):
    """One image at a time, as torchvision's MNIST + RandomRotation + Normalize would."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, degrees: float):
        self.x, self.y, self.degrees = x, y, degrees

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        img = self.x[i].float().div(255).unsqueeze(0)  # (1, 1, H, W)
        if self.degrees:
            angle = (torch.rand(1) * 2 - 1) * self.degrees
            img = apply_affine(img, rotation_matrix(angle))
        return ((img - PUBLISHED_MEAN) / PUBLISHED_STD)[0], int(self.y[i])


def reference_run(
    data: Dataset, model: str, recipe: Recipe, threads: int, device: str = "cpu"
) -> Metrics:
    torch.manual_seed(recipe.seed)
    torch.set_num_threads(threads)
    dev = pick_device(device)
    net = build(zoo.resolve(model), data.input_shape, data.classes).to(dev)
    train = DataLoader(
        PerSampleMNIST(data.train_x, data.train_y, recipe.rotate),
        batch_size=recipe.batch_size,
        shuffle=True,
        num_workers=REFERENCE_WORKERS,
        persistent_workers=True,
    )
    test = DataLoader(
        PerSampleMNIST(data.test_x, data.test_y, 0.0),
        batch_size=recipe.batch_size,
        num_workers=REFERENCE_WORKERS,
        persistent_workers=True,
    )
    opt = make_optimizer(net, recipe)
    sched = Schedule(opt, recipe, len(train))
    out = []
    for _ in range(recipe.epochs):
        t0 = time.perf_counter()
        net.train()
        for x, y in train:
            x, y = x.to(dev), y.to(dev)  # the notebooks' per-batch host→device copy
            opt.zero_grad()
            loss = F.nll_loss(F.log_softmax(net(x), dim=1), y)
            loss.backward()
            opt.step()
            sched.after_batch()
            _ = loss.item()  # the per-batch progress line of the notebooks
        net.eval()
        correct = 0
        with torch.no_grad():
            for x, y in test:
                x, y = x.to(dev), y.to(dev)
                correct += int((net(x).argmax(1) == y).sum().item())
        out.append(
            {"seconds": time.perf_counter() - t0, "test_acc": 100 * correct / len(data.test_x)}
        )
    return out


def tinycnn_run(
    data: Dataset, model: str, recipe: Recipe, runtime: Runtime
) -> tuple[Metrics, dict[str, Any]]:
    """Per-epoch seconds and accuracy, and the speed options the trainer actually used."""
    with tempfile.TemporaryDirectory() as tmp:
        rt = dataclasses.replace(runtime, out=tmp, progress=False, report=False)
        t = Trainer(zoo.resolve(model), recipe, Target(target=None), rt, data, RunDir(tmp))
        result = t.fit()
    return [{"seconds": m["seconds"], "test_acc": m["test_acc"]} for m in result.metrics], t.speed


def _row(per_seed: list[Metrics], seconds_per_epoch: float, images: int, speed: dict) -> dict:
    """One pipeline's row: its seconds per (one seed's) epoch and every seed's metrics."""
    accs = [ms[-1]["test_acc"] for ms in per_seed]
    return {
        "seconds_per_epoch": seconds_per_epoch,
        "images_per_second": images / seconds_per_epoch,
        "final_test_acc_mean": sum(accs) / len(accs),
        "final_test_acc": accs,
        "speed": speed,
        "per_seed": per_seed,
    }


def _stacked_row(
    data: Dataset, model: str, epochs: int, n: int, runtime: Runtime
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        rt = dataclasses.replace(runtime, out=tmp, progress=False, report=False)
        res = run_stacked(
            model,
            model_recipe(model, epochs=epochs),
            Target(target=None),
            rt,
            list(range(1, n + 1)),
            data=data,
        )
        env = json.loads((res.runs[0].run_dir / runs.ENV).read_text())
    per_seed = [
        [{"seconds": m["seconds"], "test_acc": m["test_acc"]} for m in r.metrics] for r in res.runs
    ]
    spe = sum(m["seconds"] for m in per_seed[0]) / epochs  # each row holds the group's time / n
    return _row(per_seed, spe, len(data.train_x), {"stacked": True, **env["speed"]})


def _parallel_row(
    data: Dataset, model: str, epochs: int, n: int, runtime: Runtime
) -> dict[str, Any]:
    """n seeds in parallel processes, as `tinycnn train --seeds n` runs them on a CPU: each
    process times its own epochs, and `procs` of them run at once, so one seed's epoch costs
    the mean epoch time / procs."""
    procs, threads = workers_for(n, runtime.threads)
    rt = dataclasses.replace(runtime, threads=threads)
    recipes = [model_recipe(model, epochs=epochs, seed=s) for s in range(1, n + 1)]
    with ProcessPoolExecutor(procs, mp_context=mp.get_context("spawn")) as pool:
        done = list(pool.map(tinycnn_run, [data] * n, [model] * n, recipes, [rt] * n))
    per_seed = [metrics for metrics, _ in done]
    spe = sum(m["seconds"] for ms in per_seed for m in ms) / (n * epochs) / procs
    row = _row(per_seed, spe, len(data.train_x), done[0][1])
    return {**row, "processes": procs, "threads_each": threads}


def benchmark(
    model: str = zoo.DEFAULT_MODEL,
    epochs: int = 3,
    seeds: int = 2,
    fp32: bool = True,
    reference: bool = True,
    threads: int | None = None,
    limit: int | None = None,
    device: str = "auto",
    stacked: int = 0,
    parallel: int = 0,
) -> dict[str, Any]:
    """Time each pipeline for `epochs` epochs × `seeds` seeds; returns a JSON-ready dict.

    The reference runs first, before tinycnn sets any process-wide option (memory reuse).
    `fp32` adds a `--no-bf16` row where tinycnn's defaults resolve to bf16 on this device.
    `limit` keeps only the first N train and test images (a smoke test, not a benchmark).
    `stacked` > 0 adds a row training that many seeds at once as one stacked model (its
    seconds per epoch are per seed, so the rows compare the cost of one seed's epoch);
    `parallel` > 0 adds a row training that many seeds in parallel processes, the way
    `tinycnn train --seeds N` does without --stacked (also per seed)."""
    counts = {"epochs": epochs, "seeds": seeds, "threads": threads, "limit_train": limit}
    for name, value in {**counts, "stacked": stacked, "parallel": parallel}.items():
        check_value(name, value)
    threads = threads or os.cpu_count() or 1
    dev = str(pick_device(device))
    data = load()
    if limit is not None:
        data = dataclasses.replace(
            data,
            train_x=data.train_x[:limit],
            train_y=data.train_y[:limit],
            test_x=data.test_x[:limit],
            test_y=data.test_y[:limit],
        )
    pipelines: dict[str, Any] = {}
    if reference:
        pipelines["reference (per-sample loader)"] = lambda r: (
            reference_run(data, model, r, threads, dev),
            {"published style": True},
        )
    base = Runtime(threads=threads, device=dev)
    pipelines["tinycnn"] = lambda r: tinycnn_run(data, model, r, base)
    if fp32 and resolve_bf16(base.bf16, torch.device(dev)):
        pipelines["tinycnn --no-bf16"] = lambda r: tinycnn_run(
            data, model, r, dataclasses.replace(base, bf16=False)
        )
    rows = {}
    for name, run in pipelines.items():
        done = [run(model_recipe(model, epochs=epochs, seed=s)) for s in range(1, seeds + 1)]
        per_seed = [metrics for metrics, _ in done]
        secs = [m["seconds"] for ms in per_seed for m in ms]
        rows[name] = _row(per_seed, sum(secs) / len(secs), len(data.train_x), done[0][1])
    if stacked:  # after the reference: it sets process-wide options too
        rows[f"tinycnn --stacked ×{stacked}"] = _stacked_row(data, model, epochs, stacked, base)
    if parallel:
        rows[f"tinycnn --seeds {parallel} (parallel processes)"] = _parallel_row(
            data, model, epochs, parallel, base
        )
    first = next(iter(rows.values()))
    for row in rows.values():
        row["speedup"] = first["seconds_per_epoch"] / row["seconds_per_epoch"]
    return {
        "model": model,
        "epochs": epochs,
        "seeds": seeds,
        "limit": limit,
        "recipe": dataclasses.asdict(model_recipe(model, epochs=epochs)),
        "machine": {
            **machine(),
            "threads": threads,
            "device": dev,
            "device_name": torch.cuda.get_device_name() if dev.startswith("cuda") else "cpu",
        },
        "pipelines": rows,
    }


def render(result: dict[str, Any]) -> str:
    head = (
        f"{result['model']}, {result['epochs']} epochs × {result['seeds']} seeds, "
        f"{result['machine']['cpu_count']} CPU cores, torch {result['machine']['torch']}"
    )
    lines = [
        head,
        "| pipeline | s/epoch | images/s | speed-up | final test acc (mean) | options used |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, r in result["pipelines"].items():
        used = ", ".join(k.replace("_", " ") for k, on in r.get("speed", {}).items() if on)
        if "processes" in r:
            used += f", {r['processes']} processes × {r['threads_each']} threads"
        lines.append(
            f"| {name} | {r['seconds_per_epoch']:.2f} | {r['images_per_second']:,.0f} "
            f"| {r['speedup']:.2f}× | {r['final_test_acc_mean']:.2f}% | {used or 'none'} |"
        )
    return "\n".join(lines)
