"""`train`: flags generated from the config dataclasses, so every field is settable."""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
from typing import Any

from .. import zoo
from ..data import load
from ..errors import ConfigError
from ..ranges import check_value
from ..rules import Target
from ..training.callbacks import ProgressBar, format_epoch
from ..training.config import SECTIONS, Recipe, Runtime, load_config_file, make

DRY_RUN_IMAGES = 512  # train and test images of a --dry-run's one epoch

HELP = {
    "epochs": "epochs to train",
    "batch_size": "images per batch",
    "optimizer": "sgd | adam | adamw",
    "lr": "learning rate (peak LR for onecycle)",
    "momentum": "SGD momentum",
    "nesterov": "Nesterov momentum (SGD)",
    "weight_decay": "L2 weight decay",
    "schedule": "constant | step | onecycle | plateau",
    "pct_start": "onecycle: warm-up fraction",
    "div_factor": "onecycle: start LR = lr/div",
    "final_div_factor": "onecycle: final LR = start/final_div",
    "step_size": "step: epochs between decays",
    "gamma": "step: decay factor",
    "plateau_metric": "plateau: watch test 'loss' or 'acc'",
    "plateau_factor": "plateau: LR factor",
    "plateau_patience": "plateau: epochs to wait",
    "label_smoothing": "cross-entropy label smoothing",
    "ema": "evaluate and keep an average of the weights with this decay per step (0: off)",
    "rotate": "random rotation ±degrees (0 = off)",
    "shift": "random shift, fraction of size",
    "scale": "random zoom 1±scale",
    "erase": "cutout probability",
    "seed": "random seed",
    "limit_train": "use only the first N training images",
    "limit_test": "first N test images",
    "val": "hold out N training images as a validation split (stratified)",
    "val_seed": "seed that draws the validation split (the same for every training seed)",
    "select": "test | val: the split whose accuracy picks best.pt",
    "target": "test accuracy target in percent (e.g. 99.4)",
    "consistent": "target must hold in each of the last K epochs",
    "max_params": "refuse models with more parameters",
    "min_params": "refuse smaller models",
    "max_epochs": "refuse more epochs than this",
    "device": "auto | cpu | cuda",
    "threads": "torch CPU threads (default: all cores)",
    "out": "folder for run directories",
    "progress": "show a progress bar on a terminal",
    "compile": "torch.compile the model",
    "report": "write report.md with pictures at the end",
    "fast_dropout": "CPU: element-wise dropout from drawn drop positions, no mask (same drops)",
    "fast_pool": "CPU: max-pool in channels-last layout (same numbers, faster kernel)",
    "reuse_memory": "CPU: keep freed memory in the process instead of faulting in fresh pages",
    "channels_last": "channels-last memory format; unset (auto): on a GPU only",
    "cudnn_benchmark": "CUDA: let cuDNN time its algorithms for each shape once and keep the best",
    "cuda_graph": "CUDA: replay each SGD training step as one captured graph (same numbers in "
    "meaning, no launch overhead)",
    "bf16": "bfloat16 autocast; unset (auto): on CPUs that compute bf16 natively (AMX or "
    "AVX512-BF16); off on GPUs, where it was no faster over a 15-epoch run",
    "preset": "assignment rules (tinycnn presets): sets the target, checks the rest",
}


def add_train_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        help="train a model and judge it against a target",
        description=f"Train MODEL (zoo name or spec .toml; default {zoo.DEFAULT_MODEL}) on "
        "bundled MNIST or --data-dir. Settings: defaults < a zoo model's own recipe (tinycnn "
        "zoo) < --config FILE < flags. Every run gets a new directory under --out with its "
        "config, metrics, verdict and checkpoints.",
    )
    p.add_argument("model", nargs="?", metavar="MODEL", help="zoo name or spec .toml")
    p.add_argument("--config", metavar="FILE", help="TOML file with [recipe]/[target]/[runtime]")
    p.add_argument("--data-dir", metavar="DIR", help="folder of IDX files (default: bundled)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    p.add_argument("--strict", action="store_true", help="exit 1 when the verdict is FAIL")
    p.add_argument("--quiet", action="store_true", help="no progress bar (epoch lines remain)")
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
        g = p.add_argument_group(section)
        for f in dataclasses.fields(cls):
            flag = "--" + f.name.replace("_", "-")
            auto = f.default is None and "bool" in str(f.type)
            kw: dict[str, Any] = {
                "dest": f.name,
                "default": argparse.SUPPRESS,
                "help": _help(f.name, "auto" if auto else f.default),
            }
            if "bool" in str(f.type):  # --x / --no-x; a None default means "auto"
                kw["action"] = argparse.BooleanOptionalAction
            else:
                kw["type"] = _parse_type(str(f.type))
                kw["metavar"] = f.name.split("_")[-1].upper()
            g.add_argument(flag, **kw)
    return p


def _help(name: str, default: Any) -> str:
    """The flag's text and its default, once (a text that states its default keeps it)."""
    text = HELP.get(name, "")
    if "(default:" in text:
        return text
    return f"{text} (default: {'none' if default is None else default})"


def _parse_type(t: str) -> Any:
    if t.startswith("int"):
        return int
    if t.startswith("float"):
        return float
    return str


def resolve_configs(args: argparse.Namespace) -> tuple[Recipe, Target, Runtime]:
    values: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    if args.config:
        values = load_config_file(args.config)
    if not getattr(args, "resume", None):  # a zoo model's own recipe changes sit under both
        model = getattr(args, "model", None) or zoo.DEFAULT_MODEL
        values["recipe"] = {**zoo.recipe(model), **values["recipe"]}
    for name, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            if hasattr(args, f.name):
                values[name][f.name] = getattr(args, f.name)
    t = values["target"]
    if t.get("preset") is not None and ("target" in t or "consistent" in t):
        raise ConfigError(
            "give either --preset or --target/--consistent: the preset sets the "
            "accuracy target itself"
        )
    if not getattr(args, "resume", None) and "target" not in t and t.get("preset") is None:
        # the data set's own target: MNIST's 99.4 %, another's from its dataset.toml, or none
        t["target"] = load(getattr(args, "data_dir", None)).target
    if args.dry_run:  # a check that everything runs: kept nowhere near real runs
        values["recipe"].update(epochs=1, limit_train=DRY_RUN_IMAGES, limit_test=DRY_RUN_IMAGES)
        values["runtime"]["out"] = tempfile.mkdtemp(prefix="tinycnn-dry-run-")
    if args.quiet or not sys.stderr.isatty():
        values["runtime"]["progress"] = False  # no bar noise in CI logs, pipes or notebooks
    else:
        values["runtime"].setdefault("progress", True)  # a terminal: a bar, unless --no-progress
    return (
        make(Recipe, values["recipe"]),
        make(Target, values["target"]),
        make(Runtime, values["runtime"]),
    )


def cmd_train(args: argparse.Namespace) -> int:
    from ..api import resume, train  # with report.md; matplotlib loads only when training
    from ..training.rundir import read_run

    check_value("seeds", args.seeds)
    if args.resume:
        _check_resume_flags(args)
    recipe, target, runtime = resolve_configs(args)

    def start(trainer) -> None:  # noqa: ANN001
        t = trainer.model.table
        print(
            f"{trainer.spec.name}: {t.total_params:,} params, receptive field "
            f"{t.receptive_field}; {trainer.data.name}: {_sizes(trainer.sizes())}; "
            f"{trainer.device}, "
            f"{trainer.threads} threads; seed "
            f"{trainer.recipe.seed}"
        )
        own = zoo.recipe(args.model or zoo.DEFAULT_MODEL) if not args.resume else {}
        if own:  # say so: these differ from the defaults README describes
            used = ", ".join(f"{k} {getattr(trainer.recipe, k):g}" for k in own)
            print(f"recipe: {used} ({trainer.spec.name}'s own from the zoo, unless you set them)")
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
        result = resume(args.resume, None, epoch, start, changes, epochs, bars)
    else:
        model = args.model or zoo.DEFAULT_MODEL
        bars = [ProgressBar(epoch_lines=False)] if runtime.progress else []  # lines: ours
        result = train(model, recipe, target, runtime, args.data_dir, epoch, start, bars)
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
    from ..api import run_seeds
    from ..reports.seeds import save_seeds

    seeds = list(range(recipe.seed, recipe.seed + args.seeds))
    how = "one stacked model" if args.stacked else "parallel processes"
    print(
        f"training {args.model or zoo.DEFAULT_MODEL} with seeds {seeds[0]}…{seeds[-1]} in {how}",
        flush=True,
    )
    model = args.model or zoo.DEFAULT_MODEL
    res = run_seeds(model, recipe, target, runtime, seeds, args.data_dir, stacked=args.stacked)
    for s, r in zip(res.seeds, res.runs, strict=True):
        print(f"seed {s}: {r.verdict.line()}  ({r.run_dir})")
    print("epoch  test acc mean ± std (min–max) over seeds")
    for e in res.per_epoch():
        print(f"{e['epoch']:>5}  {e['mean']:.2f} ± {e['std']:.2f}  ({e['min']:.2f}–{e['max']:.2f})")
    print(res.line())
    print(f"saved: {save_seeds(res, runtime.out)}")
    return 1 if args.strict and res.passed < res.n else 0


def register(sub: argparse._SubParsersAction) -> None:
    add_train_parser(sub).set_defaults(func=cmd_train)
