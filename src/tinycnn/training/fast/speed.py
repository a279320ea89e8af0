"""Speed options that keep results the same in meaning, and the record of which were used.

What a profile of a tiny model's CPU step shows, and the option that answers it:
- element-wise dropout's random numbers and mask passes → `fastops.FastDropout`, fused with the
  ReLU before it where there is one (`fastops.ReluDropout`);
- torch's NCHW max-pool kernel (one element at a time) → `fastops.FastMaxPool`, which pools in
  channels-last and gives the same numbers;
- ReLU + dropout + max-pool as three kernels and two layout copies each way → one pass of
  kernels.c each way (`native`, built with the machine's C compiler; the same numbers, or the
  torch ops where it cannot be built);
- convolutions and every element-wise pass in fp32 → bfloat16 autocast where the hardware
  computes it natively (`resolve_bf16`; measured over 5 seeds not to lower accuracy);
- page faults: glibc hands every freed block over 128 KiB back to the kernel, so each step's
  multi-MB activations come back as fresh pages, faulted in one by one (thousands per step) →
  `reuse_freed_memory`.
On CUDA, torch's fused dropout is already fast and the caching allocator already reuses memory;
there launches are the cost, answered by `cudagraph` (one graph per step), and channels-last
suits cuDNN's kernels. cuDNN's benchmark mode is an option, off: it found nothing faster for these
models (benchmarks/gpu.py) and times its candidates for every new shape.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import os
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ...errors import ConfigError
from ...settings import Runtime
from . import native
from .fastops import FastDropout, FastMaxPool, ReluDropout, ReluDropoutPool, overlaps

# glibc mallopt(3) parameters
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 32 << 20  # blocks below this come from the heap, not fresh mmap'd pages
KEEP_FREE = 1 << 30  # free heap memory kept by the process before any is given back
TOP_PAD = 64 << 20  # grow the heap in large steps
CPU_BF16_ENV = "TINYCNN_CPU_BF16"  # 1/0: override the CPU's reported native bf16


def reuse_freed_memory() -> bool:
    """Keep freed memory in this process (glibc only); True if applied. Process-wide, like
    `torch.set_num_threads`; changes no number, only how often pages are faulted in."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, Windows, musl): nothing to do
        return False
    return all(
        mallopt(param, value) == 1
        for param, value in (
            (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            (M_TRIM_THRESHOLD, KEEP_FREE),
            (M_TOP_PAD, TOP_PAD),
        )
    )


def native_bf16(device: torch.device) -> bool:
    """Does this device compute bfloat16 in hardware? (Elsewhere autocast only emulates it.)
    On the CPU, `TINYCNN_CPU_BF16=1|0` overrides what the processor reports, so one machine can
    take the default precision of another (the test suite runs this way for each CPU family)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        forced = os.environ.get(CPU_BF16_ENV, "")
        if forced:
            if forced not in ("0", "1"):
                raise ConfigError(
                    f"{CPU_BF16_ENV}={forced!r}: use 1 (take this CPU as computing bf16 "
                    f"natively) or 0 (as not), or unset it to detect"
                )
            return forced == "1"
        # AMX tiles (Sapphire Rapids and later) or AVX512-BF16 (e.g. Zen 4)
        checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
        return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    return False


def require_float32() -> None:
    """tinycnn's weights and images are float32 (bf16 only inside autocast); a notebook's
    `torch.set_default_dtype(torch.float64)` would make every tensor the loop or the evaluation
    creates float64 and fail deep inside an op. Said in one line instead."""
    if torch.get_default_dtype() != torch.float32:
        raise ConfigError(
            f"torch's default dtype is {torch.get_default_dtype()} (torch.set_default_dtype); "
            f"tinycnn works in float32: call torch.set_default_dtype(torch.float32) first"
        )


def resolve_bf16(bf16: bool | None, device: torch.device) -> bool:
    """`Runtime.bf16`: None (auto) means on where the CPU computes bf16 natively, else as given.
    On a GPU, auto is off: a tiny model's kernels there are bound by launches and memory, not
    arithmetic; the casts autocast adds made the step 1.5× slower in NCHW, and in channels-last
    bf16 saved less per epoch than its first epoch cost over 15 (benchmarks/gpu.py)."""
    return native_bf16(device) and device.type == "cpu" if bf16 is None else bf16


def resolve(runtime: Runtime, device: torch.device) -> Runtime:
    """`runtime` with its automatic choices made for `device`: what a run saves and resumes.
    channels_last auto: on a GPU only (cuDNN's channels-last kernels are faster there; on the
    CPU the layout conversions cost more than they save)."""
    cl = device.type == "cuda" if runtime.channels_last is None else runtime.channels_last
    return dataclasses.replace(runtime, bf16=resolve_bf16(runtime.bf16, device), channels_last=cl)


def autocast(device: torch.device, bf16: bool) -> torch.autocast:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)


Swap = Callable[[nn.Module, nn.Module | None], tuple[nn.Module, nn.Module | None]]


def _swap_all(model: nn.Module, kind: type[nn.Module], swap: Swap) -> int:
    """Replace every module of exactly `kind`, in place, by `swap(module, before)`'s first
    module; `before` is the module just before it in a `Sequential` (else None), replaced by
    the second where that is not None. New modules keep the model's train/eval mode; returns
    how many were replaced."""
    swapped = 0
    children = list(model.named_children())
    for i, (name, child) in enumerate(children):
        if type(child) is not kind:
            swapped += _swap_all(child, kind, swap)
            continue
        in_line = i > 0 and isinstance(model, nn.Sequential)
        before_name, before = children[i - 1] if in_line else ("", None)
        new, new_before = swap(child, before)
        if new_before is not None:
            setattr(model, before_name, new_before.train(child.training))
        setattr(model, name, new.train(child.training))
        swapped += 1
    return swapped


def use_fast_dropout(model: nn.Module, fuse: bool = True) -> int:
    """Swap every element-wise `nn.Dropout` for `FastDropout` in place, or, where it directly
    follows an `nn.ReLU` in a `Sequential` (and `fuse`), for `ReluDropout` (the ReLU becomes
    Identity, so parameter names and the state dict stay the same). Returns how many."""

    def swap(d: nn.Module, before: nn.Module | None) -> tuple[nn.Module, nn.Module | None]:
        if fuse and type(before) is nn.ReLU:
            return ReluDropout(d.p), nn.Identity()
        return FastDropout(d.p), None

    return _swap_all(model, nn.Dropout, swap)


def use_fast_pool(model: nn.Module, fuse: bool = True, compiled: bool = False) -> int:
    """Swap every `nn.MaxPool2d` for `FastMaxPool` with the same settings, in place; where one
    directly follows a `ReluDropout` in a `Sequential` without overlapping windows (and `fuse`),
    the two become one `ReluDropoutPool` (running kernels.c where `compiled`) and the pool's
    place holds Identity. Pooling has no parameters, so the state dict is unchanged. Returns how
    many pools were swapped."""

    def swap(m: nn.Module, before: nn.Module | None) -> tuple[nn.Module, nn.Module | None]:
        pool = FastMaxPool(m.kernel_size, m.stride, m.padding, m.dilation, ceil_mode=m.ceil_mode)
        if fuse and type(before) is ReluDropout and not overlaps(pool):
            return nn.Identity(), ReluDropoutPool(before.p, pool.train(m.training), compiled)
        return pool, None

    return _swap_all(model, nn.MaxPool2d, swap)


def apply(model: nn.Module, device: torch.device, runtime: Runtime) -> dict[str, Any]:
    """Apply the speed options of a `resolve`d runtime that fit this device; returns what was
    actually used (bf16 is applied by the training loop through `autocast`)."""
    cpu = device.type == "cpu"
    used = {
        "fast_dropout": False,
        "fast_pool": False,
        "channels_last": False,
        "reuse_memory": False,
        "native": False,
    }
    if runtime.fast_dropout and cpu:
        used["fast_dropout"] = use_fast_dropout(model) > 0
    if runtime.fast_pool and cpu and not runtime.channels_last:  # channels-last pools fast already
        why_not = native.available() if runtime.native else "off (--no-native)"
        used["fast_pool"] = use_fast_pool(model, compiled=why_not is None) > 0
        fused = any(isinstance(m, ReluDropoutPool) for m in model.modules())
        used["native"] = why_not is None and fused
        if why_not and fused:  # torch's ops run instead, with the same numbers: say why
            used["native_not_used"] = why_not
    if runtime.reuse_memory and cpu:
        used["reuse_memory"] = reuse_freed_memory()
    if runtime.channels_last:
        model.to(memory_format=torch.channels_last)
        used["channels_last"] = True
    if device.type == "cuda":  # process-wide, so set either way: no run inherits another's
        torch.backends.cudnn.benchmark = runtime.cudnn_benchmark
        used["cudnn_benchmark"] = runtime.cudnn_benchmark
    used["bf16"] = bool(runtime.bf16)
    return used


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device = 'cuda' but no CUDA GPU is visible; use --device cpu or auto")
    return torch.device(name)
