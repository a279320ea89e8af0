"""After a search: its best candidates retrained on the whole training split (no validation
held out) under the preset, over seeds, and judged on the test set. This is the one place a
search reads the test set: for the chosen candidates only, after the choice is made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import files
from ..api import run
from ..rules import Target
from ..settings import Recipe, Runtime
from ..spec import Spec
from .config import final_epochs
from .report import top

CONFIRM = "confirm.json"


def confirm(
    d: Path, rows: list[dict[str, Any]], cfg: Any, seeds: int, n: int = 3
) -> list[dict[str, Any]]:
    """Retrain the n best candidates, `seeds` seeds each, and judge them on the test set: how
    many of the seeds met the preset (confirm.json; search.md shows it)."""
    out = []
    for rank, r in enumerate(top(rows, n), 1):
        spec = Spec.from_dict(r["spec"])
        recipe = Recipe(**r["recipe"], epochs=final_epochs(cfg.preset), limit_train=cfg.limit_train)
        target = Target(preset=cfg.preset) if cfg.preset else Target()
        runtime = Runtime(out=str(d / "confirm" / f"top{rank}"), report=True)
        res = run(spec, recipe, target, runtime, seeds=range(1, seeds + 1), data_dir=cfg.data_dir)
        out.append({"rank": rank, "trial": r["number"], "params": r["params"], **res.summary()})
    files.write_json(d / CONFIRM, out)
    return out
