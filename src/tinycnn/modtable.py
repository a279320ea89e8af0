"""The layer table of any `nn.Module`: shapes and parameters from a real forward pass, and the
course's receptive-field columns (n, j, r) derived from the traced graph wherever they are defined.

`torch.fx` traces `forward` into a graph, so `F.relu(self.conv1(x))`, functional pooling and
`x.view(-1, n)` are seen as well as modules. A module of a registered layer kind (`layers/`: conv,
linear, bn, relu, dropout, pools, gap, flatten) is read as that kind, as its `traced` and `trace`
declare; RF arithmetic as in `table.py`; where two tensors meet
(`x + self.skip(x)`, `torch.cat`) the larger RF wins and a note says so. Past an operation it does
not know, the RF columns are left empty ("—") with a note naming it: never a guessed number. A
`forward` fx cannot trace (Python control flow on tensor values) still gets shapes and parameters
from forward hooks, and the note says why it has no RF columns.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.passes.shape_prop import ShapeProp

from .errors import SpecError
from .layers import traced_kind
from .table import Row, Table, shape_text

# leaf modules of no registered kind that keep each output pixel's RF (elementwise, per-channel)
KEEP_MODULES = (
    nn.GroupNorm, nn.LayerNorm, nn.Identity, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.GELU,
    nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Softmax, nn.LogSoftmax, nn.Hardswish, nn.Mish,
)  # fmt: skip
KEEP_FUNCTIONS = {
    F.relu, F.relu6, F.leaky_relu, F.gelu, F.silu, F.elu, F.softmax,
    F.log_softmax, F.batch_norm, F.sigmoid, F.tanh, torch.relu, torch.sigmoid, torch.tanh,
    torch.softmax, torch.log_softmax, operator.mul, operator.truediv, operator.neg,
}  # fmt: skip
KEEP_METHODS = {"relu", "sigmoid", "tanh", "softmax", "log_softmax", "contiguous", "clone", "float"}
MERGE = {operator.add, torch.add, torch.cat, operator.sub, torch.mul}  # where branches meet
FLAT = {torch.flatten, "flatten", "view", "reshape"}
POOL_FUNCTIONS = {F.max_pool2d: "maxpool", F.avg_pool2d: "avgpool"}
DROPOUT_FUNCTIONS = {F.dropout, F.dropout2d, torch.dropout}  # a row each: presets judge its p


class _Tracer(fx.Tracer):
    """Keeps subclasses of the layers it knows (a `FlatLinear(nn.Linear)`) as one row each."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        known = traced_kind(m) is not None or isinstance(m, KEEP_MODULES)
        return known or super().is_leaf_module(m, qualname)


@dataclass(frozen=True)
class Field:
    n: int  # map height
    j: int
    r: int


def _pair(v: int | tuple[int, ...]) -> int:
    return v[0] if isinstance(v, tuple) else int(v)


def _shape(node: fx.Node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta")
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


# a forward that fake tensors cannot follow (a data-dependent branch) runs for real, on an input
# of at most this many values (1×1,000×1,000 floats: 4 MB); larger is refused, never allocated
REAL_INPUT_MAX = 1_000_000


def _fake() -> FakeTensorMode:
    """Tensors with shapes and no storage: the table is derived without allocating the input or
    a single activation, whatever size is asked (the module's own parameters are used as they
    are)."""
    return FakeTensorMode(allow_non_fake_inputs=True)


def float_dtype(module: nn.Module) -> torch.dtype:
    """The dtype of a module's first floating parameter or buffer; float32 where it has none."""
    tensors = [*module.parameters(), *module.buffers()]
    return next((t.dtype for t in tensors if t.is_floating_point()), torch.float32)


def module_table(module: nn.Module, input_size: tuple[int, int, int], name: str = "") -> Table:
    """The table of any module on a (C, H, W) input, from a trace on fake tensors: nothing of
    the input's size is allocated."""
    name = name or type(module).__name__
    fake = _fake()
    with fake:  # in the module's own precision (float32 unless it was made otherwise)
        x = torch.zeros(1, *input_size, dtype=float_dtype(module))
    was_training = module.training
    module.eval()  # BN statistics untouched, dropout off
    try:
        with torch.no_grad():
            try:
                tracer = _Tracer()
                graph = fx.GraphModule(module, tracer.trace(module), name)
            except Exception as e:  # fx refuses data-dependent control flow, among others
                why = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
                return _hooks_table(module, x, name, why)
            try:
                ShapeProp(graph, fake_mode=fake).propagate(x)
            except Exception as e:
                raise SpecError(
                    f"{name}: forward on a {shape_text(input_size)} input failed "
                    f"({str(e).splitlines()[0][:160]}); give the input_size the model takes"
                ) from None
    finally:
        module.train(was_training)
    return _Walk(graph, name, input_size).table(module)


class _Walk:
    """Follow the traced graph node by node, carrying each tensor's (n, j, r)."""

    def __init__(self, graph: fx.GraphModule, name: str, input_size: tuple[int, int, int]):
        self.graph, self.name, self.input_size = graph, name, input_size
        self.fields: dict[fx.Node, Field | None] = {}
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self.seen_params: set[int] = set()

    def table(self, module: nn.Module) -> Table:
        out_shape: tuple[int, ...] = ()
        for node in self.graph.graph.nodes:
            if node.op == "placeholder":
                self.fields[node] = Field(self.input_size[1], 1, 1)
            elif node.op == "output":
                out_shape = _shape(node.args[0]) if isinstance(node.args[0], fx.Node) else ()
            elif _shape(node) is not None:  # a tensor (sizes, ints and tuples are skipped)
                self._node(node)
        unique = {id(p): p.numel() for p in module.parameters()}
        outside = sum(unique.values()) - sum(r.params for r in self.rows)
        if outside:
            were = "parameter is" if outside == 1 else "parameters are"
            self.notes.append(f"{outside:,} {were} used outside the listed layers")
        outputs = 1
        for s in (out_shape or (1, 1))[1:]:
            outputs *= s
        return Table(
            self.name, self.input_size, outputs, tuple(self.rows), tuple(self.notes), outside
        )

    def _inputs(self, node: fx.Node) -> list[tuple[fx.Node, Field | None]]:
        return [(a, self.fields.get(a)) for a in node.all_input_nodes if _shape(a) is not None]

    def _node(self, node: fx.Node) -> None:
        ins = self._inputs(node)
        first = ins[0][1] if ins else None
        target = node.target
        mod = self.graph.get_submodule(node.target) if node.op == "call_module" else None
        if mod is not None:
            field, kind, k, s, p = self._module(node, mod, first)
            self._row(node, ins, field, kind, k, s, p, mod)
        elif target in POOL_FUNCTIONS:
            k = _pair(node.kwargs.get("kernel_size", node.args[1] if len(node.args) > 1 else 1))
            s_arg = node.kwargs.get("stride", node.args[2] if len(node.args) > 2 else None)
            s = _pair(s_arg) if s_arg not in (None, ()) else k
            p = _pair(node.kwargs.get("padding", node.args[3] if len(node.args) > 3 else 0))
            self._row(node, ins, self._window(node, first, k, s), POOL_FUNCTIONS[target], k, s, p)
        elif target in DROPOUT_FUNCTIONS:
            p = node.kwargs.get("p", node.args[1] if len(node.args) > 1 else 0.5)
            self._row(node, ins, first, "dropout", drop=float(p))
        elif target in FLAT or target is F.adaptive_avg_pool2d or target in ("mean", torch.mean):
            self._global(node, ins, first)
        elif target in MERGE and len([f for _, f in ins]) > 1:
            self._merge(node, ins)
        elif target in KEEP_FUNCTIONS or target in KEEP_METHODS or node.op == "get_attr":
            self.fields[node] = first
        else:
            self._unknown(node, str(getattr(target, "__name__", target)), first)

    def _module(
        self, node: fx.Node, mod: nn.Module, f: Field | None
    ) -> tuple[Field | None, str, int | None, int | None, int | None]:
        kind = traced_kind(mod)
        trace = kind.trace if kind else None
        if kind and trace == "window":
            k, s, p = _pair(mod.kernel_size), _pair(mod.stride), mod.padding
            p = None if isinstance(p, str) else _pair(p)  # "same": taken from the shapes
            dilation = _pair(getattr(mod, "dilation", 1))
            return self._window(node, f, dilation * (k - 1) + 1, s), kind.name, k, s, p
        if kind and trace == "cover" and (kind.name == "flatten" or _shape(node)[-2:] == (1, 1)):
            return self._cover(f), kind.name, f.n if f else None, 1, 0
        if kind and trace == "linear":
            return (self._cover(f) if f else None), kind.name, None, None, None
        if kind and trace == "keep":
            return f, kind.name, None, None, None
        if isinstance(mod, KEEP_MODULES):
            return f, type(mod).__name__.lower(), None, None, None
        name = type(mod).__name__.lower()
        return self._unknown(node, type(mod).__name__, f), name, None, None, None

    def _window(self, node: fx.Node, f: Field | None, k: int, s: int) -> Field | None:
        shape = _shape(node)
        if f is None or len(shape) != 4:
            return None
        return Field(shape[2], f.j * s, f.r + (k - 1) * f.j)

    def _cover(self, f: Field | None) -> Field | None:
        """A window over the whole remaining map (GAP, flatten), as the course tables count it."""
        return Field(1, f.j, f.r + (f.n - 1) * f.j) if f else None

    def _global(self, node: fx.Node, ins: list, f: Field | None) -> None:
        shape = _shape(node)
        whole = len(shape) == 2 or shape[-2:] == (1, 1)  # (N, F) or (N, C, 1, 1)
        if whole:
            mean = node.target in (F.adaptive_avg_pool2d, "mean", torch.mean)
            n = f.n if f else None  # the window covers the whole map
            self._row(node, ins, self._cover(f), "gap" if mean else "flatten", n, 1, 0)
        else:
            self._unknown(node, str(node.target), f)

    def _merge(self, node: fx.Node, ins: list) -> None:
        fields = [f for _, f in ins]
        if any(f is None for f in fields):
            self.fields[node] = None
            return
        merged = Field(fields[0].n, max(f.j for f in fields), max(f.r for f in fields))
        if len({(f.j, f.r) for f in fields}) > 1:
            self.notes.append(
                f"{node.name}: branches meet (RF {', '.join(str(f.r) for f in fields)}); "
                f"the table carries the largest RF"
            )
        self._row(node, ins, merged, "merge")

    def _unknown(self, node: fx.Node, what: str, f: Field | None) -> None:
        if f is not None:  # only the first loss of the RF is worth a note
            self.notes.append(
                f"{node.name} ({what}): receptive field not derived from here on (tinycnn knows "
                f"convs, pools, BN, activations, dropout, flatten, linear and merges)"
            )
        self.fields[node] = None
        return None

    def _row(
        self,
        node: fx.Node,
        ins: list,
        out: Field | None,
        kind: str,
        k: int | None = None,
        s: int | None = None,
        p: int | None = None,
        mod: nn.Module | None = None,
        drop: float | None = None,
    ) -> None:
        self.fields[node] = out
        shape = _shape(node)[1:]
        in_shape = _shape(ins[0][0])[1:] if ins else ()
        f_in = ins[0][1] if ins else None
        params = 0
        for prm in mod.parameters() if mod is not None else ():
            if id(prm) not in self.seen_params:  # a module called twice counts once
                self.seen_params.add(id(prm))
                params += prm.numel()
        spatial = len(shape) == 3
        row = Row(
            node.name if mod is None else str(node.target),
            kind,
            shape,
            in_shape[1] if len(in_shape) == 3 else None,
            shape[1] if spatial else None,
            in_shape[0] if in_shape else None,
            shape[0] if shape else None,
            p,
            k,
            s,
            f_in.j if f_in and out else None,
            out.j if out else None,
            f_in.r if f_in and out else None,
            out.r if out else None,
            params,
            _macs(mod, shape, in_shape),
            drop if mod is None or kind != "dropout" else float(mod.p),
        )
        self.rows.append(row)


def _macs(mod: nn.Module | None, out: tuple[int, ...], inp: tuple[int, ...]) -> int:
    numel = 1
    for v in out:
        numel *= v
    if isinstance(mod, nn.Conv2d):
        k = mod.kernel_size[0] * mod.kernel_size[1]
        return numel * (mod.in_channels // mod.groups) * k
    if isinstance(mod, nn.Linear):
        return numel * mod.in_features
    return 0


def _hooks_table(module: nn.Module, x: torch.Tensor, name: str, why: str) -> Table:
    """Shapes and params per leaf module in call order; no RF columns (the graph is unknown)."""
    rows: list[Row] = []
    seen: set[int] = set()

    def hook(mod: nn.Module, args: tuple, out: torch.Tensor) -> None:
        if not isinstance(out, torch.Tensor):
            return
        params = sum(p.numel() for p in mod.parameters() if id(p) not in seen)
        seen.update(id(p) for p in mod.parameters())
        shape, inp = tuple(out.shape[1:]), tuple(args[0].shape[1:]) if args else ()
        ch = lambda s: s[0] if s else None  # noqa: E731
        n = lambda s: s[1] if len(s) == 3 else None  # noqa: E731
        known = traced_kind(mod)  # a registered kind, so that presets judge its row
        kind = known.name if known else type(mod).__name__.lower()
        drop = float(mod.p) if kind == "dropout" else None
        k = _pair(mod.kernel_size) if kind in ("conv", "maxpool", "avgpool") else None
        rows.append(
            Row(names[id(mod)], kind, shape, n(inp), n(shape), ch(inp), ch(shape), None, k,
                None, None, None, None, None, params, _macs(mod, shape, inp), drop)
        )  # fmt: skip

    names = {id(m): n for n, m in module.named_modules() if not list(m.children())}
    handles = [m.register_forward_hook(hook) for n, m in module.named_modules() if id(m) in names]
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            try:
                with _fake():  # shapes only, as the fx path
                    out = module(x)
            except Exception:  # noqa: BLE001 - fake tensors refuse data-dependent branches
                rows.clear()
                seen.clear()
                if x.numel() > REAL_INPUT_MAX:
                    raise SpecError(
                        f"{name}: its forward cannot be followed without running it, and a "
                        f"{shape_text(x.shape[1:])} input is too large to run here (at most "
                        f"{REAL_INPUT_MAX:,} values); give a smaller input_size"
                    ) from None
                out = module(torch.zeros(x.shape))
    except SpecError:
        raise
    except Exception as e:
        raise SpecError(
            f"{name}: forward on a {shape_text(x.shape[1:])} input failed "
            f"({str(e).splitlines()[0][:160]}); give the input_size the model takes"
        ) from None
    finally:
        module.train(was_training)
        for h in handles:
            h.remove()
    unique = {id(p): p.numel() for p in module.parameters()}
    outside = sum(unique.values()) - sum(r.params for r in rows)
    note = f"no receptive-field columns: torch.fx could not trace {name}.forward ({why})"
    unseen = (
        f"torch.fx could not trace {name}.forward, so calls of torch functions in it "
        f"(F.dropout, F.avg_pool2d, …) are not in the table"
    )
    return Table(name, tuple(x.shape[1:]), out[0].numel(), tuple(rows), (note,), outside, unseen)
