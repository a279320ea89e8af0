"""Benchmark: a search over the course family under 8,000 parameters on this machine.

At least 100 trials (3 epochs each, 10,000 validation images held out, median pruning, 2 worker
processes on one journal), then the top 3 confirmed with 5 seeds each under the `under8k` preset
(15 epochs, the whole training split, judged on the test set). Writes the raw results with the
machine and the command to benchmarks/results/search_course_under8k.json, and the search's own
search.md, pareto.png and history.png to docs/search/.

    python benchmarks/search_course.py --trials 100
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from tinycnn.cli import run_script
from tinycnn.search import SearchConfig, search
from tinycnn.search.confirm import confirm
from tinycnn.search.report import counts, pareto_front, write_search_md
from tinycnn.training.machine import machine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=5, help="confirmation seeds per candidate")
    ap.add_argument("--out", default="benchmarks/results/search_course_under8k.json")
    ap.add_argument("--docs", default="docs/search")
    args = ap.parse_args()
    cfg = SearchConfig(
        space="course", trials=args.trials, preset="under8k", epochs=3, val=10_000,
        workers=args.workers, pruner="median", seed=0, out=tempfile.mkdtemp(prefix="tinycnn-"),
    )  # fmt: skip
    t0 = time.time()
    d = search(cfg)
    searched = time.time() - t0
    rows = [json.loads(line) for line in (d / "trials.jsonl").read_text().splitlines()]
    t1 = time.time()
    confirmed = confirm(d, rows, cfg, args.seeds, 3)
    confirm_seconds = time.time() - t1
    write_search_md(d, rows, cfg, confirmed)
    states = counts(rows)
    done = [(r["params"], r["value"]) for r in rows if r["value"] is not None]
    result = {
        "command": f"python benchmarks/search_course.py --trials {args.trials} --workers "
        f"{args.workers} --seeds {args.seeds}",
        "machine": {**machine(), "workers": args.workers},
        "config": {k: v for k, v in cfg.__dict__.items() if k != "out"},
        "search_seconds": searched,
        "trials_per_hour": len(rows) / searched * 3600,
        "states": states,
        "pareto_front": pareto_front(done),
        "confirm_seconds": confirm_seconds,
        "confirmed": [{k: v for k, v in c.items() if k != "runs"} for c in confirmed],
        "trials": rows,
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    docs = Path(args.docs)
    docs.mkdir(parents=True, exist_ok=True)
    for name in ("search.md", "pareto.png", "history.png", "top1.toml", "top2.toml", "top3.toml",
                 "top1.run.toml", "top2.run.toml", "top3.run.toml"):  # fmt: skip
        if (d / name).is_file():
            shutil.copy(d / name, docs / name)
    print(f"{len(rows)} trials in {searched / 60:.1f} min ({result['trials_per_hour']:.0f}/h): "
          f"{states}")  # fmt: skip
    for c in result["confirmed"]:
        spread = f"{c['last_k_min_mean']:.2f} ± {c['last_k_min_std']:.2f}%"
        print(
            f"top{c['rank']} trial {c['trial']} ({c['params']:,} params): "
            f"{c['passed']}/{c['n']} met under8k, last-3 min {spread}"
        )


if __name__ == "__main__":
    run_script(main)
