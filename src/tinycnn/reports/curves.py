"""Curves over epochs: learning curves (a run, a seeds group's band, several runs side by
side), the steps of a ladder, the learning rate, a search's Pareto front and history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .figure import (
    ACCENT,
    STEP_COLOURS,
    TARGET,
    TEST,
    TRAIN,
    _clip_below,
    _figure,
    _log_ticks,
)


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


def pareto(
    points: list[tuple[int, float]], front: list[tuple[int, float]], budget: int | None = None
) -> Figure:
    """A search's trials: parameters against validation accuracy, the Pareto front joined
    (no other trial is both smaller and at least as accurate), and the preset's budget."""
    fig, ax = _figure(3.6)
    ax.scatter([p for p, _ in points], [a for _, a in points], s=14, color="0.6", label="trials")
    ax.plot([p for p, _ in front], [a for _, a in front], "o-", color="C3", label="Pareto front")
    if budget is not None:
        ax.axvline(budget, color=TARGET, linestyle="--", label=f"budget < {budget:,} params")
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
