"""What the per-epoch test pass costs, with each way of pooling it can take (issue 30).

    python benchmarks/test_pass.py [--model fast7806] [--rounds 5]

Scores MODEL (fresh weights, tinycnn's CPU speed options, bf16 where the CPU computes it) on
MNIST's 10,000 test images the way every epoch does, with 1 thread (a seed of `--seeds`) and
with all threads (a single run). Without gradients, `FastMaxPool` takes a 2×2 stride-2 pool as
two pairwise maxima; the other row sends the same pool through torch's channels-last kernel, as
training does. Rows take turns, ROUNDS times, each the median of its rounds; both rows must give
the same loss and correct count (the verdict's epochs stay exact). Writes
benchmarks/results/test_pass_MODEL.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

from tinycnn import build, zoo
from tinycnn.cli import run_script
from tinycnn.data import load
from tinycnn.training import Runtime
from tinycnn.training.fast import fastops, speed
from tinycnn.training.machine import machine
from tinycnn.training.scoring import score

ROUNDS = 5
CPU = torch.device("cpu")
PATHS = {
    "pairwise maxima (default)": fastops._pairwise,
    "channels-last kernel": lambda x, args: False,  # what a training step's forward runs
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=zoo.DEFAULT_MODEL)
    ap.add_argument("--rounds", type=int, default=ROUNDS)
    args = ap.parse_args()
    data = load()
    runtime = speed.resolve(Runtime(), CPU)
    torch.manual_seed(0)
    net = build(zoo.get(args.model))
    speed.apply(net, CPU, runtime)
    rows: dict[str, dict] = {}
    for threads in sorted({1, os.cpu_count() or 1}):
        torch.set_num_threads(threads)
        seconds: dict[str, list[float]] = {name: [] for name in PATHS}
        scores = {}
        for _ in range(args.rounds + 1):  # the first round warms up, untimed
            for name, pairwise in PATHS.items():
                fastops._pairwise = pairwise
                t0 = time.perf_counter()
                scores[name] = score(
                    net, data.test_x, data.test_y, data.mean, data.std, bool(runtime.bf16)
                )
                seconds[name].append(time.perf_counter() - t0)
        fastops._pairwise = PATHS["pairwise maxima (default)"]
        if len({json.dumps(s) for s in scores.values()}) != 1:
            raise SystemExit(f"the pooling paths disagree: {scores}")
        for name, s in seconds.items():
            rows[f"{name}, {threads} thread{'s' * (threads > 1)}"] = {
                "seconds": statistics.median(s[1:]),
                "each_round": s[1:],
                "loss_and_correct": scores[name],
            }
    result = {
        "command": f"python benchmarks/test_pass.py --model {args.model} --rounds {args.rounds}",
        "model": args.model,
        "images": len(data.test_x),
        "bf16": bool(runtime.bf16),
        "machine": machine(),
        "rows": rows,
    }
    out = Path(f"benchmarks/results/test_pass_{args.model}.json")
    out.write_text(json.dumps(result, indent=1) + "\n")
    for name, row in rows.items():
        print(f"{name:45s} {row['seconds']:6.3f} s per test pass")


if __name__ == "__main__":
    run_script(main)
