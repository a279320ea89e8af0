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
from pathlib import Path

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
    result = collect(args.group, args.command)
    if args.note:
        result = {"note": args.note, **result}
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{args.out}: {result['line']}")


if __name__ == "__main__":
    main()
