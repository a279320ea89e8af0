"""One builder: spec → `nn.Module`. It knows nothing of training (as nanoGPT's model.py).

Every module of the built network is one row of the layer table, with the same name, so the table
can be checked against the module (`verify`) and the module can always describe itself. Each
row's module comes from its kind's factory in the layer registry (`layers/`).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from .defaults import MNIST_CLASSES, MNIST_INPUT
from .layers import KINDS
from .spec import Spec
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


def build(
    spec: Spec,
    input_shape: tuple[int, int, int] = MNIST_INPUT,
    classes: int = MNIST_CLASSES,
    replicas: int = 1,
    head: bool = True,
    table: Table | None = None,
) -> TinyNet:
    """Validate `spec` against the input (raises SpecError naming the layer) and build it, as
    one model or as `replicas` independent copies side by side (`training/fast/replicas.py`
    copies single models in and out): replica s owns channel group s (grouped conv, per-channel
    BN, block-diagonal linear); ReLU, dropout and pooling act per channel, so they never mix
    replicas either. The table describes one replica (`table`: that table, where the caller
    has it already)."""
    table = table or layer_table(spec, input_shape, classes, head)
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    for prim, row in zip(spec.expand(classes), table.rows, strict=True):
        flat = len(row.shape) == 1
        modules[prim.name] = KINDS[prim.kind].module(prim, row.ch_in, flat, replicas)
    return TinyNet(spec, table, modules, replicas)


class TableMismatch(AssertionError):
    """The derived table and the built module disagree: a bug in tinycnn, never user error."""


@torch.no_grad()
def verify(model: TinyNet) -> Table:
    """The table's arithmetic checked against the module: a real forward pass (eval mode, zeros
    input, no grad: no global RNG use, no BatchNorm statistics touched) and `parameters()`
    counted per module."""
    table = model.table
    was_training = model.training
    model.eval()
    try:
        x = torch.zeros(1, *table.input_shape)
        for (name, module), row in zip(model.named_children(), model.table.rows, strict=True):
            x = module(x)
            got = tuple(x.shape[1:])
            if got != row.shape:
                raise TableMismatch(f"{name}: table shape {row.shape} but forward gives {got}")
            n = sum(p.numel() for p in module.parameters())
            if n != row.params:
                raise TableMismatch(f"{name}: table params {row.params} but module has {n}")
    finally:
        model.train(was_training)
    unique = {id(p): p.numel() for p in model.parameters()}  # shared modules counted once
    if sum(unique.values()) != table.total_params:
        raise TableMismatch(f"total params {table.total_params} ≠ {sum(unique.values())}")
    return table
