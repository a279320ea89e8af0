"""What a model is: the layer table of a zoo name, a spec, a built model or any `nn.Module`
(`tinycnn.summary`), and whether a spec fits an assignment's rules (`tinycnn.check`).

    tinycnn.summary("gap7496")                          # the spec's arithmetic (no torch)
    tinycnn.summary(MyNet(), input_size=(1, 28, 28))    # any module: see modtable.py

A spec is described by arithmetic alone, so a spec of absurd size is described (or refused)
without allocating it; the zoo sweep test checks that arithmetic against every built module.
A module (built or your own) is run once, so torch loads only for modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import zoo
from .defaults import MNIST_CLASSES, MNIST_INPUT
from .errors import SpecError
from .ranges import check_value
from .rules import Verdict, load_preset, static_conditions
from .spec import Spec
from .table import Table, layer_table, shape_text

__all__ = ["check", "summary"]


def summary(
    model: str | Path | Spec | Any,
    input_size: Sequence[int] | str | None = None,
    classes: int | None = None,
) -> Table:
    """The layer table of a zoo name, a spec (or its .toml file), a built model or any module.

    input_size: (C, H, W), (N, C, H, W) as torchinfo takes it, or "1x28x28"; a spec defaults to
    its own `input`, else MNIST's 1×28×28 (and 10 classes); any other module needs it."""
    size = _size(input_size) if input_size is not None else None
    if not isinstance(model, str | Path | Spec):
        return _module_summary(model, size)
    spec = zoo.resolve(model)
    if size is not None:  # asked for this size: the spec's own input gives way
        spec = spec.with_(input=None)
    shape = size or spec.input or MNIST_INPUT
    # a description: a spec without a classifier head is described too (training refuses it)
    return layer_table(spec, shape, MNIST_CLASSES if classes is None else classes, head=False)


def _module_summary(model: Any, size: tuple[int, int, int] | None) -> Table:
    from torch import nn

    from .builder import TinyNet, verify
    from .modtable import module_table

    if isinstance(model, TinyNet):
        if size is not None and size != model.table.input_shape:
            raise SpecError(
                f"{model.spec.name} was built for {shape_text(model.table.input_shape)} inputs, "
                f"not {shape_text(size)}; build it again: tinycnn.build(spec, {size})"
            )
        return verify(model)  # the spec's arithmetic, checked against the module
    if isinstance(model, nn.Module):
        if size is None:
            raise SpecError(
                f"{type(model).__name__}: give the input size, e.g. "
                f"tinycnn.summary(model, input_size=(1, 28, 28))"
            )
        return module_table(model, size)
    raise SpecError(
        f"summary takes a zoo name, a spec (or its .toml file) or an nn.Module, not "
        f"{type(model).__name__}"
    )


def check(
    model: str | Path | Spec | Any,
    preset: str | Path,
    epochs: int | None = None,
    input_size: Sequence[int] | str | None = None,
    classes: int | None = None,
    declared: str | None = None,
) -> Verdict:
    """A spec or your own module against a preset's rules that need no training (params,
    layers, dropout, epochs): `tinycnn check` in Python. The accuracy rule is judged by
    training with the preset. `declared`: what a module's trace cannot show ("gap, no-fc")."""
    rules = load_preset(preset)
    check_value("epochs", epochs)
    size = _size(input_size) if input_size is not None else MNIST_INPUT
    k = MNIST_CLASSES if classes is None else classes
    if isinstance(model, str | Path | Spec) and not zoo.is_file_model(str(model)):
        return Verdict(tuple(static_conditions(rules, zoo.resolve(model), epochs, size, k)))
    from .nets import as_net  # your own module: judged from its traced table

    net = as_net(model)
    table = net.table(size, k)
    return Verdict(tuple(static_conditions(rules, None, epochs, size, k, table, declared)))


def _size(v: Sequence[int] | str) -> tuple[int, int, int]:
    dims = tuple(v) if not isinstance(v, str) else tuple(_ints(v))
    if len(dims) == 4:  # torchinfo's (batch, C, H, W)
        dims = dims[1:]
    if len(dims) != 3 or not all(isinstance(d, int) and d > 0 for d in dims):
        raise SpecError(
            f"input size {v!r}: give channels×height×width, e.g. 1x28x28 or (3, 32, 32)"
        )
    return dims  # type: ignore[return-value]


def _ints(text: str) -> list[int | str]:
    parts = text.replace("×", "x").lower().split("x")
    return [int(p) if p.strip().isdigit() else p for p in parts]
