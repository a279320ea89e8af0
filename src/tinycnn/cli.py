"""The command line: the only module that reads argv or prints. Everything else is library code."""

from __future__ import annotations

import argparse
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
    """Sub-commands whose flags are generated elsewhere register here."""
    add_train_parser(sub).set_defaults(func=cmd_train)


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
