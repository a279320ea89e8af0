"""`evaluate`, `report`, `compare`: reading runs back."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import TinyCnnError
from .common import input_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="accuracy, per-class figures, confusion, mistakes",
        description="Evaluate a run directory (its last checkpoint) or a "
        "checkpoint file on the test images the run was scored on (all of them with --all).",
    )
    p.add_argument("path", metavar="RUN_DIR|CHECKPOINT")
    p.add_argument("--json", action="store_true", help="machine-readable JSON")
    p.add_argument(
        "--all", action="store_true", help="all test images, not only the run's --limit-test"
    )
    input_args(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "report",
        help="write report.md (tables and pictures) into a run",
        description="Write RUN_DIR/report.md with the spec, layer table, recipe, "
        "per-epoch log, verdict and pictures (train does this too).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    input_args(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "compare",
        help="one table across runs",
        description="Compare runs: model, params, epochs, best/last accuracies, "
        "epochs at or above the target, verdict, time.",
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--sort", metavar="COL", help="column to sort by (numbers: largest first)")
    p.add_argument(
        "--expand", action="store_true", help="list each run of a seeds group under its row"
    )
    p.add_argument(
        "--wide", action="store_true", help="every column (default: what fits 120 columns)"
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true", help="GitHub Markdown table")
    fmt.add_argument("--json", action="store_true", help="machine-readable JSON")
    p.set_defaults(func=cmd_compare)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..reports import evaluate_run

    if args.all:
        _, ev, _ = evaluate_run(args.path, args.data_dir, limit_test=None)
    else:
        _, ev, _ = evaluate_run(args.path, args.data_dir)
    if args.json:
        print(json.dumps(ev.to_json(), indent=2))
        return 0
    print(
        f"Test set ({ev.images}): Average loss: {ev.loss:.4f}, Accuracy: "
        f"{ev.correct}/{ev.total} ({ev.accuracy:.2f}%)"
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
    from pathlib import Path

    from ..reports import write_report
    from ..reports.seeds_summary import REPORT, SUMMARY

    group = Path(args.run_dir)
    if (group / SUMMARY).is_file():  # a seeds group: its report is written when it finishes
        if (group / REPORT).is_file():
            print(f"{group / REPORT} (a seeds group's report; each seed's run has its own)")
            return 0
        raise TinyCnnError(f"{group}: a seeds group from before group reports; `tinycnn report` "
                           f"each of its runs (seeds.json lists them)")  # fmt: skip

    print(f"wrote {write_report(args.run_dir, args.data_dir)}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from ..reports import compare, render_compare

    rows = compare(args.run_dirs, args.sort, args.expand)
    text = (
        json.dumps(rows, indent=2) if args.json else render_compare(rows, args.markdown, args.wide)
    )
    print(text)
    for r in rows:
        if r.get("error"):
            print(f"note: {r['error']}", file=sys.stderr)
    return 0
