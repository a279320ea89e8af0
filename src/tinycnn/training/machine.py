"""What a number depends on besides the code: the machine, for run directories and benchmark
JSONs (numbers hold per CPU family and precision, so every result says which)."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path
from typing import Any

import torch

from .fast import speed


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


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's architecture (asking a GPU's name starts CUDA: only for a
    device that trains)."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine()


def environment(device: torch.device, threads: int, seed: int) -> dict[str, Any]:
    return {
        **machine(),
        "device": str(device),
        "device_name": device_name(device),
        "threads": threads,
        "seed": seed,
    }
