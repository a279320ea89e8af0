"""Per-step cost of each CPU speed option on one model (what decides the defaults).

    python benchmarks/speed_options.py [--model fast7806] [--threads 2] [--compile] [--profile]

Times a training step (forward, backward, SGD) on a batch of 128, each option in a process of
its own (memory settings are process-wide, so no row inherits another's). The options take turns,
ROUNDS times 20 steps each, and each row is the median of its rounds: this shared machine's speed
drifts by 10-20 % over minutes, and turns spread that drift over every row alike. Rows build up
from plain torch to tinycnn's default on a CPU with native bf16, then try one more option each
on top of it.
torch.compile (--compile) takes ~30 s to compile. --profile adds the default step's costliest
ops (torch.profiler, self CPU time). Writes benchmarks/results/speed_options_MODEL.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
import torch.nn.functional as F

from tinycnn import build, zoo
from tinycnn.cli import run_script
from tinycnn.training.fast.speed import (
    native_bf16,
    reuse_freed_memory,
    use_fast_dropout,
    use_fast_pool,
)
from tinycnn.training.machine import machine

BATCH, WARMUP, STEPS, ROUNDS = 128, 5, 20, 7
PROFILE_TOP = 12  # ops listed by --profile
LADDER = {  # each row adds one option to the row before it
    "torch (nn.Dropout)": set(),
    "+ fast dropout (drop positions)": {"fast"},
    "+ ReLU fused into dropout": {"fast", "fuse"},
    "+ reuse freed memory": {"fast", "fuse", "reuse"},
    "+ channels-last max-pool (fp32 default)": {"fast", "fuse", "reuse", "pool"},
    "+ bf16 autocast (default on bf16 CPUs)": {"fast", "fuse", "reuse", "pool", "bf16"},
    "+ ReLU/dropout/pool in kernels.c (default)": {
        "fast",
        "fuse",
        "reuse",
        "pool",
        "bf16",
        "native",
    },
}
DEFAULT_NAME = "+ ReLU/dropout/pool in kernels.c (default)"
DEFAULT = LADDER[DEFAULT_NAME]
EXTRAS = {  # one more option on top of the last row
    "default, no dropout (floor)": DEFAULT | {"no dropout"},
    "default + channels_last": DEFAULT | {"channels_last"},
    "default, oneDNN off": DEFAULT | {"oneDNN off"},
    "default + flush denormals": DEFAULT | {"flush denormals"},
    "default, 1 thread": DEFAULT | {"1 thread"},
    "default, 1 thread, torch's ops (no kernels.c)": DEFAULT - {"native"} | {"1 thread"},
}
# Inductor's C++ backend, shapes static (every batch of a run is the same size but the last)
COMPILE = {"default + torch.compile (static shapes)": DEFAULT | {"compile"}}


_STEP: Callable[[], None] | None = None  # the option's training step, built once per process


def setup(model_name: str, options: set[str], threads: int) -> None:
    """Process initializer: build the model with `options` and warm it up."""
    global _STEP
    torch.set_num_threads(1 if "1 thread" in options else threads)
    torch.set_flush_denormal("flush denormals" in options)  # process-wide, so set either way
    spec = zoo.get(model_name)
    if "no dropout" in options:
        spec = spec.with_(dropout=0.0)
    torch.manual_seed(0)
    m = build(spec)
    if "fast" in options:
        use_fast_dropout(m, fuse="fuse" in options)
    if "pool" in options:
        use_fast_pool(m, compiled="native" in options)
    if "reuse" in options:
        reuse_freed_memory()
    x, y = torch.randn(BATCH, *m.table.input_shape), torch.randint(0, m.table.classes, (BATCH,))
    if "channels_last" in options:
        m = m.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    net = torch.compile(m, dynamic=False) if "compile" in options else m
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    torch.backends.mkldnn.enabled = "oneDNN off" not in options

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled="bf16" in options):
            loss = F.cross_entropy(net(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(WARMUP):
        step()
    _STEP = step


def timed(steps: int) -> tuple[float, float]:
    """(ms per step, page faults per step) over `steps` steps of this process's option."""
    assert _STEP is not None
    faults0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
    for _ in range(steps):
        _STEP()
    ms = 1000 * (time.perf_counter() - t0) / steps
    return ms, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / steps


def profiled(steps: int) -> dict[str, float]:
    """{op: self CPU ms per step} for the costliest ops of this process's option."""
    assert _STEP is not None
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            _STEP()
    ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:PROFILE_TOP]
    return {e.key: e.self_cpu_time_total / 1000 / steps for e in ops}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=zoo.DEFAULT_MODEL)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--profile", action="store_true", help="also profile the default's step")
    ap.add_argument("--rounds", type=int, default=ROUNDS, help="timings per option (median)")
    ap.add_argument("--out", help="default: benchmarks/results/speed_options_MODEL.json")
    args = ap.parse_args()
    zoo.get(args.model)  # a wrong name fails here in one line, not inside a worker
    options = {**LADDER, **EXTRAS, **(COMPILE if args.compile else {})}
    ctx = mp.get_context("spawn")
    pools = {  # one process per option, alive for the whole run: memory settings are per process
        name: ProcessPoolExecutor(1, ctx, initializer=setup, initargs=(args.model, o, args.threads))
        for name, o in options.items()
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in options}
    for _ in range(args.rounds):  # rounds interleave the options, so drift hits every row alike
        for name, pool in pools.items():
            samples[name].append(pool.submit(timed, STEPS).result())
    rows = {name: statistics.median(ms for ms, _ in v) for name, v in samples.items()}
    faults = {name: statistics.median(f for _, f in v) for name, v in samples.items()}
    profile = pools[DEFAULT_NAME].submit(profiled, STEPS).result() if args.profile else None
    for pool in pools.values():
        pool.shutdown()
    base = rows["torch (nn.Dropout)"]
    result = {
        "command": f"python benchmarks/speed_options.py --model {args.model}"
        + (" --compile" if args.compile else "")
        + (" --profile" if args.profile else ""),
        "model": args.model,
        "batch": BATCH,
        "steps": STEPS,
        "rounds": args.rounds,
        "ms_per_step_each_round": {name: [ms for ms, _ in v] for name, v in samples.items()},
        "threads": args.threads,
        "machine": machine(),
        "bf16_native": native_bf16(torch.device("cpu")),
        "options": {name: sorted(opts) for name, opts in options.items()},
        "ms_per_step": rows,
        "s_per_epoch_60k": {o: ms * 60000 / BATCH / 1000 for o, ms in rows.items()},
        "page_faults_per_step": faults,
        "default_profile_ms_per_step": profile,
    }
    out = args.out or f"benchmarks/results/speed_options_{args.model}.json"
    Path(out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"{args.model}, batch {BATCH}, {args.threads} threads")
    for o, ms in rows.items():
        print(
            f"{o:40s} {ms:7.1f} ms/step  {ms * 60000 / BATCH / 1000:5.1f} s per 60k images  "
            f"{base / ms:4.2f}×  {faults[o]:6.0f} page faults/step"
        )
    for op, ms in (profile or {}).items():
        print(f"  default step, self CPU: {op:40s} {ms:5.2f} ms")


if __name__ == "__main__":
    run_script(main)
