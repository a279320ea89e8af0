"""Between the two worlds: your `nn.Module` as a spec, and a spec as a readable `nn.Module`.

    spec = tinycnn.spec_from_module(Net())      # a plain stack → a spec (ladders, searches)
    print(tinycnn.to_python("fast7806"))        # `tinycnn zoo fast7806 --python`

`spec_from_module` follows `forward` as torch.fx traces it: a straight line of convs, batch
norms, ReLUs, dropouts, pools, a global average pool, flatten and linear layers, as modules or
as `F.` calls; a `log_softmax` at the very end is dropped (the spec returns logits, which
classify the same). The first operation it cannot express is named in a one-line error.
"""

from __future__ import annotations

import operator
import textwrap
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from . import zoo
from .builder import build
from .defaults import MNIST_CLASSES, MNIST_INPUT
from .errors import SpecError
from .layers import Layer, traced_kind
from .modtable import _Tracer
from .spec import Spec
from .table import layer_table, shape_text

RELU = {F.relu, torch.relu, "relu"}
FINAL = {F.log_softmax, F.softmax, torch.log_softmax, torch.softmax, "log_softmax", "softmax"}
FLAT = {torch.flatten, "flatten", "view", "reshape"}


def _one(v: Any, what: str, where: str) -> int:
    """A square size: 3 or (3, 3) → 3; (3, 5) cannot be a spec's."""
    if isinstance(v, tuple | list):
        if len(set(v)) != 1:
            raise SpecError(f"{where}: {what} {tuple(v)} is not square; a spec's windows are")
        v = v[0]
    if not isinstance(v, int):
        raise SpecError(f"{where}: {what} {v!r} is not a number of pixels")
    return v


def _module_layer(mod: nn.Module, where: str) -> Layer | None:
    kind = traced_kind(mod)
    name = kind.name if kind else type(mod).__name__
    if name == "conv":
        if mod.padding_mode != "zeros":
            raise SpecError(f"{where}: {mod.padding_mode} padding; a spec pads with zeros")
        stride = _one(mod.stride, "stride", where)
        return Layer(
            "conv", out=mod.out_channels, k=_one(mod.kernel_size, "kernel", where),
            pad=_one(mod.padding, "padding", where), stride=None if stride == 1 else stride,
            bias=mod.bias is not None, then=(), groups=mod.groups,
            dilation=_one(mod.dilation, "dilation", where),
        )  # fmt: skip
    if name == "linear":
        return Layer("linear", out=mod.out_features, bias=mod.bias is not None, then=())
    if name in ("bn", "relu"):
        return Layer(name)
    if name == "dropout":
        return Layer("dropout", p=float(mod.p), channel=isinstance(mod, nn.Dropout2d))
    if name in ("maxpool", "avgpool"):
        dilated = _one(getattr(mod, "dilation", 1), "dilation", where) != 1
        if getattr(mod, "ceil_mode", False) or dilated:
            raise SpecError(f"{where}: ceil_mode or dilation in a pool; a spec's pools have none")
        return Layer(name, k=_one(mod.kernel_size, "kernel", where),
                     stride=_one(mod.stride or mod.kernel_size, "stride", where),
                     pad=_one(mod.padding, "padding", where))  # fmt: skip
    whole = isinstance(mod, nn.AdaptiveAvgPool2d) and mod.output_size in (1, (1, 1))
    if name == "gap" and whole:
        return Layer("gap")
    if name == "flatten":
        return Layer("flatten")
    if isinstance(mod, nn.Identity):
        return None
    raise SpecError(f"{where}: {type(mod).__name__} has no spec layer; a spec has "
                    f"conv, bn, relu, dropout, pools, gap, flatten and linear")  # fmt: skip


def _function_layer(node: fx.Node, where: str, last: bool) -> Layer | None:
    t, args, kw = node.target, node.args, node.kwargs
    if t in RELU:
        return Layer("relu")
    if t in (F.max_pool2d, F.avg_pool2d):
        k = _one(kw.get("kernel_size", args[1] if len(args) > 1 else None), "kernel", where)
        s = kw.get("stride", args[2] if len(args) > 2 else None) or k
        p = kw.get("padding", args[3] if len(args) > 3 else 0)
        kind = "maxpool" if t is F.max_pool2d else "avgpool"
        return Layer(kind, k=k, stride=_one(s, "stride", where), pad=_one(p, "padding", where))
    if t in (F.dropout, F.dropout2d):
        p = kw.get("p", args[1] if len(args) > 1 else 0.5)
        return Layer("dropout", p=float(p), channel=t is F.dropout2d)
    if t is F.adaptive_avg_pool2d and _one(args[1] if len(args) > 1 else kw.get("output_size"),
                                           "output", where) == 1:  # fmt: skip
        return Layer("gap")
    if t in FLAT:
        return Layer("flatten")
    if t in FINAL and last:
        return None  # the spec's logits classify the same
    label = getattr(t, "__name__", str(t))
    raise SpecError(f"{where}: {label} has no spec layer; a spec is a straight line of conv, bn, "
                    f"relu, dropout, pools, gap, flatten and linear")  # fmt: skip


def spec_from_module(
    module: nn.Module, input_size: tuple[int, int, int] = MNIST_INPUT, name: str | None = None
) -> Spec:
    """A plain stack of layers as a spec with the same parameters (checked against the table);
    a SpecError names the first operation a spec cannot express."""
    label = name or type(module).__name__
    try:
        graph = _Tracer().trace(module)
    except Exception as e:  # noqa: BLE001 - fx refuses data-dependent control flow, among others
        raise SpecError(f"{label}: torch.fx cannot follow its forward ({str(e)[:120]}); only a "
                        f"straight line of layers becomes a spec") from None  # fmt: skip
    gm = fx.GraphModule(module, graph)
    nodes = [n for n in graph.nodes if n.op not in ("placeholder", "output", "get_attr")]
    layers, previous = [], next(n for n in graph.nodes if n.op == "placeholder")
    for i, node in enumerate(nodes):
        shown = node.target if node.op == "call_module" else node.name
        where = f"{label}: operation {i + 1} ({shown})"
        inputs = [a for a in node.all_input_nodes if a.op != "get_attr"]
        if inputs != [previous]:
            took = ", ".join(a.name for a in inputs) or "no tensor"
            raise SpecError(f"{where}: takes {took}, not only the operation before; a spec is a "
                            f"straight line")  # fmt: skip
        if node.op == "call_module":
            layer = _module_layer(gm.get_submodule(node.target), where)
        elif node.target in (operator.getitem,):
            raise SpecError(f"{where}: indexing has no spec layer")
        else:
            layer = _function_layer(node, where, last=i == len(nodes) - 1)
        if layer is not None:
            layers.append(layer)
        previous = node
    spec = Spec(_spec_name(label), tuple(layers), then=(), source=f"spec_from_module({label})")
    ours = layer_table(spec, input_size, MNIST_CLASSES, head=False).total_params
    theirs = sum(p.numel() for p in module.parameters())
    if ours != theirs:
        raise SpecError(f"{label}: the spec has {ours:,} params, the module {theirs:,}; it uses "
                        f"parameters outside its layers")  # fmt: skip
    return spec


def _spec_name(label: str) -> str:
    name = "".join(c if c.isalnum() or c in "._+-" else "_" for c in label).strip("._")
    return (name or "module")[:64]


# ----- a spec as Python --------------------------------------------------------------------------
def _code(mod: nn.Module) -> list[str]:
    """The constructor call that makes `mod`, as a reader would write it."""
    if isinstance(mod, nn.Conv2d):
        extra = [f"stride={mod.stride[0]}" if mod.stride[0] != 1 else "",
                 f"padding={mod.padding[0]}" if mod.padding[0] else "",
                 f"dilation={mod.dilation[0]}" if mod.dilation[0] != 1 else "",
                 f"groups={mod.groups}" if mod.groups != 1 else "",
                 "bias=False" if mod.bias is None else ""]  # fmt: skip
        args = [str(mod.in_channels), str(mod.out_channels), str(mod.kernel_size[0])]
        return [f"nn.Conv2d({', '.join(args + [e for e in extra if e])})"]
    if isinstance(mod, nn.Linear):  # tinycnn's FlatLinear: flatten the 1×1 map first
        bias = "" if mod.bias is not None else ", bias=False"
        return ["nn.Flatten()", f"nn.Linear({mod.in_features}, {mod.out_features}{bias})"]
    if isinstance(mod, nn.BatchNorm2d | nn.BatchNorm1d):
        return [f"nn.{type(mod).__name__}({mod.num_features})"]
    if isinstance(mod, nn.Dropout | nn.Dropout2d):
        return [f"nn.{type(mod).__name__}({mod.p:g})"]
    if isinstance(mod, nn.MaxPool2d | nn.AvgPool2d):
        k, s, p = mod.kernel_size, mod.stride, mod.padding
        extra = (f", stride={s}" if s != k else "") + (f", padding={p}" if p else "")
        return [f"nn.{type(mod).__name__}({k}{extra})"]
    if isinstance(mod, nn.AdaptiveAvgPool2d):
        return ["nn.AdaptiveAvgPool2d(1)"]
    return [f"nn.{type(mod).__name__}()"]


def to_python(model: str | Path | Spec) -> str:
    """A spec as an `nn.Module` class with a shape and RF comment per layer: the same modules
    in the same order (a state dict of the built spec loads into it by position)."""
    spec = zoo.resolve(model)
    net = build(spec, spec.input or MNIST_INPUT, MNIST_CLASSES)
    parts = _spec_name(spec.name).replace("-", "_").replace(".", "_").split("_")
    cls = "".join(p[:1].upper() + p[1:] for p in parts)
    cls = cls if cls[:1].isalpha() else f"Net{cls}"
    t = net.table
    lines = [
        "import torch",
        "from torch import nn",
        "",
        "",
        f"class {cls}(nn.Module):",
        f'    """{spec.name} from the tinycnn zoo: {t.total_params:,} params, receptive field '
        f"{t.receptive_field}.",
        "",
        *textwrap.wrap(spec.description, 92, initial_indent="    ", subsequent_indent="    "),
        '    """',
        "",
        "    def __init__(self):",
        "        super().__init__()",
        "        self.net = nn.Sequential(",
    ]
    before = shape_text(t.input_shape)
    for (name, mod), row in zip(net.named_children(), t.rows, strict=True):
        calls = _code(mod)
        after = shape_text(row.shape)  # a comment where the shape or the RF changes
        rf = f", RF {row.r_out}" if row.r_out != row.r_in else ""
        note = f"  # {name}: {before} → {after}{rf}" if after != before or rf else ""
        for j, call in enumerate(calls):
            lines.append(f"            {call},{note if j == len(calls) - 1 else ''}")
        before = shape_text(row.shape)
    lines += [
        "        )",
        "",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        f"        return self.net(x).flatten(1)  # logits (N, {t.classes})",
        "",
    ]
    return "\n".join(lines)
