"""Pictures, headless: every function returns a matplotlib `Figure` and never touches pyplot's
global state. One style and palette throughout (`figure.py`); the curves over epochs are in
`curves.py` and shown here under the same names, the image grids and the confusion matrix here.

The figures display themselves in Jupyter without `%matplotlib inline` (they carry a PNG repr),
once per cell: pyplot never sees them, so no backend shows them a second time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from matplotlib.figure import Figure

from ..data import PIXEL_MAX
from .curves import frontier, history, learning_curves, lr_curve, pareto, step_curves
from .figure import (
    ACCENT,
    DPI,
    TEST,
    WIDTH,
    _new,
    save,
)

__all__ = [
    "COUNTS_UP_TO", "WIDTH", "DPI", "save", "learning_curves", "step_curves", "lr_curve", "pareto",
    "frontier", "history", "confusion", "image_grid", "mistakes_grid", "correct_grid",
]  # fmt: skip


COUNTS_UP_TO = 20  # classes: above this the cells are too small for their numbers


def confusion(cm: list[list[int]], names: Sequence[str] | None = None) -> Figure:
    """Counts per (true, predicted) class; the mistakes shaded. Up to 20 classes every cell
    has its number; above, the shading alone (the numbers are in evaluation.json)."""
    k = len(cm)
    labels = list(names) if names else [str(c) for c in range(k)]
    side = min(WIDTH, 2.0 + 0.45 * k)  # square cells; 40 classes still fit the page width
    fig = _new(figsize=(WIDTH, side), layout="constrained")
    ax = fig.add_subplot()
    t = torch.tensor(cm, dtype=torch.float64)
    off = t.clone().fill_diagonal_(0)  # colour the mistakes; the diagonal would swamp them
    ax.imshow(off.numpy(), cmap="Reds")
    font = max(5.0, min(9.0, 90 / k))
    if k <= COUNTS_UP_TO:
        dark = 0.6 * float(off.max()) if float(off.max()) > 0 else float("inf")
        for i in range(k):
            for j in range(k):  # white on the darkest reds, grey on the (unshaded) diagonal
                colour = ACCENT if i == j else "white" if off[i, j] >= dark else "black"
                ax.text(j, i, str(cm[i][j]), ha="center", va="center", fontsize=font, color=colour)
    long = max(len(s) for s in labels) > 2
    ax.set_xticks(range(k), labels, fontsize=font, rotation=90 if long else 0)
    ax.set_yticks(range(k), labels, fontsize=font)
    shown = (
        "off-diagonal shaded" if k <= COUNTS_UP_TO else "mistakes shaded; counts in evaluation.json"
    )
    ax.set(xlabel="predicted", ylabel="true", title=f"confusion matrix ({shown})")
    return fig


TITLE_CHARS_PER_ROW = 130  # 7-point titles across the 8-inch page


def image_grid(images: torch.Tensor, titles: list[str], cols: int | None = None) -> Figure:
    """images: uint8 (N, C, H, W) → one montage (a single imshow: fast) with a title per tile.
    Grey images are drawn dark on light (as ink); colour images as they are. Without `cols`,
    as many columns (up to 10) as the longest title leaves room for: titles never overlap."""
    longest = max((len(t) for t in titles), default=1)
    cols = cols or max(3, min(10, TITLE_CHARS_PER_ROW // (longest + 2)))
    n, h, w = max(1, len(images)), images.shape[-2], images.shape[-1]
    colour = images.shape[1] == 3
    rows = math.ceil(n / cols)
    gap, label = 2, int(0.45 * h)  # pixels between tiles and above each tile for its title
    canvas = torch.zeros(rows * (h + label + gap), cols * (w + gap), 3 if colour else 1)
    canvas = canvas.to(torch.uint8) + (PIXEL_MAX if colour else 0)  # colour: white between
    for i in range(len(images)):
        r, c = divmod(i, cols)
        y, x = r * (h + label + gap) + label, c * (w + gap)
        canvas[y : y + h, x : x + w] = images[i].permute(1, 2, 0)
    fig = _new(figsize=(WIDTH, WIDTH * canvas.shape[0] / canvas.shape[1]))
    ax = fig.add_axes((0, 0, 1, 1))
    if colour:
        ax.imshow(canvas.numpy(), interpolation="nearest")
    else:
        ax.imshow(
            canvas[..., 0].numpy(), cmap="gray_r", vmin=0, vmax=PIXEL_MAX, interpolation="nearest"
        )
    ax.axis("off")
    for i, t in enumerate(titles[: len(images)]):
        r, c = divmod(i, cols)
        ax.text(
            c * (w + gap) + w / 2,
            r * (h + label + gap) + label - 1,
            t,
            ha="center",
            va="bottom",
            fontsize=7,
            color=TEST if "→" in t else "black",
        )
    return fig


digit_grid = image_grid  # the name MNIST notebooks know it by


def _class_name(names: Sequence[str] | None) -> Any:
    """label → its name when the data set has names, else the label's digits."""
    return (lambda c: names[c]) if names else str


def mistakes_grid(
    test_x: torch.Tensor,
    misclassified: list[dict[str, Any]],
    n: int = 40,
    names: Sequence[str] | None = None,
) -> Figure:
    """The most confident mistakes, titled true→predicted (confidence); class names if given."""
    pick, name = misclassified[:n], _class_name(names)
    titles = [f"{name(m['true'])}→{name(m['pred'])} ({m['confidence']:.2f})" for m in pick]
    idx = torch.tensor([m["index"] for m in pick], dtype=torch.long)
    return image_grid(test_x[idx], titles)


def correct_grid(
    test_x: torch.Tensor,
    sample: list[dict[str, Any]],
    n: int = 20,
    names: Sequence[str] | None = None,
) -> Figure:
    pick, name = sample[:n], _class_name(names)
    idx = torch.tensor([m["index"] for m in pick], dtype=torch.long)
    return image_grid(test_x[idx], [f"{name(m['true'])} ({m['confidence']:.2f})" for m in pick])
