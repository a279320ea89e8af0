"""Per-step cost of each CPU speed option on one model (what decides the defaults).

    python benchmarks/speed_options.py [--model gap7496] [--threads 2] [--compile]

Times a training step (forward, backward, SGD) on a batch of 128, each option in a fresh process
(memory settings are process-wide, so no row inherits another's). Rows build up from plain torch
to tinycnn's default, then try one more option each on top of the default. torch.compile
(--compile) takes ~30 s to compile. Writes benchmarks/results/speed_options.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from tinycnn import build, zoo
from tinycnn.training.fastops import FastDropout
from tinycnn.training.speed import reuse_freed_memory, use_fast_dropout

BATCH, WARMUP, STEPS = 128, 5, 40
DEFAULT = "tinycnn default (+ reuse freed memory)"
OPTIONS = [
    "torch (nn.Dropout)",
    "+ fast dropout masks",
    "+ ReLU fused into dropout",
    DEFAULT,
    "default, no dropout (floor)",
    "default + channels_last",
    "default + bf16 autocast",
    "default, oneDNN off",
]
COMPILE = "default + torch.compile"


def step_ms(model_name: str, option: str, threads: int) -> float:
    torch.set_num_threads(threads)
    on_default = option not in OPTIONS[:3]
    spec = zoo.get(model_name)
    if "no dropout" in option:
        spec = spec.with_(dropout=0.0)
    torch.manual_seed(0)
    m = build(spec)
    if option == "+ fast dropout masks":  # unfused: every nn.Dropout → FastDropout
        for name, child in list(m.named_children()):
            if type(child) is nn.Dropout:
                setattr(m, name, FastDropout(child.p))
    elif option != OPTIONS[0]:
        use_fast_dropout(m)
    if on_default:
        reuse_freed_memory()
    x, y = torch.randn(BATCH, *m.table.input_shape), torch.randint(0, m.table.classes, (BATCH,))
    if "channels_last" in option:
        m = m.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    net = torch.compile(m) if option == COMPILE else m
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    torch.backends.mkldnn.enabled = "oneDNN off" not in option
    bf16 = "bf16" in option
    for i in range(WARMUP + STEPS):
        if i == WARMUP:
            t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(net(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return 1000 * (time.perf_counter() - t0) / STEPS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="gap7496")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--out", default="benchmarks/results/speed_options.json")
    args = ap.parse_args()
    options = OPTIONS + ([COMPILE] if args.compile else [])
    ctx = mp.get_context("spawn")
    rows = {}
    for o in options:
        with ctx.Pool(1) as pool:  # a fresh process per row
            rows[o] = pool.apply(step_ms, (args.model, o, args.threads))
    base = rows[OPTIONS[0]]
    result = {
        "command": "python benchmarks/speed_options.py" + (" --compile" if args.compile else ""),
        "model": args.model,
        "batch": BATCH,
        "steps": STEPS,
        "threads": args.threads,
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
        },
        "ms_per_step": rows,
        "s_per_epoch_60k": {o: ms * 60000 / BATCH / 1000 for o, ms in rows.items()},
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"{args.model}, batch {BATCH}, {args.threads} threads")
    for o, ms in rows.items():
        print(
            f"{o:40s} {ms:7.1f} ms/step  {ms * 60000 / BATCH / 1000:5.1f} s per 60k images  "
            f"{base / ms:4.2f}×"
        )


if __name__ == "__main__":
    main()
