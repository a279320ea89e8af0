"""GPU evidence in one run: the default recipe's 15 epochs, many seeds at once, and each option.

    python benchmarks/gpu.py [--models fast7806 gap7496] [--model fast7806] [--seeds 16]
                             [--layouts streams grouped] [--no-options] [--compile]

1. one run: each model trained once with tinycnn's defaults (15 epochs, seed 1): the seconds
   each epoch took, their sum, the accuracies and the verdict;
2. stacked: MODEL's `--seeds N --stacked` group (one process) in each layout of `--layouts`:
   streams (each seed its own model on its own CUDA stream, the default) and grouped (one
   model of grouped convolutions): wall seconds for all N seeds and how many met the target
   (mean ± std);
3. options: seconds per epoch of MODEL (default: the default model) with each GPU speed
   option on or off (3 epochs each; epochs 2-3 timed, after warm-up and capture), to show
   what each buys; a row whose option fails here records its error instead.
A warm-up run on 512 images comes first, so CUDA's start-up is in no row. Writes
benchmarks/results/gpu_cuda.json (raw metrics, the machine, the command). The committed one
was made when gap7496 was the default model: `--model gap7496` repeats it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from tinycnn import zoo
from tinycnn.cli import run_script
from tinycnn.training import Recipe, Runtime, Target, runs, train
from tinycnn.training.machine import machine
from tinycnn.training.seeds_stacked import run_stacked

TARGET = Target(target=99.4, consistent=3, max_params=8000, max_epochs=15)
OPTION_EPOCHS = 3
PLAIN = {"cuda_graph": False, "bf16": False, "channels_last": False, "cudnn_benchmark": False}
OPTIONS: dict[str, dict[str, Any]] = {  # plain PyTorch with the data on the GPU, plus…
    "eager fp32 (plain PyTorch, data on the GPU)": PLAIN,
    "eager + bf16": PLAIN | {"bf16": True},
    "eager + channels-last": PLAIN | {"channels_last": True},
    "graph": PLAIN | {"cuda_graph": True},
    "graph + bf16": PLAIN | {"cuda_graph": True, "bf16": True},
    "graph + cuDNN benchmark": PLAIN | {"cuda_graph": True, "cudnn_benchmark": True},
    "graph + channels-last (defaults)": {},
    "defaults + cuDNN benchmark": {"cudnn_benchmark": True},
    "defaults + bf16": {"bf16": True},
}
COMPILED = {"defaults + torch.compile": {"compile": True}}
LAYOUTS = ("streams", "grouped")  # the stacked group's two layouts (Runtime.streams on, off)


def one_run(model: str, runtime: Runtime, recipe: Recipe) -> dict[str, Any]:
    t0 = time.perf_counter()
    res = train(model, recipe, TARGET, runtime)
    wall = time.perf_counter() - t0
    env = json.loads((res.run_dir / runs.ENV).read_text())
    return {
        "model": model,
        "params": res.params,
        "wall_seconds": wall,
        "train_seconds": sum(m["seconds"] for m in res.metrics),
        "epoch_seconds": [m["seconds"] for m in res.metrics],
        "test_acc": [m["test_acc"] for m in res.metrics],
        "verdict": res.verdict.line(),
        "speed": env["speed"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", nargs="+", default=["fast7806", "gap7496"], help="one run each")
    ap.add_argument("--model", default=zoo.DEFAULT_MODEL, help="the stacked and options model")
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--layouts", nargs="+", choices=LAYOUTS, default=list(LAYOUTS))
    ap.add_argument("--options", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--compile", action="store_true", help="add a torch.compile options row")
    ap.add_argument("--out", default="benchmarks/results/gpu_cuda.json")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tinycnn-gpu-")
    base = Runtime(device="cuda", out=tmp, progress=False, report=False)
    train(args.model, Recipe(epochs=1, limit_train=512), Target(target=None), base)
    result: dict[str, Any] = {
        "command": "python benchmarks/gpu.py"
        + f" --models {' '.join(args.models)} --model {args.model} --seeds {args.seeds}"
        + f" --layouts {' '.join(args.layouts)}"
        + ("" if args.options else " --no-options")
        + (" --compile" if args.compile else ""),
        "machine": {
            **machine(),
            "device_name": torch.cuda.get_device_name(),
        },
        "recipe": dataclasses.asdict(Recipe()),
        "target": dataclasses.asdict(TARGET),
    }
    result["one_run"] = [one_run(m, base, Recipe()) for m in args.models]
    for r in result["one_run"]:
        print(
            f"{r['model']}: {len(r['epoch_seconds'])} epochs in {r['train_seconds']:.2f} s "
            f"({r['verdict']})"
        )
    result["stacked"] = {}
    for layout in args.layouts if args.seeds else []:
        t0 = time.perf_counter()
        seeds = list(range(1, args.seeds + 1))
        rt = dataclasses.replace(base, streams=layout == "streams")
        res = run_stacked(args.model, Recipe(), TARGET, rt, seeds)
        row = result["stacked"][layout] = {
            "model": args.model,
            "wall_seconds": time.perf_counter() - t0,
            "line": res.line(),
            "summary": res.summary(),
            "metrics": {str(s): r.metrics for s, r in zip(res.seeds, res.runs, strict=True)},
        }
        print(f"{args.seeds} seeds stacked ({layout}) in {row['wall_seconds']:.1f} s: {res.line()}")
    if args.options:
        options = OPTIONS | (COMPILED if args.compile else {})
        recipe = Recipe(epochs=OPTION_EPOCHS)
        rows = {}
        for name, fields in options.items():
            try:
                r = one_run(args.model, dataclasses.replace(base, **fields), recipe)
            except Exception as e:  # e.g. torch.compile without a working Triton: say so
                rows[name] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"}
                print(f"{name:40s} failed: {rows[name]['error']}")
                continue
            rows[name] = {**r, "seconds_per_epoch": statistics.fmean(r["epoch_seconds"][1:])}
            print(
                f"{name:40s} {rows[name]['seconds_per_epoch']:6.3f} s/epoch "
                f"(first epoch {r['epoch_seconds'][0]:.2f} s), acc {r['test_acc'][-1]:.2f}%"
            )
        result["options"] = rows
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    run_script(main)
