"""The layer table rendered as text, Markdown, JSON and HTML (a notebook cell's table).

Rendering depends on the table, never the reverse: this module registers the text and HTML views
that `Table.__str__` and `Table._repr_html_` show (the package imports it). No torch here.
"""

from __future__ import annotations

import json

from .richtext import html_block, html_table
from .table import Table

MB = 1e6  # bytes, as torchinfo counts them


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
    "macs",
)
NONE = "—"  # a column the layer does not have (no receptive field after an unanalysed module)


def _num(v: int | None) -> str:
    return NONE if v is None else f"{v:,}" if v >= 1000 else str(v)


def _cells(table: Table) -> list[list[str]]:
    out = []
    for r in table.rows:
        vals = [r.name, r.kind, "×".join(str(s) for s in r.shape)]
        vals += [_num(v) for v in (r.n_in, r.n_out, r.ch_in, r.ch_out, r.padding, r.kernel)]
        vals += [_num(v) for v in (r.stride, r.j_in, r.j_out, r.r_in, r.r_out, r.params, r.macs)]
        out.append(vals)
    return out


def _totals(table: Table) -> list[str]:
    h, w = table.input_shape[1:]
    rf = table.receptive_field
    if rf is None:
        field = "Receptive field: not derived (see the notes)"
    else:
        cover = "covers" if rf >= h else "does NOT cover"
        field = f"Receptive field: {rf} vs input {h}×{w} ({cover} the image)"
    return [
        f"Total params: {table.total_params:,}",
        f"Trainable params: {table.trainable_params:,}",
        f"Non-trainable params: {table.total_params - table.trainable_params:,}",
        f"Multiply-adds per image: {table.macs:,}",
        f"Params size: {table.param_bytes / MB:.3f} MB (float32)",
        f"Forward activations per image: {table.activation_bytes / MB:.3f} MB (float32)",
        field,
        *(f"Note: {n}" for n in table.notes),
    ]


def _head(table: Table) -> str:
    return f"{table.model}: input {'×'.join(map(str, table.input_shape))}, {table.classes} outputs"


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
    return "\n".join([_head(table), rule, line, rule, *body, rule, *_totals(table)])


def render_markdown(table: Table) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in _cells(table)]
    return "\n".join(lines + [""] + [f"- {t}" for t in _totals(table)])


def render_json(table: Table) -> str:
    return json.dumps(table.to_json(), indent=2)


def render_html(table: Table) -> str:
    """The notebook's table: the course's n/j/r columns, params with their share, MACs."""
    total = table.total_params or 1
    head = ["layer", "kind", "output", "n in→out", "k", "s", "p", "j in→out", "r in→out"]
    head += ["params", "% params", "MACs"]
    rows = []
    for r in table.rows:
        arrow = lambda a, b: NONE if a is None else f"{a}→{b}"  # noqa: E731
        rows.append(
            [r.name, r.kind, "×".join(map(str, r.shape)), arrow(r.n_in, r.n_out), _num(r.kernel)]
            + [_num(r.stride), _num(r.padding), arrow(r.j_in, r.j_out), arrow(r.r_in, r.r_out)]
            + [f"{r.params:,}", f"{100 * r.params / total:.1f}", f"{r.macs:,}"]
        )
    return html_block(_head(table), html_table(head, rows), lines=_totals(table))


Table.register_views(text=render_text, html=render_html)
