"""Summaries: the layer table cross-checked against the built module, rendered three ways.

Unlike hook-based summaries, the table comes from the spec, and `verify` runs a real forward pass
(eval mode, zeros input, no grad: no global RNG use and no BatchNorm statistics touched) and counts
`parameters()` per module, so the arithmetic and the module must agree.
"""

from __future__ import annotations

import json

import torch

from .builder import TinyNet
from .table import Table


class TableMismatch(AssertionError):
    """The derived table and the built module disagree: a bug in tinycnn, never user error."""


@torch.no_grad()
def verify(model: TinyNet) -> Table:
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


COLUMNS = (
    "name",
    "kind",
    "shape",
    "n_in",
    "n_out",
    "ch_in",
    "ch_out",
    "padding",
    "kernel",
    "stride",
    "j_in",
    "j_out",
    "r_in",
    "r_out",
    "params",
)


def _cells(table: Table) -> list[list[str]]:
    out = []
    for r in table.rows:
        shape = "×".join(str(s) for s in r.shape)
        vals = [
            r.name,
            r.kind,
            shape,
            r.n_in,
            r.n_out,
            r.ch_in,
            r.ch_out,
            r.padding,
            r.kernel,
            r.stride,
            r.j_in,
            r.j_out,
            r.r_in,
            r.r_out,
            f"{r.params:,}",
        ]
        out.append([str(v) for v in vals])
    return out


def _totals(table: Table) -> list[str]:
    h = table.input_shape[1]
    rf = table.receptive_field
    cover = "covers" if rf >= h else "does NOT cover"
    return [
        f"Total params: {table.total_params:,}",
        f"Trainable params: {table.trainable_params:,}",
        f"Non-trainable params: {table.total_params - table.trainable_params:,}",
        f"Multiply-adds per image: {table.macs:,}",
        f"Activation memory per image: {table.activation_bytes / 1024:,.1f} KiB",
        f"Receptive field: {rf} vs input {h}×{table.input_shape[2]} ({cover} the image)",
    ]


def _pad(cells: list[str], widths: list[int]) -> str:
    # name, kind and shape left-aligned; numbers right-aligned
    return "  ".join(
        c.rjust(w) if i > 2 else c.ljust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def render_text(table: Table) -> str:
    cells = _cells(table)
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(COLUMNS)]
    line = _pad(list(COLUMNS), widths)
    rule = "-" * len(line)
    body = [_pad(row, widths) for row in cells]
    head = f"{table.model}: input {'×'.join(map(str, table.input_shape))}, {table.classes} classes"
    return "\n".join([head, rule, line, rule, *body, rule, *_totals(table)])


def render_markdown(table: Table) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in _cells(table)]
    return "\n".join(lines + [""] + [f"- {t}" for t in _totals(table)])


def render_json(table: Table) -> str:
    return json.dumps(table.to_json(), indent=2)
