"""Flags built from the settings' own declarations (`ranges.setting`): one `--x` per field, its
help text and default stated once, `--x/--no-x` for switches. `train` and `search` use it."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from ..ranges import meta


def add_flags(group: Any, cls: type, skip: tuple[str, ...] = (), suppress: bool = True) -> None:
    """A flag per field of settings dataclass `cls`. `suppress`: a flag not given leaves no
    attribute (the layers below it decide); otherwise its default is the field's."""
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        m, kind = meta(f), str(f.type)
        default = f.default if f.default is not dataclasses.MISSING else None
        shown = m.default_text or ("none" if default is None else str(default))
        kw: dict[str, Any] = {
            "dest": f.name,
            "default": argparse.SUPPRESS if suppress else default,
            # argparse %-formats help texts: a "10 %" in one would print a dict of the action
            "help": f"{m.help} (default: {shown})".replace("%", "%%"),
        }
        if "bool" in kind:  # --x / --no-x; a None default means "auto"
            kw["action"] = argparse.BooleanOptionalAction
        else:
            numeric = {"int": int, "float": float}
            kw["type"] = next((t for k, t in numeric.items() if kind.startswith(k)), str)
            kw["metavar"] = m.unit or f.name.split("_")[-1].upper()
        group.add_argument("--" + f.name.replace("_", "-"), **kw)


def given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of `cls` set on the command line (flags added with suppress=True)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
