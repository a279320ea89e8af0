"""Typed, frozen configuration of a training run: the recipe, the targets, and where it runs.

Every field can come from a TOML file (`--config FILE`, sections `[recipe]` and `[target]`, or flat
keys) and from flags; flags win. `resolve` validates values and names the field and the fix.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import tomlfile, zoo
from ..errors import ConfigError
from ..ranges import check_fields
from ..rules.verdict import Target


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
    ema: float = 0.0  # decay of an average of the weights, evaluated and saved; 0: off
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
        check_fields(self)
        if self.select == "val" and not self.val:
            raise ConfigError("select = 'val' needs a validation split: give val = N (e.g. 5000)")


def model_recipe(model: Any, **changes: Any) -> Recipe:
    """The default recipe with a zoo model's own changes (the recipe its evidence was measured
    with; none for spec files), then `changes`."""
    return Recipe(**{**zoo.recipe(model), **changes})


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
        check_fields(self)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device = 'cuda' but no CUDA GPU is visible; use --device cpu or auto")
    return torch.device(name)


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


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)
