"""Files that are never half-written, and directories that are never shared.

Every file tinycnn writes (a run's, a search's, a ladder's, a report's) goes through
`atomic_write_bytes`: readers see the old file or the new one, never half of one, and a full
disk is one line (`RunWriteError`) with the file named. `new_dir` makes a fresh timestamped
directory that no other run can have; `locked` holds a directory for one live process.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import Resumable, TinyCnnError

FILE_MODE = 0o666  # before the umask, as open() creates files
LOCK = "lock"  # "PID HOST" of the process working in the directory


class RunWriteError(Resumable):
    """A run file could not be written (disk full, read-only, permissions)."""


class RunLocked(TinyCnnError):
    """Another live process is training in this run directory."""


def write_error(path: Path, e: OSError) -> RunWriteError:
    why = e.strerror or type(e).__name__
    return RunWriteError(f"{path}: could not write ({why}); free disk space or fix the permissions")


def new_dir(root: str | Path, name: str, suffix: str = "") -> Path:
    """root/<name>-<YYYYmmdd-HHMMSS>[-suffix][-N]: created here, so two runs can never share
    one (`suffix`: a seed's, e.g. "s3", so a group's directories say which seed is which)."""
    root = Path(root)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        root.mkdir(parents=True, exist_ok=True)
        for n in range(1000):
            d = root / (
                f"{name}-{stamp}" + (f"-{suffix}" if suffix else "") + (f"-{n}" if n else "")
            )
            try:
                d.mkdir()
                return d
            except FileExistsError:
                continue
    except OSError as e:
        raise write_error(root, e) from None
    raise RunWriteError(f"{root}: 1,000 runs of {name} this second; wait a second")


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def ready_to_write(path: Path) -> Path:
    """Before minutes of work whose result goes to `path`: make its folder now, and fail now, in
    one line, where no file can be written there, not after the work."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise write_error(path.parent, e) from None
    if not os.access(path.parent, os.W_OK):
        raise write_error(path, PermissionError(errno.EACCES, os.strerror(errno.EACCES)))
    return path


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
        raise write_error(path, e) from None
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


# ----- one live process per directory ---------------------------------------------------------
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
            raise write_error(lock, e) from None
        try:
            with os.fdopen(fd, "w") as f:
                f.write(me)
        except OSError as e:  # a full disk: no half-made lock left behind
            lock.unlink(missing_ok=True)
            raise write_error(lock, e) from None
        break
    try:
        yield
    finally:
        if _owner(lock) == (os.getpid(), socket.gethostname()):
            lock.unlink(missing_ok=True)
