"""Typed, frozen settings of a training run: the recipe (what changes the numbers) and the
runtime (where it runs), each field declared once with its help and allowed values (`ranges.py`).

Settings come from, lowest first: the defaults < a zoo model's own recipe < a `--config` TOML file
(sections `[recipe]`, `[target]`, `[runtime]`, or flat keys) < flags or keyword arguments. `layered`
is that order, for the CLI and the Python API alike. No torch here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import tomlfile, zoo
from .errors import ConfigError
from .ranges import SEED_MAX, Range, check_fields, setting, settings
from .rules.verdict import Target

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "onecycle", "plateau")
SELECT = ("test", "val")  # the course's convention is the test set; honest selection uses val
BN_IMAGES = Range(2, why="batch norm needs two images")
FACTOR = Range(0, 1, lo_open=True, why="the LR's decay factor, e.g. 0.1")


@settings
@dataclass(frozen=True)
class Recipe:
    """Everything that changes the numbers. The defaults are the classic recipe (see README)."""

    epochs: int = setting(15, "epochs to train", Range(1))
    batch_size: int = setting(128, "images per batch", BN_IMAGES)
    optimizer: str = setting("sgd", " | ".join(OPTIMIZERS), choices=OPTIMIZERS)
    lr: float = setting(
        0.05, "learning rate (peak LR for onecycle)",
        Range(0, lo_open=True, why="try 0.05 with SGD, 0.003 with Adam"),
    )  # fmt: skip
    momentum: float = setting(0.9, "SGD momentum", Range(0, 1, hi_open=True, why="0.9 is usual"))
    nesterov: bool = setting(True, "Nesterov momentum (SGD)")
    weight_decay: float = setting(0.0, "L2 weight decay", Range(0, why="0 is off"))
    schedule: str = setting("onecycle", " | ".join(SCHEDULES), choices=SCHEDULES)
    pct_start: float = setting(
        0.2, "onecycle: warm-up fraction",
        Range(0, 1, lo_open=True, hi_open=True, why="the warm-up fraction, e.g. 0.2"),
    )  # fmt: skip
    div_factor: float = setting(
        10.0, "onecycle: start LR = lr/div",
        Range(0, lo_open=True, why="start LR = lr / div_factor, e.g. 10"),
    )  # fmt: skip
    final_div_factor: float = setting(
        100.0, "onecycle: final LR = start/final_div",
        Range(0, lo_open=True, why="final LR = start / final_div_factor"),
    )  # fmt: skip
    step_size: int = setting(
        6, "step: epochs between decays", Range(1, why="epochs between decays")
    )
    gamma: float = setting(0.1, "step: decay factor", FACTOR)
    plateau_metric: str = setting(
        "loss", "plateau: watch test 'loss' (min) or 'acc' (max)", choices=("loss", "acc")
    )
    plateau_factor: float = setting(
        0.1, "plateau: LR factor", Range(0, 1, lo_open=True, hi_open=True, why="the LR's factor")
    )
    plateau_patience: int = setting(
        2, "plateau: epochs to wait", Range(0, why="epochs without improvement before a decay")
    )
    label_smoothing: float = setting(
        0.0,
        "cross-entropy label smoothing",
        Range(0, 1, hi_open=True, why="0 is off, 0.1 is usual"),
    )
    ema: float = setting(
        0.0, "evaluate and keep an average of the weights with this decay per step (0: off)",
        Range(0, 1, hi_open=True, why="0 is off, 0.99–0.999 is usual"),
    )  # fmt: skip
    rotate: float = setting(
        7.0, "random rotation ±degrees (0 = off)",
        Range(0, 180, why="degrees either way; 0 is off, 7 is usual"),
    )  # fmt: skip
    shift: float = setting(
        0.0, "random shift, fraction of size",
        Range(0, 1, hi_open=True, why="a fraction of the image size; 0 is off"),
    )  # fmt: skip
    scale: float = setting(
        0.0, "random zoom 1±scale", Range(0, 1, hi_open=True, why="zoom in 1 ± scale; 0 is off")
    )
    aug_p: float = setting(
        1.0, "probability an image gets each of rotate/shift/scale (each drawn on its own)",
        Range(0, 1, lo_open=True, why="a probability; 1 augments every image"),
    )  # fmt: skip
    erase: float = setting(0.0, "cutout probability", Range(0, 1, why="a probability"))
    clean_epochs: int = setting(
        0, "train the last N epochs on un-augmented images (0: augment every epoch)",
        Range(0, why="epochs at the end without augmentation; 0 augments them all"),
    )  # fmt: skip
    seed: int = setting(1, "random seed", Range(0, SEED_MAX))
    limit_train: int | None = setting(None, "use only the first N training images", BN_IMAGES)
    limit_test: int | None = setting(None, "first N test images", Range(1))
    val: int = setting(
        0, "hold out N training images as a validation split (stratified)",
        Range(0, why="training images held out for validation; 0 is none"),
    )  # fmt: skip
    val_seed: int = setting(
        0, "seed that draws the validation split (the same for every training seed)",
        Range(0, SEED_MAX),
    )  # fmt: skip
    select: str = setting(
        "test", "test | val: the split whose accuracy picks best.pt", choices=SELECT
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if self.select == "val" and not self.val:
            raise ConfigError("select = 'val' needs a validation split: give val = N (e.g. 5000)")


@settings
@dataclass(frozen=True)
class Runtime:
    """Where and how the run executes; does not change the numbers on a given device."""

    device: str = setting("auto", "auto | cpu | cuda", choices=("auto", "cpu", "cuda"))
    threads: int | None = setting(
        None, "torch CPU threads", Range(1, why="leave it out to use every core"),
        default_text="all cores",
    )  # fmt: skip
    out: str = setting("runs", "folder for run directories")
    progress: bool = setting(
        False, "show a progress bar", default_text="on for a terminal, off in pipes and notebooks"
    )
    fast_dropout: bool = setting(
        True, "CPU: element-wise dropout from drawn drop positions, no mask (same drops)"
    )
    fast_pool: bool = setting(
        True, "CPU: max-pool in channels-last layout (same numbers, 3× cheaper kernel)"
    )
    native: bool = setting(
        True,
        "CPU: ReLU + dropout + max-pool in one compiled C pass (same numbers; built with "
        "the machine's C compiler on first use, torch's ops where there is none)",
    )
    reuse_memory: bool = setting(
        True, "CPU: keep freed memory in the process instead of faulting in fresh pages"
    )
    channels_last: bool | None = setting(
        None, "channels-last memory format", default_text="auto: on a GPU only (slower on a CPU)"
    )
    bf16: bool | None = setting(
        None, "bfloat16 autocast",
        default_text="auto: on CPUs that compute bf16 natively (AMX or AVX512-BF16); off on "
        "GPUs, where it was no faster over a 15-epoch run",
    )  # fmt: skip
    cudnn_benchmark: bool = setting(
        False, "CUDA: let cuDNN time its algorithms for each shape once (no gain measured)"
    )
    compile: bool = setting(False, "torch.compile the model (measured slower on the CPU)")
    cuda_graph: bool = setting(
        True, "CUDA: replay each SGD training step as one captured graph (no launch overhead)"
    )
    streams: bool = setting(
        False, "stacked seeds: each seed its own model on its own CUDA stream (side by side in "
        "one graph) instead of one model of grouped convolutions; on a CPU one after another. "
        "Each replica is then its single run (bit for bit on a CPU, without dropout or "
        "rotation); slower than grouped on an H200: 16 seeds in 27.8 s against 25.2 s",
    )  # fmt: skip
    report: bool = setting(True, "write report.md with pictures at the end")

    def __post_init__(self) -> None:
        check_fields(self)


SECTIONS: dict[str, type] = {"recipe": Recipe, "target": Target, "runtime": Runtime}
Values = dict[str, dict[str, Any]]  # section → field → raw value


def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def split_flat(values: dict[str, Any]) -> Values:
    """Sort flat `key: value` pairs into their sections; unknown keys are an error."""
    out: Values = {name: {} for name in SECTIONS}
    for key, value in values.items():
        for name, cls in SECTIONS.items():
            if key in _fields(cls):
                out[name][key] = value
                break
        else:
            known = sorted(k for cls in SECTIONS.values() for k in _fields(cls))
            raise ConfigError(f"unknown setting {key!r}; known settings: {', '.join(known)}")
    return out


def load_config_file(path: str | Path) -> Values:
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


def layered(
    model: Any = None,
    config: str | Path | Values | None = None,
    given: Values | None = None,
    data_target: float | None = None,
) -> tuple[Recipe, Target, Runtime]:
    """Settings in their one order: defaults < `model`'s own zoo recipe (None: none, e.g. a
    resume) < `config` (a --config file, or its sections) < `given` (flags, keyword arguments).
    No accuracy target and no preset given: the data set's own (`data_target`; MNIST's 99.4 %,
    another set's dataset.toml, or none)."""
    values: Values = {name: {} for name in SECTIONS}
    values["recipe"].update(zoo.recipe(model) if model is not None else {})
    cfg = load_config_file(config) if isinstance(config, str | Path) else (config or {})
    for layer in (cfg, given or {}):
        for name in SECTIONS:
            values[name].update(layer.get(name, {}))
    t = values["target"]
    if t.get("preset") is not None and ("target" in t or "consistent" in t):
        raise ConfigError(
            "give either --preset or --target/--consistent: the preset sets the "
            "accuracy target itself"
        )
    if "target" not in t and t.get("preset") is None:
        t["target"] = data_target
    return Recipe(**values["recipe"]), Target(**t), Runtime(**values["runtime"])


def model_recipe(model: Any, **changes: Any) -> Recipe:
    """The default recipe with a zoo model's own changes (the recipe its evidence was measured
    with; none for spec files), then `changes`."""
    return layered(model, given={"recipe": changes})[0]


def make(cls: type, values: dict[str, Any]) -> Any:
    """Build a section from raw values (a config file's, or flags'); checked on construction."""
    return cls(**values)


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)
