"""tinycnn: design tiny CNNs step by step under hard budgets.

import tinycnn
spec = tinycnn.zoo.get("gap7496")          # or tinycnn.load_spec_file("my.toml")
model = tinycnn.build(spec)                # nn.Module; model.table is its layer table
print(tinycnn.render_text(model.table))
"""

from . import zoo
from .builder import TinyNet, build
from .data import Dataset
from .data import load as load_data
from .errors import TinyCnnError
from .spec import Layer, Spec, load_spec_file
from .summary import render_json, render_markdown, render_text, verify
from .table import Table, layer_table

__version__ = "0.1.0"
__all__ = [
    "Dataset",
    "Layer",
    "Spec",
    "Table",
    "TinyCnnError",
    "TinyNet",
    "build",
    "layer_table",
    "load_data",
    "load_spec_file",
    "render_json",
    "render_markdown",
    "render_text",
    "verify",
    "zoo",
]
