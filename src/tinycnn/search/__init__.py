"""The search for the smallest network that meets a target (Optuna): spaces as data, candidates
as specs, infeasible ones refused before training, trials scored on a validation split."""

from .run import SearchConfig, search, trial_rows
from .space import Candidate, Space, load_space, shipped

__all__ = ["Candidate", "SearchConfig", "Space", "load_space", "search", "shipped", "trial_rows"]
