"""Reading a run directory back: its config, metrics, verdict and model, with clear errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..builder import TinyNet, build
from ..defaults import MNIST_CLASSES, MNIST_INPUT
from ..spec import Spec
from .runs import (
    CONFIG,
    LAST,
    LOCK,
    LR_STEPS,
    METRICS,
    STATUS,
    VERDICT,
    RunDirError,
    load_checkpoint,
    lock_owner,
)


@dataclass(frozen=True)
class Run:
    path: Path
    config: dict[str, Any]
    metrics: list[dict[str, Any]]
    verdict: dict[str, Any] | None
    status: dict[str, Any]

    @property
    def spec(self) -> Spec:
        return Spec.from_dict(self.config["model"])

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def state(self) -> str:
        """finished | running | interrupted | diverged | failed | died | unknown. "died": the
        status says running but no live process holds the directory (killed, power cut)."""
        state = self.status.get("state", "unknown")
        if state == "running" and (self.path / LOCK).exists() and lock_owner(self.path) is None:
            return "died"
        return state

    @property
    def input(self) -> tuple[tuple[int, int, int], int]:
        """(input shape, classes) the run trained on: its model's shape is built from these."""
        d = self.config.get("data", {})
        shape = tuple(d.get("input_shape", MNIST_INPUT))
        return shape, d.get("classes", MNIST_CLASSES)  # type: ignore[return-value]

    def lr_steps(self) -> list[float]:
        p = self.path / LR_STEPS
        if not p.is_file():
            return []
        return [v for line in p.read_text().splitlines() for v in json.loads(line)["lr"]]


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        why = getattr(e, "strerror", None) or type(e).__name__
        raise RunDirError(f"{path}: unreadable ({why}); check its permissions or rerun") from None


def _json(path: Path) -> Any:
    try:
        return json.loads(_text(path))
    except json.JSONDecodeError as e:
        raise RunDirError(
            f"{path}: corrupt JSON ({e.msg} at line {e.lineno}); the run "
            f"directory is damaged: rerun it or remove it"
        ) from None


def read_run(path: str | Path) -> Run:
    d = Path(path)
    if not d.is_dir():
        raise RunDirError(f"{d}: no such run directory; give a folder that `tinycnn train` made")
    if not (d / CONFIG).is_file():
        raise RunDirError(
            f"{d}: not a tinycnn run directory (no {CONFIG}); give a folder that "
            f"`tinycnn train` made"
        )
    config = _json(d / CONFIG)
    for key in ("model", "recipe", "target"):
        if key not in config:
            raise RunDirError(f"{d / CONFIG}: missing {key!r}; not written by tinycnn train")
    metrics = []
    if (d / METRICS).is_file():
        for i, line in enumerate(_text(d / METRICS).splitlines(), 1):
            try:
                metrics.append(json.loads(line))
            except json.JSONDecodeError:
                raise RunDirError(
                    f"{d / METRICS}: line {i} is not JSON; the run directory is damaged: rerun it"
                ) from None
    verdict = _json(d / VERDICT) if (d / VERDICT).is_file() else None
    status = _json(d / STATUS) if (d / STATUS).is_file() else {"state": "unknown"}
    return Run(d, config, metrics, verdict, status)


def load_model(path: str | Path) -> tuple[Run, TinyNet]:
    """A run directory (its last checkpoint) or a checkpoint file inside one → (run, model)."""
    p = Path(path)
    ckpt = p / LAST if p.is_dir() else p
    run = read_run(p if p.is_dir() else p.parent)
    state = load_checkpoint(ckpt)
    model = build(run.spec, *run.input)
    try:  # a run with Recipe(ema=…) was evaluated with its average of the weights
        model.load_state_dict(state["ema"]["model"] if state.get("ema") else state["model"])
    except (RuntimeError, KeyError, TypeError):
        raise RunDirError(
            f"{ckpt}: its weights do not fit the run's model {run.spec.name}; the file comes "
            f"from another run: use this run's own checkpoint"
        ) from None
    return run, model.eval()
