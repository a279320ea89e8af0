"""Speed benchmark: reference (published-style) pipeline vs tinycnn, in one run, CPU or GPU.

    python benchmarks/speed.py [--model NAME] [--epochs 3] [--seeds 2] [--device cpu|cuda]
                               [--stacked 16] [--parallel 2]

Same model, same recipe, same machine, same process; the JSON keeps every epoch's seconds and
accuracy and the machine it ran on (benchmarks/results/speed_DEVICE_MODEL.json);
docs/benchmarks.md holds the table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinycnn import zoo
from tinycnn.bench import benchmark, render
from tinycnn.cli import run_script


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=zoo.DEFAULT_MODEL)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu | cuda")
    ap.add_argument("--stacked", type=int, default=0, help="add a stacked row of N seeds")
    ap.add_argument(
        "--parallel", type=int, default=0, help="add a row of N seeds in parallel processes"
    )
    ap.add_argument("--out", help="default: benchmarks/results/speed_DEVICE_MODEL.json")
    args = ap.parse_args()
    out = args.out or f"benchmarks/results/speed_{args.device}_{args.model}.json"
    result = benchmark(
        args.model,
        args.epochs,
        args.seeds,
        device=args.device,
        stacked=args.stacked,
        parallel=args.parallel,
    )
    result["command"] = (
        f"python benchmarks/speed.py --model {args.model}"
        + f" --epochs {args.epochs} --seeds {args.seeds} --device {args.device}"
        + (f" --stacked {args.stacked}" if args.stacked else "")
        + (f" --parallel {args.parallel}" if args.parallel else "")
    )
    Path(out).write_text(json.dumps(result, indent=1) + "\n")
    print(render(result))


if __name__ == "__main__":
    run_script(main)
