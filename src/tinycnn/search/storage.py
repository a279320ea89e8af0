"""Where a study lives: a journal file in the search directory (Optuna's `JournalFileBackend`),
or any storage URL Optuna takes (PostgreSQL across machines). RDB workers beat a heartbeat, so
the trials of a worker that was killed are failed by the next one that starts, on any machine;
a journal has no heartbeat, so a search that holds its directory fails the stale trials itself."""

from __future__ import annotations

import json
import random
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
from sqlalchemy.engine import make_url

from ..errors import ConfigError
from .config import SearchConfig

JOURNAL = "journal.log"
HEARTBEAT = 30  # seconds: an RDB worker that stops beating for GRACE has its trials failed
GRACE = 120
# workers started at one instant on a fresh database race to create Optuna's tables; the
# losers see one of these and try again
RACE_WORDS = ("duplicate key", "already exists", "UniqueViolation")
RACE_TRIES, RACE_WAIT = 6, 0.3  # seconds, growing with each try, jittered


def masked(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL at all: show nothing of it that could be secret
        return url.split("@")[-1]


def make_storage(cfg: SearchConfig, d: Path) -> Any:
    """The journal file in the search directory, or an RDB URL (SQLite works for one process)."""
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
    for attempt in range(RACE_TRIES):
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
            lost_race = any(words in str(e) for words in RACE_WORDS)
            if lost_race and attempt < RACE_TRIES - 1:
                # another worker is creating the tables this instant (optuna#1092): once it is
                # done they exist, and the next try finds them
                time.sleep(RACE_WAIT * (attempt + 1) * (1 + random.random()))
                continue
            why = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
            raise ConfigError(
                f"{masked(cfg.storage)}: cannot open the study storage ({why}); check that the "
                f"server is up and the URL (driver, host, port, database) is right"
            ) from None
    raise AssertionError("unreachable: the last try returns or raises")


def check_journal(path: Path) -> None:
    """Every line of a journal is one JSON record; a damaged one is named before Optuna reads
    the file (it would raise from deep inside, optuna#5138)."""
    if not path.is_file():
        return
    with path.open("rb") as f:
        for i, line in enumerate(f, 1):
            try:
                json.loads(line)
            except ValueError:
                raise ConfigError(
                    f"{path}: line {i} is not a journal record (damaged); remove that line to "
                    f"keep the study, or start a new search"
                ) from None


REDUCTION = 3  # each rung keeps the best third of the trials that reached it


def make_study(cfg: SearchConfig, d: Path) -> optuna.Study:
    storage = make_storage(cfg, d)
    pruner = {
        "halving": optuna.pruners.SuccessiveHalvingPruner(
            min_resource=cfg.first_rung, reduction_factor=REDUCTION
        ),
        "hyperband": optuna.pruners.HyperbandPruner(
            min_resource=cfg.first_rung, max_resource=cfg.budget, reduction_factor=REDUCTION
        ),
        "median": optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=cfg.first_rung),
        "none": optuna.pruners.NopPruner(),
    }[cfg.pruner]
    study = optuna.create_study(
        storage=storage,
        study_name=cfg.study or d.name,
        directions=["maximize", "minimize"] if cfg.multi else ["maximize"],
        sampler=optuna.samplers.TPESampler(seed=cfg.seed, constant_liar=True),
        pruner=optuna.pruners.NopPruner() if cfg.multi else pruner,
        load_if_exists=True,
    )
    _same_question(study, cfg)
    # what optuna-dashboard shows for the objectives (else "Objective 0")
    names = ["val accuracy %"] + ([f"{cfg.objective}"] if cfg.multi else [])
    if list(study.metric_names or []) != names:
        with warnings.catch_warnings():  # "experimental" since Optuna 3.2: noise to a user
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(names)
    return study


# what makes trials comparable (the epochs as trained: the budget)
ASKED = ("space", "preset", "objective", "epochs", "val", "seeds")


def _same_question(study: optuna.Study, cfg: SearchConfig) -> None:
    """A study answers one question: a second search that joins it with another space, preset,
    objective or trial budget is refused (its trials could not be ranked with these)."""
    mine = {k: getattr(cfg, "budget" if k == "epochs" else k) for k in ASKED}
    theirs = study.user_attrs.get("asked")
    if theirs is None:
        study.set_user_attr("asked", mine)
        return
    differ = [k for k in ASKED if theirs.get(k, mine[k]) != mine[k]]  # older: fewer keys
    if differ:
        k = differ[0]
        raise ConfigError(
            f"study {study.study_name} was searched with {k} = {theirs.get(k)!r}, not "
            f"{mine[k]!r}; its trials answer another question: use --study NAME for a new study"
        )


def fail_stale(study: optuna.Study) -> int:
    """Trials left RUNNING by a process that died: this search holds the directory, so no
    live process of it runs them. Returns how many were marked failed."""
    stale = [t for t in study.get_trials(deepcopy=False) if t.state.name == "RUNNING"]
    for t in stale:
        study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
    return len(stale)
