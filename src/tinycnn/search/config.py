"""What a search is asked to do: `SearchConfig`, each field declared once with its help and
allowed values (`ranges.setting`), from which `tinycnn search` builds its flags. No Optuna here."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import ConfigError
from ..ranges import Range, check_fields, setting

CONFIG = "search.json"  # the config a search directory was made with (its resume reads it)
PRUNERS = ("median", "hyperband", "none")
# "accuracy": one objective, validation accuracy. The others add a second one to minimise, and
# the study's answer is its Pareto front (Optuna prunes single-objective studies only).
OBJECTIVES = ("accuracy", "params", "macs", "seconds")


@dataclass(frozen=True)
class SearchConfig:
    space: str = setting(dataclasses.MISSING, "a shipped space's name or a .toml file")
    trials: int = setting(20, "trials to run now, over all workers", Range(1), unit="N")
    preset: str | None = setting("under8k", "rules a candidate must meet ('none': no rules)")
    epochs: int = setting(3, "epochs per trial (short: a trial only ranks candidates)", Range(1))
    val: int = setting(
        10_000, "held-out training images that score the trials",
        Range(1, why="a search scores its trials on held-out training images; 10000 is usual"),
    )  # fmt: skip
    limit_train: int | None = setting(
        None, "train on the first N remaining images (a rehearsal)",
        Range(2, why="batch norm needs two images"), unit="N",
    )  # fmt: skip
    workers: int = setting(1, "processes sharing the study", Range(1), unit="K")
    pruner: str = setting("median", " | ".join(PRUNERS), choices=PRUNERS)
    objective: str = setting(
        "accuracy", "accuracy, or a second objective to minimise with it (a Pareto front): "
        "params, macs or seconds (per epoch)", choices=OBJECTIVES,
    )  # fmt: skip
    storage: str | None = setting(
        None, "Optuna storage URL", default_text="a journal file in the directory", unit="URL"
    )
    study: str | None = setting(None, "study name", default_text="the directory's name")
    timeout: float | None = setting(
        None, "stop starting trials after S seconds", Range(0, lo_open=True), unit="S"
    )
    seed: int = setting(0, "the sampler's seed", Range(0, 2**32 - 1))
    out: str = setting("runs/search", "folder for search directories", unit="DIR")
    data_dir: str | None = setting(
        None, "folder of IDX files", default_text="the bundled MNIST", unit="DIR"
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if self.preset is not None and not self.preset:
            raise ConfigError("preset = '': give a preset name or file, or 'none'")

    @property
    def multi(self) -> bool:
        return self.objective != "accuracy"
