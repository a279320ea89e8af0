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
