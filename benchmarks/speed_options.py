"""Per-step cost of each CPU speed option on one model (what decides the defaults).

    python benchmarks/speed_options.py [--model gap7496] [--threads 2]

Times a training step (forward, backward, SGD) on a batch of 128 for: torch dropout, tinycnn's
FastDropout, no dropout (the floor), channels_last, bf16 autocast, oneDNN off, and optionally
torch.compile (--compile: ~30 s to compile). Writes benchmarks/results/speed_options.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from tinycnn import build, zoo
from tinycnn.training.speed import use_fast_dropout

BATCH, WARMUP, STEPS = 128, 5, 40


def step_ms(model_name: str, option: str) -> float:
    spec = zoo.get(model_name)
    if option == "no dropout (floor)":
        spec = spec.with_(dropout=0.0)
    torch.manual_seed(0)
    m = build(spec)
    if option not in ("torch dropout", "no dropout (floor)"):
        use_fast_dropout(m)
    x, y = torch.randn(BATCH, *m.table.input_shape), torch.randint(0, m.table.classes, (BATCH,))
    if option == "channels_last":
        m = m.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    net = torch.compile(m) if option == "torch.compile" else m
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    torch.backends.mkldnn.enabled = option != "oneDNN off"
    try:
        for i in range(WARMUP + STEPS):
            if i == WARMUP:
                t0 = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=option == "bf16 autocast"):
                loss = F.cross_entropy(net(x).float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return 1000 * (time.perf_counter() - t0) / STEPS
    finally:
        torch.backends.mkldnn.enabled = True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="gap7496")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--out", default="benchmarks/results/speed_options.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    options = [
        "torch dropout",
        "fast dropout (default)",
        "no dropout (floor)",
        "channels_last",
        "bf16 autocast",
        "oneDNN off",
    ] + (["torch.compile"] if args.compile else [])
    rows = {o: step_ms(args.model, o) for o in options}
    base = rows["torch dropout"]
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
            f"{o:24s} {ms:7.1f} ms/step  {ms * 60000 / BATCH / 1000:5.1f} s per 60k images  "
            f"{base / ms:4.2f}×"
        )


if __name__ == "__main__":
    main()
