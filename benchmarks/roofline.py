"""How far is an epoch from what this machine can do? A roofline floor per zoo model, in one run.

    python benchmarks/roofline.py [--models fast7806 gap7496 …] [--threads 2] [--out FILE]

For each model, from its layer table (no guessing):
- arithmetic: training FLOPs per epoch = 60,000 images × 3 passes (forward, and the backward's
  two: gradients of the inputs and of the weights) × 2 FLOPs per multiply-add × the table's
  multiply-adds per image, plus the test pass (10,000 × 2 × MACs);
- memory: bytes the activations move per epoch = per image, every layer's output written in the
  forward and read in the backward, its gradient written and read (4 × the table's activation
  bytes; 2 bytes a value under bf16 autocast, 4 otherwise), plus the test pass's writes;
against this machine's sustained rates, measured in the same run: a large matmul and a large
3×3 convolution (fp32, and bf16 where the CPU computes it natively) and a large copy (memory
bandwidth). The floor is the roofline's: max(FLOPs / the faster of matmul and conv, bytes /
bandwidth). Then each model trains one real epoch (after a warm-up) and its seconds are set
against the floor: how many times the floor the epoch takes.

Where the time above the floor goes: the ops one training step calls (counted with
torch.profiler) × the dispatch cost of one tiny op (measured) × steps per epoch estimates the
per-op overhead, the part no faster arithmetic removes. The test pass is timed on its own too
(10,000 images, forward only): the share of an epoch that checks rather than trains.

Output: benchmarks/results/roofline.json, or --out (command, machine, rates, every model's numbers).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from tinycnn import zoo
from tinycnn.bench import tinycnn_run
from tinycnn.cli import run_script
from tinycnn.data import load
from tinycnn.rules import Target
from tinycnn.settings import Runtime, model_recipe
from tinycnn.table import layer_table
from tinycnn.training.fast.speed import native_bf16
from tinycnn.training.loop import Trainer
from tinycnn.training.machine import machine
from tinycnn.training.runs import RunDir

TRAIN, TEST = 60_000, 10_000  # MNIST's splits
PASSES = 3  # forward, backward to the inputs, backward to the weights: one matmul's work each
ACT_TOUCHES = 4  # an activation is written, read back, its gradient written and read
STEPS_PROFILED = 20


def _rate(fn, work: float, repeat: int = 5) -> float:
    """work per second of `fn`, best of `repeat` after a warm-up (sustained, not peak)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return work / best


def machine_rates(bf16: bool) -> dict[str, float]:
    """FLOP/s of a large matmul and a large 3×3 conv, and copy bandwidth, on this CPU."""
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = {"matmul_fp32_flops": _rate(lambda: a @ b, 2 * n**3)}
    x, w = torch.randn(64, 32, 56, 56), torch.randn(64, 32, 3, 3)
    conv_flops = 2 * 64 * 64 * 32 * 9 * 54 * 54  # N·Cout·Cin·k²·H'·W', ×2 per multiply-add
    out["conv_fp32_flops"] = _rate(lambda: F.conv2d(x, w), conv_flops)
    if bf16:
        ab, bb, xb, wb = (t.bfloat16() for t in (a, b, x, w))
        out["matmul_bf16_flops"] = _rate(lambda: ab @ bb, 2 * n**3)
        out["conv_bf16_flops"] = _rate(lambda: F.conv2d(xb, wb), conv_flops)
    big = torch.empty(64 * 2**20 // 4)  # 64 MB, far beyond the caches
    dst = torch.empty_like(big)
    out["copy_bytes_per_s"] = _rate(lambda: dst.copy_(big), 2 * big.numel() * 4)  # read + write
    t = torch.zeros(1)
    calls = 20_000
    out["tiny_op_seconds"] = 1 / _rate(lambda: [t.add_(1) for _ in range(calls)], calls)
    return out


def floor(model: str, rates: dict[str, float], bf16: bool) -> dict[str, float]:
    t = layer_table(zoo.get(model))
    flops = (TRAIN * PASSES + TEST) * 2 * t.macs
    value_bytes = 2 if bf16 else 4
    acts = t.activation_bytes // 4 * value_bytes  # the table counts float32
    moved = TRAIN * ACT_TOUCHES * acts + TEST * acts
    kind = "bf16" if bf16 else "fp32"
    peak = max(rates[f"matmul_{kind}_flops"], rates[f"conv_{kind}_flops"])
    compute, memory = flops / peak, moved / rates["copy_bytes_per_s"]
    return {"params": t.total_params, "macs_per_image": t.macs, "train_flops": flops,
            "bytes_moved": moved, "compute_seconds": compute, "memory_seconds": memory,
            "floor_seconds": max(compute, memory)}  # fmt: skip


def ops_per_step(model: str, runtime: Runtime) -> float:
    """aten ops one training step calls (tinycnn's own loop, profiled; nested calls counted,
    since each goes through the dispatcher)."""
    data = load()
    batch = model_recipe(model).batch_size
    recipe = model_recipe(model, epochs=1, limit_train=batch * STEPS_PROFILED, limit_test=batch)
    tinycnn_run(data, model, recipe, runtime)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        tinycnn_run(data, model, recipe, runtime)
    calls = sum(e.count for e in prof.key_averages() if e.key.startswith("aten::"))
    return calls / (STEPS_PROFILED + 1)  # the steps and a one-batch test pass


def epoch_seconds(model: str, runtime: Runtime) -> tuple[float, dict]:
    """One real epoch (all 60,000 images and the test pass), after a short warm-up epoch."""
    data = load()
    tinycnn_run(data, model, model_recipe(model, epochs=1, limit_train=6400), runtime)
    metrics, speed = tinycnn_run(data, model, model_recipe(model, epochs=1), runtime)
    return metrics[-1]["seconds"], speed


def test_pass_seconds(model: str, runtime: Runtime, repeat: int = 3) -> float:
    """The per-epoch test pass alone (10,000 images, forward only, the run's precision and
    speed options): the best of `repeat`, after one warm-up pass."""
    data = load()
    with tempfile.TemporaryDirectory() as tmp:
        rt = dataclasses.replace(runtime, out=tmp)
        t = Trainer(zoo.resolve(model), model_recipe(model, epochs=1), Target(target=None), rt,
                    data, RunDir(tmp))  # fmt: skip
        t.evaluate(t.test_x, t.test_y)
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            t.evaluate(t.test_x, t.test_y)
            times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", nargs="*", default=None, help="default: every zoo model < 10k")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/roofline.json"))
    args = ap.parse_args()
    if not args.out.parent.is_dir():  # before minutes of measuring, not after
        ap.error(f"--out {args.out}: no folder {args.out.parent}; create it or name another")
    torch.set_num_threads(args.threads)
    bf16 = native_bf16(torch.device("cpu"))
    models = args.models or [
        m for m in zoo.names() if layer_table(zoo.get(m)).total_params < 10_000
    ]
    t0 = time.time()
    rates = machine_rates(bf16)
    runtime = Runtime(threads=args.threads, report=False, progress=False)
    rows = {}
    for m in models:
        seconds, speed = epoch_seconds(m, runtime)
        test_pass = test_pass_seconds(m, runtime)
        f = floor(m, rates, bool(speed.get("bf16")))
        steps = -(-TRAIN // model_recipe(m).batch_size)
        calls = ops_per_step(m, runtime)
        overhead = calls * steps * rates["tiny_op_seconds"]
        rows[m] = {**f, "epoch_seconds": seconds, "times_floor": seconds / f["floor_seconds"],
                   "test_pass_seconds": test_pass, "ops_per_step": calls,
                   "dispatch_seconds": overhead, "speed": speed}  # fmt: skip
        print(f"{m:14s} epoch {seconds:5.2f} s  floor {f['floor_seconds']:5.2f} s "
              f"({'memory' if f['memory_seconds'] > f['compute_seconds'] else 'compute'})  "
              f"{seconds / f['floor_seconds']:4.1f}× floor  ~{overhead:4.2f} s dispatch "
              f"({calls:.0f} ops/step)  test pass {test_pass:4.2f} s", flush=True)  # fmt: skip
    result = {
        "command": "python benchmarks/roofline.py " + " ".join(sys.argv[1:]),
        "machine": {**machine(), "threads": args.threads},
        "bf16": bf16,
        "rates": rates,
        "models": rows,
        "wall_seconds": time.time() - t0,
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    run_script(main)
