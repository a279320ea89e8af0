"""One builder: spec → `nn.Module`. It knows nothing of training (as nanoGPT's model.py).

Every module of the built network is one row of the layer table, with the same name, so the table
can be checked against the module and the module can always describe itself.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from .data import MNIST_CLASSES, MNIST_INPUT
from .spec import Prim, Spec
from .table import Table, layer_table


class TinyNet(nn.Sequential):
    """A spec built into modules. Output: logits (N, classes); with S replicas side by side
    (S seeds trained as one model), input (N, S·C, H, W) and output (N, S, classes)."""

    def __init__(
        self, spec: Spec, table: Table, modules: OrderedDict[str, nn.Module], replicas: int = 1
    ):
        super().__init__(modules)
        self.spec, self.table, self.replicas = spec, table, replicas

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x).flatten(1)  # (N, classes, 1, 1) → (N, classes)
        if self.replicas == 1:
            return out
        return out.view(x.shape[0], self.replicas, self.table.classes)


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


def build(
    spec: Spec,
    input_shape: tuple[int, int, int] = MNIST_INPUT,
    classes: int = MNIST_CLASSES,
    replicas: int = 1,
    head: bool = True,
) -> TinyNet:
    """Validate `spec` against the input (raises SpecError naming the layer) and build it, as
    one model or as `replicas` independent copies side by side (`training/fast/replicas.py`
    copies single models in and out). The table describes one replica."""
    table = layer_table(spec, input_shape, classes, head)
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    for prim, row in zip(spec.expand(classes), table.rows, strict=True):
        modules[prim.name] = prim_module(prim, row.ch_in, len(row.shape) == 1, replicas)
    return TinyNet(spec, table, modules, replicas)


def prim_module(p: Prim, ch_in: int, flat: bool, replicas: int = 1) -> nn.Module:
    """The module for one primitive. With replicas S > 1, S independent copies side by side:
    replica s owns channel group s (grouped conv, per-channel BN, block-diagonal linear);
    ReLU, dropout and pooling act per channel, so they never mix replicas either."""
    s = replicas
    if p.kind == "conv":
        return nn.Conv2d(  # replica r owns groups r·g … (r+1)·g − 1: replicas never mix
            ch_in * s, p.out * s, p.k, stride=p.stride, padding=p.pad, dilation=p.dilation,
            bias=p.bias, groups=s * p.groups,
        )  # fmt: skip
    if p.kind == "linear":
        return (
            FlatLinear(ch_in, p.out, bias=p.bias)
            if s == 1
            else GroupedLinear(s, ch_in, p.out, p.bias)
        )
    if p.kind == "bn":
        return nn.BatchNorm1d(ch_in * s) if flat else nn.BatchNorm2d(ch_in * s)
    if p.kind == "relu":
        return nn.ReLU()
    if p.kind == "dropout":
        return nn.Dropout2d(p.p) if p.channel else nn.Dropout(p.p)
    if p.kind == "maxpool":
        return nn.MaxPool2d(p.k, stride=p.stride, padding=p.pad)
    if p.kind == "avgpool":
        return nn.AvgPool2d(p.k, stride=p.stride, padding=p.pad)
    if p.kind == "gap":
        return nn.AdaptiveAvgPool2d(1)  # any map size → 1×1 (course style: AvgPool2d(n_in))
    if p.kind == "flatten":
        return nn.Flatten()  # with replicas: replica s stays one contiguous block
    raise AssertionError(f"unhandled kind {p.kind}")  # spec validation makes this unreachable
