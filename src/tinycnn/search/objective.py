"""One trial: draw a candidate, refuse it before training if it cannot compete, else train it
on the training images with a validation split held out, for the full epoch budget with that
budget's schedule, reporting each epoch's validation accuracy so the pruner can stop it early.
A candidate that finishes trains more seeds and scores as its worst seed (the rule is
"consistently"): each seed's lowest validation accuracy over the preset's last epochs.
The test split is removed from the data a trial is given (`without_test`), so the search
cannot read it. The candidate's layer table is computed
once per trial, here, and judged from it."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import optuna

from ..data import Dataset
from ..errors import ConfigError, SpecError, TrainingInterrupted
from ..nets import SpecNet
from ..rules import Target, load_preset, static_conditions
from ..settings import Recipe, Runtime
from ..table import Table
from ..training import Callback, RunResult
from ..training import train as train_run
from .config import SearchConfig
from .space import Candidate, Space


def feasibility(
    cand: Candidate, cfg: SearchConfig, data: Dataset, net: SpecNet | None = None
) -> tuple[Table | None, str]:
    """The candidate's table, and why it cannot compete, decided without training ("": it can).
    `net`: the candidate as the trial trains it, whose table is worked out once."""
    net = net or SpecNet(cand.spec)
    try:
        table = net.table(data.input_shape, data.classes)
    except SpecError as e:
        return None, f"does not fit {data.input_shape}: {e}"
    if cfg.preset is not None:
        rules = static_conditions(
            load_preset(cfg.preset), cand.spec, cfg.epochs, data.input_shape, data.classes, table
        )
        # the search's own short epochs don't count
        broken = [c.text for c in rules if not c.ok and c.name != "epochs"]
        if broken:
            return table, "; ".join(broken)
    return table, "" if table.total_params > 0 else "no parameters"


class ReportToTrial(Callback):
    """Each epoch's validation accuracy to the trial; stop the run when the pruner says so."""

    def __init__(self, trial: optuna.Trial):
        self.trial, self.pruned = trial, False

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> bool:
        self.trial.report(row["val_acc"], row["epoch"])
        # after the last epoch there is nothing left to save: the trial completes
        self.pruned = row["epoch"] < row["epochs"] and self.trial.should_prune()
        return self.pruned


def objective(
    trial: optuna.Trial, space: Space, cfg: SearchConfig, data: Dataset, d: Path
) -> float | tuple[float, float]:
    cand = space.suggest(trial)
    trial.set_user_attr("spec", cand.spec.to_dict())
    trial.set_user_attr("recipe", cand.recipe)
    trial.set_user_attr("spec.toml", cand.spec.to_toml())  # readable in optuna-dashboard
    net = SpecNet(cand.spec)  # its table: worked out once, here, for the whole trial
    table, why = feasibility(cand, cfg, data, net)
    if why:  # "pruned" to Optuna; the outcome says it never trained (the dashboard shows it)
        trial.set_user_attr("rejected", why)
        trial.set_user_attr("outcome", "rejected before training")
        raise optuna.TrialPruned(f"rejected before training: {why}")
    assert table is not None  # feasible: it fits
    trial.set_user_attr("params", table.total_params)
    trial.set_user_attr("macs", table.macs)
    recipe = Recipe(
        **{**cand.recipe, "epochs": cfg.budget, "val": cfg.val, "select": "val"},
        limit_train=cfg.limit_train,
    )
    runtime = Runtime(out=str(d / "trials"), report=False, threads=threads(cfg.workers))
    report = ReportToTrial(trial)
    hooks = [] if cfg.multi else [report]  # Optuna neither reports nor prunes multi-objective
    runs = [_train(net, recipe, runtime, hooks, data)]  # the first seed: the pruner watches it
    rows = runs[0].metrics
    trial.set_user_attr("val_acc", [m["val_acc"] for m in rows])
    trial.set_user_attr("run", str(runs[0].run_dir))
    if report.pruned:
        trial.set_user_attr("seconds", sum(m["seconds"] for m in rows))
        raise optuna.TrialPruned(f"pruned after epoch {rows[-1]['epoch']}")
    # it finished: the other seeds, so the score is the seed distribution's low end, not luck
    for seed in range(recipe.seed + 1, recipe.seed + cfg.seeds):
        runs.append(_train(net, dataclasses.replace(recipe, seed=seed), runtime, [], data))
    scores = [score(r.metrics, cfg.last_k) for r in runs]
    trial.set_user_attr("seed_scores", scores)
    trial.set_user_attr("seconds", sum(m["seconds"] for r in runs for m in r.metrics))
    if cfg.multi:
        second = {
            "params": table.total_params,
            "macs": table.macs,
            "seconds": sum(m["seconds"] for m in rows) / len(rows),  # per epoch
        }[cfg.objective]
        return min(scores), second
    return min(scores)


def score(rows: list[dict[str, Any]], last_k: int) -> float:
    """One seed's score: its lowest validation accuracy over the last `last_k` epochs (the
    rule is "in each of the last k epochs", so the low one decides)."""
    return min(m["val_acc"] for m in rows[-last_k:])


def _train(
    net: SpecNet, recipe: Recipe, runtime: Runtime, hooks: list[Callback], data: Dataset
) -> RunResult:
    try:
        return train_run(net, recipe, Target(target=None), runtime, callbacks=hooks, data=data)
    except TrainingInterrupted:
        raise KeyboardInterrupt from None  # Ctrl-C stops the search, not just this trial


def threads(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def without_test(data: Dataset) -> Dataset:
    """The data a search trains on: no test images at all, so none can be read."""
    return dataclasses.replace(data, test_x=data.test_x[:0], test_y=data.test_y[:0])


def check_space(space: Space, cfg: SearchConfig, data: Dataset, draws: int = 300) -> None:
    """Say before any training when no candidate the space draws can meet the rules."""
    probe = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=cfg.seed))
    smallest, why = None, ""
    for _ in range(draws):
        table, why = feasibility(space.suggest(probe.ask()), cfg, data)
        if not why:
            return
        if table is not None:  # it fits: how small could this space go?
            n = table.total_params
            smallest = n if smallest is None else min(smallest, n)
    fewest = f"; the smallest drawn has {smallest:,} params" if smallest is not None else ""
    raise ConfigError(
        f"no candidate among {draws} drawn from space {space.name} meets {cfg.preset}{fewest} "
        f"(e.g. {why}); narrow the space's channel ranges or choose another preset"
    )
