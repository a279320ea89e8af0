"""Several replicas of one spec as one module: S seeds trained at once in one process.

Replica s owns channel group s of every layer (grouped convolutions, per-channel batch norm,
block-diagonal linear layers), so the replicas never mix: the input is (N, S·C, H, W), replica s
reading channels [s·C, (s+1)·C), and the output is (N, S, classes). With the loss summed over the
replicas, each replica's gradient is exactly the gradient of its own loss. On a GPU this turns S
tiny models, each too small to fill the device, into one reasonably sized one. Knows nothing of
training (as builder.py).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from .builder import GroupedLinear, TinyNet, prim_module
from .spec import Spec
from .table import MNIST_CLASSES, MNIST_INPUT, Table, layer_table


class StackedNet(nn.Sequential):
    def __init__(
        self, spec: Spec, table: Table, replicas: int, modules: OrderedDict[str, nn.Module]
    ):
        super().__init__(modules)
        self.spec, self.table, self.replicas = spec, table, replicas

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x).flatten(1)
        return out.view(x.shape[0], self.replicas, self.table.classes)


def build_stacked(
    spec: Spec,
    replicas: int,
    input_shape: tuple[int, int, int] = MNIST_INPUT,
    classes: int = MNIST_CLASSES,
) -> StackedNet:
    table = layer_table(spec, input_shape, classes)  # validates, as build() does
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    for prim, row in zip(spec.expand(classes), table.rows, strict=True):
        modules[prim.name] = prim_module(prim, row.ch_in, len(row.shape) == 1, replicas)
    return StackedNet(spec, table, replicas, modules)


def _is_linear(stacked: StackedNet, key: str) -> bool:
    return isinstance(stacked.get_submodule(key.rsplit(".", 1)[0]), GroupedLinear)


@torch.no_grad()
def load_replicas(stacked: StackedNet, nets: list[TinyNet]) -> None:
    """Copy S single models into the stacked one (replica s ← nets[s])."""
    states = [n.state_dict() for n in nets]
    out = {}
    for key in stacked.state_dict():
        parts = [st[key] for st in states]
        if key.endswith("num_batches_tracked"):
            out[key] = parts[0]
        elif _is_linear(stacked, key):
            out[key] = torch.stack(parts)
        else:
            out[key] = torch.cat(parts)
    stacked.load_state_dict(out)


@torch.no_grad()
def replica_state(stacked: StackedNet, s: int) -> dict[str, torch.Tensor]:
    """The state dict of replica s, loadable into `build(spec)`."""
    out = {}
    for key, v in stacked.state_dict().items():
        if key.endswith("num_batches_tracked"):
            out[key] = v.clone()
        elif _is_linear(stacked, key):
            out[key] = v[s].clone()
        else:
            n = v.shape[0] // stacked.replicas
            out[key] = v[s * n : (s + 1) * n].clone()
    return out
