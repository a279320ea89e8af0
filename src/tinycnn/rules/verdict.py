"""Targets and verdicts: what counts as success, and every condition of it with its numbers.

`PASS  test ≥ 99.40% in each of the last 3 epochs (99.41, 99.45, 99.53) · 7,496 ≤ 8,000 params ·
15 ≤ 15 epochs`
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import BudgetError, ConfigError
from ..ranges import Range, check_fields, setting, settings
from ..richtext import html_block, html_table
from ..table import Table


@settings
@dataclass(frozen=True)
class Target:
    """What counts as success; checked at the end of the run (and budgets before it starts)."""

    target: float | None = setting(
        99.4, "test accuracy target in percent (e.g. 99.4)",
        Range(0, 100, lo_open=True, why="a test accuracy in percent, e.g. 99.4"),
        default_text="the data set's own: 99.4 for MNIST",
    )  # fmt: skip
    consistent: int = setting(
        3, "target must hold in each of the last K epochs",
        Range(1, why="epochs at the end that must meet the target"),
    )  # fmt: skip
    max_params: int | None = setting(None, "refuse models with more parameters", Range(1))
    min_params: int | None = setting(None, "refuse smaller models", Range(0))
    max_epochs: int | None = setting(None, "refuse more epochs than this", Range(1))
    preset: str | None = setting(
        None, "assignment rules (tinycnn presets): sets the target, checks the rest"
    )
    declare: str | None = setting(
        None, "features of your own module that its trace cannot show, for a preset's rules: "
        "e.g. 'gap, dropout=0.069, no-fc'", unit="FEATURES",
    )  # fmt: skip

    def __post_init__(self) -> None:
        check_fields(self)
        if None not in (self.min_params, self.max_params) and self.min_params > self.max_params:
            raise ConfigError(
                f"min_params = {self.min_params} is above max_params = {self.max_params}: "
                f"no model can meet both; lower min_params or raise max_params"
            )


@dataclass(frozen=True)
class Condition:
    # accuracy, max_params, min_params, max_epochs (a Target's); params, epochs, dropout_p and
    # one per feature, bn, gap, fc, conv1x1, dropout (a preset's)
    name: str
    ok: bool
    text: str


@dataclass(frozen=True)
class Verdict:
    conditions: tuple[Condition, ...]

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.conditions)

    @property
    def failed(self) -> list[Condition]:
        return [c for c in self.conditions if not c.ok]

    def line(self) -> str:
        head = "PASS" if self.passed else "FAIL"
        body = " · ".join(c.text if c.ok else f"✗ {c.text}" for c in self.conditions)
        if not body:  # nothing to judge: the numbers speak for themselves
            return "NO TARGET  (results only; set one with --target N or --preset NAME)"
        return f"{head}  {body}"

    def __repr__(self) -> str:
        return f"Verdict({self.line()})"

    def _repr_html_(self) -> str:
        rows = [["✓" if c.ok else "✗", c.name, c.text] for c in self.conditions]
        if not rows:
            return html_block(self.line())
        head = "PASS" if self.passed else "FAIL"
        return html_block(head, html_table(["", "rule", "measured"], rows))

    def to_json(self) -> dict:
        return {
            "passed": self.passed,
            "line": self.line(),
            "conditions": [c.__dict__ for c in self.conditions],
        }


def budget_conditions(t: Target, params: int, epochs: int) -> list[Condition]:
    """Conditions known before training: parameters and epochs."""
    out = []
    if t.max_params is not None:
        ok = params <= t.max_params
        out.append(
            Condition("max_params", ok, f"{params:,} {'≤' if ok else '>'} {t.max_params:,} params")
        )
    if t.min_params is not None:
        ok = params >= t.min_params
        out.append(
            Condition("min_params", ok, f"{params:,} {'≥' if ok else '<'} {t.min_params:,} params")
        )
    if t.max_epochs is not None:
        ok = epochs <= t.max_epochs
        out.append(
            Condition("max_epochs", ok, f"{epochs} {'≤' if ok else '>'} {t.max_epochs} epochs")
        )
    return out


def check_budget(t: Target, model: str, params: int, epochs: int) -> None:
    """Refuse a run that breaks a budget before spending time on it."""
    for c in budget_conditions(t, params, epochs):
        if not c.ok:
            fix = {
                "max_params": "shrink the spec (tinycnn summary shows where the params are) "
                "or raise --max-params",
                "min_params": "widen the spec (more channels or layers) or lower --min-params",
                "max_epochs": "lower --epochs or raise --max-epochs",
            }[c.name]
            raise BudgetError(f"{model}: {c.text}, breaking the budget; {fix}")


# Memory per parameter while training: fp32 weights, gradients, momentum and a checkpoint copy.
BYTES_PER_PARAM = 4 * 4
ACTIVATION_COPIES = 3  # forward outputs, kept for backward, and their gradients (and slack)


def memory_needed(table: Table, batch: int, replicas: int = 1) -> int:
    """Bytes that training `table`'s model needs at this batch size, roughly (a lower bound)."""
    return (
        BYTES_PER_PARAM * table.total_params * replicas
        + ACTIVATION_COPIES * table.activation_bytes * batch
    )


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX: no check
        return None


def check_memory(model: str, table: Table, batch: int, replicas: int = 1) -> None:
    """Refuse a model that cannot fit this machine's memory, before allocating it."""
    need, have = memory_needed(table, batch, replicas), physical_memory()
    if have is not None and need > have:
        raise BudgetError(
            f"{model}: training needs about {need / 2**30:,.1f} GiB ({table.total_params:,} "
            f"params, batch {batch}) but this machine has {have / 2**30:,.1f} GiB; shrink the "
            f"spec (tinycnn summary shows where the params are) or lower --batch-size"
        )


def judge(
    t: Target, test_acc: list[float], params: int, epochs: int, extra: list[Condition] | None = None
) -> Verdict:
    """test_acc: per-epoch test accuracy in percent, in order; extra: e.g. a preset's rules."""
    conds = []
    if t.target is not None:
        k = t.consistent
        last = test_acc[-k:]
        ok = len(last) == k and all(a >= t.target for a in last)
        nums = ", ".join(f"{a:.2f}" for a in last)
        scope = "in the last epoch" if k == 1 else f"in each of the last {k} epochs"
        ran = len(last)
        short = "" if ran == k else f", only {ran} epoch{'s' * (ran != 1)} ran"
        conds.append(Condition("accuracy", ok, f"test ≥ {t.target:.2f}% {scope} ({nums}{short})"))
    conds += budget_conditions(t, params, epochs)
    return Verdict(tuple(conds + (extra or [])))
