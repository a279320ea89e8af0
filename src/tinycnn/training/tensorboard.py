"""Each epoch's numbers as TensorBoard scalars, for users whose habit is TensorBoard:
`tinycnn train --tensorboard DIR`, or `callbacks=[tinycnn.TensorBoardLogger(DIR)]`.

One TensorBoard run per tinycnn run (DIR/<run directory's name>), so seeds and steps show side
by side; `tensorboard --logdir DIR` shows them. Needs the `tensorboard` extra
(`pip install 'tinycnn[tensorboard]'`); without it, the callback refuses at once, in one line.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .callbacks import Callback, Row, Trainer

SCALARS = {  # metrics row key → TensorBoard tag
    "train_loss": "loss/train",
    "test_loss": "loss/test",
    "val_loss": "loss/val",
    "train_acc": "accuracy/train",
    "test_acc": "accuracy/test",
    "val_acc": "accuracy/val",
    "lr": "lr",
    "seconds": "seconds per epoch",
}


class TensorBoardLogger(Callback):
    def __init__(self, log_dir: str | Path):
        if importlib.util.find_spec("tensorboard") is None:
            raise ConfigError(
                "--tensorboard needs the tensorboard package: pip install 'tinycnn[tensorboard]'"
            )
        self.log_dir = Path(log_dir)
        try:  # refused now, in one line, not by TensorBoard's writer mid-run
            self.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(
                f"--tensorboard {log_dir}: cannot make that folder ({e.strerror or e}); give a "
                f"folder you can write to"
            ) from None
        self.writers: list[Any] = []
        self.rows = 0

    def on_start(self, trainer: Trainer) -> None:
        from torch.utils.tensorboard import SummaryWriter

        dirs = getattr(trainer, "run_dirs", [trainer.run_dir])  # a stacked group: one per seed
        self.writers = [SummaryWriter(str(self.log_dir / Path(d).name)) for d in dirs]
        self.rows = 0

    def on_epoch_end(self, trainer: Trainer, row: Row) -> None:
        writer = self.writers[self.rows % len(self.writers)]  # rows come in seed order
        self.rows += 1
        for key, tag in SCALARS.items():
            if key in row:
                writer.add_scalar(tag, row[key], row["epoch"])
        writer.flush()

    def on_end(self, trainer: Trainer, result: Any) -> None:
        for w in self.writers:
            w.close()
        self.writers = []

    def __getstate__(self) -> dict[str, Any]:  # a seed's worker process opens its own writer
        return {**self.__dict__, "writers": []}
