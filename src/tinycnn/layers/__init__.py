"""Layer kinds: one registry, one declared unit per kind; adding a kind is one `register` call.

Each `Kind` says, in one place, everything the rest of tinycnn asks of a layer:
- `fields`: the optional `Layer` fields a spec may give it (anything else is a typo we refuse),
  and `check`, its own validation beyond the checks every layer gets;
- `lower`: how one spec layer becomes resolved primitives (`Prim`), spec-wide defaults applied;
- `shape`: its row of the layer table: output shape, parameters, multiply-adds, and the window
  (k, stride, pad, span) from which jump and receptive field follow;
- `module`: its `nn.Module`, as one model or as S replicas side by side (S seeds at once);
- `traced` / `trace`: which `torch.nn` classes a traced module's table reads as this kind, and how;
- `features`: which preset features (bn, gap, fc, conv1x1, dropout) a row of it has.

`Spec.expand`, `table.layer_table`, the builder, `modtable` and the presets iterate `KINDS`.
`kinds.py` registers the built-in kinds; `registry.py` holds the types. No torch at import:
a factory imports it when a model is built.
"""

from . import kinds  # noqa: F401 - registers the built-in kinds
from .registry import (
    CLASSES,
    KINDS,
    POST_PARTS,
    Cursor,
    Kind,
    Layer,
    Prim,
    Step,
    kind_of,
    lower,
    register,
    traced_kind,
    unregister,
)

__all__ = [
    "CLASSES",
    "KINDS",
    "POST_PARTS",
    "Cursor",
    "Kind",
    "Layer",
    "Prim",
    "Step",
    "kind_of",
    "lower",
    "register",
    "traced_kind",
    "unregister",
]
