"""Many seeds in one process: S replicas trained as one stacked model (`train --seeds N --stacked`).

Replica s starts from exactly the weights a single run with seed s starts from, sees its own data
order (the same permutation generator as a single run) and its own augmentation draws; the loss is
the sum of the replicas' mean losses, so each replica gets exactly its own gradient (see
stacked.py and tests/test_stacked.py). The LR schedule is shared, so ReduceLROnPlateau, which
reacts to each seed's own test loss, is refused. Each seed still gets its own run directory
(config, metrics, verdict, last.pt of its replica, report), so everything that reads runs works.
A stacked group is not resumable: after Ctrl-C, rerun it.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .. import zoo
from ..builder import build
from ..data import Dataset, load
from ..errors import ConfigError, TrainingDiverged, TrainingInterrupted
from ..rules import Target, check_budget, check_memory, judge, preset_rules
from ..spec import Spec
from ..table import layer_table
from . import augment as aug
from . import runs
from .callbacks import Callback
from .config import Recipe, Runtime
from .evaluation import score
from .fast import cudagraph, speed
from .fast.replicas import load_replicas, replica_state
from .group import SeedsResult
from .loop import RunResult, pick_device
from .optim import Schedule, make_optimizer


def run_stacked(
    model: str | Path | Spec,
    recipe: Recipe,
    target: Target,
    runtime: Runtime,
    seeds: list[int],
    data_dir: str | Path | None = None,
    data: Dataset | None = None,
    callbacks: Sequence[Callback] = (),
) -> SeedsResult:
    """`data` (already loaded, e.g. a subset) takes the place of `data_dir` when given.
    There is no per-seed Trainer here: each callback's `on_end(None, result)` sees every seed's
    finished run (a report writer needs no more)."""
    if recipe.val:
        raise ConfigError("--stacked does not hold out a validation split yet; drop --val")
    if recipe.schedule == "plateau":
        raise ConfigError(
            "--stacked shares one LR schedule across seeds, but plateau follows "
            "each seed's test loss; use onecycle, step or constant, or drop --stacked"
        )
    spec = zoo.resolve(model)
    data = load(data_dir) if data is None else data
    threads = runtime.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    dev = pick_device(runtime.device)
    runtime = speed.resolve(runtime, dev)
    table = layer_table(spec, data.input_shape, data.classes)  # budgets before allocating
    params = table.total_params
    check_budget(target, spec.name, params, recipe.epochs)
    check_memory(spec.name, table, recipe.batch_size * len(seeds), len(seeds))
    target, rules = preset_rules(spec, recipe.epochs, target, data.input_shape, data.classes)
    nets = []
    for s in seeds:  # the exact initial weights of a single run with seed s
        torch.manual_seed(s)
        nets.append(build(spec, data.input_shape, data.classes))
    net = build(spec, data.input_shape, data.classes, replicas=len(seeds))
    load_replicas(net, nets)
    net.to(dev)
    used = {**speed.apply(net, dev, runtime), "compile": False}
    r = recipe
    x_tr, y_tr = data.train_x[: r.limit_train].to(dev), data.train_y[: r.limit_train].to(dev)
    x_te, y_te = data.test_x[: r.limit_test].to(dev), data.test_y[: r.limit_test].to(dev)
    orders = [torch.Generator().manual_seed(s) for s in seeds]
    g_aug = torch.Generator(device=dev).manual_seed(seeds[0] + 1)
    strengths = {name: getattr(r, name) for name in aug.NAMES}
    steps = -(-len(x_tr) // r.batch_size)
    opt = make_optimizer(net, r)
    schedule = Schedule(opt, r, steps)
    S, (C, H, W) = len(seeds), data.input_shape
    loss_sum = torch.zeros(S, device=dev)  # the epoch's running sums, added to in place
    correct = torch.zeros(S, device=dev, dtype=torch.long)

    def body(idx: torch.Tensor) -> torch.Tensor:  # idx (S, B): each replica its own images
        B = idx.shape[1]
        x = aug.train_input(x_tr[idx.reshape(-1)], strengths, g_aug, data.mean, data.std)
        x = x.view(S, B, C, H, W).transpose(0, 1)
        y = y_tr[idx].T  # (B, S)
        with speed.autocast(dev, runtime.bf16):
            out = net(x.reshape(B, S * C, H, W)).float()  # (B, S, classes)
        each = (
            F.cross_entropy(
                out.reshape(B * S, -1),
                y.reshape(-1),
                reduction="none",
                label_smoothing=r.label_smoothing,
            )
            .view(B, S)
            .mean(0)
        )
        loss_sum.add_(each.detach() * B)
        correct.add_((out.argmax(2) == y).sum(0))
        return each.sum()  # replicas share no parameter: each gets its own gradient

    step, used["cuda_graph"] = cudagraph.make_step(
        body, opt, [g_aug], dev.type == "cuda" and runtime.cuda_graph
    )
    env = {**runs.environment(dev, threads, seeds[0]), "stacked_seeds": seeds, "speed": used}
    dirs = []
    for s in seeds:
        d = runs.new_run_dir(runtime.out, spec.name)
        runs.write_header(
            d,
            spec,
            dataclasses.replace(r, seed=s),
            target,
            runtime,
            data,
            data_dir,
            (len(x_tr), len(x_te), 0),
            nets[0].table,
            {**env, "seed": s},
        )
        dirs.append(d)
    histories: list[list[dict[str, Any]]] = [[] for _ in seeds]
    lr_steps: list[list[float]] = []
    try:
        for epoch in range(1, r.epochs + 1):
            t0 = time.perf_counter()
            net.train()
            perm = torch.stack([torch.randperm(len(x_tr), generator=g) for g in orders]).to(dev)
            loss_sum.zero_()
            correct.zero_()
            seen, lrs = 0, []
            for start in range(0, len(x_tr), r.batch_size):
                idx = perm[:, start : start + r.batch_size]
                if idx.shape[1] < 2:  # batch norm cannot train on one image
                    continue
                lrs.append(schedule.lr)
                step(idx)
                schedule.after_batch()
                seen += idx.shape[1]
            if not torch.isfinite(loss_sum).all():
                bad = [
                    s
                    for s, v in zip(seeds, loss_sum.tolist(), strict=True)
                    if v != v or abs(v) == float("inf")
                ]
                raise TrainingDiverged(
                    f"loss became non-finite in epoch {epoch} for seeds {bad}; "
                    f"lower the learning rate (e.g. --lr {r.lr / 10:g})"
                )
            test_loss, test_correct = score(
                net, x_te, y_te, data.mean, data.std, runtime.bf16, replicas=S
            )
            secs = time.perf_counter() - t0
            lr_steps.append(lrs)
            for s in range(S):
                row = {
                    "epoch": epoch,
                    "epochs": r.epochs,
                    "train_loss": loss_sum[s].item() / seen,
                    "train_acc": 100 * correct[s].item() / seen,
                    "test_loss": test_loss[s],
                    "test_acc": 100 * test_correct[s] / len(x_te),
                    "test_correct": test_correct[s],
                    "test_total": len(x_te),
                    "lr": lrs[-1],
                    "seconds": secs / S,
                }  # the group's time, shared out
                histories[s].append(row)
                _record(dirs[s], histories[s], lr_steps, net, s, epoch)
            schedule.after_epoch(0.0, 0.0)
    except KeyboardInterrupt:
        for d in dirs:
            runs.write_json(d / runs.STATUS, {"state": "interrupted", "stacked": True})
        raise TrainingInterrupted(
            f"interrupted in a stacked group of {S} seeds; stacked groups "
            f"do not resume: rerun the command"
        ) from None
    results = []
    for s, d in zip(range(S), dirs, strict=True):
        accs = [m["test_acc"] for m in histories[s]]
        verdict = judge(target, accs, params, r.epochs, rules)
        runs.write_json(d / runs.VERDICT, verdict.to_json())
        runs.write_json(d / runs.STATUS, {"state": "finished", "epoch": r.epochs})
        results.append(RunResult(d, histories[s], verdict, params))
        for cb in callbacks:
            cb.on_end(None, results[-1])
    return SeedsResult(tuple(seeds), tuple(results), target, spec.name)


def _record(
    d: Path,
    history: list[dict[str, Any]],
    lr_steps: list[list[float]],
    net: Any,
    s: int,
    epoch: int,
) -> None:
    runs.write_history(d, history, lr_steps)
    runs.save_checkpoint(d / runs.LAST, {"epoch": epoch, "model": replica_state(net, s)})
