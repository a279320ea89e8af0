"""Training: `train()` runs a recipe on a model and keeps everything in a new run directory."""

from ..rules import Target, Verdict, judge
from ..settings import Recipe, Runtime
from .callbacks import Callback, ProgressBar
from .engine import resume, train
from .loop import Trainer
from .result import RunResult

__all__ = [
    "Callback",
    "ProgressBar",
    "Recipe",
    "RunResult",
    "Runtime",
    "Target",
    "Trainer",
    "Verdict",
    "judge",
    "resume",
    "train",
]
