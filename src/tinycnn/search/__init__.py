"""The search for the smallest network that meets a target (Optuna): spaces as data, candidates
as specs, infeasible ones refused before training, trials scored on a validation split.

`run` (and Optuna with it) loads on first use of its names, so listing the shipped spaces for
`tinycnn search --help` does not import Optuna."""

from typing import Any

from .config import SearchConfig
from .space import Candidate, Space, load_space, shipped

_RUN = ("search", "trial_rows")
__all__ = ["Candidate", "SearchConfig", "Space", "load_space", "search", "shipped", "trial_rows"]


def __getattr__(name: str) -> Any:
    if name in _RUN:
        from . import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
