"""Run a shipped ladder into docs/ladders/NAME/ and keep its raw numbers (not its checkpoints).

    python benchmarks/ladder_docs.py examples/ladders/ladder1_7k5.toml --seeds 2

Writes docs/ladders/NAME/ladder.md (the table README shows), steps.png, ladder.json, and every
run's config.json, metrics.jsonl, verdict.json and env.json; model checkpoints are deleted to keep
the repo small (rerun the command to get them). Rerunning skips finished steps (the same spec,
recipe and target); `--render` only writes ladder.md again from the runs there.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinycnn.cli import run_script
from tinycnn.ladder import load_ladder, run_ladder
from tinycnn.ladder.ladder import STATE
from tinycnn.ladder.markdown import write_ladder_md
from tinycnn.training import Runtime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("file")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument(
        "--render",
        action="store_true",
        help="only write ladder.md again from the runs already there (no training): e.g. after "
        "the ladder file's published figures changed",
    )
    args = ap.parse_args()
    ladder = load_ladder(args.file)
    out = Path("docs/ladders") / ladder.source.stem
    if args.render:
        state = json.loads((out / STATE).read_text())
        print(f"wrote {write_ladder_md(ladder, state, out)}")
        return
    d = run_ladder(
        ladder,
        Runtime(progress=False, report=False),
        out,
        args.seeds,
        on_step=lambda step, what: print(f"step {step.index}. {step.title}: {what}", flush=True),
    )
    for ckpt in d.rglob("*.pt"):
        ckpt.unlink()
    print(f"wrote {d / 'ladder.md'}")


if __name__ == "__main__":
    run_script(main)
