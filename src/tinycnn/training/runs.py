"""Writing run directories: one new directory per run, never overwritten; files written
atomically; the header (config, spec, table, environment) a run holds before its first epoch.
Reading them back is `rundir.py`."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import platform
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from ..data import Dataset
from ..errors import Resumable, TinyCnnError
from ..rules import Target
from ..settings import Recipe, Runtime
from ..spec import Spec
from ..table import Table
from .fast import speed

# what a run directory holds (written here, read back by rundir.py)
CONFIG, METRICS, LR_STEPS = "config.json", "metrics.jsonl", "lr_steps.jsonl"
VERDICT, STATUS, ENV = "verdict.json", "status.json", "env.json"
LAST, BEST = "last.pt", "best.pt"  # checkpoints: everything to resume / the best epoch's model
LOCK = "lock"  # "PID HOST" of the process training in the directory
FILE_MODE = 0o666  # before the umask, as open() creates files


class RunDirError(TinyCnnError):
    """A path that is not a (readable) tinycnn run directory, or a damaged checkpoint."""


class RunWriteError(Resumable):
    """A run file could not be written (disk full, read-only, permissions)."""


class RunLocked(TinyCnnError):
    """Another live process is training in this run directory."""


def _write_error(path: Path, e: OSError) -> RunWriteError:
    why = e.strerror or type(e).__name__
    return RunWriteError(f"{path}: could not write ({why}); free disk space or fix the permissions")


def run_name(model: str, data: Dataset) -> str:
    """A run directory's name: the model's, and the data set's unless it is MNIST."""
    return model if data.is_mnist else f"{model}-{re.sub(r'[^A-Za-z0-9._+-]', '_', data.name)}"


def new_run_dir(root: str | Path, name: str) -> Path:
    """runs/<name>-<YYYYmmdd-HHMMSS>[-N]: created here, so two runs can never share one."""
    root = Path(root)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        root.mkdir(parents=True, exist_ok=True)
        for n in range(1000):
            d = root / (f"{name}-{stamp}" + (f"-{n}" if n else ""))
            try:
                d.mkdir()
                return d
            except FileExistsError:
                continue
    except OSError as e:
        raise _write_error(root, e) from None
    raise RunWriteError(f"{root}: 1,000 runs of {name} this second; wait a second")


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of one; the new file gets the
    permissions of any file the user creates (mkstemp's own are 0600)."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        os.fchmod(fd, FILE_MODE & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise _write_error(path, e) from None
    except BaseException:
        if tmp is not None:
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
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


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


# ----- one live process per run directory ---------------------------------------------------------
def _owner(lock: Path) -> tuple[int, str] | None:
    try:
        pid, host = lock.read_text().split()
        return int(pid), host
    except (OSError, ValueError):
        return None


def alive(pid: int, host: str) -> bool:
    """Is process `pid` on `host` still running? Another host's process is taken as alive."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def lock_owner(d: Path) -> tuple[int, str] | None:
    """The live process holding run directory `d`, or None (no lock, or its process died)."""
    owner = _owner(d / LOCK)
    return owner if owner is not None and alive(*owner) else None


@contextlib.contextmanager
def locked(d: Path) -> Iterator[None]:
    """Hold run directory `d` for this process: a second process (another resume, a second
    train into it) is refused while this one lives; the lock of a dead process is taken over."""
    lock, me = d / LOCK, f"{os.getpid()} {socket.gethostname()}\n"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        except FileExistsError:
            owner = lock_owner(d)
            if owner is not None:
                raise RunLocked(
                    f"{d}: in use by process {owner[0]} on {owner[1]}; wait for it to end or "
                    f"stop it (Ctrl-C keeps its checkpoint), then resume"
                ) from None
            lock.unlink(missing_ok=True)  # stale: its process died without cleaning up
            continue
        except OSError as e:
            raise _write_error(lock, e) from None
        with os.fdopen(fd, "w") as f:
            f.write(me)
        break
    try:
        yield
    finally:
        if _owner(lock) == (os.getpid(), socket.gethostname()):
            lock.unlink(missing_ok=True)


def cpu_model() -> str:
    """The CPU's marketing name (Linux), else the architecture: numbers hold per CPU family."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """What a number depends on besides the code: for run directories and benchmark JSONs."""
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_native_bf16": speed.native_bf16(torch.device("cpu")),  # AMX or AVX512-BF16
        "cpu_count": os.cpu_count(),
    }


def environment(device: torch.device, threads: int, seed: int) -> dict[str, Any]:
    return {
        **machine(),
        "device": str(device),
        "device_name": (
            torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine()
        ),
        "threads": threads,
        "seed": seed,
    }


def write_header(
    run_dir: Path,
    spec: Spec,
    recipe: Recipe,
    target: Target,
    runtime: Runtime,
    data: Dataset,
    data_dir: str | Path | None,
    sizes: tuple[int, int, int],  # train, test, val images used
    table: Table,
    env: dict[str, Any],
) -> None:
    """What a run directory holds before its first epoch: the resolved config and the model."""
    config = {
        "model": spec.to_dict(),
        "recipe": dataclasses.asdict(recipe),
        "target": dataclasses.asdict(target),
        "runtime": dataclasses.asdict(runtime),
        "data": {  # the folder resolved, so the run resumes from any working directory
            "dir": None if data_dir is None else str(Path(data_dir).resolve()),
            "name": data.name,
            "source": data.source,
            "classes": data.classes,
            "class_names": list(data.class_names) if data.class_names else None,
            "input_shape": list(data.input_shape),
            "mean": data.mean,
            "std": data.std,
            "train": sizes[0],
            "test": sizes[1],
            "val": sizes[2],
        },
    }
    write_json(run_dir / CONFIG, config)
    write_text(run_dir / "spec.toml", spec.to_toml())
    write_json(run_dir / "table.json", table.to_json())
    write_json(run_dir / ENV, env)
