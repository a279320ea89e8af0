"""One committed JSON from a `tinycnn train … --seeds N --stacked` group directory.

    python benchmarks/stacked_json.py runs/highres4k-t37-seeds-… --command "tinycnn train …" \
        --out benchmarks/results/stacked_h200_highres4k-t37.json

A stacked group (one process, one model holding every seed) writes seeds.json (k/N, mean ± std
of the last-k minimum, every verdict) and one run directory per seed. This gathers them into one
file beside the other 16-seed evidence: the command that trained them, the machine and device
(from the first seed's env.json), the resolved config, the group's summary and every seed's
per-epoch metrics. Used for GPU runs, whose directories stay on the lent machine: the command
that made them is given with --command, since the group does not record its own argv.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tinycnn import files
from tinycnn.cli import run_script
from tinycnn.errors import TinyCnnError

MACHINE_KEYS = ("torch", "python", "platform", "cpu_model", "cpu_count", "device", "device_name")


def collect(group: Path, command: str) -> dict:
    seeds = json.loads((group / "seeds.json").read_text())
    runs = [group.parent / Path(r).name for r in seeds["runs"]]  # recorded relative to the cwd
    env = json.loads((runs[0] / "env.json").read_text())
    return {
        "command": command,
        "machine": {k: env.get(k) for k in MACHINE_KEYS},
        "speed": env.get("speed"),
        "config": json.loads((runs[0] / "config.json").read_text()),
        **{k: v for k, v in seeds.items() if k != "runs"},
        "metrics": {
            str(s): [json.loads(line) for line in (r / "metrics.jsonl").read_text().splitlines()]
            for s, r in zip(seeds["seeds"], runs, strict=True)
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("group", type=Path, help="a stacked group's directory (holds seeds.json)")
    ap.add_argument("--command", required=True, help="the command that trained the group")
    ap.add_argument("--note", help="what a reader should know (precision, reruns)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    if not (args.group / "seeds.json").is_file():
        ap.error(f"{args.group}: no seeds.json; give the directory a --stacked group wrote "
                 "(NAME-seeds-…)")  # fmt: skip
    try:
        result = collect(args.group, args.command)
    except (OSError, ValueError, KeyError, TypeError) as e:  # JSONDecodeError is a ValueError
        sys.exit(
            f"{args.group}: not a stacked group as tinycnn writes one ({type(e).__name__}: "
            f"{e}); give the group's directory, with its seeds' run directories beside it"
        )
    if args.note:
        result = {"note": args.note, **result}
    try:
        files.write_text(args.out, json.dumps(result, indent=1) + "\n")  # whole or not at all
    except TinyCnnError as e:
        sys.exit(str(e))
    print(f"{args.out}: {result['line']}")


if __name__ == "__main__":
    run_script(main)
