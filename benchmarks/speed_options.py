"""Per-step cost of each CPU speed option on one model (what decides the defaults).

    python benchmarks/speed_options.py [--model gap7496] [--threads 2] [--compile]

Times a training step (forward, backward, SGD) on a batch of 128, each option in a fresh process
(memory settings are process-wide, so no row inherits another's). Rows build up from plain torch
to tinycnn's default on a CPU with native bf16, then try one more option each on top of it.
torch.compile (--compile) takes ~30 s to compile. --profile adds the default step's costliest
ops (torch.profiler, self CPU time). Writes benchmarks/results/speed_options.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from tinycnn import build, zoo
from tinycnn.training import fastops
from tinycnn.training.speed import native_bf16, reuse_freed_memory, use_fast_dropout, use_fast_pool

BATCH, WARMUP, STEPS = 128, 5, 40
PROFILE_TOP = 12  # ops listed by --profile
LADDER = {  # each row adds one option to the row before it
    "torch (nn.Dropout)": set(),
    "+ fast dropout masks": {"fast"},
    "+ ReLU fused into dropout": {"fast", "fuse"},
    "+ reuse freed memory": {"fast", "fuse", "reuse"},
    "+ channels-last max-pool (fp32 default)": {"fast", "fuse", "reuse", "pool"},
    "+ bf16 autocast (default on bf16 CPUs)": {"fast", "fuse", "reuse", "pool", "bf16"},
}
DEFAULT = LADDER["+ bf16 autocast (default on bf16 CPUs)"]
EXTRAS = {  # one more option on top of the last row
    "default, masks from torch's RNG": DEFAULT | {"torch bits"},
    "default, no dropout (floor)": DEFAULT | {"no dropout"},
    "default + channels_last": DEFAULT | {"channels_last"},
    "default, oneDNN off": DEFAULT | {"oneDNN off"},
}
COMPILE = {"default + torch.compile": DEFAULT | {"compile"}}


def step_ms(model_name: str, options: set[str], threads: int, profile: bool = False) -> Any:
    """(ms per step, page faults per step); with `profile`, also {op: self CPU ms per step}."""
    torch.set_num_threads(threads)
    spec = zoo.get(model_name)
    if "no dropout" in options:
        spec = spec.with_(dropout=0.0)
    torch.manual_seed(0)
    m = build(spec)
    if "fast" in options:
        use_fast_dropout(m, fuse="fuse" in options)
    if "pool" in options:
        use_fast_pool(m)
    if "torch bits" in options:  # mask bits from torch's Mersenne Twister, as before PCG64DXSM
        fastops.random_words = lambda n, device: torch.randint(
            -(2**63), 2**63 - 1, (n,), dtype=torch.int64, device=device
        )
    if "reuse" in options:
        reuse_freed_memory()
    x, y = torch.randn(BATCH, *m.table.input_shape), torch.randint(0, m.table.classes, (BATCH,))
    if "channels_last" in options:
        m = m.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    net = torch.compile(m) if "compile" in options else m
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
    faults0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
    for _ in range(STEPS):
        step()
    ms = 1000 * (time.perf_counter() - t0) / STEPS
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / STEPS
    if not profile:
        return ms, faults
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(STEPS):
            step()
    ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:PROFILE_TOP]
    return ms, faults, {e.key: e.self_cpu_time_total / 1000 / STEPS for e in ops}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="gap7496")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--profile", action="store_true", help="also profile the default's step")
    ap.add_argument("--out", default="benchmarks/results/speed_options.json")
    args = ap.parse_args()
    options = {**LADDER, **EXTRAS, **(COMPILE if args.compile else {})}
    rows, faults = {}, {}
    for name, opts in options.items():
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:  # fresh process
            rows[name], faults[name] = pool.submit(step_ms, args.model, opts, args.threads).result()
    base = rows["torch (nn.Dropout)"]
    profile = None
    if args.profile:
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
            *_, profile = pool.submit(step_ms, args.model, DEFAULT, args.threads, True).result()
    result = {
        "command": "python benchmarks/speed_options.py"
        + (" --compile" if args.compile else "")
        + (" --profile" if args.profile else ""),
        "model": args.model,
        "batch": BATCH,
        "steps": STEPS,
        "threads": args.threads,
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
        },
        "bf16_native": native_bf16(torch.device("cpu")),
        "options": {name: sorted(opts) for name, opts in options.items()},
        "ms_per_step": rows,
        "s_per_epoch_60k": {o: ms * 60000 / BATCH / 1000 for o, ms in rows.items()},
        "page_faults_per_step": faults,
        "default_profile_ms_per_step": profile,
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"{args.model}, batch {BATCH}, {args.threads} threads")
    for o, ms in rows.items():
        print(
            f"{o:40s} {ms:7.1f} ms/step  {ms * 60000 / BATCH / 1000:5.1f} s per 60k images  "
            f"{base / ms:4.2f}×  {faults[o]:6.0f} page faults/step"
        )
    for op, ms in (profile or {}).items():
        print(f"  default step, self CPU: {op:40s} {ms:5.2f} ms")


if __name__ == "__main__":
    main()
