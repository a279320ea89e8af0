"""tinycnn: design tiny CNNs step by step under hard budgets.

import tinycnn
spec = tinycnn.zoo.get("gap7496")          # or tinycnn.load_spec_file("my.toml")
model = tinycnn.build(spec)                # nn.Module; model.table is its layer table
tinycnn.summary(model)                     # its layer table (any nn.Module: input_size=(1, 28, 28))
result = tinycnn.train(spec, tinycnn.Recipe(epochs=15))   # a run directory with report.md
"""

from . import zoo
from .builder import TinyNet, build
from .data import Dataset
from .data import load as load_data
from .describe import check, summary
from .errors import TinyCnnError
from .render import render_json, render_markdown, render_text, verify
from .spec import Layer, Spec, load_spec_file
from .table import Table, layer_table

__version__ = "0.1.0"
# train, resume, run_seeds (tinycnn.api, which writes reports) and the settings load on first
# use, so that `import tinycnn` and the CLI's quick commands do not import matplotlib
_LAZY = {
    "train": "api",
    "resume": "api",
    "run_seeds": "api",
    "Recipe": "training",
    "Runtime": "training",
    "Target": "training",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'tinycnn' has no attribute {name!r}")


__all__ = [
    "Recipe",
    "Runtime",
    "Target",
    "Dataset",
    "Layer",
    "Spec",
    "Table",
    "TinyCnnError",
    "TinyNet",
    "build",
    "check",
    "layer_table",
    "load_data",
    "load_spec_file",
    "render_json",
    "render_markdown",
    "render_text",
    "resume",
    "run_seeds",
    "summary",
    "train",
    "verify",
    "zoo",
]
