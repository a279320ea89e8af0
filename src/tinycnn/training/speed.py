"""Speed options that keep results the same in meaning, and the record of which were used.

The profile of a tiny model's CPU step is dominated by element-wise dropout's random numbers:
torch draws one 32-bit number per element through a Bernoulli sampler. `FastDropout` draws one
64-bit number per *four* elements and compares 16-bit slices with a threshold: still an
independent Bernoulli(p) mask per element (p rounded to 1/65536), scaled by 1/(1−p), from the
same seeded global RNG, about 4× cheaper. On CUDA, torch's fused dropout is already fast.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

LEVELS = 1 << 16  # int16 slices: p is rounded to a multiple of 1/65536


class _Masked(torch.autograd.Function):
    """x · mask, where mask already holds 0 or 1/(1−p): one multiply forward, one backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (mask,) = ctx.saved_tensors
        return grad * mask, None


def bernoulli_keep_mask(shape: torch.Size, p: float, device: torch.device) -> torch.Tensor:
    """Boolean mask, True with probability 1 − p (p rounded to 1/65536), i.i.d. per element."""
    n = shape.numel()
    words = torch.randint(-(2**63), 2**63 - 1, (-(-n // 4),), dtype=torch.int64, device=device)
    slices = words.view(torch.int16)[:n]  # four independent uniform 16-bit values per draw
    threshold = -(LEVELS // 2) + round(p * LEVELS)
    return (slices >= threshold).view(shape)


class FastDropout(nn.Module):
    """Drop-in for `nn.Dropout` (element-wise), cheaper random numbers on the CPU."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.p_eff = round(p * LEVELS) / LEVELS

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p_eff == 0:
            return x
        mask = bernoulli_keep_mask(x.shape, self.p, x.device).to(x.dtype)
        return _Masked.apply(x, mask.mul_(1.0 / (1.0 - self.p_eff)))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def use_fast_dropout(model: nn.Module) -> int:
    """Swap every element-wise `nn.Dropout` for `FastDropout` in place; returns how many."""
    swapped = 0
    for name, child in list(model.named_children()):
        if type(child) is nn.Dropout:
            setattr(model, name, FastDropout(child.p))
            swapped += 1
        else:
            swapped += use_fast_dropout(child)
    return swapped


def apply(
    model: nn.Module, device: torch.device, fast_dropout: bool, channels_last: bool
) -> dict[str, Any]:
    """Apply the speed options that fit this device; returns what was actually used."""
    used = {"fast_dropout": False, "channels_last": False}
    if fast_dropout and device.type == "cpu":
        used["fast_dropout"] = use_fast_dropout(model) > 0
    if channels_last:
        model.to(memory_format=torch.channels_last)
        used["channels_last"] = True
    return used
