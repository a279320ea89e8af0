"""Optimizers and LR schedules from a `Recipe`, using torch's own schedulers.

`Schedule` hides *when* each scheduler steps: OneCycleLR after every batch, StepLR after every
epoch, ReduceLROnPlateau after every epoch on the test loss or accuracy.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..settings import Recipe


def make_optimizer(model: nn.Module, r: Recipe) -> torch.optim.Optimizer:
    params = model.parameters()
    if r.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=r.lr, momentum=r.momentum, nesterov=r.nesterov, weight_decay=r.weight_decay
        )
    if r.optimizer == "adam":
        return torch.optim.Adam(params, lr=r.lr, weight_decay=r.weight_decay)
    return torch.optim.AdamW(params, lr=r.lr, weight_decay=r.weight_decay)


class Schedule:
    def __init__(self, opt: torch.optim.Optimizer, r: Recipe, steps_per_epoch: int):
        self.kind = r.schedule
        self.plateau_metric = r.plateau_metric
        self.opt = opt
        s = torch.optim.lr_scheduler
        self.sched: Any = None
        if r.schedule == "onecycle":
            total = r.epochs * steps_per_epoch
            if float(r.pct_start * total) == 1:  # torch's warm-up phase would span 0 steps
                raise ConfigError(
                    f"onecycle over {total} steps with pct_start {r.pct_start:g} warms up for "
                    f"exactly one step, which torch's OneCycleLR divides by zero on; change "
                    f"--pct-start, --batch-size or the number of images"
                )
            self.sched = s.OneCycleLR(
                opt,
                max_lr=r.lr,
                epochs=r.epochs,
                steps_per_epoch=steps_per_epoch,
                pct_start=r.pct_start,
                div_factor=r.div_factor,
                final_div_factor=r.final_div_factor,
            )
        elif r.schedule == "step":
            self.sched = s.StepLR(opt, step_size=r.step_size, gamma=r.gamma)
        elif r.schedule == "plateau":
            mode = "min" if r.plateau_metric == "loss" else "max"
            self.sched = s.ReduceLROnPlateau(
                opt, mode=mode, factor=r.plateau_factor, patience=r.plateau_patience
            )

    @property
    def lr(self) -> float:
        return float(self.opt.param_groups[0]["lr"])

    def after_batch(self) -> None:
        if self.kind == "onecycle":
            self.sched.step()

    def after_epoch(self, test_loss: float, test_acc: float) -> None:
        if self.kind == "step":
            self.sched.step()
        elif self.kind == "plateau":
            self.sched.step(test_loss if self.plateau_metric == "loss" else test_acc)

    def state_dict(self) -> dict[str, Any]:
        return {} if self.sched is None else self.sched.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.sched is not None:
            self.sched.load_state_dict(state)
