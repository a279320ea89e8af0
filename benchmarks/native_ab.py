"""kernels.c against the torch ops it replaces: the default training step, paired, interleaved.

    python benchmarks/native_ab.py [--model fast7806] [--rounds 15] [--out FILE]

The same step as speed_options.py (batch 128, forward, backward, SGD; tinycnn's default options
on a bf16 CPU), once with ReLU + dropout + pool in kernels.c and once with torch's ops, each in
a process of its own, at 1 thread (what each `--seeds` process runs) and at every core. The two
take turns for ROUNDS rounds of 20 steps; each round's ratio compares neighbours in time, so the
drift of this shared machine (10-20 % over minutes) cancels, and the median ratio is the claim.
Both compute the same numbers, bit for bit (tests/test_native.py), so no accuracy is at stake.
Writes benchmarks/results/native_ab_MODEL.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from speed_options import DEFAULT, STEPS, setup, timed

from tinycnn import zoo
from tinycnn.cli import run_script
from tinycnn.training.fast import native
from tinycnn.training.machine import machine

ROUNDS = 15
SIDES = {"kernels.c": DEFAULT, "torch ops": DEFAULT - {"native"}}


def paired(model: str, threads: int, rounds: int) -> dict:
    ctx = mp.get_context("spawn")
    pools = {
        side: ProcessPoolExecutor(1, ctx, initializer=setup, initargs=(model, opts, threads))
        for side, opts in SIDES.items()
    }
    ms: dict[str, list[float]] = {side: [] for side in SIDES}
    for _ in range(rounds):
        for side, pool in pools.items():
            ms[side].append(pool.submit(timed, STEPS).result()[0])
    for pool in pools.values():
        pool.shutdown()
    ratios = [t / k for k, t in zip(ms["kernels.c"], ms["torch ops"], strict=True)]
    return {
        "ms_per_step_each_round": ms,
        "median_ms_per_step": {side: statistics.median(v) for side, v in ms.items()},
        "speedup_each_round": ratios,
        "median_speedup": statistics.median(ratios),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=zoo.DEFAULT_MODEL)
    ap.add_argument("--rounds", type=int, default=ROUNDS)
    ap.add_argument("--out", help="default: benchmarks/results/native_ab_MODEL.json")
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error(f"--rounds {args.rounds}: give 1 or more")
    zoo.get(args.model)  # a wrong name fails here in one line, not inside a worker
    why = native.available()
    if why:
        ap.error(f"kernels.c cannot be used here: {why}")
    cores = os.cpu_count() or 1
    result = {
        "command": f"python benchmarks/native_ab.py --model {args.model} --rounds {args.rounds}",
        "model": args.model,
        "machine": machine(),
        "options": {side: sorted(opts) for side, opts in SIDES.items()},
        "threads": {str(t): paired(args.model, t, args.rounds) for t in sorted({1, cores})},
    }
    out = Path(args.out or f"benchmarks/results/native_ab_{args.model}.json")
    out.write_text(json.dumps(result, indent=1) + "\n")
    for t, r in result["threads"].items():
        k, o = r["median_ms_per_step"]["kernels.c"], r["median_ms_per_step"]["torch ops"]
        print(f"{t} thread(s): kernels.c {k:.1f} ms/step, torch ops {o:.1f} ms/step, "
              f"median paired speed-up {r['median_speedup']:.3f}×")  # fmt: skip


if __name__ == "__main__":
    run_script(main)
