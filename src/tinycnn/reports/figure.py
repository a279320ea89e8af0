"""What every picture shares: the palette, a `Figure` that shows itself in Jupyter (a PNG repr,
once per cell, pyplot never involved), the page-wide layout, and saving (atomically)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from .. import files

TRAIN, TEST, TARGET, ACCENT = "#1f77b4", "#d62728", "#2ca02c", "#7f7f7f"
STEP_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
WIDTH, DPI = 8.0, 100  # 800 px wide: readable at README size


class Picture(Figure):
    """A Figure that shows itself as a cell's result; in scripts it is a Figure like any other."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png")
        return buf.getvalue()


def _new(**kw: Any) -> Picture:
    fig = Picture(dpi=DPI, **kw)
    FigureCanvasAgg(fig)  # drawn by Agg: no GUI, no pyplot
    return fig


def _figure(height: float, ncols: int = 1) -> tuple[Figure, Any]:
    fig = _new(figsize=(WIDTH, height), layout="constrained")
    axes = fig.subplots(1, ncols)
    for ax in axes if ncols > 1 else [axes]:
        ax.grid(True, alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    return fig, axes


def save(fig: Figure, path: str | Path) -> Path:
    """Written atomically, like every run file: a reader never sees half a picture."""
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise files.RunWriteError(f"{path.parent}: could not create ({e.strerror})") from None
    files.atomic_write_bytes(path, buf.getvalue())
    return path


def _clip_below(ax: Any, accs: list[float]) -> None:
    """Show every point: the axis starts just below the lowest accuracy."""
    if accs:
        ax.set_ylim(max(0.0, min(accs) - 1), min(100.0, max(accs) + 0.5))


def _log_ticks(ax: Any) -> None:
    """A log axis labelled 0.01, 0.02, 0.05, 0.1 …: plain numbers, no 2×10⁻² clutter."""
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
