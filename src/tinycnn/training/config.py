"""Typed, frozen configuration of a training run: the recipe, the targets, and where it runs.

Every field can come from a TOML file (`--config FILE`, sections `[recipe]` and `[target]`, or flat
keys) and from flags; flags win. `resolve` validates values and names the field and the fix.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import tomlfile
from ..errors import ConfigError

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "onecycle", "plateau")
PLATEAU_METRICS = ("loss", "acc")
DEVICES = ("auto", "cpu", "cuda")
SELECT = ("test", "val")  # the course's convention is the test set; honest selection uses val


@dataclass(frozen=True)
class Recipe:
    """Everything that changes the numbers. The defaults are the classic recipe (see README)."""

    epochs: int = 15
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.05  # peak LR for onecycle; the LR for constant/step/plateau
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 0.0
    schedule: str = "onecycle"
    pct_start: float = 0.2  # onecycle: fraction of steps spent warming up
    div_factor: float = 10.0  # onecycle: initial LR = lr / div_factor
    final_div_factor: float = 100.0  # onecycle: final LR = initial / final_div_factor
    step_size: int = 6  # step: epochs between decays
    gamma: float = 0.1  # step: decay factor
    plateau_metric: str = "loss"  # plateau: test "loss" (min) or "acc" (max)
    plateau_factor: float = 0.1
    plateau_patience: int = 2
    label_smoothing: float = 0.0
    rotate: float = 7.0  # augmentation: random rotation in ±degrees
    shift: float = 0.0  # random translation, fraction of the image size
    scale: float = 0.0  # random zoom in 1 ± scale
    erase: float = 0.0  # probability of a random square cutout
    seed: int = 1
    limit_train: int | None = None  # use the first N training images (quick runs)
    limit_test: int | None = None
    val: int = 0  # hold out N training images as a validation split (stratified); 0: none
    val_seed: int = 0  # draws the validation split: the same split for every training seed
    select: str = "test"  # the split whose accuracy picks best.pt: "test" or "val"

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class Target:
    """What counts as success; checked at the end of the run (and budgets before it starts)."""

    target: float | None = 99.4  # test accuracy, percent
    consistent: int = 3  # ≥ target in each of the last k epochs
    max_params: int | None = None
    min_params: int | None = None
    max_epochs: int | None = None
    preset: str | None = None  # assignment rule set (tinycnn presets); sets target/consistent

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class Runtime:
    """Where and how the run executes; does not change the numbers on a given device."""

    device: str = "auto"
    threads: int | None = None  # torch intra-op threads; None: all cores of this process
    out: str = "runs"
    progress: bool = False  # a tqdm bar per epoch (the CLI turns it on for a terminal)
    fast_dropout: bool = True  # CPU: draw dropped positions, no mask (same Bernoulli(p) drops)
    fast_pool: bool = True  # CPU: max-pool in channels-last layout (same numbers, 3× cheaper)
    reuse_memory: bool = True  # CPU: keep freed memory in the process (no page faults per step)
    channels_last: bool | None = None  # None: on a GPU only (measured slower on the CPU)
    bf16: bool | None = None  # bfloat16 autocast; None: on bf16 CPUs only (slower on a GPU)
    cudnn_benchmark: bool = False  # CUDA: cuDNN times its algorithms per shape (no gain measured)
    compile: bool = False  # torch.compile: measured slower on the CPU for tiny models
    cuda_graph: bool = True  # CUDA: replay each SGD training step as one captured graph
    report: bool = True  # write report.md with pictures at the end of the run

    def __post_init__(self) -> None:
        _check(self)


SECTIONS: dict[str, type] = {"recipe": Recipe, "target": Target, "runtime": Runtime}


def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def split_flat(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Sort flat `key: value` pairs into their sections; unknown keys are an error."""
    out: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for key, value in values.items():
        for name, cls in SECTIONS.items():
            if key in _fields(cls):
                out[name][key] = value
                break
        else:
            known = sorted(k for cls in SECTIONS.values() for k in _fields(cls))
            raise ConfigError(f"unknown setting {key!r}; known settings: {', '.join(known)}")
    return out


def load_config_file(path: str | Path) -> dict[str, dict[str, Any]]:
    p = Path(path)
    data = tomlfile.read(p, "config file", "check the path given to --config", ConfigError)
    flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
    out = split_flat(flat) if flat else {name: {} for name in SECTIONS}
    for key, value in data.items():
        if isinstance(value, dict):
            if key not in SECTIONS:
                raise ConfigError(f"{p}: unknown section [{key}]; use {', '.join(SECTIONS)}")
            for k in value:
                if k not in _fields(SECTIONS[key]):
                    raise ConfigError(
                        f"{p}: [{key}] has unknown setting {k!r}; known: "
                        f"{', '.join(_fields(SECTIONS[key]))}"
                    )
            out[key].update(value)
    return out


def make(cls: type, values: dict[str, Any]) -> Any:
    """Build a section from raw values (a config file's, or flags'); checked on construction."""
    return cls(**values)


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


def _check(obj: Any) -> None:
    """Types, then ranges and choices, then the rules that tie two fields together."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if not _type_ok(value, str(f.type)):
            raise ConfigError(f"{f.name} = {value!r}: expected {f.type}")
        check_value(f.name, value)
    if isinstance(obj, Recipe) and obj.select == "val" and not obj.val:
        raise ConfigError("select = 'val' needs a validation split: give val = N (e.g. 5000)")
    if (
        isinstance(obj, Target)
        and None not in (obj.min_params, obj.max_params)
        and obj.min_params > obj.max_params  # type: ignore[operator]
    ):
        raise ConfigError(
            f"min_params = {obj.min_params} is above max_params = {obj.max_params}: "
            f"no model can meet both; lower min_params or raise max_params"
        )


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)
