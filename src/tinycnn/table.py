"""The layer table: shapes, parameters and receptive fields derived from a spec by arithmetic.

Each primitive's kind (`layers/`) gives its window (k, stride, pad, span k′) and cost; the walk
carries the jump and receptive field through them, per axis, square kernels:
    j_out = j_in · stride                 (jump: input pixels between adjacent outputs)
    r_out = r_in + (k′ − 1) · j_in        (receptive field)

This is also where a spec is validated against its input: a layer that does not fit is refused
with a message naming the layer, before anything is built. How a table shows itself (text, HTML)
is `render.py`'s, which depends on this module and registers its views here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import ClassVar

from .defaults import MNIST_CLASSES, MNIST_INPUT
from .errors import SpecError
from .layers import KINDS, Cursor
from .ranges import is_whole
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
    p: float | None = None  # a dropout's probability (presets judge it)


@dataclass(frozen=True)
class Table:
    model: str
    input_shape: tuple[int, int, int]
    classes: int  # outputs per image
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()  # what the reader must know (merged branches, unanalysed modules)
    params_outside: int = 0  # parameters used by no listed layer (a bare nn.Parameter in forward)
    # why layers may be missing from the rows (a forward torch.fx could not trace: functional
    # calls unseen), so that a rule about them is not decided from the rows alone
    undecided: str = ""

    # text and HTML views, registered by render.py (imported with the package)
    _views: ClassVar[dict[str, Callable[[Table], str]]] = {}

    @classmethod
    def register_views(cls, **views: Callable[[Table], str]) -> None:
        cls._views.update(views)

    def __str__(self) -> str:
        view = self._views.get("text")
        return view(self) if view else f"Table({self.model!r}, {len(self.rows)} rows)"

    __repr__ = __str__  # a REPL's last line shows the table, not the dataclass

    def _repr_html_(self) -> str:
        view = self._views.get("html")
        return view(self) if view else str(self)

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
            "undecided": self.undecided,
            "layers": [{**asdict(r), "shape": list(r.shape)} for r in self.rows],
        }


def shape_text(shape: Sequence[int]) -> str:
    """(1, 28, 28) → "1×28×28"."""
    return "×".join(map(str, shape))


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
    if not is_whole(classes) or classes < 1:
        raise SpecError(f"classes = {classes!r}: give how many classes the data has (1 or more)")
    if spec.input is not None and tuple(spec.input) != tuple(input_shape):
        raise SpecError(
            f"{spec.name}: the spec is made for {'×'.join(map(str, spec.input))} inputs but "
            f"the data has {'×'.join(map(str, input_shape))} images; use data of that size or "
            f"change the spec's input"
        )
    cur = Cursor(*input_shape)
    rows: list[Row] = []
    for prim in spec.expand(classes):
        where = f"{spec.name}: layer {prim.source} ({prim.name})"
        n_in, ch_in, j_in, r_in = cur.h, cur.channels, cur.j, cur.r
        step = KINDS[prim.kind].shape(prim, cur, where)  # moves the cursor past the layer
        cur.j, cur.r = j_in * step.stride, r_in + (step.span - 1) * j_in
        rows.append(
            Row(prim.name, prim.kind, cur.shape, n_in, cur.h, ch_in, cur.channels, step.pad,
                step.k, step.stride, j_in, cur.j, r_in, cur.r, step.params, step.macs, step.p)
        )  # fmt: skip
    if not rows:
        raise SpecError(f"{spec.name}: the spec lowers to no layers at all; add a conv")
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
