"""The registry's types: `Layer` (a spec entry), `Prim` (a resolved primitive), `Kind` (one layer
kind, declared once), and the rules every kind shares (lowering, sliding windows)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any, Protocol

from ..errors import SpecError

CLASSES = "classes"  # `out = "classes"`: as many outputs as the data has classes
POST_PARTS = ("bn", "relu", "dropout")  # what may follow a conv or linear layer (`then`)


class Switches(Protocol):
    """The spec-wide defaults a layer falls back on (a `Spec` has them)."""

    norm: bool
    dropout: float
    dropout_kind: str
    order: str
    bias: bool
    then: tuple[str, ...]


class RowView(Protocol):
    """What `Kind.features` reads of a layer-table row (a spec's or a traced module's)."""

    kind: str
    kernel: int | None
    n_in: int | None
    n_out: int | None


@dataclass(frozen=True)
class Layer:
    """One entry of a spec. Fields left as None take the spec-wide default; which fields a kind
    accepts is its `Kind.fields`."""

    kind: str
    out: int | str | None = None  # conv/linear: channels or features, or "classes"
    k: int | None = None  # kernel: conv default 3, pools default 2
    pad: int = 0
    stride: int | None = None  # conv default 1, pools default k
    bias: bool | None = None  # None: spec.bias
    p: float | None = None  # dropout probability; None: spec.dropout
    channel: bool | None = None  # channel (2d) dropout; None: spec.dropout_kind
    then: tuple[str, ...] | None = None  # conv/linear post group; None: spec.then
    groups: int = 1  # conv: channel groups (groups = in channels: depthwise)
    dilation: int = 1  # conv: gaps between kernel taps (a k×k kernel spans d·(k−1)+1 pixels)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind}
        for f in fields(self)[1:]:
            v = getattr(self, f.name)
            if v != f.default:
                d[f.name] = list(v) if isinstance(v, tuple) else v
        return d


@dataclass(frozen=True)
class Prim:
    """A resolved primitive layer: what one `nn.Module` of the built network does."""

    name: str  # conv1, bn1, relu1, drop1, pool1, gap1, fc1, …
    kind: str
    source: int  # 1-based index of the spec layer it came from, for error messages
    out: int = 0
    k: int = 1
    pad: int = 0
    stride: int = 1
    bias: bool = False
    p: float = 0.0
    channel: bool = False
    groups: int = 1
    dilation: int = 1


@dataclass
class Cursor:
    """The tensor as the table walk carries it: a c×h×w map, or `flat` features once a flatten
    or a linear layer has run; `j` (jump) and `r` (receptive field) in input pixels."""

    c: int
    h: int
    w: int
    flat: int | None = None
    j: int = 1
    r: int = 1

    @property
    def channels(self) -> int:
        return self.flat if self.flat is not None else self.c

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.flat,) if self.flat is not None else (self.c, self.h, self.w)


@dataclass(frozen=True)
class Step:
    """One primitive's row besides its shapes: its window and its cost per image."""

    k: int = 1
    pad: int = 0
    stride: int = 1
    span: int = 1  # input pixels one window covers: k, or d·(k−1)+1 for a dilated conv
    params: int = 0
    macs: int = 0  # multiply-adds
    p: float | None = None  # a dropout's probability, for its row


Lowered = list[tuple[str, dict[str, Any]]]  # (kind, Prim fields) per primitive
Shape = Callable[[Prim, Cursor, str], Step]  # updates the cursor; the str says where, for errors
Factory = Callable[[Prim, int, bool, int], Any]  # (prim, ch_in, flat, replicas) → nn.Module


def _no_features(row: RowView) -> Iterable[str]:
    return ()


@dataclass(frozen=True)
class Kind:
    name: str
    short: str  # primitive names: conv1, pool2, drop3, …
    shape: Shape
    module: Factory
    fields: frozenset[str] = frozenset()
    lower: Callable[[Layer, Switches, int], Lowered] | None = None  # None: one prim, no fields
    check: Callable[[int, Layer], None] | None = None  # beyond the checks every layer gets
    traced: tuple[str, ...] = ()  # torch.nn class names a module table reads as this kind
    trace: str = "keep"  # "window" (k, stride, pad), "cover" (the whole map), "linear", "keep"
    features: Callable[[RowView], Iterable[str]] = _no_features


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    if kind.name in KINDS:
        raise ValueError(f"layer kind {kind.name!r} is registered already")
    KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    del KINDS[name]


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise SpecError(f"unknown kind {name!r}; use one of {', '.join(KINDS)}") from None


def traced_kind(module: Any) -> Kind | None:
    """The registered kind a torch module is an instance of (subclasses included), if any."""
    names = {c.__name__ for c in type(module).__mro__ if c.__module__.startswith("torch.nn")}
    return next((k for k in KINDS.values() if names & set(k.traced)), None)


def lower(layer: Layer, spec: Switches, classes: int) -> Lowered:
    """One spec layer → its primitives (kind, fields), spec-wide defaults resolved."""
    kind = kind_of(layer.kind)
    return kind.lower(layer, spec, classes) if kind.lower else [(kind.name, {})]


def post(layer: Layer, spec: Switches, classes: int) -> Lowered:
    """The post group after a conv or linear layer: `then` (BN → ReLU → dropout by default) in
    the spec's order, each part lowered as a layer of its own kind."""
    parts = list(spec.then if layer.then is None else layer.then)
    if "bn" in parts and "relu" in parts:
        b, r = parts.index("bn"), parts.index("relu")
        if (spec.order == "relu-bn") == (b < r):
            parts[b], parts[r] = parts[r], parts[b]
    return [p for part in parts for p in lower(Layer(part), spec, classes)]


def window(where: str, what: str, cur: Cursor, span: int, pad: int, stride: int) -> None:
    """A window of `span` pixels sliding over the map: n_out = ⌊(n + 2·pad − span)/stride⌋ + 1."""
    if cur.h + 2 * pad < span or cur.w + 2 * pad < span:
        hint = "add padding or remove a pooling/stride layer before it"
        raise SpecError(f"{where}: {span}×{span} {what} on a {cur.h}×{cur.w} map; {hint}")
    cur.h = (cur.h + 2 * pad - span) // stride + 1
    cur.w = (cur.w + 2 * pad - span) // stride + 1
