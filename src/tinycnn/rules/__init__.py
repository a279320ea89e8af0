"""Rules, apart from training: targets, verdicts, budgets and assignment presets.

Everything here is decided from a spec, its layer table and a list of accuracies, so the spec
side (`tinycnn check`, ladders, a search's feasibility test) uses it without importing training.
"""

from .presets import (
    PRESETS,
    Preset,
    features,
    load_preset,
    preset_rules,
    static_conditions,
    with_preset,
)
from .verdict import (
    Condition,
    Target,
    Verdict,
    budget_conditions,
    check_budget,
    check_memory,
    judge,
)

__all__ = [
    "PRESETS",
    "Condition",
    "Preset",
    "Target",
    "Verdict",
    "budget_conditions",
    "check_budget",
    "check_memory",
    "features",
    "judge",
    "load_preset",
    "preset_rules",
    "with_preset",
    "static_conditions",
]
