"""kernels.c, compiled on first use with the machine's C compiler and called through ctypes:
ReLU + dropout + 2×2 max-pool in one pass forward and one backward, bit for bit the numbers of
`fastops._ReluDropoutPool`'s torch ops (tests/test_native.py compares them).

Why C and not a torch extension: the file needs no torch headers, so it builds in well under a
second (a torch C++ extension takes a minute) and with any C compiler; it is loaded with ctypes,
which releases the GIL. Where there is no compiler (`cc`, or `$CC`), the build fails, or the
library's self-check disagrees with torch, `load()` says why and the torch ops run instead, with
the same numbers. The library is cached per source, compiler and CPU in `cache_dir()`, written
under a temporary name and renamed into place, so processes starting together (`--seeds`) never
load a half-written file. It is built for the CPU it runs on (-march=native).

It runs in the calling thread. Splitting the planes over Python threads (ctypes lets go of the
GIL) made a 2-thread step no faster on 2 cores: torch's OpenMP workers spin between ops on the
core the second part needed. One thread of it matches torch's two-thread ops there; at one
thread per process (`--seeds`) the step is about a tenth faster (docs/benchmarks.md).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

SOURCE = Path(__file__).with_name("kernels.c")
MAX_WIDTH = 4096  # kernels.c's MAXW: its row buffers live on the stack
FLAGS = ("-O3", "-ffp-contract=off", "-fno-trapping-math", "-fPIC", "-shared")
ARCH = "-march=native"  # tried first; a compiler without it builds the portable version
CACHE_ENV = "TINYCNN_CACHE"
BUILD_SECONDS = 120  # a compiler that takes longer is given up on (it takes under a second)
SUFFIX = {torch.float32: "f32", torch.bfloat16: "bf16"}
_I64, _F32, _PTR = ctypes.c_int64, ctypes.c_float, ctypes.c_void_p


class Unavailable(RuntimeError):
    """The kernels cannot be used here; the message says why (the torch ops run instead)."""


def cache_dir() -> Path:
    """$TINYCNN_CACHE, else $XDG_CACHE_HOME/tinycnn, else ~/.cache/tinycnn."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tinycnn"


def _cpu_id() -> str:
    """What -march=native depends on: the CPU's feature flags where Linux lists them."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return f"{platform.machine()} {platform.processor()}"


def _compiler() -> list[str]:
    """$CC as a command (it may carry words: `ccache gcc`), else `cc`."""
    cc = os.environ.get("CC") or "cc"
    try:
        words = shlex.split(cc)
    except ValueError:
        words = []
    found = shutil.which(words[0]) if words else None
    if not found:
        raise Unavailable(f"no C compiler ({cc!r} is not on PATH; set CC to one)")
    return [found, *words[1:]]


def _build(cc: list[str], out: Path) -> None:
    """Compile to a temporary file beside `out`, then rename: readers see all of it or none."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.stem, suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        for arch in ((ARCH,), ()):
            cmd = [*cc, *FLAGS, *arch, str(SOURCE), "-o", tmp]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_SECONDS)
            if done.returncode == 0:
                os.replace(tmp, out)
                return
        why = (done.stderr.strip().splitlines() or ["no message"])[-1][:200]
        raise Unavailable(f"{' '.join(cc)} could not build {SOURCE.name}: {why}")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    for name in SUFFIX.values():
        for fn, args in (
            (f"rdp_forward_{name}", [_PTR] * 4 + [_I64] * 3 + [_F32]),
            (f"rdp_backward_{name}", [_PTR] * 4 + [_I64] * 3 + [_F32]),
        ):
            getattr(lib, fn).argtypes, getattr(lib, fn).restype = args, None
    return lib


def library_path(cc: list[str]) -> Path:
    """Where the library built from this source, by this compiler, for this CPU is cached."""
    parts = [SOURCE.read_bytes(), " ".join(cc).encode(), _cpu_id().encode()]
    key = hashlib.sha256(b"\0".join(parts))
    return cache_dir() / f"kernels-{key.hexdigest()[:16]}.so"


@functools.lru_cache(maxsize=1)
def load() -> ctypes.CDLL:
    """The built library (built once per source, compiler and CPU; then cached on disk), checked
    against the torch ops on a small batch. Raises `Unavailable` with the reason."""
    cc = _compiler()
    path = library_path(cc)
    try:
        if not path.is_file():
            _build(cc, path)
        try:
            lib = ctypes.CDLL(str(path))
        except OSError:  # a damaged file in the cache (this writes whole ones): build it again
            _build(cc, path)
            lib = ctypes.CDLL(str(path))
        lib = _bind(lib)
    except OSError as e:  # an unwritable cache, or still no library
        raise Unavailable(f"{path}: {e.strerror or e}") from None
    except subprocess.TimeoutExpired:
        why = f"{' '.join(cc)} took over {BUILD_SECONDS} s to build {SOURCE.name}"
        raise Unavailable(why) from None
    except AttributeError as e:  # built, but not from kernels.c: a CC that compiles something else
        raise Unavailable(f"{path}: {e}") from None
    if not agrees(lib):
        raise Unavailable(f"{path}: its results differ from torch's; delete it to rebuild")
    return lib


def agrees(lib: ctypes.CDLL) -> bool:
    """Do the kernels give torch's numbers (values and gradients, to the bit) on a small batch
    with ties, zeros of both signs and odd sizes? Draws from its own generator, not torch's."""
    # wherever it is called: under no_grad, autocast or another default device
    with torch.enable_grad(), torch.autocast("cpu", enabled=False), torch.device("cpu"):
        return _agrees(lib)


def _agrees(lib: ctypes.CDLL) -> bool:
    g = torch.Generator().manual_seed(0)
    for dtype in SUFFIX:
        x = (torch.randn(3, 2, 7, 9, generator=g) * 2).round().to(dtype)  # ties, -0 and 0
        drop = (torch.rand(x.shape, generator=g) < 0.2).to(torch.uint8)
        grad = torch.randn(3, 2, 3, 4, generator=g).to(dtype)
        leaf = x.clone().requires_grad_(True)
        y = torch.relu(leaf).mul(1.25).masked_fill(drop.bool(), 0)
        expect = torch.nn.functional.max_pool2d(y, 2)
        expect.backward(grad)
        z, win = forward(lib, x, drop, 1.25)
        gx = backward(lib, grad, z, win, x.shape, 1.25)
        if not (torch.equal(z, expect) and torch.equal(gx, leaf.grad)):
            return False
    return True


def available() -> str | None:
    """None where the kernels can be used, else why not (one line)."""
    try:
        load()
    except Unavailable as e:
        return str(e)
    return None


def fits(x: torch.Tensor) -> bool:
    """Can the kernels take this input (the caller checks the pool is the usual 2×2 one): a
    contiguous NCHW float32/bf16 batch on the CPU, no wider than the kernels' row buffers?"""
    return (
        x.dim() == 4 and x.device.type == "cpu" and x.dtype in SUFFIX and x.is_contiguous()
        and x.shape[-1] <= MAX_WIDTH
    )  # fmt: skip


def forward(
    lib: ctypes.CDLL, x: torch.Tensor, drop: torch.Tensor, scale: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """x (N, C, H, W) and its uint8 drop mask → (pooled z, winner 0..3 per window, uint8)."""
    n, c, h, w = x.shape
    # beside x, not on the default device a notebook may have set: C writes through these
    z = torch.empty(n, c, h // 2, w // 2, dtype=x.dtype, device=x.device)
    win = torch.empty(z.shape, dtype=torch.uint8, device=x.device)
    fn = getattr(lib, f"rdp_forward_{SUFFIX[x.dtype]}")
    fn(x.data_ptr(), drop.data_ptr(), z.data_ptr(), win.data_ptr(), n * c, h, w, scale)
    return z, win


def backward(
    lib: ctypes.CDLL, grad: torch.Tensor, z: torch.Tensor, win: torch.Tensor,
    shape: torch.Size, scale: float,
) -> torch.Tensor:  # fmt: skip
    """The pooled gradient → the input's (shape), each window's share to its winner."""
    grad = grad.to(z.dtype).contiguous()
    gx = torch.empty(shape, dtype=z.dtype, device=z.device)
    fn = getattr(lib, f"rdp_backward_{SUFFIX[z.dtype]}")
    fn(grad.data_ptr(), z.data_ptr(), win.data_ptr(), gx.data_ptr(), shape[0] * shape[1],
       shape[2], shape[3], scale)  # fmt: skip
    return gx
