"""`search`: the smallest network that meets a target, found by Optuna, scored honestly.

Each trial (`objective.py`) draws a candidate from a `Space`, is refused before training when it
cannot compete, and trains on a validation split otherwise. This module runs the trials: in one
process, or `--workers K` processes on one study (`storage.py`), each with its own sampler seed;
a search directory is locked by its process, so a trial left RUNNING by a crash is marked failed
when the search is resumed. It writes what the study holds (trials.jsonl, top1.toml …, search.md)
and, asked to, confirms the best on the test set (`confirm.py`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import multiprocessing as mp
import socket
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import optuna
import tomli_w

from .. import files
from ..data import load
from ..errors import ConfigError, TinyCnnError, TrainingInterrupted
from ..spec import Spec
from .config import CONFIG, SearchConfig
from .confirm import confirm
from .objective import check_space, objective, without_test
from .report import top as best_trials
from .report import write_search_md
from .space import load_space
from .storage import JOURNAL, check_journal, fail_stale, make_storage, make_study

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
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the caller reports trials
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
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # no log lines: `on_trial` reports
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
        # a preset given as a file is named by its stem (its path would make folders)
        preset = Path(cfg.preset).stem if cfg.preset else "any"
        d = files.new_dir(cfg.out, f"{space.name}-{preset}")
        # the study's name is saved: the directory may be renamed or moved and still resumed
        cfg = dataclasses.replace(cfg, study=cfg.study or d.name)
        files.write_json(d / CONFIG, dataclasses.asdict(cfg))
    if cfg.storage is None:  # read once, before any worker opens it
        check_journal(d / JOURNAL)
    with files.locked(d):
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
        except (KeyboardInterrupt, TrainingInterrupted):
            raise TrainingInterrupted(
                f"search interrupted; its study and finished trials are kept in {d}; more "
                f"trials with: tinycnn search --resume {d}"
            ) from None
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
    except (json.JSONDecodeError, TypeError, ConfigError) as e:
        raise ConfigError(f"{d / CONFIG}: damaged ({e}); start a new search") from None
    if saved.study is None:  # made before the name was saved: the journal's one study
        names = _study_names(saved, d)
        saved = dataclasses.replace(saved, study=names[0] if len(names) == 1 else d.name)
    return dataclasses.replace(saved, trials=given.trials, workers=given.workers)


def _study_names(cfg: SearchConfig, d: Path) -> list[str]:
    try:
        return optuna.get_all_study_names(make_storage(cfg, d))
    except Exception:  # noqa: BLE001 - an unreadable storage is said when the study opens
        return []


def trial_rows(study: optuna.Study) -> list[dict[str, Any]]:
    rows = []
    for t in study.get_trials(deepcopy=False):
        a = t.user_attrs
        state = "rejected" if "rejected" in a else t.state.name.lower()
        rows.append(
            {
                "number": t.number,
                "state": state,
                # the score: the worst seed's lowest validation accuracy in the last epochs
                "value": t.values[0] if t.values else None,
                "values": t.values,
                "params": a.get("params"),
                "macs": a.get("macs"),
                "val_acc": a.get("val_acc", []),  # the first seed's, each epoch
                "seed_scores": a.get("seed_scores", []),
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
    files.write_jsonl(d / "trials.jsonl", rows)
    for rank, r in enumerate(best_trials(rows, top), 1):
        note = (
            f"# search {d.name}, trial {r['number']}: val {r['value']:.2f}%. Train it with its "
            f"recipe: tinycnn train top{rank}.toml --config top{rank}.run.toml\n"
        )
        files.write_text(d / f"top{rank}.toml", note + Spec.from_dict(r["spec"]).to_toml())
        files.write_text(d / f"top{rank}.run.toml", tomli_w.dumps({"recipe": r["recipe"]}))
    return rows


def best_value(rows: list[dict[str, Any]]) -> float:
    values = [r["value"] for r in rows if r["value"] is not None]
    return max(values) if values else math.nan
