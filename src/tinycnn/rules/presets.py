"""Assignment presets: named rule sets, checked on the spec (statically) and after training.

A rule set is data (`Preset`); users write their own as a small TOML file with the same fields.
Architecture rules are read off the expanded spec and its layer table, never off class names:
a GAP is *any* pooling whose window covers the whole remaining map, dropout is any dropout kind.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import tomlfile
from ..defaults import MNIST_CLASSES, MNIST_INPUT
from ..errors import BudgetError, ConfigError
from ..layers import KINDS
from ..ranges import is_number, is_whole
from ..spec import Spec
from ..table import Table, layer_table
from .verdict import Condition, Target

FEATURES = {
    "bn": "batch norm",
    "gap": "global average pool",
    "fc": "fully connected layer",
    "conv1x1": "1×1 conv",
    "dropout": "dropout",
}


COUNTS = ("params_below", "epochs_at_most", "epochs_below", "epochs_exactly", "consistent")


@dataclass(frozen=True)
class Preset:
    name: str
    description: str = ""
    params_below: int | None = None  # params < N
    params_range: tuple[int, int] | None = None  # lo ≤ params ≤ hi
    epochs_at_most: int | None = None
    epochs_below: int | None = None
    epochs_exactly: int | None = None
    target: float | None = 99.4
    consistent: int = 1  # the target must hold in each of the last k epochs
    requires: tuple[str, ...] = ()
    forbids: tuple[str, ...] = ()
    dropout_p: float | None = None  # every dropout layer has exactly this p

    def __post_init__(self) -> None:
        # a preset file is user input: a wrong type is one line naming the field, not a
        # TypeError deep in the rules (`params_below = "lots"`)
        for f in COUNTS:
            v = getattr(self, f)
            if v is not None and not (is_whole(v) and v >= 1):
                raise ConfigError(f"preset {self.name}: {f} = {v!r}; give a whole number ≥ 1")
        r = self.params_range
        if r is not None and not (
            isinstance(r, tuple) and len(r) == 2 and all(map(is_whole, r)) and 0 <= r[0] <= r[1]
        ):
            raise ConfigError(f"preset {self.name}: params_range = {r!r}; give [low, high]")
        for f, hi in (("target", 100), ("dropout_p", 1)):
            v = getattr(self, f)
            if v is not None and not (is_number(v) and 0 <= v <= hi):
                raise ConfigError(f"preset {self.name}: {f} = {v!r}; give a number in 0–{hi}")
        for f in ("requires", "forbids"):
            if not isinstance(getattr(self, f), tuple):
                raise ConfigError(f'preset {self.name}: {f} must be a list, e.g. ["bn", "gap"]')
        for f in (*self.requires, *self.forbids):
            if f not in FEATURES:
                raise ConfigError(
                    f"preset {self.name}: unknown feature {f!r}; use {', '.join(FEATURES)}"
                )

    def rules(self) -> list[str]:
        """Every rule in words, the accuracy rule after the size rules."""
        return self._size_rules() + self._accuracy_rule() + self._design_rules()

    def budget_rules(self) -> list[str]:
        """The rules a model and its training must keep, in words: all but the accuracy."""
        return self._size_rules() + self._design_rules()

    def _accuracy_rule(self) -> list[str]:
        if self.target is None:
            return []
        k = (
            "the last epoch"
            if self.consistent == 1
            else f"each of the last {self.consistent} epochs"
        )
        return [f"test ≥ {self.target}% in {k}"]

    def _design_rules(self) -> list[str]:
        return [
            *(f"must have {FEATURES[f]}" for f in self.requires),
            *(f"no {FEATURES[f]}" for f in self.forbids),
            *([f"dropout exactly {self.dropout_p}"] if self.dropout_p is not None else []),
        ]

    def _size_rules(self) -> list[str]:
        out = []
        if self.params_below is not None:
            out.append(f"< {self.params_below:,} params")
        if self.params_range is not None:
            out.append(f"{self.params_range[0]:,}–{self.params_range[1]:,} params")
        if self.epochs_at_most is not None:
            out.append(f"≤ {self.epochs_at_most} epochs")
        if self.epochs_below is not None:
            out.append(f"< {self.epochs_below} epochs")
        if self.epochs_exactly is not None:
            out.append(f"exactly {self.epochs_exactly} epochs")
        return out


PRESETS = {
    p.name: p
    for p in (
        Preset(
            "under8k",
            "the classic: < 8k params, 15 epochs, 99.4% consistently",
            params_below=8000,
            epochs_at_most=15,
            consistent=3,
        ),
        Preset(
            "under10k",
            "< 10k params, ≤ 15 epochs, 99.4% consistently",
            params_below=10000,
            epochs_at_most=15,
            consistent=3,
        ),
        Preset(
            "under20k-nofc",
            "< 20k params, < 20 epochs, no fully connected layer",
            params_below=20000,
            epochs_below=20,
            forbids=("fc",),
        ),
        Preset(
            "12k-18k",
            "12k–18k params, exactly 19 epochs, BN + GAP + FC + 1×1 + dropout 0.069",
            params_range=(12000, 18000),
            epochs_exactly=19,
            requires=("bn", "gap", "fc", "conv1x1", "dropout"),
            dropout_p=0.069,
        ),
    )
}


def load_preset(name_or_path: str | Path) -> Preset:
    text = str(name_or_path)
    if text in PRESETS:
        return PRESETS[text]
    p = Path(text)
    hint = f"built in: {', '.join(PRESETS)} (or give a preset .toml file)"
    if not p.is_file():
        raise ConfigError(f"unknown preset {text!r}; {hint}")
    d = tomlfile.read(p, "preset file", hint, ConfigError)
    known = {f.name for f in dataclasses.fields(Preset)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(
            f"{p}: unknown preset field {unknown[0]!r}; known: {', '.join(sorted(known))}"
        )
    d.setdefault("name", p.stem)
    return Preset(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def features(table: Table) -> dict[str, bool]:
    """Which preset features the table's layers have, as each layer's kind declares them
    (`layers/`): read off the rows, so a spec's table and a traced module's are judged alike."""
    have = {f for r in table.rows if r.kind in KINDS for f in KINDS[r.kind].features(r)}
    return {f: f in have for f in FEATURES}


def static_conditions(
    preset: Preset,
    spec: Spec | None,
    epochs: int | None = None,
    input_shape: tuple[int, int, int] = MNIST_INPUT,
    classes: int = MNIST_CLASSES,
    table: Table | None = None,
    declared: str | None = None,
) -> list[Condition]:
    """Every rule that can be checked without training; `epochs` checks the epoch rules too.
    Judged from the layer table (`table`, where the caller has it; a spec's or a traced
    module's), so a spec and your own nn.Module are judged alike. A rule the table cannot decide
    (a forward torch.fx could not trace) fails, saying why, unless `declared` says it:
    "gap, dropout=0.069, no-fc" (see `Target.declare`)."""
    if table is None:
        if spec is None:
            raise ValueError("static_conditions needs a spec or a table")
        table = layer_table(spec, input_shape, classes)
    n = table.total_params
    out: list[Condition] = []
    said = parse_declared(declared)

    def add(name: str, ok: bool, text: str) -> None:
        out.append(Condition(name, ok, text))

    if preset.params_below is not None:
        ok = n < preset.params_below
        add("params", ok, f"{n:,} {'<' if ok else '≥'} {preset.params_below:,} params")
    if preset.params_range is not None:
        lo, hi = preset.params_range
        add(
            "params",
            lo <= n <= hi,
            f"{n:,} params {'in' if lo <= n <= hi else 'outside'} {lo:,}–{hi:,}",
        )
    if epochs is not None:
        if preset.epochs_at_most is not None:
            ok = epochs <= preset.epochs_at_most
            add("epochs", ok, f"{epochs} {'≤' if ok else '>'} {preset.epochs_at_most} epochs")
        if preset.epochs_below is not None:
            ok = epochs < preset.epochs_below
            add("epochs", ok, f"{epochs} {'<' if ok else '≥'} {preset.epochs_below} epochs")
        if preset.epochs_exactly is not None:
            ok = epochs == preset.epochs_exactly
            add("epochs", ok, f"{epochs} {'=' if ok else '≠'} {preset.epochs_exactly} epochs")
    have = features(table)
    for f, wanted in [*((f, True) for f in preset.requires), *((f, False) for f in preset.forbids)]:
        if f in said:  # the user's word, marked as such
            has = said[f] is not False
            add(f, has == wanted, f"{'has' if has else 'no'} {FEATURES[f]} (declared)")
        elif table.undecided and not have[f]:  # absent from the rows, which may miss it
            add(f, False, f"{FEATURES[f]} not decided: {table.undecided}; say it with "
                          f"--declare {f if wanted else 'no-' + f}")  # fmt: skip
        else:
            add(f, have[f] == wanted, f"{'has' if have[f] else 'no'} {FEATURES[f]}")
    if preset.dropout_p is not None:
        ps = sorted({r.p for r in table.rows if r.kind == "dropout" and r.p is not None})
        text = ""
        if isinstance(said.get("dropout"), float):
            ps, text = [said["dropout"]], " (declared)"
        ok = ps == [preset.dropout_p]
        shown = ", ".join(f"{p:g}" for p in ps) or "none"
        add("dropout_p", ok, f"dropout p {shown} {'=' if ok else '≠'} {preset.dropout_p:g}{text}")
    return out


def parse_declared(text: str | None) -> dict[str, bool | float]:
    """ "gap, dropout=0.069, no-fc" → {"gap": True, "dropout": 0.069, "fc": False}."""
    out: dict[str, bool | float] = {}
    for part in (text or "").replace(" ", "").split(","):
        if not part:
            continue
        name, _, value = part.partition("=")
        absent = name.startswith("no-")
        name = name.removeprefix("no-")
        if name not in FEATURES:
            raise ConfigError(
                f"declared {part!r}: use features of {', '.join(FEATURES)}, 'no-FEATURE', or "
                f"dropout=P"
            )
        try:
            out[name] = float(value) if value else not absent
        except ValueError:
            raise ConfigError(
                f"declared {part!r}: P must be a number, e.g. dropout=0.069"
            ) from None
    return out


def as_dict(preset: Preset) -> dict[str, Any]:
    return {**dataclasses.asdict(preset), "rules": preset.rules()}


def preset_rules(
    name: str, table: Table, epochs: int, target: Target
) -> tuple[Target, list[Condition]]:
    """A run's target with its preset applied: the preset's accuracy rule becomes the target,
    and its other rules are checked now, before training (a broken one is a BudgetError)."""
    if target.preset is None:
        return target, []
    p = load_preset(target.preset)
    rules = static_conditions(p, None, epochs, table=table, declared=target.declare)
    broken = [c.text for c in rules if not c.ok]
    if broken:
        raise BudgetError(
            f"{name} breaks preset {p.name}: {'; '.join(broken)}; "
            f"change the model or recipe (tinycnn presets lists the rules)"
        )
    return with_preset(target), rules


def with_preset(target: Target) -> Target:
    """The target a preset stands for: its accuracy and its "consistently" (last k epochs)."""
    if target.preset is None:
        return target
    p = load_preset(target.preset)
    return dataclasses.replace(target, target=p.target, consistent=p.consistent)
