"""Evaluation, pictures, reports and run comparison, all read back from run directories."""

from .compare import compare, render_compare
from .evaluate import Evaluation, evaluate_run
from .report import write_report
from .rundir import Run, read_run

__all__ = [
    "Evaluation",
    "Run",
    "compare",
    "evaluate_run",
    "read_run",
    "render_compare",
    "write_report",
]
