"""What each setting means, declared once on its field: help text, allowed values, unit.

    lr: float = setting(0.05, "learning rate (peak LR for onecycle)", Range(0, lo_open=True))

The settings dataclasses (`Recipe`, `Runtime`, `Target`, `SearchConfig`) declare their fields
with `setting(...)`; flags and their help are built from it (`cli/flags.py`), and every instance
checks itself against it when it is made (`check_fields`), so flags, `--config` files and the
Python API are held to the same table. Counts that are no dataclass field (the CLI's `--seeds`)
are declared with `declare`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

SEED_MAX = 2**63 - 2  # torch seeds are 64-bit; the augmentation generator takes seed + 1


@dataclass(frozen=True)
class Range:
    """The values a numeric setting may take: [lo, hi], either end open or absent."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # lo itself is excluded
    hi_open: bool = False
    why: str = ""  # what the value means, for the message

    def holds(self, v: float) -> bool:
        if not math.isfinite(v):
            return False
        if self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo):
            return False
        return self.hi is None or (v < self.hi if self.hi_open else v <= self.hi)

    def text(self) -> str:
        if self.hi is None:
            return f"must be {'>' if self.lo_open else '≥'} {self.lo:g}"
        left, right = "(" if self.lo_open else "[", ")" if self.hi_open else "]"
        return f"must be in {left}{self.lo:g}, {self.hi:g}{right}"


@dataclass(frozen=True)
class Meta:
    """One setting's meaning: its help text, allowed values and unit."""

    help: str
    range: Range | None = None
    choices: tuple[str, ...] | None = None
    unit: str = ""  # shown as the flag's metavar where given (e.g. "S" for seconds)
    default_text: str | None = None  # the default in words, where the value alone misleads


# the run settings by name (Recipe, Runtime, Target: unique names) and the declared counts
SETTINGS: dict[str, Meta] = {}


def setting(
    default: Any,
    help: str,
    range: Range | None = None,
    choices: tuple[str, ...] | None = None,
    unit: str = "",
    default_text: str | None = None,
) -> Any:
    """A dataclass field with its meaning attached (read back by `meta`)."""
    m = Meta(help, range, choices, unit, default_text)
    return dataclasses.field(default=default, metadata={"setting": m})


def declare(name: str, help: str, range: Range) -> None:
    """A count checked like a setting but held by no dataclass (e.g. the CLI's --seeds)."""
    SETTINGS[name] = Meta(help, range)


def settings(cls: type) -> type:
    """Class decorator: record the class's settings by name, for `check_value` and the flags."""
    for f in dataclasses.fields(cls):
        if "setting" in f.metadata:
            SETTINGS[f.name] = f.metadata["setting"]
    return cls


def meta(f: dataclasses.Field) -> Meta:
    return f.metadata.get("setting") or Meta("")


def check_value(name: str, value: Any, m: Meta | None = None) -> None:
    """One value against its declared range or choices (`m`, else the setting of that name);
    `ConfigError` naming it and the fix."""
    m = m or SETTINGS.get(name)
    if m is None or value is None:
        return
    if m.range is not None and not (is_number(value) and m.range.holds(value)):
        why = f" ({m.range.why})" if m.range.why else ""
        number = "" if is_number(value) else "give a number; it "  # "15" from Python, say
        raise ConfigError(f"{name} = {value!r}: {number}{m.range.text()}{why}")
    if m.choices is not None and value not in m.choices:
        raise ConfigError(f"{name} = {value!r}: use one of {', '.join(m.choices)}")


def is_whole(v: Any) -> bool:
    """An int, not a bool: TOML's `true` is no count."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    """An int or a float, not a bool."""
    return is_whole(v) or isinstance(v, float)


def _type_ok(value: Any, want: str) -> bool:
    if value is None:
        return "None" in want
    if isinstance(value, bool):  # before int: True is an int to Python, not to a config
        return "bool" in want
    if isinstance(value, int):
        return "int" in want or "float" in want
    if isinstance(value, float):
        return "float" in want
    return isinstance(value, str) and "str" in want


def check_type(name: str, value: Any, want: str) -> None:
    """A value against its field's declared type (`int`, `float | None`, …)."""
    if not _type_ok(value, want):
        raise ConfigError(f"{name} = {value!r}: expected {want}")


def check_fields(obj: Any) -> None:
    """Every field of a settings dataclass: its type, then its range or choices."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        check_type(f.name, value, str(f.type))
        check_value(f.name, value, meta(f))


declare("seeds", "how many seeds to train", Range(1, why="how many seeds to train"))
declare("stacked", "seeds at once", Range(0, why="seeds in one stacked model; 0 is off"))
declare("parallel", "seeds at once", Range(0, why="seeds in parallel processes; 0 is off"))
