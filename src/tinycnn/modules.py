"""The torch modules tinycnn adds to `torch.nn`: a linear layer that also takes a 1×1 map, and S
independent linear layers side by side (S seeds trained as one stacked model)."""

from __future__ import annotations

import torch
from torch import nn


class FlatLinear(nn.Linear):
    """Linear that accepts a 1×1 map (after gap) as well as flat features."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.flatten(1))


class GroupedLinear(nn.Module):
    """S independent linear layers side by side: (N, S·in) → (N, S·out)."""

    def __init__(self, replicas: int, fan_in: int, fan_out: int, bias: bool):
        super().__init__()
        self.replicas, self.fan_in = replicas, fan_in
        self.weight = nn.Parameter(torch.empty(replicas, fan_out, fan_in))
        self.bias = nn.Parameter(torch.zeros(replicas, fan_out)) if bias else None
        bound = fan_in**-0.5  # nn.Linear's default initialisation range, per replica
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1).view(x.shape[0], self.replicas, self.fan_in)
        y = torch.einsum("nsi,soi->nso", x, self.weight)
        if self.bias is not None:
            y = y + self.bias
        return y.flatten(1)
