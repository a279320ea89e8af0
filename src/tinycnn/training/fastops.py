"""CPU drop-ins for dropout that give the same results in meaning, with fewer passes over memory.

A tiny model's CPU step is memory-bound: each element-wise op streams the 16×24×24 maps of a
batch through the cache. torch's dropout draws one 32-bit number per element through a Bernoulli
sampler and then multiplies by a float mask (forward and backward); a ReLU before it costs a pass
forward and a pass backward of its own.

- `FastDropout` draws one 64-bit number per *four* elements and compares 16-bit slices with a
  threshold: an independent Bernoulli(p) mask per element (p rounded to 1/65536), scaled by
  1/(1−p). On the CPU the bits come from numpy's PCG64DXSM (a third cheaper per bit than torch's
  Mersenne Twister), seeded by one draw from torch's global RNG per mask, so `torch.manual_seed`
  and a checkpoint's saved RNG state still decide every mask.
- `ReluDropout` is ReLU followed by that dropout in one autograd node: forward clamps, zeroes the
  dropped elements in place and scales; backward is a single `threshold_backward` on the saved
  output (its gradient is nonzero exactly where the output is, i.e. kept and positive) and a
  scale. Same numbers as `ReLU` then `FastDropout` with the same RNG state.
- `FastMaxPool` is `nn.MaxPool2d` with its forward run in channels-last layout: torch's NCHW
  max-pool kernel walks each window element by element (2.6 ms for a 128×16×24×24 batch here),
  its channels-last kernel vectorises across channels (0.4 ms). The indices it returns are the
  same flat h·W+w positions, ties included, so the backward is torch's own NCHW one: same
  output, same gradient, bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.modules.utils import _pair

LEVELS = 1 << 16  # int16 slices: p is rounded to a multiple of 1/65536
SEED_RANGE = 1 << 62


def random_words(n: int, device: torch.device) -> torch.Tensor:
    """n uniform 64-bit words (int64), from a stream that torch's global RNG seeds."""
    if device.type == "cpu":
        seed = int(torch.randint(SEED_RANGE, (1,)))  # advances torch's RNG: checkpointed, seeded
        return torch.from_numpy(np.random.PCG64DXSM(seed).random_raw(n).view(np.int64))
    return torch.randint(-(2**63), 2**63 - 1, (n,), dtype=torch.int64, device=device)


def drop_mask(shape: torch.Size, p: float, device: torch.device) -> torch.Tensor:
    """Boolean mask, True (drop) with probability p (rounded to 1/65536), i.i.d. per element."""
    n = shape.numel()
    slices = random_words(-(-n // 4), device).view(torch.int16)[:n]  # four 16-bit draws per word
    threshold = -(LEVELS // 2) + round(p * LEVELS)
    return (slices < threshold).view(shape)


def effective_p(p: float) -> float:
    return round(p * LEVELS) / LEVELS


class _Dropout(torch.autograd.Function):
    """x with dropped elements zeroed, times 1/(1−p): one masked fill + one scale each way."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, drop: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.save_for_backward(drop)
        ctx.scale = scale
        return x.masked_fill(drop, 0).mul_(scale)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (drop,) = ctx.saved_tensors
        return grad.masked_fill(drop, 0).mul_(ctx.scale), None, None


class _ReluDropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, drop: torch.Tensor, scale: float) -> torch.Tensor:
        y = x.clamp_min(0).masked_fill_(drop, 0).mul_(scale)
        ctx.save_for_backward(y)
        ctx.scale = scale
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (y,) = ctx.saved_tensors
        # y > 0 exactly where the element was kept and x > 0: ReLU's and dropout's gradient at once
        g = torch.ops.aten.threshold_backward(grad, y, 0)
        return g.mul_(ctx.scale), None, None


class FastDropout(nn.Module):
    """Drop-in for `nn.Dropout` (element-wise), cheaper random numbers on the CPU."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.p_eff = effective_p(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p_eff == 0:
            return x
        drop = drop_mask(x.shape, self.p, x.device)
        return _Dropout.apply(x, drop, 1.0 / (1.0 - self.p_eff))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class ReluDropout(FastDropout):
    """`nn.ReLU()` then `nn.Dropout(p)` in one node (the ReLU it replaces becomes Identity)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p_eff == 0:
            return x.clamp_min(0)
        drop = drop_mask(x.shape, self.p, x.device)
        return _ReluDropout.apply(x, drop, 1.0 / (1.0 - self.p_eff))


class _MaxPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, pool: nn.MaxPool2d) -> torch.Tensor:
        args = [_pair(a) for a in (pool.kernel_size, pool.stride, pool.padding, pool.dilation)]
        y, idx = torch.ops.aten.max_pool2d_with_indices(
            x.contiguous(memory_format=torch.channels_last), *args, pool.ceil_mode
        )
        ctx.save_for_backward(x, idx.contiguous())
        ctx.args = (*args, pool.ceil_mode)
        return y.contiguous()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        x, idx = ctx.saved_tensors
        back = torch.ops.aten.max_pool2d_with_indices_backward
        return back(grad.contiguous(), x, *ctx.args, idx), None


class FastMaxPool(nn.MaxPool2d):
    """Drop-in for `nn.MaxPool2d` (same settings, same numbers) that pools in channels-last."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels_last = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
        if x.dim() != 4 or self.return_indices or channels_last:
            return super().forward(x)  # a case torch's own kernel already handles well
        return _MaxPool.apply(x, self)
