"""An exponential moving average of the weights (`Recipe(ema=0.999)`): the model that is
evaluated, checkpointed as the run's model and judged, while SGD trains the raw weights.

After every step: avg ← avg + (1 − d)·(w − avg), with d = min(decay, (1 + t)/(10 + t)) so that
the first steps are not dominated by the random initial weights (as timm's ModelEmaV2).
BatchNorm's running statistics are averaged the same way; integer buffers are copied.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


class WeightAverage:
    def __init__(self, model: nn.Module, decay: float):
        self.decay, self.steps = decay, 0
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    def update(self, model: nn.Module) -> None:
        self.steps += 1
        self.blend(model, 1 - min(self.decay, (1 + self.steps) / (10 + self.steps)))

    @torch.no_grad()
    def blend(self, model: nn.Module, weight: float) -> None:
        """avg ← avg + weight·(model − avg) for float tensors; integer buffers are copied."""
        mine = [*self.module.parameters(), *self.module.buffers()]
        theirs = [*model.parameters(), *model.buffers()]
        floats = [(a, b) for a, b in zip(mine, theirs, strict=True) if a.is_floating_point()]
        if floats:
            torch._foreach_lerp_([a for a, _ in floats], [b for _, b in floats], weight)
        for a, b in zip(mine, theirs, strict=True):
            if not a.is_floating_point():
                a.copy_(b)

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "model": self.module.state_dict()}

    def load_state_dict(self, s: dict[str, Any]) -> None:
        self.steps = s["steps"]
        self.module.load_state_dict(s["model"])
