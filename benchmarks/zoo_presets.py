"""Each zoo budget model trained under its assignment preset with the default recipe.

    python benchmarks/zoo_presets.py [--seeds 1]

Epochs are the most each preset allows (under8k/under10k: 15, under20k-nofc: 19, 12k-18k: 19).
Runs go two at a time, one thread each; writes benchmarks/results/zoo_presets.json with every
run's verdict and per-epoch metrics.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tinycnn.cli import run_script
from tinycnn.training import Recipe, Runtime, Target, train
from tinycnn.training.machine import machine

JOBS = [
    ("gap7496", "under8k", 15),
    ("seq9274", "under10k", 15),
    ("nofc17k", "under20k-nofc", 19),
    ("fc14k", "12k-18k", 19),
]


def one(job: tuple[str, str, int, int, str]) -> dict:
    model, preset, epochs, seed, out = job
    r = train(
        model,
        Recipe(epochs=epochs, seed=seed),
        Target(preset=preset),
        Runtime(out=out, threads=1, progress=False, report=False),
    )
    return {
        "model": model,
        "preset": preset,
        "epochs": epochs,
        "seed": seed,
        "params": r.params,
        "passed": r.verdict.passed,
        "verdict": r.verdict.line(),
        "metrics": r.metrics,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--out", default="benchmarks/results/zoo_presets.json")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tinycnn-zoo-")
    jobs = [(m, p, e, s, tmp) for m, p, e in JOBS for s in range(1, args.seeds + 1)]
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        rows = list(pool.map(one, jobs))
    result = {
        "command": f"python benchmarks/zoo_presets.py --seeds {args.seeds}",
        "machine": {
            **machine(),
            "processes": 2,
            "threads_each": 1,
        },
        "runs": rows,
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    for r in rows:
        print(f"{r['model']:8s} {r['preset']:14s} seed {r['seed']}: {r['verdict']}")


if __name__ == "__main__":
    run_script(main)
