"""Where zoo entries live: `register` adds a spec (and the recipe its evidence was measured
with); the rest of tinycnn looks models up by name, file or Spec through `resolve`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import SpecError
from ..spec import Spec, load_spec_file

# the fastest zoo model that meets the classic target most consistently (15/16 seeds against
# gap7496's 11/16: benchmarks/results/default_recipe_*_bf16.json)
DEFAULT_MODEL = "fast7806"
_ZOO: dict[str, Spec] = {}
_RECIPES: dict[str, Mapping[str, Any]] = {}  # a model's changes from the default recipe


def register(spec: Spec, recipe: Mapping[str, Any] | None = None) -> Spec:
    """`recipe`: Recipe fields this model was measured with, where they differ from the
    defaults (checked when a run builds its Recipe)."""
    if spec.name in _ZOO:
        raise ValueError(f"zoo already has a model named {spec.name!r}")
    _ZOO[spec.name] = spec
    _RECIPES[spec.name] = MappingProxyType(dict(recipe or {}))
    return spec


def recipe(model: str | Path | Spec) -> dict[str, Any]:
    """The recipe changes a zoo model is trained with by name; {} for spec files and Specs
    (their recipe is the caller's: a run file or flags)."""
    return dict(_RECIPES.get(model, {})) if isinstance(model, str) else {}


def names() -> list[str]:
    return list(_ZOO)


def get(name: str) -> Spec:
    try:
        return _ZOO[name]
    except KeyError:
        raise SpecError(
            f"unknown model {name!r}; zoo models: {', '.join(_ZOO)} (or give a spec .toml file)"
        ) from None


def is_file_model(text: str) -> bool:
    """`path/to/file.py:NAME`: your own nn.Module, not a spec (nets.py loads it)."""
    path, _, attr = text.rpartition(":")
    return path.endswith(".py") and bool(attr)


def resolve(model: str | Path | Spec) -> Spec:
    """A zoo name, a spec file path, or a Spec → Spec."""
    if isinstance(model, Spec):
        return model
    text = str(model)
    if text in _ZOO:
        return _ZOO[text]
    if text.endswith(".toml") or Path(text).exists():
        return load_spec_file(text)
    return get(text)
