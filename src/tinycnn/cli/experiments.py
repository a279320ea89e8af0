"""`ladder` and `bench`: experiments that train many runs."""

from __future__ import annotations

import argparse
import json

from .. import zoo
from .common import input_args


def register(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument("--epochs", type=int, metavar="N", help="rehearse: every step N epochs")
    p.add_argument(
        "--limit-train", type=int, metavar="N", help="rehearse: every step N training images"
    )
    p.add_argument(
        "--no-report",
        dest="report",
        action="store_false",
        help="skip each run's report.md (faster)",
    )
    input_args(p)
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
    p.add_argument(
        "--no-fp32",
        dest="fp32",
        action="store_false",
        help="skip the --no-bf16 row (shown where the defaults use bf16)",
    )
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (default: auto)")
    p.add_argument(
        "--stacked",
        type=int,
        default=0,
        metavar="N",
        help="add a row training N seeds at once as one stacked model",
    )
    p.add_argument(
        "--parallel",
        type=int,
        default=0,
        metavar="N",
        help="add a row training N seeds in parallel processes (train --seeds N on a CPU)",
    )
    p.add_argument("--json", metavar="FILE", help="also write the raw results as JSON")
    p.set_defaults(func=cmd_bench)


def cmd_ladder(args: argparse.Namespace) -> int:
    from ..ladder import load_ladder, run_ladder
    from ..training import Runtime

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
    rehearse = {k: v for k, v in (("epochs", args.epochs), ("limit_train", args.limit_train)) if v}
    if rehearse:
        print("rehearsal: " + ", ".join(f"{k} {v:,}" for k, v in rehearse.items()), flush=True)
    d = run_ladder(ladder, runtime, out, args.seeds, args.data_dir, on_step, rehearse or None)
    print(f"wrote {d / 'ladder.md'}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from ..bench import benchmark, render

    result = benchmark(
        args.model,
        args.epochs,
        args.seeds,
        args.fp32,
        args.reference,
        args.threads,
        device=args.device,
        stacked=args.stacked,
        parallel=args.parallel,
    )
    print(render(result))
    if args.json:
        from pathlib import Path

        from ..files import atomic_write_bytes

        atomic_write_bytes(Path(args.json), (json.dumps(result, indent=1) + "\n").encode())
        print(f"wrote {args.json}")
    return 0
