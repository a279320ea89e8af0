"""Typed, frozen configuration of a training run: the recipe, the targets, and where it runs.

Every field can come from a TOML file (`--config FILE`, sections `[recipe]` and `[target]`, or flat
keys) and from flags; flags win. `resolve` validates values and names the field and the fix.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import tomlfile
from ..errors import ConfigError

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "onecycle", "plateau")
PLATEAU_METRICS = ("loss", "acc")
DEVICES = ("auto", "cpu", "cuda")


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


@dataclass(frozen=True)
class Target:
    """What counts as success; checked at the end of the run (and budgets before it starts)."""

    target: float | None = 99.4  # test accuracy, percent
    consistent: int = 3  # ≥ target in each of the last k epochs
    max_params: int | None = None
    min_params: int | None = None
    max_epochs: int | None = None
    preset: str | None = None  # assignment rule set (tinycnn presets); sets target/consistent


@dataclass(frozen=True)
class Runtime:
    """Where and how the run executes; does not change the numbers on a given device."""

    device: str = "auto"
    threads: int | None = None  # torch intra-op threads; None: all cores of this process
    out: str = "runs"
    progress: bool = True
    fast_dropout: bool = True  # CPU: draw dropped positions, no mask (same Bernoulli(p) drops)
    fast_pool: bool = True  # CPU: max-pool in channels-last layout (same numbers, 3× cheaper)
    reuse_memory: bool = True  # CPU: keep freed memory in the process (no page faults per step)
    channels_last: bool | None = None  # None: on a GPU only (measured slower on the CPU)
    bf16: bool | None = None  # bfloat16 autocast; None: on bf16 CPUs only (slower on a GPU)
    cudnn_benchmark: bool = False  # CUDA: cuDNN times its algorithms per shape (no gain measured)
    compile: bool = False  # torch.compile: measured slower on the CPU for tiny models
    cuda_graph: bool = True  # CUDA: replay each SGD training step as one captured graph
    report: bool = True  # write report.md with pictures at the end of the run


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
    """Build a section from raw values, checking each value's type against the field."""
    fields = _fields(cls)
    for key, value in values.items():
        want = fields[key].type
        ok = _type_ok(value, str(want))
        if not ok:
            raise ConfigError(f"{key} = {value!r}: expected {want}")
    obj = cls(**values)
    _check(obj)
    return obj


def _type_ok(value: Any, want: str) -> bool:
    if value is None:
        return "None" in want
    if isinstance(value, bool):
        return "bool" in want
    if isinstance(value, int):
        return "int" in want or "float" in want
    if isinstance(value, float):
        return "float" in want
    return isinstance(value, str) and "str" in want


def _check(obj: Any) -> None:
    def bad(field: str, why: str) -> None:
        raise ConfigError(f"{field} = {getattr(obj, field)!r}: {why}")

    if isinstance(obj, Recipe):
        if obj.epochs < 1:
            bad("epochs", "must be at least 1")
        if obj.batch_size < 2:
            bad("batch_size", "must be at least 2 (batch norm needs two images)")
        if obj.optimizer not in OPTIMIZERS:
            bad("optimizer", f"use one of {', '.join(OPTIMIZERS)}")
        if obj.schedule not in SCHEDULES:
            bad("schedule", f"use one of {', '.join(SCHEDULES)}")
        if obj.plateau_metric not in PLATEAU_METRICS:
            bad("plateau_metric", f"use one of {', '.join(PLATEAU_METRICS)}")
        if obj.lr <= 0:
            bad("lr", "must be positive (try 0.05 with SGD, 0.003 with Adam)")
        if not 0 <= obj.label_smoothing < 1:
            bad("label_smoothing", "must be in [0, 1)")
        if not 0 < obj.pct_start < 1:
            bad("pct_start", "must be in (0, 1)")
        if not 0 <= obj.erase <= 1:
            bad("erase", "is a probability: use a value in [0, 1]")
        for name in ("limit_train", "limit_test"):
            if getattr(obj, name) is not None and getattr(obj, name) < 2:
                bad(name, "must be at least 2")
    elif isinstance(obj, Target):
        if obj.target is not None and not 0 < obj.target <= 100:
            bad("target", "is a test accuracy in percent, e.g. 99.4")
        if obj.consistent < 1:
            bad("consistent", "must be at least 1 (epochs at the end that must meet the target)")
    elif isinstance(obj, Runtime) and obj.device not in DEVICES:
        bad("device", f"use one of {', '.join(DEVICES)}")


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)
