"""The command line: the only module that reads argv or prints. Everything else is library code."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from . import zoo
from .builder import build
from .errors import TinyCnnError, TrainingInterrupted
from .summary import render_json, render_markdown, render_text, verify
from .train_cli import add_train_parser, resolve_configs

Handler = Callable[[argparse.Namespace], int]


def _input_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir", metavar="DIR", help="folder of IDX files (default: the bundled MNIST)"
    )


def _shape_from_data(args: argparse.Namespace) -> tuple[tuple[int, int, int], int]:
    if args.data_dir is None:
        return (1, 28, 28), 10  # bundled MNIST; avoids reading 11 MB just to print a table
    from .data import load

    ds = load(args.data_dir)
    return ds.input_shape, ds.classes


def cmd_summary(args: argparse.Namespace) -> int:
    spec = zoo.resolve(args.model)
    shape, classes = _shape_from_data(args)
    table = verify(build(spec, shape, classes))
    render = render_json if args.json else render_markdown if args.markdown else render_text
    print(render(table))
    return 0


def cmd_zoo(args: argparse.Namespace) -> int:
    if args.name:
        print(zoo.get(args.name).to_toml(), end="")
        return 0
    for name in zoo.names():
        spec = zoo.get(name)
        params = build(spec).table.total_params
        default = "  (default)" if name == zoo.DEFAULT_MODEL else ""
        print(f"{name:10s} {params:>7,} params  {spec.description}{default}")
        print(f"{'':10s} {'':>14s}  source: {spec.source}")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinycnn",
        description="Design tiny CNNs step by step under hard budgets (MNIST bundled).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "summary",
        help="layer table: shapes, params, receptive fields",
        description="Print the layer table of MODEL (a zoo name or a spec .toml "
        "file), derived from the spec and checked against the module.",
    )
    p.add_argument("model", metavar="MODEL", help="zoo name (see `tinycnn zoo`) or spec .toml")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true", help="GitHub Markdown table")
    fmt.add_argument("--json", action="store_true", help="machine-readable JSON")
    _input_args(p)
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser(
        "zoo",
        help="list the registered models, or print one as TOML",
        description="List the zoo; with NAME, print its spec as TOML (a starting "
        "point for your own spec file).",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="model to print as a TOML spec")
    p.set_defaults(func=cmd_zoo)

    _add_more(sub)
    return parser


def _add_more(sub: argparse._SubParsersAction) -> None:
    """Sub-commands whose flags are generated elsewhere, and the report commands."""
    add_train_parser(sub).set_defaults(func=cmd_train)

    p = sub.add_parser(
        "ladder",
        help="run a step-by-step experiment ladder and write ladder.md",
        description="Run the steps of a ladder FILE in order (each changes one thing), skip "
        "steps already finished, and write ladder.md: Target · Results · Analysis per step.",
    )
    p.add_argument("file", metavar="FILE", help="ladder .toml (see examples/ladders/)")
    p.add_argument("--seeds", type=int, metavar="N", help="seeds per step (default: the file's)")
    p.add_argument("--out", metavar="DIR", help="ladder directory (default: runs/ladders/NAME)")
    p.add_argument("--threads", type=int, metavar="N", help="torch CPU threads per process")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument(
        "--no-report",
        dest="report",
        action="store_false",
        help="skip each run's report.md (faster)",
    )
    _input_args(p)
    p.set_defaults(func=cmd_ladder)

    p = sub.add_parser(
        "bench",
        help="time the published pipeline style against tinycnn's (same model and recipe)",
        description="Train MODEL with the reference per-sample pipeline and with tinycnn's, "
        "for the same epochs and seeds, and print s/epoch, images/s, speed-up and accuracy.",
    )
    p.add_argument("model", nargs="?", default=zoo.DEFAULT_MODEL, metavar="MODEL")
    p.add_argument("--epochs", type=int, default=3, metavar="N")
    p.add_argument("--seeds", type=int, default=2, metavar="N")
    p.add_argument("--threads", type=int, metavar="N", help="torch CPU threads")
    p.add_argument(
        "--no-reference",
        dest="reference",
        action="store_false",
        help="skip the slow reference pipeline",
    )
    p.add_argument("--no-bf16", dest="bf16", action="store_false", help="skip the bf16 row")
    p.add_argument("--json", metavar="FILE", help="also write the raw results as JSON")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("presets", help="list the assignment presets and their rules")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser(
        "check",
        help="check a model against a preset without training",
        description="Check MODEL against a preset's static rules (params, layers, dropout, "
        "epochs); the accuracy rule is checked by `tinycnn train --preset`.",
    )
    p.add_argument("model", metavar="MODEL", help="zoo name or spec .toml")
    p.add_argument("--preset", required=True, metavar="NAME|FILE")
    p.add_argument("--epochs", type=int, metavar="N", help="also check the epoch rules")
    _input_args(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "evaluate",
        help="accuracy, per-class figures, confusion, mistakes",
        description="Evaluate a run directory (its last checkpoint) or a "
        "checkpoint file on the test set.",
    )
    p.add_argument("path", metavar="RUN_DIR|CHECKPOINT")
    p.add_argument("--json", action="store_true", help="machine-readable JSON")
    _input_args(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "report",
        help="write report.md (tables and pictures) into a run",
        description="Write RUN_DIR/report.md with the spec, layer table, recipe, "
        "per-epoch log, verdict and pictures (train does this too).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    _input_args(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "compare",
        help="one table across runs",
        description="Compare runs: model, params, epochs, best/last accuracies, "
        "epochs at or above the target, verdict, time.",
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--sort", metavar="COL", help="column to sort by (numbers: largest first)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true", help="GitHub Markdown table")
    fmt.add_argument("--json", action="store_true", help="machine-readable JSON")
    p.set_defaults(func=cmd_compare)


def cmd_ladder(args: argparse.Namespace) -> int:
    from .ladder import load_ladder, run_ladder
    from .training import Runtime

    ladder = load_ladder(args.file)
    out = args.out or f"runs/ladders/{ladder.source.stem}"
    print(
        f"{ladder.title}: {len(ladder.steps)} steps, {args.seeds or ladder.seeds} seed(s) "
        f"each, in {out}",
        flush=True,
    )

    def on_step(step, what: str) -> None:  # noqa: ANN001
        print(f"step {step.index}. {step.title} [{step.change}]: {what}", flush=True)

    runtime = Runtime(device=args.device, threads=args.threads, progress=False, report=args.report)
    d = run_ladder(ladder, runtime, out, args.seeds, args.data_dir, on_step)
    print(f"wrote {d / 'ladder.md'}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import benchmark, render

    result = benchmark(args.model, args.epochs, args.seeds, args.bf16, args.reference, args.threads)
    print(render(result))
    if args.json:
        from pathlib import Path

        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from .presets import PRESETS

    for p in PRESETS.values():
        print(f"{p.name:14s} {p.description}")
        print(f"{'':14s} rules: {' · '.join(p.rules())}")
    print("Your own: a .toml file with the same fields (see README), passed as --preset FILE.")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .presets import load_preset, static_conditions

    preset, spec = load_preset(args.preset), zoo.resolve(args.model)
    shape, classes = _shape_from_data(args)
    conds = static_conditions(preset, spec, args.epochs, shape, classes)
    ok = all(c.ok for c in conds)
    print(
        f"{'PASS' if ok else 'FAIL'}  {spec.name} vs {preset.name}: "
        + " · ".join(c.text if c.ok else f"✗ {c.text}" for c in conds)
    )
    if preset.target is not None:
        print(
            f"      accuracy rule ({_acc_rule(preset)}) is "
            f"checked by: tinycnn train {args.model} --preset {args.preset}"
        )
    return 0 if ok else 1


def _acc_rule(preset) -> str:  # noqa: ANN001
    return next(r for r in preset.rules() if r.startswith("test ≥"))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .reports import evaluate_run

    _, ev, _ = evaluate_run(args.path, args.data_dir)
    if args.json:
        print(json.dumps(ev.to_json(), indent=2))
        return 0
    print(
        f"Test set: Average loss: {ev.loss:.4f}, Accuracy: {ev.correct}/{ev.total} "
        f"({ev.accuracy:.2f}%)"
    )
    print("class  images  precision  recall(accuracy)")
    for c, (p, r, n) in enumerate(zip(ev.precision, ev.recall, ev.support, strict=True)):
        print(f"{c:>5}  {n:>6}  {p:>8.2f}%  {r:>8.2f}%")
    print("confusion matrix (rows: true, columns: predicted)")
    for row in ev.confusion:
        print(" ".join(f"{v:>5}" for v in row))
    print(f"{len(ev.misclassified)} misclassified; most confident mistakes (index true→pred p):")
    for m in ev.misclassified[:10]:
        print(f"  {m['index']:>5}  {m['true']}→{m['pred']}  {m['confidence']:.3f}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .reports import write_report

    print(f"wrote {write_report(args.run_dir, args.data_dir)}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .reports import compare, render_compare

    rows = compare(args.run_dirs, args.sort)
    print(json.dumps(rows, indent=2) if args.json else render_compare(rows, args.markdown))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .training import format_epoch, resume, train

    recipe, target, runtime = resolve_configs(args)

    def start(trainer) -> None:  # noqa: ANN001
        t = trainer.model.table
        print(
            f"{trainer.spec.name}: {t.total_params:,} params, receptive field "
            f"{t.receptive_field}; {len(trainer.train_x):,} train / {len(trainer.test_x):,} "
            f"test images; {trainer.device}, {trainer.threads} threads; seed "
            f"{trainer.recipe.seed}"
        )
        print(f"run directory: {trainer.run_dir}", flush=True)

    def epoch(m: dict) -> None:
        print(format_epoch(m), flush=True)

    if args.seeds > 1 and not args.resume:
        return _train_seeds(args, recipe, target, runtime)
    if args.resume:
        result = resume(args.resume, runtime if _runtime_given(args) else None, epoch, start)
    else:
        model = args.model or zoo.DEFAULT_MODEL
        result = train(model, recipe, target, runtime, args.data_dir, epoch, start)
    print(result.verdict.line())
    if (result.run_dir / "report.md").is_file():
        print(f"report: {result.run_dir / 'report.md'}")
    print(f"saved: {result.run_dir}")
    return 1 if args.strict and not result.verdict.passed else 0


def _train_seeds(args: argparse.Namespace, recipe, target, runtime) -> int:  # noqa: ANN001
    from .training.seeds import run_seeds, save_seeds

    seeds = list(range(recipe.seed, recipe.seed + args.seeds))
    print(
        f"training {args.model or zoo.DEFAULT_MODEL} with seeds {seeds[0]}…{seeds[-1]} in "
        f"parallel processes",
        flush=True,
    )
    res = run_seeds(args.model or zoo.DEFAULT_MODEL, recipe, target, runtime, seeds, args.data_dir)
    for s, r in zip(res.seeds, res.runs, strict=True):
        print(f"seed {s}: {r.verdict.line()}  ({r.run_dir})")
    print("epoch  test acc mean ± std (min–max) over seeds")
    for e in res.per_epoch():
        print(f"{e['epoch']:>5}  {e['mean']:.2f} ± {e['std']:.2f}  ({e['min']:.2f}–{e['max']:.2f})")
    print(res.line())
    print(f"saved: {save_seeds(res, runtime.out)}")
    return 1 if args.strict and res.passed < res.n else 0


def _runtime_given(args: argparse.Namespace) -> bool:
    return any(hasattr(args, f) for f in ("device", "threads", "out", "compile"))


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    func: Handler = args.func
    try:
        return func(args)
    except TrainingInterrupted as e:
        print(f"\n{e}", file=sys.stderr)
        return 130
    except TinyCnnError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
