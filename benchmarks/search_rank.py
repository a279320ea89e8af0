"""Benchmark: does a search's ranking predict the test result? (issue 29)

Candidates from the committed 3-epoch `course` search (search_course_under8k.json): its top 3
(already judged on the test set over 5 seeds each) and candidates further down its ranking. Each
is scored two ways on the validation split, the test set unread:

  * short: the old scheme, the trial's own validation accuracy after 3 epochs (3-epoch schedule);
  * full:  the new scheme, 15 epochs with the 15-epoch schedule, SEEDS seeds, the worst seed's
           lowest validation accuracy over the last 3 epochs (`search.objective.score`).

The outcome each is compared with: the candidate trained as the preset says (15 epochs, the whole
training split) over TEST seeds, the mean of each seed's lowest test accuracy in the last 3
epochs. Reports Spearman's rank correlation of each score with the outcome.

    python benchmarks/search_rank.py --extra 8,16,24 --seeds 2 --test-seeds 3

Writes benchmarks/results/search_rank_course.json (the machine, the command, every candidate's
scores, every seed's numbers, both correlations).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tinycnn.cli import run_script
from tinycnn.search.objective import score
from tinycnn.spec import Spec
from tinycnn.training import Recipe, Runtime, Target
from tinycnn.training.machine import machine
from tinycnn.training.seeds_parallel import run_seeds

SEARCH = Path("benchmarks/results/search_course_under8k.json")
OUT = Path("benchmarks/results/search_rank_course.json")
BUDGET, LAST_K, VAL = 15, 3, 10_000  # under8k's epochs and "consistently"; the search's split


def ranks(xs: list[float]) -> list[float]:
    """1-based ranks, ties sharing their mean rank."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = ranks(a), ranks(b)
    return statistics.correlation(ra, rb)


def trained(spec: Spec, recipe: Recipe, seeds: list[int], out: str) -> list[list[dict]]:
    res = run_seeds(spec, recipe, Target(target=None), Runtime(out=out, report=False), seeds)
    return [r.metrics for r in res.runs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--extra", default="8,16,24", help="3-epoch ranks to add beyond the top 3")
    ap.add_argument("--seeds", type=int, default=2, help="validation seeds of the full scheme")
    ap.add_argument("--test-seeds", type=int, default=3, help="test seeds for an added candidate")
    args = ap.parse_args()
    search = json.loads(SEARCH.read_text())
    finished = [r for r in search["trials"] if r["value"] is not None]
    done = sorted(finished, key=lambda r: -r["value"])
    confirmed = {c["trial"]: c for c in search["confirmed"]}
    picks = [1, 2, 3] + [int(x) for x in args.extra.split(",") if x]
    out, t0 = tempfile.mkdtemp(prefix="tinycnn-rank-"), time.time()
    rows: list[dict[str, Any]] = []
    for rank in picks:
        r = done[rank - 1]
        spec = Spec.from_dict(r["spec"])
        recipe = Recipe(**{**r["recipe"], "epochs": BUDGET})
        held_out = Recipe(**{**r["recipe"], "epochs": BUDGET, "val": VAL, "select": "val"})
        val = trained(spec, held_out, list(range(1, args.seeds + 1)), out)
        seed_scores = [score(m, LAST_K) for m in val]
        if r["number"] in confirmed:  # judged on the test set when the search ran
            c = confirmed[r["number"]]
            test_mins, test_seeds = c["last_k_min"], c["seeds"]
        else:
            test_seeds = list(range(1, args.test_seeds + 1))
            test = trained(spec, recipe, test_seeds, out)
            test_mins = [min(m["test_acc"] for m in ms[-LAST_K:]) for ms in test]
        rows.append({
            "rank_3_epochs": rank, "trial": r["number"], "params": r["params"],
            "recipe": r["recipe"], "score_3_epochs": r["value"],
            "score_full": min(seed_scores), "seed_scores_full": seed_scores,
            "val_acc_full": [[m["val_acc"] for m in ms] for ms in val],
            "test_seeds": test_seeds, "test_last3_min": test_mins,
            "test_last3_min_mean": statistics.fmean(test_mins),
            "test_met": sum(x >= 99.4 for x in test_mins),
        })  # fmt: skip
        print(f"rank {rank} trial {r['number']}: 3-epoch {r['value']:.2f}, full "
              f"{min(seed_scores):.2f} {seed_scores}, test {statistics.fmean(test_mins):.3f}",
              flush=True)  # fmt: skip
    outcome = [x["test_last3_min_mean"] for x in rows]
    result = {
        "command": f"python benchmarks/search_rank.py --extra {args.extra} --seeds {args.seeds} "
        f"--test-seeds {args.test_seeds}",
        "machine": machine(),
        "source": str(SEARCH),
        "wall_seconds": time.time() - t0,
        "spearman_3_epochs": spearman([x["score_3_epochs"] for x in rows], outcome),
        "spearman_full": spearman([x["score_full"] for x in rows], outcome),
        "candidates": rows,
    }
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(
        f"Spearman with the test outcome: 3-epoch {result['spearman_3_epochs']:.2f}, "
        f"full budget {result['spearman_full']:.2f} ({len(rows)} candidates)"
    )


if __name__ == "__main__":
    run_script(main)
