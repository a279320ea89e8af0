"""What the caller attaches to a `Trainer`: the trainer itself prints nothing and draws nothing.

A callback overrides the hooks it needs. `on_epoch_end` may return True to stop the run after
that epoch (a pruned search trial, early stopping); the run then ends "stopped", judged on the
epochs it ran. `on_step` runs after every SGD step, so it is only called on callbacks that
override it. `on_end` always runs, with the result, or None when the run raised.

    class StopAt(Callback):
        def on_epoch_end(self, trainer, row):
            return row["epoch"] >= 2          # stop after epoch 2

    train("gap7496", callbacks=[StopAt(), ProgressBar()])
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ..settings import Recipe, Runtime
from .result import RunResult

Row = dict[str, Any]  # one epoch's metrics, as metrics.jsonl holds it


class Trainer(Protocol):
    """What a callback sees of the trainer (`loop.Trainer` is one; this module does not import
    it, since the trainer imports this module)."""

    recipe: Recipe
    runtime: Runtime  # resolved: bf16 and the like decided
    run_dir: Path
    epoch: int  # epochs finished
    steps_per_epoch: int
    seen: int  # training images so far this epoch

    def running(self) -> tuple[float, float]:
        """This epoch's loss and accuracy so far."""
        ...


POSTFIX_EVERY = 25  # steps between the bar's loss/accuracy updates (each costs a device sync)


class Callback:
    def on_start(self, trainer: Trainer) -> None:
        """Before the first epoch of this process (after a resume's checkpoint is loaded)."""

    def on_epoch_start(self, trainer: Trainer) -> None:
        pass

    def on_step(self, trainer: Trainer, step: int) -> None:
        """After step `step` (0-based) of the epoch; `trainer.seen` images so far."""

    def on_epoch_end(self, trainer: Trainer, row: Row) -> bool | None:
        """After the epoch is checkpointed; return True to stop the run here."""
        return None

    def on_end(self, trainer: Trainer, result: RunResult | None) -> None:
        pass


class Hooks(Callback):
    """Plain functions as a callback: `on_start(trainer)` and `on_epoch(row) -> stop?`."""

    def __init__(
        self,
        on_start: Callable[[Trainer], Any] | None = None,
        on_epoch: Callable[[Row], Any] | None = None,
    ):
        self.start, self.epoch = on_start, on_epoch

    def on_start(self, trainer: Trainer) -> None:
        if self.start:
            self.start(trainer)

    def on_epoch_end(self, trainer: Trainer, row: Row) -> bool | None:
        return bool(self.epoch(row)) if self.epoch else None


def format_epoch(m: Row) -> str:
    """`epoch  3/15  train loss 0.0652 acc 97.82%  test loss 0.0387 acc 98.85% (9885/10000) …`"""
    w = len(str(m["epochs"]))
    val = f"val loss {m['val_loss']:.4f} acc {m['val_acc']:.2f}%  " if "val_acc" in m else ""
    test = (
        f"test loss {m['test_loss']:.4f} acc {m['test_acc']:.2f}% "
        f"({m['test_correct']}/{m['test_total']})  "
        if "test_acc" in m
        else ""
    )
    return (
        f"epoch {m['epoch']:>{w}}/{m['epochs']}  train loss {m['train_loss']:.4f} "
        f"acc {m['train_acc']:.2f}%  {val}{test}lr {lr_text(m['lr'])}  {m['seconds']:.1f}s"
    )


def lr_text(lr: float) -> str:
    """0.0034 as 0.0034; the tail of OneCycle (0.000005) as 5.0e-06, never 0.0000."""
    return f"{lr:.4f}" if lr >= 1e-4 or lr == 0 else f"{lr:.1e}"


def in_notebook() -> bool:
    """Running in a Jupyter kernel (not a terminal IPython)."""
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell else None  # type: ignore[attr-defined]
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def watched() -> bool:
    """Someone watches the run: a terminal or a notebook (not a pipe, a log file or CI)."""
    return in_notebook() or sys.stderr.isatty()


def _widgets() -> bool:
    try:
        import ipywidgets  # noqa: F401  (tqdm.auto draws its notebook bar with it)
    except ImportError:
        return False
    return True


class ProgressBar(Callback):
    """A tqdm bar per epoch (a widget in Jupyter, text in a terminal) with the running loss and
    accuracy, and one kept line per epoch (`format_epoch`), so the record survives the bar.

    epoch_lines=False: no kept lines (the CLI prints its own). In a notebook without ipywidgets
    only the lines are shown: a text bar there would leave every frame in the saved notebook."""

    def __init__(self, epoch_lines: bool = True, leave: bool = False):
        self.epoch_lines, self.leave = epoch_lines, leave
        self.bar: Any = None
        self.every = POSTFIX_EVERY

    def on_epoch_start(self, trainer: Trainer) -> None:
        if in_notebook() and not _widgets():
            return  # lines only: tqdm.auto would warn "IProgress not found" on import
        from tqdm.auto import tqdm  # only when a bar is asked for

        r = trainer.recipe
        steps = trainer.steps_per_epoch
        self.every = max(1, min(POSTFIX_EVERY, steps // 10))  # fresh numbers on small epochs too
        self.bar = tqdm(
            total=steps,
            leave=self.leave,
            mininterval=0.5,
            desc=f"epoch {trainer.epoch + 1}/{r.epochs}",
        )

    def on_step(self, trainer: Trainer, step: int) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        if step % self.every == 0:
            loss, acc = trainer.running()
            self.bar.set_postfix(loss=f"{loss:.4f}", acc=f"{acc:.2f}%")

    def on_epoch_end(self, trainer: Trainer, row: Row) -> None:
        if self.bar is not None:  # the epoch's own numbers, not the last update's
            self.bar.set_postfix(loss=f"{row['train_loss']:.4f}", acc=f"{row['train_acc']:.2f}%")
        self._close()
        if self.epoch_lines and in_notebook() and not _widgets():
            print(format_epoch(row), flush=True)
        elif self.epoch_lines:
            from tqdm.auto import tqdm

            tqdm.write(format_epoch(row), file=sys.stdout)

    def on_end(self, trainer: Trainer, result: RunResult | None) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class SeedLines(Callback):
    """A line per finished epoch of each seed, as it happens, naming the seed (seeds train in
    worker processes, or as one stacked model whose rows come in seed order). Picklable."""

    def __init__(self, write: Callable[[str], Any] = print):
        self.write, self.rows = write, 0

    def on_start(self, trainer: Trainer) -> None:
        self.rows = 0

    def on_epoch_end(self, trainer: Trainer, row: Row) -> None:
        seeds = getattr(trainer, "seeds", [trainer.recipe.seed])
        seed = seeds[self.rows % len(seeds)]
        self.rows += 1
        self.write(f"seed {seed}  {format_epoch(row)}")
        sys.stdout.flush()
