"""The command line: the only package that reads argv or prints. Everything else is library code.

Each module registers its sub-commands: `models` (summary, zoo, presets, check), `train`,
`reports` (evaluate, report, compare), `experiments` (ladder, bench), `search` and `deploy`
(predict, export, serve). A command imports what it needs when it runs: the ones that train
nothing answer without importing torch. Flags of settings come from `flags.py`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from ..errors import Resumable, TinyCnnError, TrainingInterrupted
from . import deploy, experiments, models, reports, search, train

Handler = Callable[[argparse.Namespace], int]


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinycnn",
        description="Design tiny CNNs step by step under hard budgets (MNIST bundled).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (models, train, reports, experiments, search, deploy):
        module.register(sub)
    return parser


_stopped_by = [signal.SIGINT]  # the signal that stopped the command, for its exit code


def _stop(signum: int, frame: object) -> None:
    """SIGTERM (kill, a scheduler's time limit) stops a run as Ctrl-C does: checkpoint kept."""
    _stopped_by[0] = signal.Signals(signum)
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    func: Handler = args.func
    return handled(lambda: func(args))


def run_script(script_main: Callable[[], int | None]) -> NoReturn:
    """A benchmark script's entry: its main() with the command's endings (a wrong model or preset,
    Ctrl-C, a closed pipe: one line named after the script, a non-zero exit), never a traceback."""
    sys.exit(handled(script_main, prefix=f"{Path(sys.argv[0]).name}: error"))


def handled(run: Callable[[], int | None], prefix: str = "error") -> int:
    """`run()`'s exit code, or the exit code of what stopped it, told in one line on stderr."""
    signal.signal(signal.SIGTERM, _stop)
    try:
        code = run() or 0
        sys.stdout.flush()  # a pipe's buffered output fails here, inside the try, not at exit
        return code
    except BrokenPipeError:
        # the reader went away (`tinycnn zoo | head`): stop quietly, as Unix tools do, and point
        # stdout at /dev/null so that the interpreter's last flush does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except TrainingInterrupted as e:
        print(f"\n{e.message(cli=True)}", file=sys.stderr)
        return 128 + _stopped_by[0]
    except Resumable as e:
        print(f"{prefix}: {e.message(cli=True)}", file=sys.stderr)
        return 2
    except TinyCnnError as e:
        print(f"{prefix}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 128 + _stopped_by[0]


if __name__ == "__main__":
    sys.exit(main())
