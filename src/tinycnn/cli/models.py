"""`summary`, `zoo`, `presets`, `check`: what a model is and whether it fits the rules."""

from __future__ import annotations

import argparse

from .. import zoo
from ..errors import ConfigError
from ..ranges import check_value
from ..render import render_json, render_markdown, render_text
from ..table import layer_table
from .common import input_args, shape_from_data


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "summary",
        help="layer table: shapes, params, receptive fields",
        description="Print the layer table of MODEL (a zoo name or a spec .toml "
        "file), derived from the spec by arithmetic (nothing is allocated; the test suite "
        "checks that arithmetic against every built zoo module).",
    )
    p.add_argument(
        "model", metavar="MODEL",
        help="zoo name (see `tinycnn zoo`), spec .toml, or your module as file.py:NAME",
    )  # fmt: skip
    p.add_argument(
        "--input",
        metavar="CxHxW",
        help="input size, e.g. 3x224x224 (default: the spec's input, else the data's)",
    )
    p.add_argument("--classes", type=int, metavar="N", help='what out = "classes" means here')
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true", help="GitHub Markdown table")
    fmt.add_argument("--json", action="store_true", help="machine-readable JSON")
    input_args(p)
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser(
        "zoo",
        help="list the registered models, or print one as TOML",
        description="List the zoo; with NAME, print its spec as TOML (a starting "
        "point for your own spec file).",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="model to print as a TOML spec")
    p.add_argument(
        "--python", action="store_true",
        help="print NAME as a readable nn.Module class instead (shapes and RF per layer)",
    )  # fmt: skip
    p.set_defaults(func=cmd_zoo)

    p = sub.add_parser("presets", help="list the assignment presets and their rules")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser(
        "check",
        help="check a model against a preset without training",
        description="Check MODEL against a preset's static rules (params, layers, dropout, "
        "epochs); the accuracy rule is checked by `tinycnn train --preset`.",
    )
    p.add_argument("model", metavar="MODEL", help="zoo name, spec .toml or file.py:NAME")
    p.add_argument("--preset", required=True, metavar="NAME|FILE")
    p.add_argument("--epochs", type=int, metavar="N", help="also check the epoch rules")
    p.add_argument(
        "--declare", metavar="FEATURES",
        help="what your module's trace cannot show, e.g. 'gap, dropout=0.069, no-fc'",
    )  # fmt: skip
    input_args(p)
    p.set_defaults(func=cmd_check)


def cmd_summary(args: argparse.Namespace) -> int:
    from ..describe import summary

    if zoo.is_file_model(args.model):  # your own module: traced on the data's input (torch loads)
        from ..nets import from_file

        shape = args.input or shape_from_data(args)[0]
        print(_render(args)(summary(from_file(args.model).fresh(), shape)))
        return 0
    spec = zoo.resolve(args.model)
    if args.input is not None:
        table = summary(spec, args.input, args.classes)
    elif args.data_dir is None and spec.input is not None:
        table = summary(spec, classes=args.classes)  # the input the spec declares
    else:
        shape, classes = shape_from_data(args)
        table = summary(spec, shape, classes if args.classes is None else args.classes)
    print(_render(args)(table))
    return 0


def _render(args: argparse.Namespace):  # noqa: ANN202
    return render_json if args.json else render_markdown if args.markdown else render_text


def cmd_zoo(args: argparse.Namespace) -> int:
    if args.python:
        if not args.name:
            raise ConfigError("--python prints one model: give its NAME, e.g. tinycnn zoo "
                              f"{zoo.DEFAULT_MODEL} --python")  # fmt: skip
        from ..convert import to_python  # torch: builds the modules it prints

        print(to_python(zoo.get(args.name)), end="")
        return 0
    if args.name:  # a file to save and edit: its spec takes the file's name (mine.toml → mine)
        spec = zoo.get(args.name)
        text = spec.to_toml().replace(f'name = "{spec.name}"\n', "", 1)
        print(f"# from the zoo's {spec.name}; the spec is named after this file unless you add "
              f'name = "…"\n{text}', end="")  # fmt: skip
        if zoo.recipe(spec.name):  # a spec file has no recipe: say what to put in a run file
            print(f"# trained by name with: {_recipe_text(spec.name, exact=True)}; a copy "
                  "needs them in --config RUN.toml ([recipe]) or as flags")  # fmt: skip
        return 0
    w = max(len(n) for n in zoo.names())  # the columns line up whatever the longest name
    for name in zoo.names():
        spec = zoo.get(name)
        params = layer_table(spec).total_params
        default = "  (default)" if name == zoo.DEFAULT_MODEL else ""
        print(f"{name:{w}s} {params:>7,} params  {spec.description}{default}")
        print(f"{'':{w}s} {'':>14s}  source: {spec.source}")
        if zoo.recipe(name):
            print(f"{'':{w}s} {'':>14s}  recipe: {_recipe_text(name)} (when trained by name)")
    return 0


def _recipe_text(name: str, exact: bool = False) -> str:
    """`exact`: every digit, for copying (the zoo's numbers were measured with these)."""
    return ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) and not exact else f"{k} = {v}"
                     for k, v in zoo.recipe(name).items())  # fmt: skip


def cmd_presets(args: argparse.Namespace) -> int:
    from ..rules import PRESETS

    for p in PRESETS.values():
        print(f"{p.name:14s} {p.description}")
        print(f"{'':14s} rules: {' · '.join(p.rules())}")
    print("Your own: a .toml file with the same fields (see README), passed as --preset FILE.")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from ..rules import load_preset, static_conditions

    preset = load_preset(args.preset)
    check_value("epochs", args.epochs)
    shape, classes = shape_from_data(args)
    if zoo.is_file_model(args.model):  # judged from its traced table
        from ..nets import from_file

        net = from_file(args.model)
        name, table, spec = net.name, net.table(shape, classes), None
    else:
        spec = zoo.resolve(args.model)
        name, table = spec.name, None
    conds = static_conditions(preset, spec, args.epochs, shape, classes, table, args.declare)
    ok = all(c.ok for c in conds)
    print(
        f"{'PASS' if ok else 'FAIL'}  {name} vs {preset.name}: "
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
