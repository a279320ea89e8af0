"""Small tables for notebooks and terminals: the HTML and plain text that every result object's
`_repr_html_` / `__repr__` is made of (so a cell's last line shows a table, not dataclass text)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

Cell = Any  # str(cell) is shown; numbers are right-aligned


def _numeric(v: Cell) -> bool:
    return isinstance(v, int | float) or (isinstance(v, str) and v[:1].isdigit() and "×" not in v)


def html_table(head: Sequence[str], rows: Sequence[Sequence[Cell]], caption: str = "") -> str:
    def cell(tag: str, v: Cell) -> str:
        style = ' style="text-align:right"' if _numeric(v) else ' style="text-align:left"'
        return f"<{tag}{style}>{html.escape(str(v))}</{tag}>"

    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    top = "<tr>" + "".join(cell("th", h) for h in head) + "</tr>"
    body = "".join("<tr>" + "".join(cell("td", v) for v in r) + "</tr>" for r in rows)
    return f'<table class="tinycnn">{cap}<thead>{top}</thead><tbody>{body}</tbody></table>'


def html_block(title: str, *parts: str, lines: Sequence[str] = ()) -> str:
    """A heading, already-made HTML parts (tables), then some escaped lines."""
    items = "".join(f"<li>{html.escape(x)}</li>" for x in lines)
    return (
        f"<div><strong>{html.escape(title)}</strong>"
        + "".join(parts)
        + (f"<ul>{items}</ul>" if items else "")
        + "</div>"
    )


def text_table(head: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    cells = [[str(v) for v in r] for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(head)]
    right = [any(_numeric(r[i]) for r in rows) for i in range(len(head))]

    def line(vals: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if rj else v.ljust(w) for v, w, rj in zip(vals, widths, right, strict=True)
        ).rstrip()

    return "\n".join([line(list(head)), *(line(r) for r in cells)])
