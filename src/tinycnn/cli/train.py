"""`train`: a flag per settings field (`cli/flags.py`), so every field is settable."""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
import warnings
from typing import Any

from .. import zoo
from ..errors import ConfigError
from ..ranges import check_value
from ..rules import Target
from ..settings import SECTIONS, Recipe, Runtime, layered
from .flags import add_flags, given

DRY_RUN_IMAGES = 512  # train and test images of a --dry-run's one epoch


def add_train_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        help="train a model and judge it against a target",
        description="Train MODEL (zoo name, spec .toml or file.py:NAME; default "
        f"{zoo.DEFAULT_MODEL}) on bundled MNIST or --data-dir. Settings: defaults < a zoo "
        "model's own recipe (tinycnn zoo) < --config FILE < flags. Every run gets a new "
        "directory under --out with its config, metrics, verdict and checkpoints.",
    )
    p.add_argument(
        "model", nargs="?", metavar="MODEL",
        help="zoo name, spec .toml, or your own nn.Module as path/to/file.py:NAME (a class, a "
        "function returning a module, or a module)",
    )  # fmt: skip
    p.add_argument("--config", metavar="FILE", help="TOML file with [recipe]/[target]/[runtime]")
    p.add_argument("--data-dir", metavar="DIR", help="folder of IDX files (default: bundled)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    p.add_argument("--strict", action="store_true", help="exit 1 when the verdict is FAIL")
    p.add_argument("--quiet", action="store_true", help="no progress bar (epoch lines remain)")
    p.add_argument(
        "--tensorboard", metavar="DIR",
        help="also log each epoch as TensorBoard scalars under DIR (needs tinycnn[tensorboard])",
    )  # fmt: skip
    p.add_argument(
        "--seeds",
        type=int,
        default=1,
        metavar="N",
        help="train N seeds (seed, seed+1, …) in parallel processes; report mean ± std and how "
        "many met the target",
    )
    p.add_argument(
        "--stacked",
        action="store_true",
        help="with --seeds: train all seeds at once in one process as one stacked model "
        "(fast on a GPU; not resumable)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="one quick epoch on 512 images to check that everything runs",
    )
    for section, cls in SECTIONS.items():
        add_flags(p.add_argument_group(section), cls)
    return p


def resolve_configs(args: argparse.Namespace) -> tuple[Recipe, Target, Runtime]:
    """Settings in their one order (`settings.layered`), then what the command line adds: a dry
    run's size and scratch folder, and a progress bar only where someone watches a terminal."""
    flags = {name: given(args, cls) for name, cls in SECTIONS.items()}
    if args.dry_run:  # a check that everything runs: kept nowhere near real runs
        flags["recipe"].update(epochs=1, limit_train=DRY_RUN_IMAGES, limit_test=DRY_RUN_IMAGES)
        flags["runtime"]["out"] = tempfile.mkdtemp(prefix="tinycnn-dry-run-")
    if args.quiet or not sys.stderr.isatty():
        flags["runtime"]["progress"] = False  # no bar noise in CI logs, pipes or notebooks
    else:
        flags["runtime"].setdefault("progress", True)  # a terminal: a bar, unless --no-progress
    if args.resume:  # the run's own settings; the target is the run's (checked: no flags)
        return layered(None, args.config, flags, data_target=Target().target)
    model = args.model or zoo.DEFAULT_MODEL
    flags_target = flags["target"]
    needs_data = "target" not in flags_target and flags_target.get("preset") is None
    if needs_data:  # the data set's own target: read only when no target is given
        from ..data import load

    data_target = load(args.data_dir).target if needs_data else None
    return layered(model, args.config, flags, data_target)


def cmd_train(args: argparse.Namespace) -> int:
    from ..api import resume, run  # with report.md; matplotlib loads only when training
    from ..nets import NotKept
    from ..training.callbacks import ProgressBar, format_epoch

    warnings.simplefilter("ignore", NotKept)  # said in its own line at the start, below
    from ..training.runs import read_run

    check_value("seeds", args.seeds)
    if args.resume is not None and not args.resume.strip():
        raise ConfigError('--resume "": give the run directory to continue')
    if args.resume:
        _check_resume_flags(args)
    recipe, target, runtime = resolve_configs(args)

    def start(trainer) -> None:  # noqa: ANN001
        t = trainer.table
        print(
            f"{trainer.name}: {t.total_params:,} params, receptive field "
            f"{t.receptive_field}; {trainer.data.name}: {_sizes(trainer.sizes())}; "
            f"{trainer.device}, "
            f"{trainer.threads} threads; seed "
            f"{trainer.recipe.seed}"
        )
        own = zoo.recipe(args.model or zoo.DEFAULT_MODEL) if not args.resume else {}
        if own:  # say so: these differ from the defaults README describes
            used = ", ".join(f"{k} {getattr(trainer.recipe, k):g}" for k in own)
            print(f"recipe: {used} ({trainer.name}'s own from the zoo, unless you set them)")
        if trainer.threads_asked > trainer.threads:
            print(f"note: --threads {trainer.threads_asked} is more than this machine's "
                  f"{trainer.threads} cores; using {trainer.threads}")  # fmt: skip
        if trainer.unkept:  # a module that can be neither exported nor traced: said now
            print(f"note: {NotKept(trainer.name, trainer.unkept)}")
        print(f"run directory: {trainer.run_dir}", flush=True)

    def epoch(m: dict) -> None:
        print(format_epoch(m), flush=True)

    if args.seeds > 1 and not args.resume:
        return _train_seeds(args, recipe, target, runtime)
    if args.resume:
        # the saved runtime (same device, same resolved options), with the flags given here
        given = {f.name for f in dataclasses.fields(Runtime) if hasattr(args, f.name)}
        changes = {k: getattr(runtime, k) for k in given | {"progress"}}
        epochs = getattr(args, "epochs", None)
        if epochs is not None and epochs != read_run(args.resume).config["recipe"]["epochs"]:
            print(f"resuming with --epochs {epochs}: training goes on to epoch {epochs}")
        bars = [ProgressBar(epoch_lines=False)] if runtime.progress else []  # lines: ours
        bars += _tensorboard(args)
        result = resume(
            args.resume, changes=changes, epochs=epochs, callbacks=bars, on_epoch=epoch,
            on_start=start,
        )  # fmt: skip
    else:
        model = args.model or zoo.DEFAULT_MODEL
        bars = [ProgressBar(epoch_lines=False)] if runtime.progress else []  # lines: ours
        bars += _tensorboard(args)
        result = run(
            model, recipe, target, runtime, data_dir=args.data_dir, callbacks=bars,
            on_epoch=epoch, on_start=start,
        )  # fmt: skip
    if args.dry_run:
        shutil.rmtree(runtime.out, ignore_errors=True)
        print(
            f"dry run OK: 1 epoch on {DRY_RUN_IMAGES} images trained, evaluated, checkpointed "
            f"and reported; nothing kept (drop --dry-run for a real run)"
        )
        return 0
    print(result.verdict.line())
    if (result.run_dir / "report.md").is_file():
        print(f"report: {result.run_dir / 'report.md'}")
    print(f"saved: {result.run_dir}")
    return 1 if args.strict and not result.verdict.passed else 0


def _tensorboard(args: argparse.Namespace) -> list:
    if not args.tensorboard:
        return []
    from ..training.tensorboard import TensorBoardLogger

    return [TensorBoardLogger(args.tensorboard)]


def _sizes(sizes: tuple[int, int, int]) -> str:
    train, test, val = sizes
    return (
        f"{train:,} train / {val:,} val / {test:,} test images"
        if val
        else (f"{train:,} train / {test:,} test images")
    )


def _check_resume_flags(args: argparse.Namespace) -> None:
    """A resumed run keeps its model, data and recipe: refuse flags that would be ignored."""
    given = [
        "--" + f.name.replace("_", "-")
        for cls in (Recipe, Target)
        for f in dataclasses.fields(cls)
        if hasattr(args, f.name) and f.name != "epochs"
    ]
    given += [flag for flag, on in RESUME_REFUSES.items() if on(args)]
    if given:
        raise ConfigError(
            f"--resume continues {args.resume} as it was set up, so {', '.join(given)} would "
            f"not apply (only --epochs and the runtime flags do); start a new run instead"
        )


RESUME_REFUSES = {
    "MODEL": lambda a: a.model is not None,
    "--config": lambda a: a.config is not None,
    "--data-dir": lambda a: a.data_dir is not None,
    "--seeds": lambda a: a.seeds != 1,
    "--stacked": lambda a: a.stacked,
    "--dry-run": lambda a: a.dry_run,
}


def _train_seeds(args: argparse.Namespace, recipe, target, runtime) -> int:  # noqa: ANN001
    from ..api import run
    from ..reports.seeds_summary import save_seeds
    from ..training.callbacks import SeedLines

    seeds = list(range(recipe.seed, recipe.seed + args.seeds))
    how = "one stacked model" if args.stacked else "parallel processes"
    print(
        f"training {args.model or zoo.DEFAULT_MODEL} with seeds {seeds[0]}…{seeds[-1]} in {how}",
        flush=True,
    )
    model = args.model or zoo.DEFAULT_MODEL
    res = run(
        model, recipe, target, runtime, seeds=seeds, stacked=args.stacked, data_dir=args.data_dir,
        callbacks=[SeedLines(), *_tensorboard(args)],  # a line per epoch and seed as it happens
    )  # fmt: skip
    for s, r in zip(res.seeds, res.runs, strict=True):
        print(f"seed {s}: {r.verdict.line()}  ({r.run_dir})")
    print("epoch  test acc mean ± std (min–max) over seeds")
    for e in res.per_epoch():
        print(f"{e['epoch']:>5}  {e['mean']:.2f} ± {e['std']:.2f}  ({e['min']:.2f}–{e['max']:.2f})")
    print(res.line())
    group = save_seeds(res, runtime.out)
    print(f"report: {group / 'report.md'}")
    print(f"saved: {group}")
    return 1 if args.strict and res.passed < res.n else 0


def register(sub: argparse._SubParsersAction) -> None:
    add_train_parser(sub).set_defaults(func=cmd_train)
