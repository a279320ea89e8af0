"""Step-by-step experiment ladders with multi-seed results and rule-based analysis."""

from .analysis import StepStats, analyse
from .ladder import Ladder, Step, load_ladder, run_ladder

__all__ = ["Ladder", "Step", "StepStats", "analyse", "load_ladder", "run_ladder"]
