"""Evaluation, pictures, reports and run comparison, all read back from run directories."""

from ..training.runs import Run, read_run
from .compare import compare, render_compare
from .evaluate import Evaluation, evaluate_run
from .report import ReportWriter, write_report

__all__ = [
    "Evaluation",
    "ReportWriter",
    "Run",
    "compare",
    "evaluate_run",
    "read_run",
    "render_compare",
    "write_report",
]
