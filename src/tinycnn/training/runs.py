"""Run directories: one new directory per run, never overwritten; files written atomically."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

# what a run directory holds (written here, read back by rundir.py)
CONFIG, METRICS, LR_STEPS = "config.json", "metrics.jsonl", "lr_steps.jsonl"
VERDICT, STATUS, ENV = "verdict.json", "status.json", "env.json"
LAST, BEST = "last.pt", "best.pt"  # checkpoints: everything to resume / the best epoch's model


def new_run_dir(root: str | Path, name: str) -> Path:
    """runs/<name>-<YYYYmmdd-HHMMSS>[-N]: created here, so two runs can never share one."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        d = root / (f"{name}-{stamp}" + (f"-{n}" if n else ""))
        try:
            d.mkdir()
            return d
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new run directory under {root}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX: readers see the old file or the new one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2) + "\n")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    write_text(path, "".join(json.dumps(r) + "\n" for r in rows))


def write_history(d: Path, metrics: list[dict], lr_steps: list[list[float]]) -> None:
    """metrics.jsonl (one line per epoch) and lr_steps.jsonl (every step's LR, per epoch)."""
    write_jsonl(d / METRICS, metrics)
    write_jsonl(d / LR_STEPS, [{"epoch": i + 1, "lr": v} for i, v in enumerate(lr_steps)])


def save_checkpoint(path: Path, state: dict) -> None:
    import io

    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


def environment(device: torch.device, threads: int, seed: int) -> dict[str, Any]:
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "device": str(device),
        "device_name": (
            torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine()
        ),
        "threads": threads,
        "seed": seed,
    }
