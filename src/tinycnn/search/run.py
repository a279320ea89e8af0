"""`search`: the smallest network that meets a target, found by Optuna, scored honestly.

Each trial draws a candidate from a `Space`. The preset's static rules, the parameter budget and
the input size decide before any training whether it can compete; an infeasible candidate is
recorded as rejected and costs no compute. A feasible one trains on the training images with a
validation split held out (the test split is removed from the data it is given, so the search
cannot read it) and reports its validation accuracy each epoch, so the pruner can stop it early.

The study lives in a journal file in the search directory (Optuna's `JournalFileBackend`), or in
any storage URL Optuna takes. `--workers K` runs K processes on one study; a search directory is
locked by its process, so a trial left RUNNING by a crash is marked failed when the search is
resumed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import multiprocessing as mp
import os
import socket
import warnings
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import tomli_w
from sqlalchemy.engine import make_url

from ..data import Dataset, load
from ..errors import ConfigError, SpecError, TinyCnnError
from ..rules import Target, load_preset, static_conditions
from ..spec import Spec
from ..table import layer_table
from ..training import Callback, Recipe, Runtime, runs
from ..training import train as train_run
from .report import confirm, write_search_md
from .report import top as best_trials
from .space import Candidate, Space, load_space

JOURNAL, CONFIG = "journal.log", "search.json"
PRUNERS = ("median", "hyperband", "none")
# "accuracy": one objective, validation accuracy. The others add a second one to minimise, and
# the study's answer is its Pareto front (Optuna prunes single-objective studies only).
OBJECTIVES = ("accuracy", "params", "macs", "seconds")


@dataclass(frozen=True)
class SearchConfig:
    space: str  # a shipped space's name or a .toml file
    trials: int = 20  # this invocation's trials, over all workers
    preset: str | None = "under8k"
    epochs: int = 3  # per trial: short, since a trial only ranks candidates
    val: int = 10_000  # training images held out to score trials
    limit_train: int | None = None
    workers: int = 1
    pruner: str = "median"
    objective: str = "accuracy"  # or params / macs / seconds: a second objective to minimise
    storage: str | None = None  # default: journal.log in the search directory
    study: str | None = None  # default: the directory's name
    timeout: float | None = None  # seconds, per worker
    seed: int = 0  # the sampler's
    out: str = "runs/search"
    data_dir: str | None = None

    def __post_init__(self) -> None:
        if self.trials < 1 or self.workers < 1 or self.epochs < 1:
            raise ConfigError("trials, workers and epochs must be at least 1")
        if self.val < 1:
            raise ConfigError(
                f"val = {self.val}: a search scores its trials on held-out training images; "
                f"give val = N (10000 is usual)"
            )
        if self.pruner not in PRUNERS:
            raise ConfigError(f"pruner = {self.pruner!r}: use one of {', '.join(PRUNERS)}")
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective = {self.objective!r}: use one of {', '.join(OBJECTIVES)}")

    @property
    def multi(self) -> bool:
        return self.objective != "accuracy"


def feasibility(cand: Candidate, cfg: SearchConfig, data: Dataset) -> str | None:
    """Why this candidate cannot compete, decided without training (None: it can)."""
    try:
        table = layer_table(cand.spec, data.input_shape, data.classes)
    except SpecError as e:
        return f"does not fit {data.input_shape}: {e}"
    if cfg.preset is not None:
        broken = [
            c.text
            for c in static_conditions(
                load_preset(cfg.preset), cand.spec, cfg.epochs, data.input_shape, data.classes
            )
            if not c.ok and c.name != "epochs"  # the search's own short epochs don't count
        ]
        if broken:
            return "; ".join(broken)
    return None if table.total_params > 0 else "no parameters"


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
    why = feasibility(cand, cfg, data)
    if why is not None:
        trial.set_user_attr("rejected", why)
        raise optuna.TrialPruned(f"rejected before training: {why}")
    table = layer_table(cand.spec, data.input_shape, data.classes)
    trial.set_user_attr("params", table.total_params)
    trial.set_user_attr("macs", table.macs)
    recipe = Recipe(
        **{**cand.recipe, "epochs": cfg.epochs, "val": cfg.val, "select": "val"},
        limit_train=cfg.limit_train,
    )
    runtime = Runtime(out=str(d / "trials"), report=False, threads=_threads(cfg.workers))
    report = ReportToTrial(trial)
    hooks = [] if cfg.multi else [report]  # Optuna neither reports nor prunes multi-objective
    result = train_run(cand.spec, recipe, Target(target=None), runtime, callbacks=hooks, data=data)
    rows = result.metrics
    trial.set_user_attr("val_acc", [m["val_acc"] for m in rows])
    trial.set_user_attr("seconds", sum(m["seconds"] for m in rows))
    trial.set_user_attr("run", str(result.run_dir))
    if report.pruned:
        raise optuna.TrialPruned(f"pruned after epoch {rows[-1]['epoch']}")
    if cfg.multi:
        second = {
            "params": table.total_params,
            "macs": table.macs,
            "seconds": sum(m["seconds"] for m in rows) / len(rows),  # per epoch
        }[cfg.objective]
        return rows[-1]["val_acc"], second
    return rows[-1]["val_acc"]


def _threads(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def without_test(data: Dataset) -> Dataset:
    """The data a search trains on: no test images at all, so none can be read."""
    return dataclasses.replace(data, test_x=data.test_x[:0], test_y=data.test_y[:0])


HEARTBEAT = 30  # seconds: an RDB worker that stops beating for GRACE has its trials failed
GRACE = 120


def masked(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL at all: show nothing of it that could be secret
        return url.split("@")[-1]


def make_storage(cfg: SearchConfig, d: Path) -> Any:
    """The journal file in the search directory, or an RDB URL (PostgreSQL across machines;
    SQLite works for one process). RDB workers beat a heartbeat, so the trials of a worker that
    was killed are failed by the next one that starts, on any machine."""
    if cfg.storage is None:
        return optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(d / JOURNAL))
        )
    if cfg.storage.startswith("sqlite") and cfg.workers > 1:
        warnings.warn(
            "SQLite locks the whole database for each write: parallel workers wait on each "
            "other and may fail with 'database is locked'; use the journal (the default) or "
            "PostgreSQL",
            stacklevel=2,
        )
    try:
        with warnings.catch_warnings():  # the heartbeat is 'experimental' in Optuna 5.0
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                cfg.storage,
                engine_kwargs={"pool_pre_ping": True},
                heartbeat_interval=HEARTBEAT,
                grace_period=GRACE,
            )
    except Exception as e:  # noqa: BLE001 - drivers raise many kinds; say which and where
        why = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise ConfigError(
            f"{masked(cfg.storage)}: cannot open the study storage ({why}); check that the "
            f"server is up and the URL (driver, host, port, database) is right"
        ) from None


def make_study(cfg: SearchConfig, d: Path) -> optuna.Study:
    storage = make_storage(cfg, d)
    pruner = {
        "median": optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
        "hyperband": optuna.pruners.HyperbandPruner(min_resource=1, max_resource=cfg.epochs),
        "none": optuna.pruners.NopPruner(),
    }[cfg.pruner]
    return optuna.create_study(
        storage=storage,
        study_name=cfg.study or d.name,
        directions=["maximize", "minimize"] if cfg.multi else ["maximize"],
        sampler=optuna.samplers.TPESampler(seed=cfg.seed, constant_liar=True),
        pruner=optuna.pruners.NopPruner() if cfg.multi else pruner,
        load_if_exists=True,
    )


OnTrial = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]


def sampler_seed(cfg: SearchConfig, worker: int, done: int) -> int:
    """Each worker its own random stream: with one seed, every worker (and every resumed run,
    and every machine) would draw the same first candidates and train them twice. Still
    reproducible on one machine: the seed, the worker's index, the trials already there."""
    host = zlib.crc32(socket.gethostname().encode())
    return (cfg.seed * 1_000_003 + worker * 7_919 + done + host) % 2**32


def _worker(
    cfg: SearchConfig, d: Path, n_trials: int, on_trial: OnTrial | None, worker: int = 0
) -> None:
    """One process's share of the trials; the data is loaded once per process."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the caller reports trials
    space, study = load_space(cfg.space), make_study(cfg, d)
    seed = sampler_seed(cfg, worker, len(study.get_trials(deepcopy=False)))
    study.sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    data = without_test(load(cfg.data_dir))
    study.optimize(
        lambda t: objective(t, space, cfg, data, d),
        n_trials=n_trials,
        timeout=cfg.timeout,
        catch=(TinyCnnError,),  # a diverged trial is recorded as failed; the search goes on
        callbacks=[on_trial] if on_trial else None,
    )


def check_space(space: Space, cfg: SearchConfig, data: Dataset, draws: int = 300) -> None:
    """Say before any training when no candidate the space draws can meet the rules."""
    probe = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=cfg.seed))
    smallest, why = None, ""
    for _ in range(draws):
        cand = space.suggest(probe.ask())
        why = feasibility(cand, cfg, data) or ""
        if not why:
            return
        with contextlib.suppress(SpecError):
            n = layer_table(cand.spec, data.input_shape, data.classes).total_params
            smallest = n if smallest is None else min(smallest, n)
    fewest = f"; the smallest drawn has {smallest:,} params" if smallest is not None else ""
    raise ConfigError(
        f"no candidate among {draws} drawn from space {space.name} meets {cfg.preset}{fewest} "
        f"(e.g. {why}); narrow the space's channel ranges or choose another preset"
    )


def fail_stale(study: optuna.Study) -> int:
    """Trials left RUNNING by a process that died: this search holds the directory, so no
    live process of it runs them. Returns how many were marked failed."""
    stale = [t for t in study.get_trials(deepcopy=False) if t.state.name == "RUNNING"]
    for t in stale:
        study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
    return len(stale)


def search(
    cfg: SearchConfig,
    resume: str | Path | None = None,
    on_trial: OnTrial | None = None,
    confirm_seeds: int = 0,
    top: int = 3,
) -> Path:
    """Run `cfg.trials` more trials in a new search directory (or `resume` one: its saved
    config, the same study); returns the directory, with trials.jsonl and the top specs.
    `on_trial(study, trial)` runs after each trial, in the worker that ran it.
    `confirm_seeds` K > 0: then retrain the `top` best on the whole training split with K seeds
    each and judge them on the test set (confirm.json, and in search.md)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no log lines: `on_trial` reports
    if resume is not None:
        cfg = resumed_config(Path(resume), cfg)
    space = load_space(cfg.space)  # errors name the key before anything is made
    data = load(cfg.data_dir)
    if cfg.val > len(data.train_y) - 2:
        raise ConfigError(
            f"val = {cfg.val}: the training split has {len(data.train_y):,} images; hold out "
            f"fewer so some remain to train on"
        )
    check_space(space, cfg, data)
    if cfg.storage is not None:
        make_storage(cfg, Path())  # an unreachable server is said before a directory is made
    if resume is not None:
        d = Path(resume)
    else:
        d = runs.new_run_dir(cfg.out, f"{space.name}-{cfg.preset or 'any'}")
        runs.write_json(d / CONFIG, dataclasses.asdict(cfg))
    with runs.locked(d):
        study = make_study(cfg, d)
        if cfg.storage is None:  # the journal is this machine's alone, and this process holds it
            fail_stale(study)
        n, k = cfg.trials, cfg.workers
        shares = [n // k + (i < n % k) for i in range(k)]
        try:
            if k == 1:
                _worker(cfg, d, n, on_trial)
            else:
                with ProcessPoolExecutor(k, mp_context=mp.get_context("spawn")) as pool:
                    list(pool.map(_worker, [cfg] * k, [d] * k, shares, [on_trial] * k, range(k)))
        finally:  # after Ctrl-C too: what finished is written out
            rows = write_outputs(make_study(cfg, d), d)
            write_search_md(d, rows, cfg, [])
        if confirm_seeds:
            write_search_md(d, rows, cfg, confirm(d, rows, cfg, confirm_seeds, top))
    return d


def resumed_config(d: Path, given: SearchConfig) -> SearchConfig:
    """The saved config of search directory `d`, with this invocation's trials and workers."""
    if not (d / CONFIG).is_file():
        raise ConfigError(f"{d}: not a search directory (no {CONFIG}); give one that tinycnn "
                          f"search made")  # fmt: skip
    try:
        saved = SearchConfig(**json.loads((d / CONFIG).read_text()))
    except (json.JSONDecodeError, TypeError) as e:
        raise ConfigError(f"{d / CONFIG}: damaged ({e}); start a new search") from None
    return dataclasses.replace(saved, trials=given.trials, workers=given.workers)


def trial_rows(study: optuna.Study) -> list[dict[str, Any]]:
    rows = []
    for t in study.get_trials(deepcopy=False):
        a = t.user_attrs
        state = "rejected" if "rejected" in a else t.state.name.lower()
        rows.append(
            {
                "number": t.number,
                "state": state,
                "value": t.values[0] if t.values else None,  # validation accuracy
                "values": t.values,
                "params": a.get("params"),
                "macs": a.get("macs"),
                "val_acc": a.get("val_acc", []),
                "seconds": a.get("seconds"),
                "why": a.get("rejected"),
                "spec": a.get("spec"),
                "recipe": a.get("recipe"),
                "run": a.get("run"),
            }
        )
    return rows


def write_outputs(study: optuna.Study, d: Path, top: int = 3) -> list[dict[str, Any]]:
    """trials.jsonl (every trial), top1.toml… (the best candidates as spec files, with the
    recipe values they trained with in a comment), from the study itself."""
    rows = trial_rows(study)
    runs.write_jsonl(d / "trials.jsonl", rows)
    for rank, r in enumerate(best_trials(rows, top), 1):
        note = (
            f"# search {d.name}, trial {r['number']}: val {r['value']:.2f}%. Train it with its "
            f"recipe: tinycnn train top{rank}.toml --config top{rank}.run.toml\n"
        )
        runs.write_text(d / f"top{rank}.toml", note + Spec.from_dict(r["spec"]).to_toml())
        runs.write_text(d / f"top{rank}.run.toml", tomli_w.dumps({"recipe": r["recipe"]}))
    return rows


def best_value(rows: list[dict[str, Any]]) -> float:
    values = [r["value"] for r in rows if r["value"] is not None]
    return max(values) if values else math.nan
