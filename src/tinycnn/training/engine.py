"""The engine's two entry points: `train` one run in a new directory, `resume` one from its
last checkpoint. They draw nothing and print nothing: `tinycnn.run` (api.py) adds the report and
the progress display, and is what the CLI, ladders and notebooks call.

from tinycnn.training import Recipe, Target, train
result = train("gap7496", Recipe(epochs=15), Target(target=99.4, max_params=8000))
result.verdict.line()  # 'PASS  test ≥ 99.40% in each of the last 3 epochs (…) · …'
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import zoo
from ..data import Dataset, load
from ..errors import ConfigError, TinyCnnError, TrainingInterrupted
from ..nets import NotKept, as_net
from ..rules import Target
from ..settings import Recipe, Runtime, layered, make
from ..spec import Spec
from . import runs
from .callbacks import Callback, ProgressBar
from .loop import Trainer
from .record import LAST_KEYS
from .result import RunResult
from .runs import RunDir, RunDirError


def train(
    model: str | Path | Spec = zoo.DEFAULT_MODEL,
    recipe: Recipe | None = None,
    target: Target | None = None,
    runtime: Runtime | None = None,
    *,
    data_dir: str | Path | None = None,
    data: Dataset | None = None,
    run_dir: Path | None = None,  # made by RunDir.create (a seeds group names them first)
    callbacks: Sequence[Callback] = (),
) -> RunResult:
    """Train `model` in a new run directory and judge the result: a zoo name, a spec (.toml or
    `Spec`), or your own nn.Module (instance, class, function returning one, `file.py:NAME`).
    `callbacks` see the run (a progress bar joins them where `runtime.progress`); nothing is
    printed. `run_dir`: an empty directory made by `RunDir.create`; `data`:
    an already loaded data set (e.g. without its test split) in place of `data_dir`'s."""
    _check_arguments(recipe, target, runtime, callbacks)  # before any directory is made
    net = as_net(model)
    data = load(data_dir) if data is None else data
    recipe, target = settle(model, recipe, target, data.target)
    runtime = runtime or Runtime()
    rd = RunDir(run_dir) if run_dir else RunDir.create(runtime.out, runs.run_name(net.name, data))
    with rd.locked():
        try:
            trainer = Trainer(net, recipe, target, runtime, data, rd)
        except TinyCnnError:
            rd.discard()  # refused before training (budget, spec): leave no empty run
            raise
        if trainer.unkept:  # said at the start, not found out at the end
            warnings.warn(NotKept(trainer.name, trainer.unkept), stacklevel=2)
        try:
            try:
                trainer.write_headers(data_dir)
            except runs.RunWriteError as e:
                raise runs.RunWriteError(f"{e}; no epoch was saved: start the run again") from None
            return trainer.fit(_callbacks(trainer.runtime, callbacks))
        except (TrainingInterrupted, runs.RunWriteError):
            if not trainer.saved_epoch:  # nothing to resume: leave nothing that looks so
                rd.discard(started=True)
            raise


HOOKS = ("on_start", "on_epoch_start", "on_step", "on_epoch_end", "on_end")


def _check_arguments(recipe: Any, target: Any, runtime: Any, callbacks: Any) -> None:
    """A wrong argument is one line before anything is made (no half-made run directory)."""
    for name, value, cls in (("recipe", recipe, Recipe), ("target", target, Target),
                             ("runtime", runtime, Runtime)):  # fmt: skip
        if value is not None and not isinstance(value, cls):
            raise ConfigError(
                f"{name} = {value!r} is a {type(value).__name__}, not a {cls.__name__}: give "
                f"tinycnn.{cls.__name__}(…) or leave it out"
            )
    if isinstance(callbacks, Callback) or not isinstance(callbacks, list | tuple):
        raise ConfigError("callbacks: give a list of callbacks, e.g. callbacks=[MyCallback()]")
    for cb in callbacks:
        missing = [h for h in HOOKS if not callable(getattr(cb, h, None))]
        if missing:
            raise ConfigError(
                f"callback {cb!r} has no {', '.join(missing)}: subclass "
                f"tinycnn.training.Callback and override the hooks you need"
            )


def settle(
    model: Any, recipe: Recipe | None, target: Target | None, data_target: float | None
) -> tuple[Recipe, Target]:
    """What is not given comes from `settings.layered`: the default recipe with a zoo model's
    own changes, and the data set's own target (MNIST's 99.4 %; another's dataset.toml, or none)."""
    if recipe is not None and target is not None:
        return recipe, target
    default_recipe, default_target, _ = layered(model, data_target=data_target)
    return recipe or default_recipe, target or default_target


def _callbacks(runtime: Runtime, given: Sequence[Callback]) -> list[Callback]:
    own_bar = any(isinstance(c, ProgressBar) for c in given)  # e.g. the CLI's, without lines
    return [ProgressBar(), *given] if runtime.progress and not own_bar else list(given)


# What `resume` may change: the runtime (where it runs), and the epoch count where the LR
# schedule does not depend on it (onecycle's whole curve is laid out over the epochs).
EPOCHS_EXTENSIBLE = ("constant", "step", "plateau")


def resume(
    run_dir: str | Path,
    runtime: Runtime | None = None,
    *,
    changes: dict[str, Any] | None = None,
    epochs: int | None = None,
    callbacks: Sequence[Callback] = (),
    model: Any = None,
) -> RunResult:
    """Continue an interrupted run from its last checkpoint, in the same directory: with
    `runtime`, or else the run's saved runtime with `changes` (field → value) applied.
    `epochs` raises the epoch count (constant, step and plateau schedules only). `model`: your
    module again, for a run of one defined in Python (a file's is rebuilt from its copy)."""
    rd = RunDir(run_dir)
    run = rd.read()  # one-line errors for a foreign or damaged directory
    d, cfg, ckpt = run.path, run.config, run.path / runs.LAST
    if run.status.get("stacked"):
        raise TinyCnnError(
            f"{d}: this run was trained in a stacked group (--stacked), which "
            f"does not resume; rerun the group"
        )
    with rd.locked():  # refused while another process trains here
        recipe, target, saved = _saved_settings(rd.path / runs.CONFIG, cfg)
        if epochs is not None and epochs != recipe.epochs:
            recipe = _more_epochs(d, recipe, epochs, len(run.metrics))
        elif run.state == "finished":
            raise TinyCnnError(
                f"{d}: this run already finished all its epochs; start a new run with tinycnn train"
            )
        if not ckpt.is_file():
            raise TinyCnnError(
                f"{ckpt}: missing, so there is nothing to resume (the run stopped before its "
                f"first epoch ended); start a new run with tinycnn train"
            )
        if runtime is None:  # the saved one (checked as the file's), then the changes given
            runtime = dataclasses.replace(saved, **(changes or {}))
        data = load(_damaged(rd.path / runs.CONFIG, lambda: cfg["data"]["dir"]))
        net = as_net(model) if model is not None else run.net()
        trainer = Trainer(net, recipe, target, runtime, data, rd)
        state = rd.load_checkpoint(runs.LAST, LAST_KEYS, trainer.device)
        _damaged(ckpt, trainer.load_state, state)  # wrong shapes, types, a negative epoch
        if recipe.epochs != cfg["recipe"]["epochs"]:
            rd.write_recipe(recipe)
        return trainer.fit(_callbacks(trainer.runtime, callbacks))


def _saved_settings(path: Path, cfg: dict[str, Any]) -> tuple[Recipe, Target, Runtime]:
    """A run's saved recipe, target and runtime values, each checked as new ones are."""
    recipe = _damaged(path, make, Recipe, cfg["recipe"])
    target = _damaged(path, make, Target, cfg["target"])
    runtime = _damaged(path, make, Runtime, cfg["runtime"])
    return recipe, target, runtime


def _damaged(path: Path, fn: Any, *args: Any) -> Any:
    """`fn(*args)`, where a value read from `path` that tinycnn did not write (a wrong type or
    shape, a setting out of range) is one line naming the file."""
    try:
        return fn(*args)
    except (ConfigError, KeyError, TypeError, ValueError, RuntimeError, IndexError) as e:
        why = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise RunDirError(
            f"{path}: damaged ({why}); it was not written by tinycnn as it is: rerun the run"
        ) from None


def _more_epochs(d: Path, recipe: Recipe, epochs: int, done: int) -> Recipe:
    if recipe.schedule not in EPOCHS_EXTENSIBLE:
        raise ConfigError(
            f"{d}: its {recipe.schedule} schedule is laid out over {recipe.epochs} epochs, so "
            f"resuming cannot change them; start a new run with --epochs {epochs}"
        )
    if epochs < max(done, 1):
        raise ConfigError(
            f"epochs = {epochs}: {d} has already trained {done}; give more epochs than that"
        )
    return dataclasses.replace(recipe, epochs=epochs)
