"""Where a graphed GPU training step's time goes: its kernels, their summed time, the wall time.

    python benchmarks/gpu_step.py [--model fast7806] [--seeds 1 16] [--compile] [--steps 200]

For each seed count S (1: one run; S > 1: a stacked group in each layout, streams and grouped)
builds the training step of MODEL's zoo recipe on the GPU (`--compile`: one run's also with
torch.compile), warms it up until it is captured, then replays STEPS steps on one batch under
torch.profiler. Per step: the wall time (CUDA
events), the kernels launched, their summed durations ("busy") and the span from the first
kernel's start to the last one's end. busy / span > 1 means kernels ran side by side (streams);
wall well above busy means the GPU waited between kernels: launch latency, not arithmetic, sets
the pace. Writes benchmarks/results/gpu_step.json (with the command and the machine).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

from tinycnn.cli import run_script
from tinycnn.data import load
from tinycnn.settings import model_recipe
from tinycnn.training import Runtime, Target
from tinycnn.training.loop import Trainer
from tinycnn.training.machine import device_name, machine
from tinycnn.training.runs import RunDir

TOP = 12
WARM_STEPS = 8  # past the eager warm-up steps and the capture


def measure(model: str, seeds: list[int], runtime: Runtime, steps: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="tinycnn-gpu-step-"))
    dirs = [RunDir.create(tmp, model, s) for s in seeds]
    t = Trainer(
        model, model_recipe(model), Target(target=None), runtime, load(), dirs, seeds
    )  # fmt: skip
    B = t.recipe.batch_size
    idx = torch.stack([torch.randperm(len(t.train_x), device="cuda")[:B] for _ in seeds])
    with torch.inference_mode(False), torch.enable_grad():
        t.net.train()
        for _ in range(WARM_STEPS):
            t.step(idx)
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(steps):
            t.step(idx)
        end.record()
        torch.cuda.synchronize()
        wall_ms = start.elapsed_time(end) / steps
        row = {
            "seeds": len(seeds),
            "layout": "one run" if len(seeds) == 1 else "streams" if runtime.streams else "grouped",
            "compile": runtime.compile,
            "graphed": t.speed["cuda_graph"],
            "wall_ms_per_step": wall_ms,
        }
        try:
            with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                for _ in range(steps):
                    t.step(idx)
                torch.cuda.synchronize()
        except Exception as e:  # the profiler (CUPTI) refused: the wall time still stands
            return row | {"profile_error": f"{type(e).__name__}: {str(e)[:200]}"}
    return row | kernel_times(prof, steps)


def kernel_times(prof: profile, steps: int) -> dict[str, Any]:
    """Per step: kernels launched, their summed durations, the span they cover, the top ones."""
    kernels = [e for e in prof.events() if e.device_type == DeviceType.CUDA]
    by_name: collections.Counter[str] = collections.Counter()
    count: collections.Counter[str] = collections.Counter()
    for e in kernels:
        by_name[e.name] += e.time_range.elapsed_us()
        count[e.name] += 1
    busy = sum(by_name.values())
    starts, ends = [e.time_range.start for e in kernels], [e.time_range.end for e in kernels]
    span = max(ends) - min(starts) if kernels else 0
    return {
        "kernels_per_step": len(kernels) / steps,
        "busy_ms_per_step": busy / steps / 1000,
        "span_ms_per_step": span / steps / 1000,
        "top": [
            {"kernel": k[:120], "per_step": count[k] / steps, "us_per_step": v / steps}
            for k, v in by_name.most_common(TOP)
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="fast7806")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--compile", action="store_true", help="also one run with torch.compile")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument(
        "--channels-last", action=argparse.BooleanOptionalAction, default=None,
        help="the layout (default: tinycnn's, channels-last on a GPU)",
    )  # fmt: skip
    ap.add_argument("--out", default="benchmarks/results/gpu_step.json")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_step.py: no CUDA GPU is visible; run it on a machine with one")
    base = Runtime(device="cuda", progress=False, report=False, channels_last=args.channels_last)
    rows = []
    for n in args.seeds:
        layouts = [True] if n == 1 else [True, False]
        for streams in layouts:
            for compiled in [False, True] if args.compile and n == 1 else [False]:
                rt = dataclasses.replace(base, streams=streams, compile=compiled)
                try:
                    row = measure(args.model, list(range(1, n + 1)), rt, args.steps)
                except Exception as e:  # one failing row (e.g. compile) leaves the others
                    why = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
                    row = {"seeds": n, "streams": streams, "compile": compiled, "error": why}
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if k != "top"}), flush=True)
    out = {
        "command": "python benchmarks/gpu_step.py " + " ".join(sys.argv[1:]),
        "machine": {**machine(), "device_name": device_name(torch.device("cuda"))},
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    run_script(main)
