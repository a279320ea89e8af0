"""What a finished (or stopped) run gives back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..rules import Verdict


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    metrics: list[dict[str, Any]]  # one row per epoch, as metrics.jsonl holds them
    verdict: Verdict
    params: int
    stopped: bool = False  # a callback ended the run before its last epoch
