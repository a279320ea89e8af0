"""Where a training epoch's time goes: torch.profiler over tinycnn's own training loop.

    python benchmarks/profile_step.py                      # fast7806, 2 threads
    python benchmarks/profile_step.py course-t11 --threads 1

Trains MODEL (with its zoo recipe) for one short epoch to warm up, then profiles a second one
(IMAGES training images and their test pass) and groups the ops by what they do. Writes
benchmarks/results/profile_MODEL.json: the command, machine, each group's share of the
profiled CPU time, and the top ops.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

from torch.profiler import ProfilerActivity, profile

from tinycnn.bench import tinycnn_run
from tinycnn.cli import run_script
from tinycnn.data import load
from tinycnn.settings import model_recipe
from tinycnn.training import Runtime
from tinycnn.training.machine import machine

IMAGES = 12_800  # 100 steps at batch 128: enough to rank the ops, seconds to run
TOP = 25
# an op's group: the first whose words appear in its name (aten names, tinycnn's fused ops)
GROUPS = {
    "convolution": ("convolution",),
    "max-pool": ("max_pool",),
    "batch norm": ("batch_norm",),
    # fast dropout draws its drop positions (log1p, cumsum, index_fill_) instead of a mask
    "relu + dropout": (
        "relu",
        "dropout",
        "threshold",
        "clamp_min",
        "log1p",
        "cumsum",
        "index_fill",
    ),
    "augmentation (affine_grid, grid_sample)": ("bmm", "grid_sampler", "affine_grid"),
    "dtype casts and copies": ("copy_", "_to_copy"),
    "optimizer": ("sgd",),
}


def group_of(name: str) -> str:
    low = name.lower()
    return next((g for g, words in GROUPS.items() if any(w in low for w in words)), "other")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model", nargs="?", default="fast7806")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    data = load()
    recipe = model_recipe(args.model, epochs=1, limit_train=IMAGES, limit_test=IMAGES // 5)
    runtime = Runtime(threads=args.threads)
    tinycnn_run(data, args.model, recipe, runtime)  # warm-up: allocations, oneDNN plans
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        metrics, speed = tinycnn_run(data, args.model, recipe, runtime)
    ops = [(e.key, e.self_cpu_time_total) for e in prof.key_averages()]
    total = sum(t for _, t in ops)
    shares: dict[str, float] = {}
    for name, t in ops:
        shares[group_of(name)] = shares.get(group_of(name), 0.0) + t / total
    top = sorted(ops, key=lambda o: -o[1])[:TOP]
    result = {
        "command": f"python benchmarks/profile_step.py {args.model} --threads {args.threads}",
        "machine": {**machine(), "threads": args.threads},
        "recipe": dataclasses.asdict(recipe),
        "speed": speed,
        "seconds": metrics[-1]["seconds"],
        "shares": dict(sorted(shares.items(), key=lambda kv: -kv[1])),
        "top_ops": [{"op": n, "self_cpu_share": t / total} for n, t in top],
    }
    out = Path(f"benchmarks/results/profile_{args.model}.json")
    out.write_text(json.dumps(result, indent=1) + "\n")
    for g, share in result["shares"].items():
        print(f"{share:6.1%}  {g}")


if __name__ == "__main__":
    run_script(main)
