"""A group of runs of one recipe over several seeds: "consistently", measured.

Per epoch, mean ± std test accuracy over the seeds; per seed, the minimum over the last k
epochs; and how many seeds met the target. Made by `run_seeds` (parallel processes) and
`run_stacked` (one stacked model) alike.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from ..richtext import html_block, html_table, text_table
from ..rules import Target
from .result import RunResult


@dataclass(frozen=True)
class SeedsResult:
    seeds: tuple[int, ...]
    runs: tuple[RunResult, ...]
    target: Target
    model: str = "model"  # the spec's name, for naming the group's directory

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def passed(self) -> int:
        return sum(r.verdict.passed for r in self.runs)

    def last_k_min(self) -> list[float]:
        k = self.target.consistent
        return [min(m["test_acc"] for m in r.metrics[-k:]) for r in self.runs]

    def per_epoch(self) -> list[dict[str, float]]:
        epochs = min(len(r.metrics) for r in self.runs)
        out = []
        for e in range(epochs):
            accs = [r.metrics[e]["test_acc"] for r in self.runs]
            out.append(
                {
                    "epoch": e + 1,
                    "mean": statistics.fmean(accs),
                    "std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                    "min": min(accs),
                    "max": max(accs),
                }
            )
        return out

    def summary(self) -> dict[str, Any]:
        mins = self.last_k_min()
        return {
            "seeds": list(self.seeds),
            "n": self.n,
            "passed": self.passed,
            "last_k": self.target.consistent,
            "target": self.target.target,
            "last_k_min": mins,
            "last_k_min_mean": statistics.fmean(mins),
            "last_k_min_std": statistics.stdev(mins) if len(mins) > 1 else 0.0,
            "per_epoch": self.per_epoch(),
            "runs": [str(r.run_dir) for r in self.runs],
            "seconds_per_epoch": statistics.fmean(
                m["seconds"] for r in self.runs for m in r.metrics
            ),
        }

    def line(self) -> str:
        s = self.summary()
        n, k = s["n"], s["last_k"]
        if self.target.target is None and self.target.preset is None:
            met = "no accuracy target"  # nothing to meet: the numbers speak for themselves
        else:
            met = f"{s['passed']}/{n} seed{'s' * (n != 1)} met the target"
        last = "the last epoch" if k == 1 else f"the last {k} epochs"
        spread = (
            f"{s['last_k_min_mean']:.2f} ± {s['last_k_min_std']:.2f}% (mean ± std over {n} seeds)"
            if n > 1
            else f"{s['last_k_min_mean']:.2f}% (one seed: no spread)"
        )
        return f"{met}; min of {last}: {spread}"

    def _seed_rows(self) -> tuple[list[str], list[list[str]]]:
        k = self.target.consistent
        head = ["seed", f"min of last {k} %", "final test %", "met target", "run"]
        rows = [
            [seed, f"{m:.2f}", f"{r.metrics[-1]['test_acc']:.2f}", "✓" if r.verdict.passed else "✗"]
            + [str(r.run_dir)]
            for seed, m, r in zip(self.seeds, self.last_k_min(), self.runs, strict=True)
        ]
        return head, rows

    def __repr__(self) -> str:
        head, rows = self._seed_rows()
        return f"SeedsResult {self.model}: {self.line()}\n{text_table(head, rows)}"

    def _repr_html_(self) -> str:
        head, rows = self._seed_rows()
        per_epoch = [
            [e["epoch"], f"{e['mean']:.2f} ± {e['std']:.2f}", f"{e['min']:.2f}", f"{e['max']:.2f}"]
            for e in self.per_epoch()
        ]
        epochs = html_table(["epoch", "test % mean ± std", "min", "max"], per_epoch)
        return html_block(f"{self.model}: {self.line()}", html_table(head, rows), epochs)
