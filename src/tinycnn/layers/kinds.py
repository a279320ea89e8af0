"""The built-in layer kinds, one declared unit each (the package docstring says what a `Kind`
holds). Receptive-field arithmetic, per axis, square kernels:
    n_out = ⌊(n_in + 2·pad − k′) / stride⌋ + 1
    j_out = j_in · stride                 (jump: input pixels between adjacent outputs)
    r_out = r_in + (k′ − 1) · j_in        (receptive field)
where k′ = d·(k − 1) + 1 is the span of a k×k kernel dilated by d (k′ = k undilated). A global
average pool (and a flatten) is a window covering the whole remaining map, k = n_in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import SpecError
from ..ranges import is_whole
from .registry import (
    CLASSES,
    POST_PARTS,
    Cursor,
    Kind,
    Layer,
    Lowered,
    Prim,
    RowView,
    Step,
    Switches,
    post,
    register,
    window,
)


def _outputs(layer: Layer, classes: int) -> int:
    return classes if layer.out == CLASSES else int(layer.out)  # type: ignore[arg-type]


def _bias(layer: Layer, spec: Switches) -> bool:
    return spec.bias if layer.bias is None else layer.bias


def _check_out(i: int, layer: Layer) -> None:
    out = layer.out
    if out != CLASSES and (not is_whole(out) or out < 1):
        raise SpecError(
            f'layer {i} ({layer.kind}): out must be a positive integer or "classes", got {out!r}'
        )
    bad = [p for p in (layer.then or ()) if p not in POST_PARTS]
    if bad:
        raise SpecError(
            f"layer {i} ({layer.kind}): then has {bad[0]!r}; use {', '.join(POST_PARTS)}"
        )


# ----- conv --------------------------------------------------------------------------------------
def _conv_lower(layer: Layer, spec: Switches, classes: int) -> Lowered:
    prim = {
        "out": _outputs(layer, classes),
        "k": 3 if layer.k is None else layer.k,
        "pad": layer.pad,
        "stride": 1 if layer.stride is None else layer.stride,
        "bias": _bias(layer, spec),
        "groups": layer.groups,
        "dilation": layer.dilation,
    }
    return [("conv", prim), *post(layer, spec, classes)]


def _conv_shape(p: Prim, cur: Cursor, where: str) -> Step:
    """(C_in/g)·C_out·k² weights (+ C_out biases); groups = C_in = C_out is depthwise."""
    if cur.flat is not None:
        raise SpecError(f"{where}: conv after flatten; move flatten after the last conv")
    c, g = cur.c, p.groups
    if c % g or p.out % g:
        raise SpecError(
            f"{where}: groups = {g} must divide its {c} input and {p.out} output channels; use "
            f"a divisor of both (groups = {c} is depthwise when out = {c})"
        )
    span = p.dilation * (p.k - 1) + 1
    window(where, "conv", cur, span, p.pad, p.stride)
    cur.c = p.out
    weights = (c // g) * p.out * p.k * p.k
    return Step(
        p.k, p.pad, p.stride, span, weights + (p.out if p.bias else 0), cur.h * cur.w * weights
    )


def _conv_module(p: Prim, ch_in: int, flat: bool, s: int) -> Any:
    from torch import nn

    return nn.Conv2d(  # replica r owns groups r·g … (r+1)·g − 1: replicas never mix
        ch_in * s, p.out * s, p.k, stride=p.stride, padding=p.pad, dilation=p.dilation,
        bias=p.bias, groups=s * p.groups,
    )  # fmt: skip


register(
    Kind(
        "conv", "conv", _conv_shape, _conv_module,
        fields=frozenset({"out", "k", "pad", "stride", "bias", "then", "groups", "dilation"}),
        lower=_conv_lower, check=_check_out, traced=("Conv2d",), trace="window",
        features=lambda row: ("conv1x1",) if row.kernel == 1 else (),
    )
)  # fmt: skip


# ----- linear ------------------------------------------------------------------------------------
def _linear_lower(layer: Layer, spec: Switches, classes: int) -> Lowered:
    prim = {"out": _outputs(layer, classes), "bias": _bias(layer, spec)}
    return [("linear", prim), *post(layer, spec, classes)]


def _linear_shape(p: Prim, cur: Cursor, where: str) -> Step:
    if cur.flat is None:
        if cur.h * cur.w != 1:
            raise SpecError(
                f"{where}: linear on a {cur.c}×{cur.h}×{cur.w} map; add gap or flatten before it"
            )
        cur.flat = cur.c
    fan_in, cur.flat = cur.flat, p.out
    return Step(params=fan_in * p.out + (p.out if p.bias else 0), macs=fan_in * p.out)


def _linear_module(p: Prim, ch_in: int, flat: bool, s: int) -> Any:
    from ..modules import FlatLinear, GroupedLinear

    return FlatLinear(ch_in, p.out, p.bias) if s == 1 else GroupedLinear(s, ch_in, p.out, p.bias)


register(
    Kind(
        "linear", "fc", _linear_shape, _linear_module, fields=frozenset({"out", "bias", "then"}),
        lower=_linear_lower, check=_check_out, traced=("Linear",), trace="linear",
        features=lambda row: ("fc",),
    )
)  # fmt: skip


# ----- what follows a conv or linear layer: bn, relu, dropout ------------------------------------
def _keep(p: Prim, cur: Cursor, where: str) -> Step:
    return Step()  # elementwise: shape and receptive field unchanged


def _bn_shape(p: Prim, cur: Cursor, where: str) -> Step:
    return Step(params=2 * cur.channels)  # weight and bias; running mean/var are buffers


def _bn_module(p: Prim, ch_in: int, flat: bool, s: int) -> Any:
    from torch import nn

    return nn.BatchNorm1d(ch_in * s) if flat else nn.BatchNorm2d(ch_in * s)


def _relu_module(p: Prim, ch_in: int, flat: bool, s: int) -> Any:
    from torch import nn

    return nn.ReLU()


def _dropout_lower(layer: Layer, spec: Switches, classes: int) -> Lowered:
    p = spec.dropout if layer.p is None else layer.p
    channel = (spec.dropout_kind == "channel") if layer.channel is None else layer.channel
    return [("dropout", {"p": p, "channel": channel})] if p > 0 else []  # p = 0: no layer


def _dropout_module(p: Prim, ch_in: int, flat: bool, s: int) -> Any:
    from torch import nn

    return nn.Dropout2d(p.p) if p.channel else nn.Dropout(p.p)


register(
    Kind(
        "bn", "bn", _bn_shape, _bn_module,
        lower=lambda layer, spec, classes: [("bn", {})] if spec.norm else [],  # norm = false: off
        traced=("BatchNorm1d", "BatchNorm2d"), features=lambda row: ("bn",),
    )
)  # fmt: skip
register(Kind("relu", "relu", _keep, _relu_module, traced=("ReLU",)))
register(
    Kind(
        "dropout", "drop", lambda prim, cur, where: Step(p=prim.p), _dropout_module,
        fields=frozenset({"p", "channel"}),
        lower=_dropout_lower, traced=("Dropout", "Dropout2d"), features=lambda row: ("dropout",),
    )
)  # fmt: skip


# ----- pools: maxpool, avgpool, and the whole-map windows gap and flatten ------------------------
def _pool_lower(layer: Layer, spec: Switches, classes: int) -> Lowered:
    k = 2 if layer.k is None else layer.k
    stride = k if layer.stride is None else layer.stride
    return [(layer.kind, {"k": k, "pad": layer.pad, "stride": stride})]


def _pool_shape(p: Prim, cur: Cursor, where: str) -> Step:
    if cur.flat is not None:
        raise SpecError(f"{where}: pooling after flatten; pool before flattening")
    if 2 * p.pad > p.k:  # a window of padding alone would pool nothing (torch refuses it)
        raise SpecError(
            f"{where}: {p.kind} pad {p.pad} is more than half its {p.k}×{p.k} window; "
            f"use pad ≤ {p.k // 2}"
        )
    window(where, p.kind, cur, p.k, p.pad, p.stride)
    return Step(p.k, p.pad, p.stride, p.k)


def _covers(row: RowView) -> Iterable[str]:
    """A GAP is any pooling whose window covers the whole remaining map (not its class name)."""
    if row.n_out != 1 or row.kernel is None or row.n_in is None:
        return ()
    return ("gap",) if row.kernel >= row.n_in else ()


def _whole_map(p: Prim, cur: Cursor, where: str) -> Step:
    """A window covering the whole remaining map (per axis; the RF uses the height)."""
    if cur.flat is not None:
        return Step()
    n = cur.h
    if p.kind == "flatten":
        cur.flat = cur.c * cur.h * cur.w
    cur.h = cur.w = 1
    return Step(k=n, span=n)


def _pool_module(p: Prim, ch_in: int, flat: bool, s: int) -> Any:
    from torch import nn

    if p.kind == "maxpool":
        return nn.MaxPool2d(p.k, stride=p.stride, padding=p.pad)
    if p.kind == "avgpool":
        return nn.AvgPool2d(p.k, stride=p.stride, padding=p.pad)
    if p.kind == "gap":
        return nn.AdaptiveAvgPool2d(1)  # any map size → 1×1 (course style: AvgPool2d(n_in))
    return nn.Flatten()  # with replicas: replica s stays one contiguous block


POOL_FIELDS = frozenset({"k", "stride", "pad"})
register(
    Kind(
        "maxpool", "pool", _pool_shape, _pool_module, fields=POOL_FIELDS, lower=_pool_lower,
        traced=("MaxPool2d",), trace="window",
    )
)  # fmt: skip
register(
    Kind(
        "avgpool", "avgpool", _pool_shape, _pool_module, fields=POOL_FIELDS, lower=_pool_lower,
        traced=("AvgPool2d",), trace="window", features=_covers,
    )
)  # fmt: skip
register(
    Kind(
        "gap", "gap", _whole_map, _pool_module, traced=("AdaptiveAvgPool2d", "AdaptiveMaxPool2d"),
        trace="cover", features=_covers,
    )
)  # fmt: skip
register(Kind("flatten", "flatten", _whole_map, _pool_module, traced=("Flatten",), trace="cover"))
