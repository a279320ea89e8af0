"""What a finished (or stopped) run gives back; in a notebook it shows its epochs and verdict."""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..builder import TinyNet
from ..richtext import html_block, html_table, text_table
from ..rules import Verdict
from . import runs
from .runs import load_model

# metrics.jsonl keys as the epoch table shows them: (key, heading, format)
COLUMNS = (
    ("epoch", "epoch", "{}"),
    ("train_loss", "train loss", "{:.4f}"),
    ("train_acc", "train %", "{:.2f}"),
    ("val_loss", "val loss", "{:.4f}"),
    ("val_acc", "val %", "{:.2f}"),
    ("test_loss", "test loss", "{:.4f}"),
    ("test_acc", "test %", "{:.2f}"),
    ("lr", "lr", "{:.4g}"),
    ("seconds", "s", "{:.1f}"),
)


def epoch_table(metrics: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The per-epoch table (the columns the rows have): headings and formatted cells."""
    cols = [c for c in COLUMNS if metrics and c[0] in metrics[0]]
    rows = [[fmt.format(m[key]) for key, _, fmt in cols] for m in metrics]
    return [head for _, head, _ in cols], rows


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    metrics: list[dict[str, Any]]  # one row per epoch, as metrics.jsonl holds them
    verdict: Verdict
    params: int
    stopped: bool = False  # a callback ended the run before its last epoch

    @cached_property
    def model(self) -> TinyNet:
        """The trained model after its last epoch (the weights the verdict judged; last.pt),
        in eval mode. `best_model` is the epoch with the best accuracy (best.pt)."""
        return load_model(self.run_dir)[1]

    @cached_property
    def best_model(self) -> TinyNet:
        """The model of the run's best epoch (best.pt: by test accuracy, or by validation
        accuracy with `Recipe(select="val")`), in eval mode."""
        return load_model(self.run_dir / runs.BEST)[1]

    def _title(self) -> str:
        state = " (stopped early)" if self.stopped else ""
        return f"{self.run_dir.name}{state}: {self.params:,} params · {self.verdict.line()}"

    def __repr__(self) -> str:
        head, rows = epoch_table(self.metrics)
        return f"RunResult {self._title()}\n{text_table(head, rows)}\nrun directory: {self.run_dir}"

    def _repr_html_(self) -> str:
        head, rows = epoch_table(self.metrics)
        files = [("run directory", self.run_dir)]
        if (self.run_dir / "report.md").is_file():
            files.append(("report", self.run_dir / "report.md"))
        # links open in Jupyter when the path is relative to the notebook (runs/… is)
        links = "".join(f"<li>{what}: {_link(p)}</li>" for what, p in files)
        return html_block(self._title(), html_table(head, rows), f"<ul>{links}</ul>")


def _link(p: Path) -> str:
    """A link where Jupyter can follow it (a path relative to the notebook), else the path."""
    text = html.escape(str(p))
    return (
        f"<code>{text}</code>"
        if p.is_absolute()
        else f'<a href="{text}" target="_blank">{text}</a>'
    )
