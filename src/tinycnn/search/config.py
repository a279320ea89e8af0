"""What a search is asked to do: `SearchConfig`, each field declared once with its help and
allowed values (`ranges.setting`), from which `tinycnn search` builds its flags. No Optuna here."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import ConfigError
from ..ranges import Range, check_fields, setting
from ..rules import load_preset

CONFIG = "search.json"  # the config a search directory was made with (its resume reads it)
# halving: successive halving over epochs (rungs at min_epochs·3^k, the best third goes on)
PRUNERS = ("halving", "hyperband", "median", "none")
DEFAULT_EPOCHS = 15  # the classic budget, where a preset does not set one
DEFAULT_LAST_K = 3  # "consistently": the target in each of the last 3 epochs
# "accuracy": one objective, validation accuracy. The others add a second one to minimise, and
# the study's answer is its Pareto front (Optuna prunes single-objective studies only).
OBJECTIVES = ("accuracy", "params", "macs", "seconds")


@dataclass(frozen=True)
class SearchConfig:
    space: str = setting(dataclasses.MISSING, "a shipped space's name or a .toml file")
    trials: int = setting(20, "trials to run now, over all workers", Range(1), unit="N")
    preset: str | None = setting("under8k", "rules a candidate must meet ('none': no rules)")
    epochs: int | None = setting(
        None, "epochs of a trial that the pruner lets finish, with that budget's LR schedule",
        Range(1), default_text="the preset's budget (15 for under8k)",
    )  # fmt: skip
    min_epochs: int = setting(
        3, "epochs every trial trains before the pruner may stop it (at most --epochs)", Range(1)
    )
    seeds: int = setting(
        2, "seeds per candidate that finishes; it scores as its worst seed's last-epochs minimum",
        Range(1, 16, why="2–3 see the seed spread; 16 is the evidence runs' count"),
    )  # fmt: skip
    val: int = setting(
        10_000, "held-out training images that score the trials",
        Range(1, why="a search scores its trials on held-out training images; 10000 is usual"),
    )  # fmt: skip
    limit_train: int | None = setting(
        None, "train on the first N remaining images (a rehearsal)",
        Range(2, why="batch norm needs two images"), unit="N",
    )  # fmt: skip
    workers: int = setting(1, "processes sharing the study", Range(1), unit="K")
    pruner: str = setting("halving", " | ".join(PRUNERS), choices=PRUNERS)
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
    def budget(self) -> int:
        """The epochs a finished trial trains: given, else the most its preset allows."""
        return self.epochs if self.epochs is not None else final_epochs(self.preset)

    @property
    def first_rung(self) -> int:
        """The epochs every trial trains: min_epochs, or all of a shorter budget."""
        return min(self.min_epochs, self.budget)

    @property
    def last_k(self) -> int:
        """The last epochs a finished trial is scored on: the preset's "consistently" window
        at its full budget; a shorter trial (a fixed --epochs) scores its last epoch."""
        if self.budget < final_epochs(self.preset):
            return 1
        k = load_preset(self.preset).consistent if self.preset else DEFAULT_LAST_K
        return min(k, self.budget)

    @property
    def multi(self) -> bool:
        return self.objective != "accuracy"


def final_epochs(preset: str | None) -> int:
    """The epochs a preset allows at most: what a finished trial and a confirmation train."""
    if preset is None:
        return DEFAULT_EPOCHS
    p = load_preset(preset)
    if p.epochs_exactly is not None:
        return p.epochs_exactly
    if p.epochs_at_most is not None:
        return p.epochs_at_most
    return p.epochs_below - 1 if p.epochs_below is not None else DEFAULT_EPOCHS
