"""CPU speed benchmark: reference (published-style) pipeline vs tinycnn, in one run.

    python benchmarks/speed.py [--epochs 3] [--seeds 2] [--out benchmarks/results/speed_cpu.json]

Same model, same recipe, same machine, same process; the JSON keeps every epoch's seconds and
accuracy and the machine it ran on. docs/benchmarks.md holds the table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinycnn.bench import benchmark, render


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="gap7496")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--out", default="benchmarks/results/speed_cpu.json")
    args = ap.parse_args()
    result = benchmark(args.model, args.epochs, args.seeds)
    result["command"] = f"python benchmarks/speed.py --epochs {args.epochs} --seeds {args.seeds}"
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(render(result))


if __name__ == "__main__":
    main()
