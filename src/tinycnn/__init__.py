"""tinycnn: design tiny CNNs step by step under hard budgets.

import tinycnn
spec = tinycnn.zoo.get("gap7496")          # or tinycnn.load_spec_file("my.toml")
model = tinycnn.build(spec)                # nn.Module; model.table is its layer table
tinycnn.summary(model)                     # its layer table (any nn.Module: input_size=(1, 28, 28))
result = tinycnn.train(spec, tinycnn.Recipe(epochs=15))   # a run directory with report.md
"""

from . import zoo
from .describe import check, summary
from .errors import TinyCnnError
from .render import render_json, render_markdown, render_text
from .rules import Target
from .settings import Recipe, Runtime
from .spec import Layer, Spec, load_spec_file
from .table import Table, layer_table

__version__ = "0.1.0"
# What needs torch (building, data, training) loads on first use: `import tinycnn` and the CLI's
# commands that train nothing (--help, zoo, presets, summary NAME) answer without importing it.
_LAZY = {
    "build": ("builder", "build"),
    "verify": ("builder", "verify"),
    "TinyNet": ("builder", "TinyNet"),
    "Dataset": ("data", "Dataset"),
    "load_data": ("data", "load"),
    "train": ("api", "train"),
    "resume": ("api", "resume"),
    "run_seeds": ("api", "run_seeds"),
    "run": ("api", "run"),
    "compare": ("reports", "compare"),
    "TensorBoardLogger": ("training.tensorboard", "TensorBoardLogger"),
    "spec_from_module": ("convert", "spec_from_module"),
    "to_python": ("convert", "to_python"),
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'tinycnn' has no attribute {name!r}")


__all__ = [
    "Recipe",
    "Runtime",
    "Target",
    "TensorBoardLogger",
    "Dataset",
    "Layer",
    "Spec",
    "Table",
    "TinyCnnError",
    "TinyNet",
    "build",
    "check",
    "compare",
    "layer_table",
    "load_data",
    "load_spec_file",
    "render_json",
    "render_markdown",
    "render_text",
    "resume",
    "run",
    "run_seeds",
    "spec_from_module",
    "to_python",
    "summary",
    "train",
    "verify",
    "zoo",
]
