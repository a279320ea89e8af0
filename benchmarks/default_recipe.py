"""Evidence for the default recipe: the default model, default settings, N seeds.

    python benchmarks/default_recipe.py [--seeds 5] [--model NAME] [--bf16 | --no-bf16] [--out FILE]

Without either flag, bf16 is tinycnn's default (auto: on where the hardware computes bfloat16);
--bf16 / --no-bf16 force it on / off. The output is benchmarks/results/default_recipe_MODEL.json,
with _bf16 / _fp32 added when forced: default_recipe_fast7806_bf16.json.

Writes the raw per-seed metrics, the summary (mean ± std of the last-3-epoch minimum, k/N that
met the target, seconds per epoch), the resolved config and the machine it ran on.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

from tinycnn import zoo
from tinycnn.cli import run_script
from tinycnn.training import Recipe, Runtime, Target
from tinycnn.training.machine import machine
from tinycnn.training.seeds_parallel import run_seeds, workers_for

# --bf16 / --no-bf16 / neither → (the flag in the recorded command, the output file's suffix)
PRECISION = {None: ("", ""), True: (" --bf16", "_bf16"), False: (" --no-bf16", "_fp32")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--model", default=zoo.DEFAULT_MODEL)
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, help="default: auto")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    flag, suffix = PRECISION[args.bf16]
    out = args.out or f"benchmarks/results/default_recipe_{args.model}{suffix}.json"
    recipe, target = Recipe(), Target(target=99.4, consistent=3, max_params=8000, max_epochs=15)
    runs_dir = tempfile.mkdtemp(prefix="tinycnn-bench-")
    runtime = Runtime(out=runs_dir, report=False, bf16=args.bf16)
    procs, threads = workers_for(args.seeds)
    t0 = time.time()
    res = run_seeds(args.model, recipe, target, runtime, list(range(1, args.seeds + 1)))
    result = {
        "command": f"python benchmarks/default_recipe.py --seeds {args.seeds} --model {args.model}"
        + flag,
        "runtime": dataclasses.asdict(runtime),
        "model": args.model,
        "params": res.runs[0].params,
        "recipe": dataclasses.asdict(recipe),
        "target": dataclasses.asdict(target),
        "machine": {
            **machine(),
            "processes": procs,
            "threads_per_process": threads,
        },
        "wall_seconds": time.time() - t0,
        "summary": res.summary(),
        "line": res.line(),
        "verdicts": [r.verdict.line() for r in res.runs],
        "metrics": {str(s): r.metrics for s, r in zip(res.seeds, res.runs, strict=True)},
    }
    Path(out).write_text(json.dumps(result, indent=1) + "\n")
    print(res.line())
    for line in result["verdicts"]:
        print(" ", line)


if __name__ == "__main__":
    run_script(main)
