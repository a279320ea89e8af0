"""Architecture as data: one `Spec` type describes every network tinycnn builds.

A spec is an ordered tuple of `Layer`s plus spec-wide switches. A `conv` or `linear` layer is
followed by its *post group* (`then`, by default BN → ReLU → dropout), so one switch changes one
concept across the whole network, which is what an experiment step needs:

- `norm`: batch norm on/off everywhere;
- `dropout`: the dropout probability everywhere (0 removes dropout layers);
- `order`: "bn-relu" (conv → BN → ReLU) or "relu-bn" (conv → ReLU → BN);
- `dropout_kind`: "element" (`nn.Dropout`) or "channel" (`nn.Dropout2d`).

`Spec.expand()` lowers a spec to `Prim`s, the resolved primitive layers that the builder and the
layer table both walk, so the two can never disagree about what the network is. What each layer
kind accepts and becomes is declared once, in the layer registry (`layers/`).
"""

from __future__ import annotations

import dataclasses
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from . import tomlfile
from .errors import SpecError
from .layers import KINDS, POST_PARTS, Layer, Prim, kind_of, lower
from .ranges import is_number, is_whole

ORDERS = ("bn-relu", "relu-bn")
DROPOUT_KINDS = ("element", "channel")
# a spec's name becomes a directory name (runs/<name>-<time>): nothing that could leave --out
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


@dataclass(frozen=True)
class Spec:
    name: str
    layers: tuple[Layer, ...]
    description: str = ""
    source: str = ""  # provenance: where the architecture comes from
    norm: bool = True
    dropout: float = 0.0
    dropout_kind: str = "element"
    order: str = "bn-relu"
    bias: bool = False
    then: tuple[str, ...] = POST_PARTS
    input: tuple[int, ...] | None = None  # channels, height, width it is made for (optional)

    def __post_init__(self) -> None:
        _validate_switches(self)
        if not isinstance(self.layers, tuple | list) or not self.layers:
            raise SpecError(
                f"spec {self.name}: layers must be a non-empty tuple of layers, e.g. "
                f"(conv(8), maxpool(), …, gap(), conv('classes', k=1))"
            )
        for i, layer in enumerate(self.layers, 1):
            _validate_layer(i, layer)

    def __repr__(self) -> str:  # the TOML it would be saved as: reads like the network
        return f"Spec {self.name!r}\n{self.to_toml()}"

    def _repr_html_(self) -> str:
        name, toml = html.escape(self.name), html.escape(self.to_toml())
        return f"<div><strong>Spec {name}</strong><pre>{toml}</pre></div>"

    def with_(self, **changes: Any) -> Spec:
        """A copy with some switches or fields changed (one experiment step = one change)."""
        return dataclasses.replace(self, **changes)

    def expand(self, classes: int) -> list[Prim]:
        """Lower to resolved primitives; `classes` resolves `out = "classes"`. Each primitive is
        named by its kind's short name and count: conv1, bn1, relu1, drop1, pool1, …"""
        prims: list[Prim] = []
        counts: dict[str, int] = {}
        for i, layer in enumerate(self.layers, 1):
            for kind, fields in lower(layer, self, classes):
                short = KINDS[kind].short
                counts[short] = counts.get(short, 0) + 1
                prims.append(Prim(f"{short}{counts[short]}", kind, i, **fields))
        return prims

    # ----- text form ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name}
        for f in dataclasses.fields(self):
            if f.name in ("name", "layers"):
                continue
            v = getattr(self, f.name)
            if v != f.default:
                d[f.name] = list(v) if isinstance(v, tuple) else v
        d["layers"] = [layer.to_dict() for layer in self.layers]
        return d

    def to_toml(self) -> str:
        """Switches first, then one layer per line as an inline table: reads like the network."""
        d = self.to_dict()
        layers = d.pop("layers")
        rows = ",\n".join(f"    {_inline(layer)}" for layer in layers)
        return tomli_w.dumps(d) + f"layers = [\n{rows},\n]\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "spec") -> Spec:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise SpecError(
                f"{where}: unknown field {unknown[0]!r}; known fields: {', '.join(sorted(known))}"
            )
        if "name" not in d or "layers" not in d:
            raise SpecError(f"{where}: a spec needs 'name' and 'layers'")
        if not isinstance(d["layers"], list) or not d["layers"]:
            raise SpecError(f"{where}: 'layers' must be a non-empty list of tables")
        layers = tuple(_layer_from_dict(i, x, where) for i, x in enumerate(d["layers"], 1))
        kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k != "layers"}
        try:
            return cls(layers=layers, **kw)
        except TypeError as e:
            raise SpecError(f"{where}: {e}") from None
        except SpecError as e:
            raise SpecError(f"{where}: {e}") from None

    @classmethod
    def from_toml(cls, text: str, where: str = "spec") -> Spec:
        return cls.from_dict(tomlfile.parse(text, where, SpecError), where)


def _inline(d: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return tomli_w.dumps({"v": v})[len("v = ") :].strip()

    return "{ " + ", ".join(f"{k} = {value(v)}" for k, v in d.items()) + " }"


def load_spec_file(path: str | Path) -> Spec:
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"{p}: no such spec file; give a zoo name (tinycnn zoo) or a .toml path")
    data = tomlfile.read(p, "spec file", "", SpecError)
    data.setdefault("name", p.stem)  # a file names its spec unless it says otherwise
    return Spec.from_dict(data, where=str(p))


def _layer_from_dict(i: int, d: Any, where: str) -> Layer:
    if not isinstance(d, dict) or "kind" not in d:
        raise SpecError(f"{where}: layer {i}: each layer needs a 'kind' ({', '.join(KINDS)})")
    kind = d["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise SpecError(f"{where}: layer {i}: unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    extra = sorted(set(d) - {"kind"} - KINDS[kind].fields)
    if extra:
        allowed = ", ".join(sorted(KINDS[kind].fields)) or "none"
        raise SpecError(
            f"{where}: layer {i} ({kind}): unknown field {extra[0]!r}; allowed: {allowed}"
        )
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()}
    return Layer(**kw)


def _validate_switches(s: Spec) -> None:
    if not isinstance(s.name, str) or not NAME_RE.fullmatch(s.name):
        raise SpecError(
            f"spec name {s.name!r}: use letters, digits, '.', '_', '+' or '-' (at most 64, "
            f"starting with a letter or digit); it names the run directory"
        )
    for field in ("norm", "bias"):
        if not isinstance(getattr(s, field), bool):
            raise SpecError(
                f"spec {s.name}: {field} = {getattr(s, field)!r} must be true or false "
                f"(unquoted in TOML)"
            )
    for field in ("description", "source"):
        if not isinstance(getattr(s, field), str):
            raise SpecError(f"spec {s.name}: {field} must be text, got {getattr(s, field)!r}")
    if not is_number(s.dropout):
        raise SpecError(f"spec {s.name}: dropout = {s.dropout!r} must be a number in [0, 1)")
    if s.input is not None and (
        not isinstance(s.input, tuple)
        or len(s.input) != 3
        or not all(is_whole(v) and v > 0 for v in s.input)
    ):
        raise SpecError(
            f"spec {s.name}: input = {list(s.input) if isinstance(s.input, tuple) else s.input!r} "
            f"must be [channels, height, width], e.g. [3, 32, 32]"
        )
    if not isinstance(s.then, tuple) or not all(isinstance(p, str) for p in s.then):
        raise SpecError(f"spec {s.name}: then must be a list of {', '.join(POST_PARTS)}")
    if s.order not in ORDERS:
        raise SpecError(f"spec {s.name}: order {s.order!r} must be one of {', '.join(ORDERS)}")
    if s.dropout_kind not in DROPOUT_KINDS:
        raise SpecError(
            f"spec {s.name}: dropout_kind {s.dropout_kind!r} must be one of "
            f"{', '.join(DROPOUT_KINDS)}"
        )
    if not 0 <= s.dropout < 1:
        raise SpecError(f"spec {s.name}: dropout {s.dropout} must be in [0, 1)")
    bad = [p for p in s.then if p not in POST_PARTS]
    if bad:
        raise SpecError(f"spec {s.name}: then has {bad[0]!r}; use parts of {', '.join(POST_PARTS)}")


def _validate_layer(i: int, L: Layer) -> None:
    """The checks every layer gets; its kind's own `check` follows."""
    if not isinstance(L, Layer):
        raise SpecError(f"layer {i}: {L!r} is not a layer; build layers with conv(), maxpool(), …")
    kind = kind_of(L.kind)
    for name in ("bias", "channel"):
        v = getattr(L, name)
        if v is not None and not isinstance(v, bool):
            raise SpecError(
                f"layer {i} ({L.kind}): {name} = {v!r} must be true or false (unquoted in TOML)"
            )
    if L.then is not None and (
        not isinstance(L.then, tuple) or not all(isinstance(p, str) for p in L.then)
    ):
        raise SpecError(f"layer {i} ({L.kind}): then must be a list of {', '.join(POST_PARTS)}")
    for name in ("k", "stride", "groups", "dilation"):
        v = getattr(L, name)
        if v is not None and (not is_whole(v) or v < 1):
            raise SpecError(f"layer {i} ({L.kind}): {name} must be a positive integer, got {v!r}")
    if not is_whole(L.pad) or L.pad < 0:
        raise SpecError(f"layer {i} ({L.kind}): pad must be an integer ≥ 0, got {L.pad!r}")
    if L.p is not None and (not is_number(L.p) or not 0 <= L.p < 1):
        raise SpecError(f"layer {i} (dropout): p must be in [0, 1), got {L.p!r}")
    if kind.check is not None:
        kind.check(i, L)


# ----- Python shorthand: the zoo and notebooks write specs with these ---------------------------
def conv(
    out: int | str,
    k: int = 3,
    pad: int = 0,
    stride: int = 1,
    bias: bool | None = None,
    then: tuple[str, ...] | None = None,
    groups: int = 1,
    dilation: int = 1,
) -> Layer:
    stride_ = None if stride == 1 else stride
    return Layer("conv", out, k, pad, stride_, bias, then=then, groups=groups, dilation=dilation)


def linear(out: int | str, bias: bool | None = None, then: tuple[str, ...] | None = None) -> Layer:
    return Layer("linear", out=out, bias=bias, then=then)


def maxpool(k: int = 2, stride: int | None = None) -> Layer:
    return Layer("maxpool", k=k, stride=stride)


def avgpool(k: int = 2, stride: int | None = None) -> Layer:
    return Layer("avgpool", k=k, stride=stride)


def gap() -> Layer:
    return Layer("gap")


def flatten() -> Layer:
    return Layer("flatten")


def dropout(p: float | None = None, channel: bool | None = None) -> Layer:
    return Layer("dropout", p=p, channel=channel)
