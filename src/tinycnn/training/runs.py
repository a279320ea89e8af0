"""A run directory: one class, `RunDir`, makes it, locks it, writes its header, metrics,
status, verdict and checkpoints, removes a run refused before it trained, and reads it all back
(`RunDir.read()` → `Run`, with one-line errors for a foreign or damaged directory).

    runs/<model>-<YYYYmmdd-HHMMSS>/   config.json spec.toml table.json env.json   (the header)
        metrics.jsonl lr_steps.jsonl status.json verdict.json last.pt best.pt lock

Never overwritten (a new directory per run), every file written atomically (`files.py`).
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import nets
from ..builder import build
from ..data import Dataset
from ..defaults import MNIST_CLASSES, MNIST_INPUT
from ..errors import TinyCnnError
from ..files import (  # noqa: F401 - RunWriteError and the writers: a run's file errors
    LOCK,
    RunLocked,
    RunWriteError,
    atomic_write_bytes,
    lock_owner,
    locked,
    new_dir,
    write_json,
    write_jsonl,
    write_text,
)
from ..nets import ModuleNet, Net, SpecNet
from ..settings import Recipe
from ..spec import Spec
from ..table import Row, Table, layer_table
from .fast import speed

# what a run directory holds
CONFIG, METRICS, LR_STEPS = "config.json", "metrics.jsonl", "lr_steps.jsonl"
VERDICT, STATUS, ENV = "verdict.json", "status.json", "env.json"
SPEC, TABLE = "spec.toml", "table.json"
REPORT, EVALUATION = "report.md", "evaluation.json"  # written by reports/ when the run ends
LAST, BEST = "last.pt", "best.pt"  # checkpoints: everything to resume / the best epoch's model


class RunDirError(TinyCnnError):
    """A path that is not a (readable) tinycnn run directory, or a damaged checkpoint."""


def run_name(model: str, data: Dataset) -> str:
    """A run directory's name: the model's, and the data set's unless it is MNIST."""
    return model if data.is_mnist else f"{model}-{re.sub(r'[^A-Za-z0-9._+-]', '_', data.name)}"


class RunDir:
    """One run's directory, and the only code that writes or reads its files."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @classmethod
    def create(cls, root: str | Path, name: str, seed: int | None = None) -> RunDir:
        """A new directory root/<name>-<time>[-s<seed>]: two runs can never share one; a seeds
        group's directories end with their seed."""
        return cls(new_dir(root, name, "" if seed is None else f"s{seed}"))

    def locked(self) -> AbstractContextManager[None]:
        """Held by this process while it trains: a second one is refused."""
        return locked(self.path)

    # ----- writing -------------------------------------------------------------------------
    def write_header(
        self,
        config: dict[str, Any],
        table: Table,
        env: dict[str, Any],
        kept: dict[str, bytes | str],
    ) -> None:
        """What a run directory holds before its first epoch: the resolved config (model,
        recipe, target, runtime, data), the layer table, the machine, and the files that
        rebuild the model (spec.toml; a module's source file or its export)."""
        write_json(self.path / CONFIG, config)
        write_json(self.path / TABLE, table.to_json())
        write_json(self.path / ENV, env)
        for name, content in kept.items():
            data = content.encode() if isinstance(content, str) else content
            atomic_write_bytes(self.path / name, data)

    def write_recipe(self, recipe: Recipe) -> None:
        """A resume that trains more epochs records them."""
        config = self.read().config
        write_json(self.path / CONFIG, {**config, "recipe": dataclasses.asdict(recipe)})

    def set_status(self, state: str, **extra: Any) -> None:
        write_json(self.path / STATUS, {"state": state, **extra})

    def write_verdict(self, verdict: dict[str, Any]) -> None:
        write_json(self.path / VERDICT, verdict)

    def write_history(self, metrics: list[dict], lr_steps: list[list[float]]) -> None:
        """metrics.jsonl (one line per epoch) and lr_steps.jsonl (every step's LR, per epoch)."""
        write_jsonl(self.path / METRICS, metrics)
        lrs = [{"epoch": i + 1, "lr": v} for i, v in enumerate(lr_steps)]
        write_jsonl(self.path / LR_STEPS, lrs)

    def save_checkpoint(self, name: str, state: dict) -> None:
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(self.path / name, buf.getvalue())

    def write_file(self, name: str, text: str) -> Path:
        write_text(self.path / name, text)
        return self.path / name

    def write_data(self, name: str, obj: Any) -> None:
        write_json(self.path / name, obj)

    def discard(self, started: bool = False) -> None:
        """Remove a run that never started training (refused at its start, or a seed that never
        began), or (`started`) one stopped before its first checkpoint: no directory is left
        that looks like a run to resume. One with a checkpoint always stays."""
        if not self.path.is_dir() or (self.path / LAST).exists():
            return
        if (self.path / STATUS).exists() and not started:
            return
        for p in self.path.iterdir():
            if p.is_dir():  # figures/ of a report
                for q in p.iterdir():
                    q.unlink()
                p.rmdir()
            elif p.name != LOCK:
                p.unlink()
        (self.path / LOCK).unlink(missing_ok=True)
        self.path.rmdir()

    # ----- reading -------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    def load_checkpoint(self, name: str = LAST, keys: tuple[str, ...] = ("model",),
                        device: Any = "cpu") -> dict:  # fmt: skip
        return load_checkpoint(self.path / name, keys, device)

    def read(self) -> Run:
        d = self.path
        if not d.is_dir():
            raise RunDirError(
                f"{d}: no such run directory; give a folder that `tinycnn train` made"
            )
        if not (d / CONFIG).is_file():
            raise RunDirError(
                f"{d}: not a tinycnn run directory (no {CONFIG}); give a folder that "
                f"`tinycnn train` made"
            )
        config = _json(d / CONFIG)
        for key in ("model", "recipe", "target"):
            if not isinstance(config, dict) or key not in config:
                raise RunDirError(f"{d / CONFIG}: missing {key!r}; not written by tinycnn train")
        metrics = list(self._jsonl(d / METRICS))
        verdict = _json(d / VERDICT) if (d / VERDICT).is_file() else None
        status = _json(d / STATUS) if (d / STATUS).is_file() else {"state": "unknown"}
        return Run(d, config, metrics, verdict, status)

    def _jsonl(self, path: Path) -> Iterator[dict[str, Any]]:
        if not path.is_file():
            return
        for i, line in enumerate(_text(path).splitlines(), 1):
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                raise RunDirError(
                    f"{path}: line {i} is not JSON; the run directory is damaged: rerun it"
                ) from None


@dataclass(frozen=True)
class Run:
    """A run directory as read back: its config, metrics, verdict and status."""

    path: Path
    config: dict[str, Any]
    metrics: list[dict[str, Any]]
    verdict: dict[str, Any] | None
    status: dict[str, Any]

    @property
    def is_module(self) -> bool:
        """A run of your own nn.Module (not of a spec)."""
        return "module" in self.config["model"]

    @property
    def model_name(self) -> str:
        return str(self.config["model"].get("name", "?"))

    @property
    def spec(self) -> Spec:
        if self.is_module:
            raise RunDirError(
                f"{self.path}: a run of your own module {self.model_name}, which has no spec"
            )
        return Spec.from_dict(self.config["model"], where=str(self.path / CONFIG))

    def table(self) -> Table:
        """The model's layer table: a spec's by arithmetic, a module's as its run traced it."""
        if not self.is_module:
            return layer_table(self.spec, *self.input)
        t = _json(self.path / TABLE)
        rows = tuple(Row(**{**r, "shape": tuple(r["shape"])}) for r in t["layers"])
        outside = t["total_params"] - sum(r.params for r in rows)
        shape, notes = tuple(t["input_shape"]), tuple(t["notes"])
        return Table(t["model"], shape, t["classes"], rows, notes, outside, t.get("undecided", ""))

    def net(self) -> Net:
        """What trains again on a resume: the spec, or the module from its kept source file."""
        if not self.is_module:
            return SpecNet(self.spec)
        record = self.config["model"]
        if not (self.path / nets.SOURCE).is_file():
            raise RunDirError(
                f"{self.path}: {self.model_name} was defined in Python, so its run keeps an "
                f"export for inference only; resume it in Python: tinycnn.resume(run_dir, "
                f"model=YourNet)"
            )
        factory = nets.FileFactory(str(self.path / nets.SOURCE), record["module"]["attr"])
        return ModuleNet(self.model_name, factory, record["module"])

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
        return [v for row in RunDir(self.path)._jsonl(self.path / LR_STEPS) for v in row["lr"]]


def read_run(path: str | Path) -> Run:
    return RunDir(path).read()


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


def load_checkpoint(path: Path, keys: tuple[str, ...] = ("model",), device: Any = "cpu") -> dict:
    """A checkpoint that tinycnn wrote, or a one-line error naming the file. Tensors and plain
    data only (`weights_only`): a foreign file cannot run code when it is loaded."""
    if not path.is_file():
        raise RunDirError(f"{path}: no such checkpoint; the run stopped before its first epoch")
    if path.stat().st_size == 0:
        raise RunDirError(f"{path}: empty checkpoint; it is damaged: rerun the run")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a bad file
        raise RunDirError(
            f"{path}: unreadable checkpoint ({type(e).__name__}); it is truncated, damaged or "
            f"not tinycnn's: use the run's other checkpoint or rerun"
        ) from None
    missing = [k for k in keys if not isinstance(state, dict) or k not in state]
    if missing:
        raise RunDirError(
            f"{path}: not a tinycnn checkpoint (no {missing[0]!r}); use the one in a run "
            f"directory that tinycnn train made"
        )
    return state


def load_model(path: str | Path) -> tuple[Run, nn.Module]:
    """A run directory (its last checkpoint) or a checkpoint file inside one → (run, model)."""
    speed.require_float32()  # the model is rebuilt under the default dtype: float64 would not fit
    p = Path(path)
    if not p.exists():  # named as given, not as its parent
        raise RunDirError(f"{p}: no such run directory or checkpoint; give a folder that "
                          f"`tinycnn train` made")  # fmt: skip
    ckpt = p / LAST if p.is_dir() else p
    run = read_run(p if p.is_dir() else p.parent)
    state = load_checkpoint(ckpt)
    if run.is_module:  # your own module, from the source file or export its run kept
        model = nets.rebuild(run.path, run.config["model"])
    else:
        model = build(run.spec, *run.input)
    try:  # a run with Recipe(ema=…) was evaluated with its average of the weights
        model.load_state_dict(state["ema"]["model"] if state.get("ema") else state["model"])
    except (RuntimeError, KeyError, TypeError):
        raise RunDirError(
            f"{ckpt}: its weights do not fit the run's model {run.model_name}; the file comes "
            f"from another run: use this run's own checkpoint"
        ) from None
    return run, model.eval()
