"""Errors the user can act on.

Every error tinycnn raises on bad input is a `TinyCnnError` whose message is one line naming the
problem and the fix; the CLI prints it as `error: …` and exits non-zero, without a traceback.
"""

from __future__ import annotations


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


class TrainingInterrupted(TinyCnnError):
    """Ctrl-C during training: a resumable checkpoint was kept."""
