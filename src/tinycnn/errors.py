"""Errors the user can act on.

Every error tinycnn raises on bad input is a `TinyCnnError` whose message is one line naming the
problem and the fix; the CLI prints it as `error: …` and exits non-zero, without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class TinyCnnError(Exception):
    """Bad input: the message is one line that names the problem and what to do."""


class DataError(TinyCnnError):
    """A dataset file is missing, corrupt, truncated or inconsistent."""


class SpecError(TinyCnnError):
    """An architecture spec is malformed or does not fit its input."""


class ConfigError(TinyCnnError):
    """A recipe/config value or file is invalid."""


class BudgetError(TinyCnnError):
    """A model breaks a budget (params, epochs) before training starts."""


class TrainingDiverged(TinyCnnError):
    """The loss became NaN or infinite."""


class ResumeAt:
    """Where a message tells the user how to resume a run: the wording depends on where they are
    (`tinycnn.resume('runs/x')` in Python, `tinycnn train --resume runs/x` on the command line)."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)

    def how(self, cli: bool) -> str:
        return (
            f"tinycnn train --resume {self.run_dir}"
            if cli
            else f"tinycnn.resume({str(self.run_dir)!r})"
        )


class Resumable(TinyCnnError):
    """An error after which a run can go on. Built from text and `ResumeAt` parts; `str(e)` gives
    the Python advice (notebooks, scripts) and `e.message(cli=True)` the command line's."""

    def __init__(self, *parts: str | ResumeAt):
        self.parts = parts
        super().__init__(self.message(cli=False))

    def __reduce__(self) -> tuple:  # a seed's worker process sends it whole, advice and all
        return (type(self), self.parts)

    def message(self, cli: bool) -> str:
        return "".join(p.how(cli) if isinstance(p, ResumeAt) else p for p in self.parts)

    @property
    def run_dirs(self) -> list[Path]:
        """The runs this error says can be resumed."""
        return [p.run_dir for p in self.parts if isinstance(p, ResumeAt)]


class TrainingInterrupted(Resumable):
    """Ctrl-C during training: a resumable checkpoint was kept."""
