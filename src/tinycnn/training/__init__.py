"""Training: `train()` runs a recipe on a model and keeps everything in a new run directory."""

from .api import format_epoch, resume, train
from .config import Recipe, Runtime, Target
from .loop import RunResult
from .verdict import Verdict, judge

__all__ = [
    "Recipe",
    "RunResult",
    "Runtime",
    "Target",
    "Verdict",
    "format_epoch",
    "judge",
    "resume",
    "train",
]
