"""The Analysis cell of a ladder step, derived from its numbers by the explicit rules below.

Every rule reads `StepStats` (and the previous step's) and returns one sentence, or None when it
has nothing to say. Thresholds are named constants, in percentage points (pp) of test accuracy.

0. learning   — test accuracy near chance: the network is not learning (LR, init, data), and
                nothing else is said about it (no over-fitting, no next concept).
1. fit        — train vs test accuracy: over-fitting, or regularised below test, or in agreement.
2. stability  — spread of the mean test accuracy over the last k epochs.
3. target     — from which epoch the target held to the end, or where it was only touched.
4. change     — the last-k minimum against the previous step, and whether the change is larger
                than the seed-to-seed spread.
5. next       — the usual next concept: batch norm → dropout → augmentation → LR schedule.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

OVERFIT_GAP = 0.3  # best train − best test above this: over-fitting
UNDERFIT_GAP = -0.1  # train below test by more than this: regularisation bites on train
STABLE_RANGE = 0.1  # last-k epochs within this: stable
UNSTABLE_RANGE = 0.25  # last-k epochs swinging more than this: unstable
MIN_WINDOW = 3  # epochs the stability rule looks at, at least
NOISE_FACTOR = 2.0  # a change counts when it exceeds this many seed standard deviations
NOT_LEARNING = 2.0  # best test below this many times chance (100/classes %): not learning
CONCEPTS = ("bn", "dropout", "augmentation", "schedule")  # the published order
CONCEPT_NAMES = {
    "bn": "batch norm",
    "dropout": "dropout",
    "augmentation": "augmentation (small random rotations)",
    "schedule": "an LR schedule",
}


@dataclass(frozen=True)
class StepStats:
    params: int
    train_acc: list[list[float]]  # per seed, per epoch
    test_acc: list[list[float]]
    target: float | None
    k: int  # "consistently": the last k epochs
    concepts: frozenset[str]  # which of CONCEPTS the step uses
    seconds: float = 0.0
    classes: int = 10

    @property
    def chance(self) -> float:
        return 100 / self.classes

    @property
    def learning(self) -> bool:
        return self.best_test >= NOT_LEARNING * self.chance

    @property
    def seeds(self) -> int:
        return len(self.test_acc)

    @property
    def mean_curve(self) -> list[float]:
        return [statistics.fmean(col) for col in zip(*self.test_acc, strict=False)]

    @property
    def best_train(self) -> float:
        return statistics.fmean(max(s) for s in self.train_acc)

    @property
    def best_test(self) -> float:
        return statistics.fmean(max(s) for s in self.test_acc)

    @property
    def last_k_mins(self) -> list[float]:
        return [min(s[-self.k :]) for s in self.test_acc]

    @property
    def last_k_min(self) -> float:
        return statistics.fmean(self.last_k_mins)

    @property
    def seeds_met(self) -> int:
        """Seeds whose own last k epochs are all at or above the target."""
        return 0 if self.target is None else sum(m >= self.target for m in self.last_k_mins)

    @property
    def spread(self) -> float:
        """Seed-to-seed standard deviation of the last-k minimum (0 with one seed)."""
        return statistics.stdev(self.last_k_mins) if self.seeds > 1 else 0.0

    @property
    def held_from(self) -> int | None:
        """First epoch from which the mean test accuracy stays ≥ target to the end."""
        if self.target is None:
            return None
        curve, start = self.mean_curve, None
        for e, a in enumerate(curve, 1):
            start = (start or e) if a >= self.target else None
        return start

    @property
    def mean_held(self) -> bool:
        """The mean curve stays ≥ target over the last k epochs (not the rule: see `met`)."""
        held = self.held_from
        return held is not None and held <= len(self.mean_curve) - self.k + 1

    @property
    def met(self) -> bool:
        """The target is met when every seed met it: "consistently" asks it of each run, and a
        mean can hold while one seed misses."""
        return self.target is not None and self.seeds_met == self.seeds


def fit(s: StepStats) -> str:
    gap = s.best_train - s.best_test
    nums = f"best train {s.best_train:.2f}% vs test {s.best_test:.2f}%"
    if gap > OVERFIT_GAP:
        return f"Over-fitting: {nums} (gap {gap:.2f} pp)."
    if gap < UNDERFIT_GAP:
        return (
            f"Train below test ({nums}): regularisation makes training harder than the test; "
            f"no over-fitting, so capacity or epochs could rise."
        )
    return f"No over-fitting: {nums}."


def stability(s: StepStats) -> str:
    n = max(s.k, MIN_WINDOW)  # a preset judged on its last epoch alone still has an end to see
    last = s.mean_curve[-n:]
    r = max(last) - min(last)
    if r <= STABLE_RANGE:
        return f"Stable: the last {n} epochs stay within {r:.2f} pp."
    if r > UNSTABLE_RANGE:
        return (
            f"Unstable: the last {n} epochs swing by {r:.2f} pp; a decaying LR schedule "
            f"steadies the end."
        )
    return f"The last {n} epochs vary by {r:.2f} pp."


def target(s: StepStats) -> str | None:
    if s.target is None:
        return None
    if s.met:
        return (
            f"Target {s.target:g}% met by every seed ({s.seeds_met}/{s.seeds}); the mean held "
            f"it from epoch {s.held_from} on."
        )
    if s.mean_held:
        return (
            f"The mean held the target {s.target:g}% from epoch {s.held_from}, but only "
            f"{s.seeds_met}/{s.seeds} seeds met it: not yet consistent."
        )
    hits = [e for e, a in enumerate(s.mean_curve, 1) if a >= s.target]
    if hits:
        return (
            f"Target {s.target:g}% reached in epoch{'s' if len(hits) > 1 else ''} "
            f"{', '.join(map(str, hits))} but not held for the last {s.k}."
        )
    peak = max(s.mean_curve)
    return (
        f"Target {s.target:g}% not reached: the mean test accuracy peaked at {peak:.2f}%, "
        f"{s.target - peak:.2f} pp short."
    )


def change(s: StepStats, prev: StepStats | None) -> str | None:
    if prev is None:
        return None
    d = s.last_k_min - prev.last_k_min
    head = f"{d:+.2f} pp on the last-{s.k} minimum vs the previous step"
    if s.seeds < 2 or prev.seeds < 2:
        return f"{head} (one seed: use --seeds to tell an effect from noise)."
    spread = max(s.spread, prev.spread)
    if abs(d) > NOISE_FACTOR * spread:
        return f"{head}, beyond the seed-to-seed spread ({spread:.2f})."
    return f"{head}, within the seed-to-seed spread ({spread:.2f}): not a clear effect."


def next_step(s: StepStats) -> str:
    if s.met:
        return "Next: the target is met; try fewer parameters or fewer epochs."
    missing = [c for c in CONCEPTS if c not in s.concepts]
    if s.best_train - s.best_test > OVERFIT_GAP:
        for c in ("dropout", "augmentation"):
            if c in missing:
                return f"Next: {CONCEPT_NAMES[c]}, against the over-fitting."
    if missing:
        return f"Next: {CONCEPT_NAMES[missing[0]]}."
    return (
        "Next: all four concepts are in; revisit the architecture (receptive field at the "
        "pool, where the parameters sit, GAP before the head)."
    )


def not_learning(s: StepStats) -> str:
    return (
        f"Not learning: the best test accuracy is {s.best_test:.2f}% (train {s.best_train:.2f}%), "
        f"near chance ({s.chance:.0f}% for {s.classes} classes). Check the LR (too high or "
        f"too low), the initialisation and the data (labels, normalisation) before adding "
        f"any concept."
    )


def analyse(s: StepStats, prev: StepStats | None) -> list[str]:
    if not s.learning:  # over-fitting, stability and next concepts mean nothing here
        return [not_learning(s), *([change(s, prev)] if prev else [])]
    out = [fit(s), stability(s), target(s), change(s, prev), next_step(s)]
    return [x for x in out if x]
