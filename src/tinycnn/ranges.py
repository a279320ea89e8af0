"""The values every numeric or named setting may take: one table for flags, `--config` files
and the Python API (each settings dataclass checks itself against it when it is made).

Below training and rules, so both check against the same table.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "onecycle", "plateau")
PLATEAU_METRICS = ("loss", "acc")
DEVICES = ("auto", "cpu", "cuda")
SELECT = ("test", "val")  # the course's convention is the test set; honest selection uses val


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


# Every numeric setting, for flags, --config files and the Python API alike (checked when a
# Recipe, Target or Runtime is made). `seeds` is the CLI's --seeds.
SEED_MAX = 2**63 - 2  # torch seeds are 64-bit; the augmentation generator takes seed + 1
RANGES: dict[str, Range] = {
    "epochs": Range(1),
    "batch_size": Range(2, why="batch norm needs two images"),
    "lr": Range(0, lo_open=True, why="try 0.05 with SGD, 0.003 with Adam"),
    "momentum": Range(0, 1, hi_open=True, why="0.9 is usual"),
    "weight_decay": Range(0, why="0 is off"),
    "pct_start": Range(0, 1, lo_open=True, hi_open=True, why="the warm-up fraction, e.g. 0.2"),
    "div_factor": Range(0, lo_open=True, why="start LR = lr / div_factor, e.g. 10"),
    "final_div_factor": Range(0, lo_open=True, why="final LR = start / final_div_factor"),
    "step_size": Range(1, why="epochs between decays"),
    "gamma": Range(0, 1, lo_open=True, why="the LR's decay factor, e.g. 0.1"),
    "plateau_factor": Range(0, 1, lo_open=True, hi_open=True, why="the LR's decay factor"),
    "plateau_patience": Range(0, why="epochs without improvement before a decay"),
    "label_smoothing": Range(0, 1, hi_open=True, why="0 is off, 0.1 is usual"),
    "ema": Range(0, 1, hi_open=True, why="0 is off, 0.99–0.999 is usual"),
    "rotate": Range(0, 180, why="degrees either way; 0 is off, 7 is usual"),
    "shift": Range(0, 1, hi_open=True, why="a fraction of the image size; 0 is off"),
    "scale": Range(0, 1, hi_open=True, why="zoom in 1 ± scale; 0 is off"),
    "erase": Range(0, 1, why="a probability"),
    "seed": Range(0, SEED_MAX),
    "limit_train": Range(2, why="batch norm needs two images"),
    "limit_test": Range(1),
    "val": Range(0, why="training images held out for validation; 0 is none"),
    "val_seed": Range(0, SEED_MAX),
    "target": Range(0, 100, lo_open=True, why="a test accuracy in percent, e.g. 99.4"),
    "consistent": Range(1, why="epochs at the end that must meet the target"),
    "max_params": Range(1),
    "min_params": Range(0),
    "max_epochs": Range(1),
    "threads": Range(1, why="leave it out to use every core"),
    "seeds": Range(1, why="how many seeds to train"),
    "stacked": Range(0, why="seeds in one stacked model; 0 is off"),
    "parallel": Range(0, why="seeds in parallel processes; 0 is off"),
}
CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
    "plateau_metric": PLATEAU_METRICS,
    "device": DEVICES,
    "select": SELECT,
}


def check_value(name: str, value: Any) -> None:
    """One value against its range or choices; `ConfigError` naming it and the fix."""
    if name in RANGES and value is not None and not RANGES[name].holds(value):
        r = RANGES[name]
        raise ConfigError(f"{name} = {value!r}: {r.text()}" + (f" ({r.why})" if r.why else ""))
    if name in CHOICES and value not in CHOICES[name]:
        raise ConfigError(f"{name} = {value!r}: use one of {', '.join(CHOICES[name])}")


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


def check_fields(obj: Any) -> None:
    """Every field of a settings dataclass: its type, then its range or choices."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if not _type_ok(value, str(f.type)):
            raise ConfigError(f"{f.name} = {value!r}: expected {f.type}")
        check_value(f.name, value)
