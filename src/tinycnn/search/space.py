"""Search spaces are data: a TOML file of blocks, a head, spec switches and recipe values, each
fixed or a range to search. Every candidate is an ordinary `Spec` plus recipe changes.

    name = "course"
    [[blocks]]                                    # blocks of 3×3 convs, then a transition
    convs = { int = [1, 3] }                      # an integer range (inclusive)
    channels = { int = [6, 16], step = 2 }
    transition = { choice = ["maxpool", "maxpool+squeeze"] }
    squeeze = { int = [6, 12], step = 2 }         # channels of the 1×1 after the pool
    separable = { choice = [false, true] }        # each 3×3 as depthwise 3×3 + pointwise 1×1
    pad = { choice = [0, 1] }                     # 1 keeps the size: convs at full resolution
    dilation = { choice = [1, 2] }                # a wider window for the same weights
    [head]
    kind = { choice = ["1x1-gap", "gap-fc"] }
    [spec]
    dropout = { choice = [0.0, 0.05] }
    [recipe]
    lr = { float = [0.02, 0.2], log = true }

A value is fixed (`kernel = 3`) or one of `{ int = [lo, hi], step = s }`,
`{ float = [lo, hi], log = true }`, `{ choice = [...] }`. Optuna asks for each as it builds the
candidate, so a squeeze width is only searched where a block's transition squeezes.
A transition is "none", "maxpool", "maxpool+squeeze", or "stride2": the block's last conv steps
by 2 instead of a pool (the same 2× reduction, learned, a quarter of that conv's compute).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from .. import tomlfile
from ..errors import ConfigError
from ..ranges import check_type, check_value, is_number, is_whole
from ..settings import Recipe
from ..spec import Layer, Spec, conv, gap, linear, maxpool

TRANSITIONS = ("none", "maxpool", "maxpool+squeeze", "stride2")
HEADS = ("1x1-gap", "gap-1x1", "gap-fc")  # the classifier: 1×1 conv then GAP, or after it
BLOCK_KEYS = {
    "convs", "channels", "kernel", "transition", "squeeze", "separable", "pad", "dilation",
}  # fmt: skip
# the least each whole-number block key takes (0 convs: the block is only its transition)
INT_LEAST = {"convs": 0, "channels": 1, "kernel": 1, "squeeze": 1, "pad": 0, "dilation": 1}
SPEC_KEYS = {"dropout", "norm", "order", "dropout_kind", "bias"}
# the search itself sets these: trial length, data limits, seeds, the validation split
SEARCH_SETS = {"epochs", "limit_train", "limit_test", "seed", "val", "val_seed", "select"}
# the recipe fields a space may set, with their declared types (`int`, `float`, …)
RECIPE_TYPES = {
    f.name: str(f.type) for f in dataclasses.fields(Recipe) if f.name not in SEARCH_SETS
}
RECIPE_KEYS = set(RECIPE_TYPES)
TOP_KEYS = {"name", "description", "blocks", "head", "spec", "recipe"}


class Trial(Protocol):  # what of an optuna.Trial a space uses
    def suggest_int(self, name: str, low: int, high: int, step: int = 1) -> int: ...
    def suggest_float(self, name: str, low: float, high: float, log: bool = False) -> float: ...
    def suggest_categorical(self, name: str, choices: list[Any]) -> Any: ...


@dataclass(frozen=True)
class Candidate:
    spec: Spec
    recipe: dict[str, Any]  # recipe fields this candidate sets


@dataclass(frozen=True)
class Space:
    name: str
    description: str
    blocks: tuple[dict[str, Any], ...]
    head: dict[str, Any]
    spec: dict[str, Any]
    recipe: dict[str, Any]
    source: str = ""

    def suggest(self, trial: Trial) -> Candidate:
        layers: list[Layer] = []
        ch: int | None = None  # channels so far (None: the image's own)
        for i, block in enumerate(self.blocks, 1):
            n = _ask(trial, f"b{i}.convs", block["convs"])
            width = _ask(trial, f"b{i}.channels", block["channels"])
            k = _ask(trial, f"b{i}.kernel", block.get("kernel", 3))
            separable = _ask(trial, f"b{i}.separable", block.get("separable", False))
            pad = _ask(trial, f"b{i}.pad", block.get("pad", 0))
            dilation = _ask(trial, f"b{i}.dilation", block.get("dilation", 1))
            transition = _ask(trial, f"b{i}.transition", block.get("transition", "none"))
            for j in range(n):
                stride = 2 if transition == "stride2" and j == n - 1 else 1
                window = {"k": k, "pad": pad, "dilation": dilation}
                if separable and ch is not None:  # k×k per channel, then 1×1 across channels
                    depthwise = conv(ch, **window, stride=stride, groups=ch, then=("bn", "relu"))
                    layers += [depthwise, conv(width, k=1)]
                else:
                    layers.append(conv(width, **window, stride=stride))
                ch = width
            if transition.startswith("maxpool"):
                layers.append(maxpool())
            if transition == "maxpool+squeeze":
                squeeze = _ask(trial, f"b{i}.squeeze", block["squeeze"])
                layers.append(conv(squeeze, k=1, then=("bn", "relu")))  # no dropout on 1×1
                ch = squeeze
        head = _ask(trial, "head", self.head.get("kind", "1x1-gap"))
        layers += {
            "1x1-gap": [conv("classes", k=1, then=()), gap()],
            "gap-1x1": [gap(), conv("classes", k=1, then=())],
            "gap-fc": [gap(), linear("classes", then=())],
        }[head]
        switches = {key: _ask(trial, key, value) for key, value in self.spec.items()}
        spec = Spec(f"{self.name}-t{getattr(trial, 'number', 0)}", tuple(layers), **switches)
        recipe = {key: _ask(trial, key, value) for key, value in self.recipe.items()}
        return Candidate(spec, recipe)


def _ask(trial: Trial, name: str, value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "int" in value:
        lo, hi = value["int"]
        return trial.suggest_int(name, lo, hi, step=value.get("step", 1))
    if "float" in value:
        lo, hi = value["float"]
        return trial.suggest_float(name, lo, hi, log=value.get("log", False))
    return trial.suggest_categorical(name, list(value["choice"]))


def _check_value(where: str, value: Any, allowed: tuple[Any, ...] | None = None) -> None:
    """A fixed value, or exactly one of int/float/choice in the right form."""
    if not isinstance(value, dict):
        if allowed is not None and value not in allowed:
            raise ConfigError(f"{where} = {value!r}: use one of {', '.join(map(str, allowed))}")
        if allowed is None:
            _setting(where, value)
        return
    kinds = [k for k in ("int", "float", "choice") if k in value]
    extra = set(value) - {"int", "float", "choice", "step", "log"}
    if len(kinds) != 1 or extra:
        raise ConfigError(
            f"{where}: give a value, or a table with one of int = [lo, hi], float = [lo, hi] "
            f"or choice = [...] (with step = or log = ); got {value!r}"
        )
    if kinds[0] == "choice":
        choices = value["choice"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}: choice must be a non-empty list")
        for c in choices:
            _check_value(where, c, allowed)
            if allowed is None and not isinstance(c, dict):
                _setting(where, c)
        return
    if kinds[0] == "float" and _recipe_type(where) == "int":  # trials would draw 2.7 epochs
        raise ConfigError(f"{where}: a whole number; use int = [lo, hi], not float")
    pair = value[kinds[0]]
    numbers = isinstance(pair, list) and all(map(is_number, pair))
    ok = numbers and len(pair) == 2 and pair[0] <= pair[1]
    if not ok or (kinds[0] == "int" and not all(map(is_whole, pair))):
        raise ConfigError(f"{where}: {kinds[0]} must be [lo, hi] with lo ≤ hi, got {pair!r}")
    step, log = value.get("step", 1), value.get("log", False)
    if not is_number(step) or step <= 0 or (kinds[0] == "int" and not is_whole(step)):
        raise ConfigError(f"{where}: step = {step!r} must be a positive {kinds[0]}")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: log = {log!r} must be true or false")
    if log and pair[0] <= 0:
        raise ConfigError(f"{where}: a log range must start above 0, got {pair!r}")
    if allowed is None:  # a recipe field: both ends must be values the field takes
        for v in pair:
            _setting(where, v)


def _check_ints(where: str, value: Any, least: int) -> None:
    """A block's counts and sizes: whole numbers from `least` up, fixed or at each end/choice."""
    if isinstance(value, dict):
        for v in value.get("int", value.get("choice", value.get("float", []))):
            _check_ints(where, v, least)
        if "float" in value:
            raise ConfigError(f"{where}: a whole number; use int = [lo, hi], not float")
        return
    if not is_whole(value) or value < least:
        raise ConfigError(f"{where} = {value!r}: give a whole number ≥ {least}")


def _recipe_type(where: str) -> str | None:
    """The declared type of the recipe field at `where` (None outside [recipe]); unknown keys
    were refused before."""
    in_recipe = where.split(": ")[-1].startswith("recipe.")
    return RECIPE_TYPES[where.rsplit(".", 1)[-1]] if in_recipe else None


def _setting(where: str, v: Any) -> None:
    """A recipe value checked against the field's own declared type and range (settings)."""
    want = _recipe_type(where)
    if want is not None:
        name = where.rsplit(".", 1)[-1]
        try:
            check_type(name, v, want)
            check_value(name, v)
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None


def from_dict(d: dict[str, Any], where: str) -> Space:
    """A space from its TOML data; every wrong key or value is named with its place."""
    unknown = sorted(set(d) - TOP_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(TOP_KEYS))}"
        )
    blocks = d.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        raise ConfigError(f"{where}: give at least one [[blocks]] table")
    for i, block in enumerate(blocks, 1):
        at = f"{where}: blocks[{i}]"
        if not isinstance(block, dict):
            raise ConfigError(f"{at} = {block!r}: each block is a [[blocks]] table of its keys")
        bad = sorted(set(block) - BLOCK_KEYS)
        if bad:
            raise ConfigError(
                f"{at}: unknown key {bad[0]!r}; known: {', '.join(sorted(BLOCK_KEYS))}"
            )
        for key in ("convs", "channels"):
            if key not in block:
                raise ConfigError(f"{at}: {key} is missing")
        for key, value in block.items():
            _check_value(f"{at}.{key}", value, TRANSITIONS if key == "transition" else None)
            if key in INT_LEAST:
                _check_ints(f"{at}.{key}", value, INT_LEAST[key])
        if "squeeze" in str(block.get("transition", "")) and "squeeze" not in block:
            raise ConfigError(f"{at}: a transition that squeezes needs squeeze = (its channels)")
    for section, keys in (("head", {"kind"}), ("spec", SPEC_KEYS), ("recipe", RECIPE_KEYS)):
        table = d.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(
                f"{where}: {section} = {table!r}: give a [{section}] table of "
                f"{', '.join(sorted(keys))}"
            )
        bad = sorted(set(table) - keys)
        if bad:
            raise ConfigError(
                f"{where}: [{section}] has unknown key {bad[0]!r}; known: {', '.join(sorted(keys))}"
            )
        for key, value in table.items():
            _check_value(f"{where}: {section}.{key}", value, HEADS if section == "head" else None)
    return Space(
        name=str(d.get("name", Path(where).stem)),
        description=str(d.get("description", "")),
        blocks=tuple(blocks),
        head=d.get("head", {}),
        spec=d.get("spec", {}),
        recipe=d.get("recipe", {}),
        source=where,
    )


def shipped() -> dict[str, Path]:
    """The spaces that come with tinycnn, by name."""
    folder = Path(str(resources.files("tinycnn") / "search" / "spaces"))
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def load_space(name_or_path: str | Path) -> Space:
    p = shipped().get(str(name_or_path), Path(name_or_path))
    hint = f"shipped: {', '.join(shipped())} (or give a space .toml file)"
    return from_dict(tomlfile.read(p, "search space file", hint, ConfigError), str(p))
