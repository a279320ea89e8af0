"""When training has diverged, and what to tell the user: the epoch, the batch, an LR to try."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from ..errors import TrainingDiverged
from ..settings import Recipe

# A batch loss this many times that of guessing uniformly (ln C) means training has exploded:
# a network at chance scores ln C, and a learning one goes below it.
EXPLODED_VS_CHANCE = 10
USUAL_LR = {"sgd": 0.05, "adam": 0.003, "adamw": 0.003}  # peak LRs that train these models


def exploded_loss(classes: int) -> float:
    return EXPLODED_VS_CHANCE * math.log(classes)


def diverged(what: str, where: str, recipe: Recipe, run_dir: Path) -> TrainingDiverged:
    lr = min(recipe.lr / 10, USUAL_LR[recipe.optimizer])  # a tenth, and never above the usual
    return TrainingDiverged(
        f"{what} in {where}: training diverged; lower the learning rate (e.g. --lr {lr:g}); "
        f"the run directory {run_dir} keeps the epochs before it"
    )


def check_finite(model: nn.Module, epoch: int, recipe: Recipe, run_dir: Path) -> None:
    """A loss can stay finite while weights or BN statistics have overflowed (a dead network
    then predicts one class): refuse to checkpoint such a model."""
    for name, t in model.state_dict().items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise diverged(
                f"{name} became non-finite", f"epoch {epoch}, by its end", recipe, run_dir
            )
