"""Pictures, headless: every function returns a matplotlib `Figure` and never touches pyplot's
global state. One style and palette throughout.

The figures display themselves in Jupyter without `%matplotlib inline` (they carry a PNG repr),
once per cell: pyplot never sees them, so no backend shows them a second time.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from .. import files
from ..data import PIXEL_MAX

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


def _band(
    ax: Any, epochs: list[int], runs: list[list[float]], colour: str, label: str, style: str = "-"
) -> None:
    t = torch.tensor(runs, dtype=torch.float64)
    mean = t.mean(0)
    ax.plot(epochs, mean.tolist(), style, color=colour, label=label, marker="o", markersize=3)
    if len(runs) > 1:  # several seeds: shade mean ± std
        std = t.std(0)
        ax.fill_between(
            epochs,
            (mean - std).tolist(),
            (mean + std).tolist(),
            color=colour,
            alpha=0.2,
            linewidth=0,
        )


Series = tuple[str, list[list[dict[str, Any]]]]  # a label and its runs' histories


def _series(what: Any) -> list[Series]:
    """What `learning_curves` was given, as labelled series: a `RunResult` is one run, a
    `SeedsResult` one group (averaged); a list of them, several; a history (metrics rows) or a
    list of histories (one group's seeds), as before."""
    if hasattr(what, "runs") and hasattr(what, "per_epoch"):  # a seeds group
        return [(f"{what.model} ({len(what.runs)} seeds)", [r.metrics for r in what.runs])]
    if hasattr(what, "metrics") and hasattr(what, "run_dir"):  # one run
        return [(Path(what.run_dir).name, [what.metrics])]
    items = list(what)
    if items and isinstance(items[0], dict):  # one history
        return [("", [items])]
    if items and isinstance(items[0], list):  # histories: one group's seeds
        return [("", items)]
    return [s for item in items for s in _series(item)]


def learning_curves(what: Any, target: float | None = None, title: str = "") -> Figure:
    """Loss and accuracy per epoch. A run is a curve; a seeds group (a `SeedsResult`, or a list
    of histories) is averaged, mean ± std as a band; several runs or groups are drawn side by
    side, each labelled, never averaged together. The accuracy axis zooms on the later epochs
    (a note counts the points below it), as where the target is decided."""
    series = _series(what)
    fig, (ax_loss, ax_acc) = _figure(3.4, ncols=2)
    one = len(series) == 1
    shown: list[float] = []
    for i, (label, histories) in enumerate(series):
        n = min(len(h) for h in histories)
        epochs = list(range(1, n + 1))
        for key in ("train", "test"):
            colour = (TRAIN if key == "train" else TEST) if one else STEP_COLOURS[i % 7]
            name = key if one else f"{label} {key}"
            loss = [[m[f"{key}_loss"] for m in h[:n]] for h in histories]
            acc = [[m[f"{key}_acc"] for m in h[:n]] for h in histories]
            style = "-" if one or key == "test" else ":"
            _band(ax_loss, epochs, loss, colour, name, style)
            _band(ax_acc, epochs, acc, colour, name, style)
            shown += [v for row in acc for v in row[n // 2 :]]  # the later half sets the zoom
    if target is not None:
        ax_acc.axhline(target, color=TARGET, linestyle="--", label=f"target {target:g}%")
        shown.append(target)
    runs = len(series[0][1])
    seeds = f" ({runs} seeds, mean ± std)" if one and runs > 1 else ""
    ax_loss.set(xlabel="epoch", ylabel="loss", title=f"loss{seeds}", yscale="log")
    _log_ticks(ax_loss)
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title=f"accuracy{seeds}")
    _zoom(ax_acc, shown, [v for _, hs in series for h in hs for m in h for v in
                          (m["train_acc"], m["test_acc"])])  # fmt: skip
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax_loss.legend(loc="upper right", fontsize="small")
    ax_acc.legend(loc="best", fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def _zoom(ax: Any, shown: list[float], every: list[float]) -> None:
    """The axis from just below the later epochs' accuracies to 100; the points that fall
    below it are counted in a note, never dropped silently."""
    if not shown:
        return
    floor = max(0.0, min(shown) - 1)
    ax.set_ylim(floor, min(100.0, max(every + shown) + 0.5))
    below = sum(v < floor for v in every)
    if below:
        ax.text(0.02, 0.02, f"{below} point{'s' if below > 1 else ''} below the frame",
                transform=ax.transAxes, fontsize="small", color="0.4")  # fmt: skip


def step_curves(curves: dict[str, list[float]], target: float | None = None) -> Figure:
    """Test accuracy per epoch of several experiment steps, overlaid."""
    fig, ax = _figure(3.6)
    for i, (label, accs) in enumerate(curves.items()):
        ax.plot(
            range(1, len(accs) + 1),
            accs,
            marker="o",
            markersize=3,
            label=label,
            color=STEP_COLOURS[i % len(STEP_COLOURS)],
        )
    if target is not None:
        ax.axhline(target, color=TARGET, linestyle="--", label=f"target {target:g}%")
    # zoom on where the steps end up; the early epochs of a weak step that fall below the frame
    # are counted in a note on the picture, never dropped silently
    low = min(min(a[len(a) // 2 :]) for a in curves.values())
    floor = max(low - 0.3, 90 if low > 90 else 0)
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", ylim=(floor, 100))
    below = [v for a in curves.values() for v in a if v < floor]
    if below:
        ax.annotate(
            f"▼ {len(below)} early point(s) below {floor:.1f}% (lowest {min(below):.2f}%)",
            xy=(0.01, 0.02), xycoords="axes fraction", fontsize=8, color=ACCENT,
        )  # fmt: skip
    ax.legend(loc="lower right", fontsize=8)
    return fig


def lr_curve(lrs: list[float], steps_per_epoch: int | None = None) -> Figure:
    fig, ax = _figure(2.6)
    xs = [i / steps_per_epoch for i in range(len(lrs))] if steps_per_epoch else range(len(lrs))
    ax.plot(xs, lrs, color=TRAIN)
    ax.set(
        xlabel="epoch" if steps_per_epoch else "step",
        ylabel="learning rate",
        title="learning rate per step",
    )
    return fig


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


def pareto(points: list[tuple[int, float]], front: list[tuple[int, float]]) -> Figure:
    """A search's trials: parameters against validation accuracy, the Pareto front joined
    (no other trial is both smaller and at least as accurate)."""
    fig, ax = _figure(3.6)
    ax.scatter([p for p, _ in points], [a for _, a in points], s=14, color="0.6", label="trials")
    ax.plot([p for p, _ in front], [a for _, a in front], "o-", color="C3", label="Pareto front")
    ax.set(xlabel="parameters", ylabel="validation accuracy (%)", title="accuracy vs size")
    _clip_below(ax, [a for _, a in points])
    ax.legend(loc="lower right")
    return fig


def frontier(
    models: list[dict[str, Any]],
    front: list[tuple[int, float]],
    published: list[tuple[str, int, float]],
    target: float,
) -> Figure:
    """Zoo models (name, params, mean, std, passed, n): parameters against the mean ± std of
    their seeds' last-k minimum, each labelled k/n, the Pareto `front` joined; `published`:
    (name, params, accuracy) of single published runs, marked hollow for comparison."""
    fig, ax = _figure(4.0)
    ax.xaxis.set_major_locator(MaxNLocator())  # parameters, not epochs
    ax.axhline(target, color=TARGET, linestyle="--", linewidth=1, label=f"target {target:g} %")
    ax.plot([p for p, _ in front], [a for _, a in front], color=TRAIN, alpha=0.4)
    for i, m in enumerate(sorted(models, key=lambda m: m["params"])):
        label = None if i else "tinycnn: mean ± std over seeds (k/n met)"
        ax.errorbar(
            m["params"], m["mean"], yerr=m["std"], fmt="o", color=TRAIN, capsize=3, label=label
        )
        # neighbours in size take turns: below right, above right, below right, above left
        above, left = i % 2 == 1, i % 4 == 3
        ax.annotate(
            f"{m['name']} {m['passed']}/{m['n']}",
            (m["params"], m["mean"]),
            textcoords="offset points",
            xytext=(-6 if left else 6, 6 if above else -12),
            ha="right" if left else "left",
            fontsize=8,
        )
    for i, (name, params, acc) in enumerate(published):
        label = None if i else "published (1 run, best epoch)"
        ax.plot(params, acc, "o", mfc="none", mec=TEST, label=label)
        ax.annotate(name, (params, acc), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set(xlabel="parameters", ylabel="test accuracy (%): last-k minimum", title="the frontier")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def history(values: list[float | None]) -> Figure:
    """Each trial's validation accuracy in the order they finished, and the best so far."""
    fig, ax = _figure(3.2)
    xs = [i for i, v in enumerate(values) if v is not None]
    ys = [v for v in values if v is not None]
    best = [max(ys[: i + 1]) for i in range(len(ys))]
    ax.plot(xs, ys, "o", markersize=3, color="0.6", label="trial")
    ax.step(xs, best, where="post", color="C0", label="best so far")
    ax.set(xlabel="trial", ylabel="validation accuracy (%)", title="search history")
    _clip_below(ax, ys)
    ax.legend(loc="lower right")
    return fig


def _clip_below(ax: Any, accs: list[float]) -> None:
    """Show every point: the axis starts just below the lowest accuracy."""
    if accs:
        ax.set_ylim(max(0.0, min(accs) - 1), min(100.0, max(accs) + 0.5))


def _log_ticks(ax: Any) -> None:
    """A log axis labelled 0.01, 0.02, 0.05, 0.1 …: plain numbers, no 2×10⁻² clutter."""
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
