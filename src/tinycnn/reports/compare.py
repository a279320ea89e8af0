"""One table across runs: model, data, params, epochs, accuracies, epochs at target, verdict.

A seeds group's folder (`tinycnn train --seeds N` writes one with seeds.json) is one row: its
runs' mean ± std and how many met the target (k/n); `expand=True` lists its runs as well.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from ..errors import TinyCnnError
from ..richtext import html_block, html_table
from ..training.runs import read_run

COLUMNS = (
    "run",
    "model",
    "data",
    "seed",
    "limits",
    "preset",
    "precision",
    "params",
    "epochs",
    "best_train",
    "last_train",
    "best_test",
    "last_test",
    "last_k_min",
    "at_target",
    "verdict",
    "seconds",
)
TEXT = ("run", "model", "data", "seed", "limits", "preset", "precision", "verdict")
WIDTH = 120  # a terminal's text table fits this unless --wide
# what goes first when the table is too wide: the columns least needed to judge a run
DROP_ORDER = ("limits", "data", "precision", "best_train", "preset", "seed", "at_target",
              "best_test", "last_train", "epochs", "params", "seconds")  # fmt: skip
NARROW = ("run", "model", "params", "epochs", "last_test", "last_k_min", "verdict", "seconds")
NOTES = (
    "last_k_min: the lowest test accuracy of the last k epochs (k = the target's `consistent`): "
    "the number a consistent result is judged on.",
    "at_target: how many epochs reached the run's accuracy target (– without a target).",
    "A seeds group is one row: mean ± std over its runs, verdict k/n = runs that met the target.",
)
SEEDS_FILE = "seeds.json"


def compare_row(path: str | Path) -> dict[str, Any]:
    run = read_run(path)
    m, cfg = run.metrics, run.config
    recipe, target = cfg["recipe"], cfg["target"]
    params = run.table().total_params
    goal, k = target.get("target"), target.get("consistent", 1)
    verdict = ("PASS" if run.verdict["passed"] else "FAIL") if run.verdict else run.state
    used = (("limit_train", "train"), ("limit_test", "test"), ("val", "val"))
    limits = ", ".join(f"{short} {recipe[n]:,}" for n, short in used if recipe.get(n)) or None
    return {
        "run": str(run.path),
        "model": run.model_name,
        "data": cfg.get("data", {}).get("name", "MNIST"),
        "seed": recipe.get("seed"),
        "limits": limits,
        "preset": target.get("preset"),
        "precision": "bf16" if cfg.get("runtime", {}).get("bf16") else "fp32",
        "params": params,
        "epochs": len(m),
        "best_train": max((x["train_acc"] for x in m), default=None),
        "last_train": m[-1]["train_acc"] if m else None,
        "best_test": max((x["test_acc"] for x in m), default=None),
        "last_test": m[-1]["test_acc"] if m else None,
        "last_k_min": min(x["test_acc"] for x in m[-k:]) if len(m) >= k else None,
        "at_target": None if goal is None else sum(x["test_acc"] >= goal for x in m),
        "verdict": verdict,
        "seconds": round(sum(x["seconds"] for x in m), 1),
    }


def group_rows(path: Path, expand: bool = False) -> list[dict[str, Any]]:
    """A seeds group: one row of means (± std) and k/n, then (expand) each run's row."""
    try:
        summary = json.loads((path / SEEDS_FILE).read_text())
        dirs = [
            Path(p) if Path(p).is_dir() else path.parent / Path(p).name for p in summary["runs"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise TinyCnnError(f"{path / SEEDS_FILE}: unreadable ({e}); run the seeds again") from None
    runs = [compare_row(d) for d in dirs]
    first = runs[0]
    row = {**first, "run": str(path), "seed": f"{len(runs)} seeds"}
    for key in ("best_train", "last_train", "best_test", "last_test", "last_k_min", "seconds"):
        vals = [r[key] for r in runs if r[key] is not None]
        row[key] = _mean_std(vals) if vals else None
    targets = [r["at_target"] for r in runs if r["at_target"] is not None]
    row["at_target"] = _mean_std(targets) if targets else None
    row["verdict"] = f"{sum(r['verdict'] == 'PASS' for r in runs)}/{len(runs)} met"
    return [row, *(runs if expand else [])]


def _mean_std(vals: list[float]) -> str:
    sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return f"{statistics.fmean(vals):.2f} ± {sd:.2f}"


def unreadable_row(path: str | Path, error: TinyCnnError) -> dict[str, Any]:
    """A row for a directory that is not a readable run: named, marked, the rest empty."""
    return {
        **dict.fromkeys(COLUMNS),
        "run": str(path),
        "verdict": "unreadable",
        "error": str(error),
    }


class Comparison(list):
    """compare()'s rows (a list of dicts, one per run), shown narrow: a notebook cell gets an
    HTML table of the columns that decide (the rest: `render_compare(rows, wide=True)`)."""

    def __repr__(self) -> str:
        return render_compare(self)

    def _repr_html_(self) -> str:
        cols = [c for c in NARROW if any(r.get(c) is not None for r in self) or c == "verdict"]
        rows = [[_cell(k, r.get(k)) for k in cols] for r in self]
        return html_block(f"{len(self)} runs", html_table(cols, rows))


def compare(paths: list[str | Path], sort: str | None = None, expand: bool = False) -> Comparison:
    """One row per run (a seeds group: one row, and its runs' rows with `expand`); a path that
    is not a readable run (damaged, a stray file) gets a row marked "unreadable" with the
    reason under "error", and the rest of the listing still comes."""
    rows = []
    for p in paths:
        try:
            if (Path(p) / SEEDS_FILE).is_file():
                rows += group_rows(Path(p), expand)
            else:
                rows.append(compare_row(p))
        except TinyCnnError as e:
            rows.append(unreadable_row(p, e))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
            # loadable but not as tinycnn wrote it (a wrong type, a missing key): marked too
            rows.append(unreadable_row(p, TinyCnnError(f"{p}: damaged ({type(e).__name__}: {e})")))
    if sort is not None:
        if sort not in COLUMNS:
            raise TinyCnnError(f"cannot sort by {sort!r}; use one of {', '.join(COLUMNS)}")
        rows.sort(key=lambda r: (r[sort] is None, _key(sort, r[sort])))
    return Comparison(rows)


def _key(col: str, v: Any) -> Any:
    """Numbers largest first (a group's "mean ± std" by its mean); text in order."""
    if v is None or col in TEXT:
        return (0, str(v or ""))
    return (0, -float(str(v).split(" ")[0]))


def _cell(key: str, v: Any) -> str:
    if v is None:
        return "–"
    if key == "params":
        return f"{v:,}"
    if isinstance(v, float) and key != "seconds":
        return f"{v:.2f}"
    return Path(v).name if key == "run" else str(v)


def render_compare(
    rows: list[dict[str, Any]], markdown: bool = False, wide: bool = False, width: int = WIDTH
) -> str:
    """The table as text (or Markdown). Text fits `width` columns unless `wide`: the columns
    least needed to judge a run go first (DROP_ORDER), and a line says which were left out."""
    cols = [
        c for c in COLUMNS if any(r.get(c) is not None for r in rows) or c in ("run", "verdict")
    ]
    left_out: list[str] = []
    if not (wide or markdown):
        for c in DROP_ORDER:
            if _line_width(rows, cols) <= width:
                break
            if c in cols:
                cols.remove(c)
                left_out.append(c)
    cells = [[_cell(k, r[k]) for k in cols] for r in rows]
    notes = [n for n in NOTES if n.split(":")[0] in cols or n.startswith("A seeds")]
    if not any("±" in c for row in cells for c in row):
        notes = [n for n in notes if not n.startswith("A seeds")]
    if markdown:
        head = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        body = head + ["| " + " | ".join(c) + " |" for c in cells]
        return "\n".join(body + [""] + [f"- {n}" for n in notes])
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(cols)]
    fmt = "  ".join(
        f"{{:{'<' if c in TEXT else '>'}{w}}}" for c, w in zip(cols, widths, strict=True)
    )
    more = [f"left out to fit {width} columns: {', '.join(left_out)} (--wide shows all)"]
    return "\n".join(
        [
            fmt.format(*cols),
            *(fmt.format(*c) for c in cells),
            "",
            *notes,
            *(more if left_out else []),
        ]
    )


def _line_width(rows: list[dict[str, Any]], cols: list[str]) -> int:
    cells = [[_cell(k, r.get(k)) for k in cols] for r in rows]
    return sum(max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(cols)) + 2 * (
        len(cols) - 1
    )
