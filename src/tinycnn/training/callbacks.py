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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the trainer imports this module
    from .loop import Trainer
    from .result import RunResult

Row = dict[str, Any]  # one epoch's metrics, as metrics.jsonl holds it
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


class ProgressBar(Callback):
    """A tqdm bar per epoch (a widget in Jupyter, text in a terminal), with the running loss
    and accuracy; it closes at the epoch's end, where the caller's epoch line takes over."""

    def __init__(self, leave: bool = False):
        self.leave = leave
        self.bar: Any = None

    def on_epoch_start(self, trainer: Trainer) -> None:
        from tqdm.auto import tqdm  # only when a bar is asked for

        r = trainer.recipe
        self.bar = tqdm(
            total=trainer.steps_per_epoch,
            leave=self.leave,
            mininterval=0.5,
            desc=f"epoch {trainer.epoch + 1}/{r.epochs}",
        )

    def on_step(self, trainer: Trainer, step: int) -> None:
        self.bar.update(1)
        if step % POSTFIX_EVERY == 0:
            loss, acc = trainer.running()
            self.bar.set_postfix(loss=f"{loss:.4f}", acc=f"{acc:.2f}%")

    def on_epoch_end(self, trainer: Trainer, row: Row) -> None:
        self._close()

    def on_end(self, trainer: Trainer, result: RunResult | None) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
