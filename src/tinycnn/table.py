"""The layer table: shapes, parameters and receptive fields derived from a spec by arithmetic.

Receptive-field arithmetic (per axis, square kernels):
    n_out = floor((n_in + 2·pad − k') / stride) + 1
    j_out = j_in · stride                 (jump: input pixels between adjacent outputs)
    r_out = r_in + (k' − 1) · j_in        (receptive field)
where k' = d·(k − 1) + 1 is the span of a k×k kernel dilated by d (k' = k undilated). A conv of
g groups has (C_in / g)·C_out·k² weights: groups = C_in = C_out is depthwise.
A global average pool (and a flatten) is a window covering the whole remaining map, k = n_in.

This is also where a spec is validated against its input: a layer that does not fit is refused
with a message naming the layer, before anything is built.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from . import render
from .data import MNIST_CLASSES, MNIST_INPUT
from .errors import SpecError
from .spec import Spec

BYTES_PER_ACTIVATION = BYTES_PER_PARAM = 4  # float32


@dataclass(frozen=True)
class Row:
    name: str
    kind: str
    shape: tuple[int, ...]  # output shape per image: (C, H, W) or (F,)
    # None where a column does not apply: a module table (`describe`) past a module whose
    # receptive field it cannot derive, or the map columns of a flat (F,) output
    n_in: int | None  # map height in (n for square maps; width is in `shape`)
    n_out: int | None
    ch_in: int | None
    ch_out: int | None
    padding: int | None
    kernel: int | None
    stride: int | None
    j_in: int | None
    j_out: int | None
    r_in: int | None
    r_out: int | None
    params: int
    macs: int  # multiply-adds per image


@dataclass(frozen=True)
class Table:
    model: str
    input_shape: tuple[int, int, int]
    classes: int  # outputs per image
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()  # what the reader must know (merged branches, unanalysed modules)
    params_outside: int = 0  # parameters used by no listed layer (a bare nn.Parameter in forward)

    def __str__(self) -> str:
        return render.render_text(self)

    __repr__ = __str__  # a REPL's last line shows the table, not the dataclass

    def _repr_html_(self) -> str:
        return render.render_html(self)

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows) + self.params_outside

    @property
    def trainable_params(self) -> int:
        return (
            self.total_params
        )  # every parameter of a built spec is trainable; BN stats are buffers

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @property
    def activation_bytes(self) -> int:
        """Forward activations per image (every layer's output, float32)."""
        acts = sum(_numel(r.shape) for r in self.rows)
        return acts * BYTES_PER_ACTIVATION

    @property
    def param_bytes(self) -> int:
        return self.total_params * BYTES_PER_PARAM

    @property
    def receptive_field(self) -> int | None:
        """The largest RF in the table (None when no layer has one)."""
        return max((r.r_out for r in self.rows if r.r_out is not None), default=None)

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "input_shape": list(self.input_shape),
            "classes": self.classes,
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.total_params - self.trainable_params,
            "macs": self.macs,
            "activation_bytes": self.activation_bytes,
            "receptive_field": self.receptive_field,
            "param_bytes": self.param_bytes,
            "notes": list(self.notes),
            "layers": [{**asdict(r), "shape": list(r.shape)} for r in self.rows],
        }


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def layer_table(
    spec: Spec,
    input_shape: tuple[int, int, int] = MNIST_INPUT,
    classes: int = MNIST_CLASSES,
    head: bool = True,
) -> Table:
    """Walk the expanded spec; raise `SpecError` naming the first layer that does not fit.
    head=False describes a spec without a classifier head (a feature extractor, a sketch)."""
    if spec.input is not None and tuple(spec.input) != tuple(input_shape):
        raise SpecError(
            f"{spec.name}: the spec is made for {'×'.join(map(str, spec.input))} inputs but "
            f"the data has {'×'.join(map(str, input_shape))} images; use data of that size or "
            f"change the spec's input"
        )
    c, h, w = input_shape
    flat: int | None = None  # feature count once the map is flattened
    j, r = 1, 1
    rows: list[Row] = []
    prims = spec.expand(classes)
    for prim in prims:
        where = f"{spec.name}: layer {prim.source} ({prim.name})"
        k, pad, stride, params, macs = 1, 0, 1, 0, 0
        span = 1  # input pixels one window covers: k, or d·(k−1)+1 for a dilated conv
        ch_in, n_in, j_in, r_in = (flat if flat is not None else c), h, j, r
        if prim.kind == "conv":
            if flat is not None:
                raise SpecError(f"{where}: conv after flatten; move flatten after the last conv")
            k, pad, stride, g = prim.k, prim.pad, prim.stride, prim.groups
            span = prim.dilation * (k - 1) + 1
            if c % g or prim.out % g:
                raise SpecError(
                    f"{where}: groups = {g} must divide its {c} input and {prim.out} output "
                    f"channels; use a divisor of both (groups = {c} is depthwise when out = {c})"
                )
            h, w = _window(where, "conv", h, w, span, pad, stride)
            params = (c // g) * prim.out * k * k + (prim.out if prim.bias else 0)
            macs = h * w * prim.out * (c // g) * k * k
            c = prim.out
        elif prim.kind in ("maxpool", "avgpool"):
            if flat is not None:
                raise SpecError(f"{where}: pooling after flatten; pool before flattening")
            k, pad, stride = prim.k, prim.pad, prim.stride
            span = k
            if 2 * pad > k:  # a window of padding alone would pool nothing (torch refuses it)
                raise SpecError(
                    f"{where}: {prim.kind} pad {pad} is more than half its {k}×{k} window; "
                    f"use pad ≤ {k // 2}"
                )
            h, w = _window(where, prim.kind, h, w, k, pad, stride)
        elif prim.kind in ("gap", "flatten"):
            if flat is None:
                # a window covering the whole remaining map (per axis; RF uses the height)
                k = span = h
                if prim.kind == "gap":
                    h = w = 1
                else:
                    flat, h, w = c * h * w, 1, 1
        elif prim.kind == "linear":
            if flat is None:
                if h * w != 1:
                    raise SpecError(
                        f"{where}: linear on a {c}×{h}×{w} map; add gap or flatten before it"
                    )
                flat = c
            params = flat * prim.out + (prim.out if prim.bias else 0)
            macs = flat * prim.out
            flat = prim.out
        elif prim.kind == "bn":
            # weight and bias; running mean/var are buffers, not parameters
            params = 2 * (flat if flat is not None else c)
        j = j_in * stride
        r = r_in + (span - 1) * j_in
        shape = (flat,) if flat is not None else (c, h, w)
        ch_out = flat if flat is not None else c
        rows.append(
            Row(
                prim.name,
                prim.kind,
                shape,
                n_in,
                h,
                ch_in,
                ch_out,
                pad,
                k,
                stride,
                j_in,
                j,
                r_in,
                r,
                params,
                macs,
            )
        )
    out = rows[-1].shape
    on_map = len(out) == 3 and out[1:] != (1, 1)
    headless = on_map or rows[-1].ch_out != classes
    if head and on_map:
        raise SpecError(
            f"{spec.name}: the network ends on a {out[0]}×{out[1]}×{out[2]} map; end "
            f"with gap (or flatten and linear) so there is one output per class"
        )
    if head and rows[-1].ch_out != classes:
        raise SpecError(
            f"{spec.name}: the network ends with {rows[-1].ch_out} outputs but the data "
            f'has {classes} classes; set the last layer\'s out = "classes"'
        )
    if input_shape[0] < 1:
        raise SpecError(f"{spec.name}: input needs at least one channel")
    outputs = _numel(out) if headless else classes
    notes = ("no classifier head: a description only (training needs one)",) if headless else ()
    return Table(spec.name, tuple(input_shape), outputs, tuple(rows), notes)


def _window(
    where: str, what: str, h: int, w: int, k: int, pad: int, stride: int
) -> tuple[int, int]:
    if h + 2 * pad < k or w + 2 * pad < k:
        hint = "add padding or remove a pooling/stride layer before it"
        raise SpecError(f"{where}: {k}×{k} {what} on a {h}×{w} map; {hint}")
    return (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
