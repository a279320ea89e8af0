"""One table across runs: model, params, epochs, accuracies, epochs at target, verdict, time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import TinyCnnError
from ..table import layer_table
from ..training.rundir import read_run

COLUMNS = (
    "run",
    "model",
    "params",
    "epochs",
    "best_train",
    "last_train",
    "best_test",
    "last_test",
    "at_target",
    "verdict",
    "seconds",
)


def compare_row(path: str | Path) -> dict[str, Any]:
    run = read_run(path)
    m = run.metrics
    params = layer_table(run.spec, *run.input).total_params
    target = run.config["target"].get("target")
    verdict = ("PASS" if run.verdict["passed"] else "FAIL") if run.verdict else run.state
    return {
        "run": str(run.path),
        "model": run.spec.name,
        "params": params,
        "epochs": len(m),
        "best_train": max((x["train_acc"] for x in m), default=None),
        "last_train": m[-1]["train_acc"] if m else None,
        "best_test": max((x["test_acc"] for x in m), default=None),
        "last_test": m[-1]["test_acc"] if m else None,
        "at_target": None if target is None else sum(x["test_acc"] >= target for x in m),
        "verdict": verdict,
        "seconds": round(sum(x["seconds"] for x in m), 1),
    }


def unreadable_row(path: str | Path, error: TinyCnnError) -> dict[str, Any]:
    """A row for a directory that is not a readable run: named, marked, the rest empty."""
    return {
        **dict.fromkeys(COLUMNS),
        "run": str(path),
        "verdict": "unreadable",
        "error": str(error),
    }


def compare(paths: list[str | Path], sort: str | None = None) -> list[dict[str, Any]]:
    """One row per run; a path that is not a readable run (damaged, a seeds group's folder, a
    stray file) gets a row marked "unreadable" with the reason under "error", and the rest of
    the listing still comes."""
    rows = []
    for p in paths:
        try:
            rows.append(compare_row(p))
        except TinyCnnError as e:
            rows.append(unreadable_row(p, e))
    if sort is not None:
        if sort not in COLUMNS:
            raise TinyCnnError(f"cannot sort by {sort!r}; use one of {', '.join(COLUMNS)}")
        numeric = sort not in ("run", "model", "verdict")
        rows.sort(
            key=lambda r: (
                r[sort] is None,
                -r[sort] if numeric and r[sort] is not None else r[sort] or "",
            )
        )
    return rows


def _cell(key: str, v: Any) -> str:
    if v is None:
        return "–"
    if key == "params":
        return f"{v:,}"
    if isinstance(v, float) and key != "seconds":
        return f"{v:.2f}"
    return Path(v).name if key == "run" else str(v)


def render_compare(rows: list[dict[str, Any]], markdown: bool = False) -> str:
    cells = [[_cell(k, r[k]) for k in COLUMNS] for r in rows]
    if markdown:
        head = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        return "\n".join(head + ["| " + " | ".join(c) + " |" for c in cells])
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(COLUMNS)]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*COLUMNS), *(fmt.format(*c) for c in cells)])
