"""`search`: Optuna looks for the smallest network that meets a preset; a line per trial."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from ..errors import ConfigError
from ..search import SearchConfig, shipped  # not Optuna: that loads with the search itself
from .flags import add_flags


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search",
        help="search a space of architectures for ones that meet a preset (Optuna)",
        description="Draw candidates from SPACE (a shipped name, see below, or a .toml file), "
        "refuse the ones that break the preset before training, train the rest at the preset's "
        "full epoch budget with a validation split held out (the test set is not read): the "
        "pruner stops the weak ones after --min-epochs (successive halving), the ones that "
        "finish train --seeds seeds and score as their worst seed. Writes a new directory "
        "under --out: the study (journal.log), trials.jsonl and top1.toml… (spec files "
        "`tinycnn train` takes as they are). Shipped "
        f"spaces: {', '.join(shipped())}. See the study: optuna-dashboard DIR/journal.log",
    )
    p.add_argument("space", nargs="?", metavar="SPACE", help="shipped space name or .toml file")
    add_flags(p, SearchConfig, skip=("space",), suppress=False)
    p.add_argument("--resume", metavar="DIR", help="run more trials of that search's study")
    p.add_argument(
        "--confirm",
        type=int,
        default=0,
        metavar="K",
        help="then retrain the --top best on the whole training split with K seeds each and "
        "judge them on the test set: how many of K met the preset (default: 0, off)",
    )
    p.add_argument(
        "--top",
        type=int,
        default=3,
        metavar="N",
        help="candidates to keep and confirm (default: 3)",
    )
    p.set_defaults(func=cmd_search)


def print_trial(study: Any, trial: Any) -> None:
    """One line per finished trial (runs in the worker that ran it)."""
    a = trial.user_attrs
    params = f"{a['params']:,} params" if "params" in a else ""
    if "rejected" in a:
        line = f"rejected before training: {a['rejected']}"
    elif trial.state.name == "PRUNED":
        accs = a.get("val_acc", [])
        line = (
            f"pruned after epoch {len(accs)} (val {accs[-1]:.2f}%)  {params}" if accs else "pruned"
        )
    elif trial.state.name == "COMPLETE":
        line = f"val {trial.values[0]:.2f}%  {params}  {a.get('seconds', 0):.0f}s"
    else:
        line = f"{trial.state.name.lower()}: {trial.system_attrs.get('fail_reason', '')}"
    print(f"trial {trial.number:>3}  {line}", flush=True)


def cmd_search(args: argparse.Namespace) -> int:
    from ..search import search
    from ..search.report import counts
    from ..search.run import best_value

    if args.space is None and args.resume is None:
        raise ConfigError(f"give a SPACE ({', '.join(shipped())} or a .toml file) or --resume DIR")
    for flag, value, least in (("--confirm", args.confirm, 0), ("--top", args.top, 1)):
        if value < least:  # before the search runs, so a typo costs nothing
            raise ConfigError(f"{flag} {value}: must be ≥ {least}")
    flags = {f.name: getattr(args, f.name) for f in dataclasses.fields(SearchConfig)}
    cfg = SearchConfig(
        **{
            **flags,
            "space": args.space or "course",
            "preset": None if args.preset == "none" else args.preset,
        }
    )
    d = search(cfg, args.resume, print_trial, args.confirm, args.top)
    rows = [json.loads(line) for line in (d / "trials.jsonl").read_text().splitlines()]
    n = counts(rows)
    print(
        f"{len(rows)} trials: {n.get('complete', 0)} complete, {n.get('pruned', 0)} pruned, "
        f"{n.get('rejected', 0)} rejected before training, {n.get('fail', 0)} failed; "
        + (f"best val {best_value(rows):.2f}%" if n.get("complete") else "none completed")
    )
    tops = [t for t in sorted(d.glob("top*.toml")) if not t.name.endswith(".run.toml")]
    confirmed = d / "confirm.json"
    if args.confirm and confirmed.is_file():
        for c in json.loads(confirmed.read_text()):
            print(f"top{c['rank']} (trial {c['trial']}, {c['params']:,} params): {c['passed']}/"
                  f"{c['n']} seeds met {cfg.preset or 'the target'} on the test set; last-3 "
                  f"minimum {c['last_k_min_mean']:.2f} ± {c['last_k_min_std']:.2f}%")  # fmt: skip
    print(
        f"saved: {d / 'search.md'}"
        + (f"  (best: {', '.join(p.name for p in tops)})" if tops else "")
    )
    if rows and not n.get("complete") and n.get("fail"):  # nothing to rank: say so, fail
        print(f"error: no trial completed: all {n['fail']} that trained failed (see "
              f"{d / 'search.md'}); check the space's recipe ranges", file=sys.stderr)  # fmt: skip
        return 1
    return 0
