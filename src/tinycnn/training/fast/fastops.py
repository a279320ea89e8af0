"""CPU drop-ins for dropout and max-pooling: the same results in meaning (pooling: bit for bit),
with fewer passes over memory.

A tiny model's CPU step is memory-bound: each element-wise op streams the 16×24×24 maps of a
batch through the cache. torch's dropout draws one 32-bit number per element through a Bernoulli
sampler, builds a float mask and multiplies by it (forward and backward); a ReLU before it costs
a pass forward and a pass backward of its own.

- `FastDropout` never builds a mask. With p = 0.05 only one element in twenty is dropped, so it
  draws the *positions* of the dropped elements instead: the gaps between them are i.i.d.
  Geometric(p), which makes every element dropped independently with probability exactly p
  (a Bernoulli process), at about n·p random numbers instead of n. Forward scales by 1/(1−p)
  and zeroes those positions in place (a scatter touching p·n elements); backward does the same
  to the gradient. The random numbers come from numpy's PCG64DXSM, seeded by one draw from
  torch's global RNG per call, so `torch.manual_seed` and a checkpoint's saved RNG state still
  decide every mask.
- `ReluDropout` is ReLU followed by that dropout in one autograd node: forward clamps, scales
  and zeroes the dropped positions; backward is a single `threshold_backward` on the saved
  output (its gradient is nonzero exactly where the output is, i.e. kept and positive) and a
  scale. Same numbers as `ReLU` then `FastDropout` with the same RNG state.
- `ReluDropoutPool` adds a following non-overlapping max-pool to that node: each window's
  gradient goes to its winner, which passed ReLU and dropout exactly when the pooled value is
  positive, so the backward thresholds and scales the pooled gradient, not the 4× larger one.
- `FastMaxPool` is `nn.MaxPool2d` with its training forward run in channels-last layout:
  torch's NCHW max-pool kernel walks each window element by element (2.6 ms for a
  128×16×24×24 batch here), its channels-last kernel vectorises across channels (0.4 ms). The
  indices it returns are the same flat h·W+w positions, ties included, so the backward is
  torch's own NCHW one: same output, same gradient, bit for bit. Without gradients (the test
  pass) the usual 2×2 stride-2 pool is two element-wise maxima over strided views instead, with
  no layout copies: same values, and fast7806's test pass a fifth faster
  (benchmarks/test_pass.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.modules.utils import _pair

from . import native

SEED_RANGE = 1 << 62
SPARE_SIGMAS = 6  # gaps drawn beyond the expected count; more are drawn in the rare case it's short


def drop_positions(n: int, p: float, device: torch.device) -> torch.Tensor:
    """Sorted positions in [0, n), each present independently with probability p (0 ≤ p < 1)."""
    if p == 0 or n == 0:
        return torch.empty(0, dtype=torch.long, device=device)
    # torch's CPU generator, whatever the default device: seeded and checkpointed with the run
    seed = int(torch.randint(SEED_RANGE, (1,), device="cpu"))
    rng = np.random.Generator(np.random.PCG64DXSM(seed))
    inv_log_keep = 1.0 / np.log1p(-p)
    expect = n * p
    chunk = int(expect + SPARE_SIGMAS * expect**0.5 + 16)
    parts, end = [], -1.0  # position of the last drop so far
    while end < n:
        u = torch.from_numpy(rng.random(chunk))  # [0, 1): 1 − u in (0, 1], its log is finite
        gaps = torch.floor(torch.log1p(-u).mul_(inv_log_keep))  # elements kept before each drop
        pos = gaps.add_(1).cumsum_(0).add_(end)  # float64: exact integers up to 2^53
        parts.append(pos)
        end = float(pos[-1])
    pos = (parts[0] if len(parts) == 1 else torch.cat(parts)).long()
    return pos[: int(torch.searchsorted(pos, n))].to(device)


def memory_order(t: torch.Tensor) -> torch.Tensor:
    """A flat view of a dense tensor (contiguous, channels-last, any fresh op output) in memory
    order, no copy: drops are i.i.d., so any fixed order of the elements will do."""
    outer_first = sorted(range(t.dim()), key=lambda d: -t.stride(d))
    return t.permute(outer_first).view(-1)


def drop_(y: torch.Tensor, p: float) -> torch.Tensor:
    """Zero i.i.d. Bernoulli(p) elements of a fresh dense tensor in place; returns their
    positions in `y`'s memory order."""
    drop = drop_positions(y.numel(), p, y.device)
    memory_order(y).index_fill_(0, drop, 0)
    return drop


def relu_drop(x: torch.Tensor, p: float) -> torch.Tensor:
    """ReLU, then inverted dropout: clamp, scale by 1/(1−p), zero the dropped elements."""
    y = x.clamp_min(0).mul_(1.0 / (1.0 - p))
    drop_(y, p)
    return y


class _Dropout(torch.autograd.Function):
    """x times 1/(1−p), dropped positions zeroed: one scale + one sparse fill each way."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, p: float) -> torch.Tensor:
        ctx.scale = 1.0 / (1.0 - p)
        y = x.mul(ctx.scale)
        ctx.save_for_backward(drop_(y, p))
        ctx.layout = y.shape, y.stride()  # the memory order the positions refer to
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (drop,) = ctx.saved_tensors
        g = torch.empty_strided(*ctx.layout, dtype=grad.dtype, device=grad.device)
        torch.mul(grad, ctx.scale, out=g)
        memory_order(g).index_fill_(0, drop, 0)
        return g, None


class _ReluDropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, p: float) -> torch.Tensor:
        y = relu_drop(x, p)
        ctx.save_for_backward(y)
        ctx.scale = 1.0 / (1.0 - p)
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (y,) = ctx.saved_tensors
        # y > 0 exactly where the element was kept and x > 0: ReLU's and dropout's gradient at once
        g = torch.ops.aten.threshold_backward(grad, y, 0)
        return g.mul_(ctx.scale), None


class FastDropout(nn.Module):
    """Drop-in for `nn.Dropout` (element-wise): the same Bernoulli(p) drops, no mask passes."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return _Dropout.apply(x, self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class ReluDropout(FastDropout):
    """`nn.ReLU()` then `nn.Dropout(p)` in one node (the ReLU it replaces becomes Identity)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x.clamp_min(0)
        return _ReluDropout.apply(x, self.p)


def _pool_args(pool: nn.MaxPool2d) -> tuple:
    """(kernel, stride, padding, dilation, ceil_mode) as aten's max-pool ops take them."""
    sizes = (pool.kernel_size, pool.stride, pool.padding, pool.dilation)
    return (*(_pair(a) for a in sizes), pool.ceil_mode)


def _pool_channels_last(x: torch.Tensor, args: tuple) -> tuple[torch.Tensor, torch.Tensor]:
    """torch's channels-last max-pool kernel on an NCHW tensor: (NCHW output, NCHW indices)."""
    x_cl = x.contiguous(memory_format=torch.channels_last)
    y, idx = torch.ops.aten.max_pool2d_with_indices(x_cl, *args)
    return y.contiguous(), idx.contiguous()


PAIRS = ((2, 2), (2, 2), (0, 0), (1, 1))  # kernel, stride, padding, dilation: the usual pool


def _pairwise(x: torch.Tensor, args: tuple) -> bool:
    """Is this the usual 2×2 pool, stride 2 (rounding down, or on an even map), on NCHW? A map
    under 2 on a side is left to torch, which refuses it (pairs would give an empty output)."""
    *settings, ceil = args
    h, w = x.shape[-2:]
    even = h % 2 == 0 and w % 2 == 0
    return tuple(settings) == PAIRS and (even or not ceil) and min(h, w) >= 2 and x.is_contiguous()


def _pool_pairs(x: torch.Tensor) -> torch.Tensor:
    """A 2×2 stride-2 max-pool of NCHW `x` as two pairwise maxima: the two columns of each
    window (per row), then its two rows. `torch.maximum` keeps the first of equal values
    (signed zeros too) and propagates NaN, as torch's kernel does. It gives no indices: finding
    the winners this way (three comparisons and an int64 index) cost more than the backward it
    served, so training keeps the channels-last kernel and this serves passes without gradients."""
    x = x[..., : x.shape[-2] // 2 * 2, : x.shape[-1] // 2 * 2]  # floor: drop an odd last row/col
    rows = torch.maximum(x[..., 0::2], x[..., 1::2])  # N, C, H, W/2
    return torch.maximum(rows[..., 0::2, :], rows[..., 1::2, :])  # N, C, H/2, W/2


def _unpool(grad: torch.Tensor, x: torch.Tensor, args: tuple, idx: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten.max_pool2d_with_indices_backward(grad.contiguous(), x, *args, idx)


class _MaxPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, args: tuple) -> torch.Tensor:
        y, idx = _pool_channels_last(x, args)
        ctx.save_for_backward(x, idx)
        ctx.args = args
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        x, idx = ctx.saved_tensors
        return _unpool(grad, x, ctx.args, idx), None


class FastMaxPool(nn.MaxPool2d):
    """Drop-in for `nn.MaxPool2d` (same settings, same numbers) that pools in channels-last."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels_last = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
        if x.dim() != 4 or self.return_indices or channels_last:
            return super().forward(x)  # a case torch's own kernel already handles well
        args = _pool_args(self)
        if not (torch.is_grad_enabled() and x.requires_grad) and _pairwise(x, args):
            return _pool_pairs(x)  # evaluation: values only
        return _MaxPool.apply(x, args)


def overlaps(pool: nn.MaxPool2d) -> bool:
    """Can one input element win two windows (stride < kernel, or dilated)?"""
    k, stride, _, dilation, _ = _pool_args(pool)
    return any(s < kk for s, kk in zip(stride, k, strict=True)) or dilation != (1, 1)


class _ReluDropoutPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, p: float, args: tuple, compiled: bool) -> torch.Tensor:
        ctx.args, ctx.scale, ctx.layout = args, 1.0 / (1.0 - p), (x.shape, x.stride())
        ctx.compiled = compiled and _pairwise(x, args) and native.fits(x)
        if ctx.compiled:  # kernels.c: one pass; the same drops from the same random numbers
            drop = torch.zeros(x.numel(), dtype=torch.uint8, device=x.device)
            drop.index_fill_(0, drop_positions(x.numel(), p, x.device), 1)
            z, win = native.forward(native.load(), x, drop, ctx.scale)
            ctx.save_for_backward(z, win)
            return z
        z, idx = _pool_channels_last(relu_drop(x, p), args)
        ctx.save_for_backward(z, idx)
        return z

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        if ctx.compiled:
            z, win = ctx.saved_tensors
            gx = native.backward(native.load(), grad, z, win, ctx.layout[0], ctx.scale)
            return gx, None, None, None
        z, idx = ctx.saved_tensors
        # each window's gradient goes to its winner, which passed ReLU and dropout iff z > 0:
        # threshold and scale the small pooled gradient instead of the full-size one
        g = torch.ops.aten.threshold_backward(grad.contiguous(), z, 0).mul_(ctx.scale)
        shape_of_x = torch.empty_strided(*ctx.layout, dtype=g.dtype, device=g.device)
        return _unpool(g, shape_of_x, ctx.args, idx), None, None, None


class ReluDropoutPool(nn.Module):
    """ReLU, dropout(p) and a non-overlapping max-pool in one node: the same numbers as
    `ReluDropout` then `FastMaxPool`, with the backward's ReLU/dropout work done on the pooled
    (4× smaller) gradient. `use_fast_pool` swaps it in; the pool it replaces becomes Identity.
    `compiled`: run kernels.c (native.py) where the input fits it, one pass each way with the
    same numbers; the caller checks `native.available()` first."""

    def __init__(self, p: float, pool: FastMaxPool, compiled: bool = False):
        super().__init__()
        if overlaps(pool):
            raise ValueError("ReluDropoutPool needs a pool whose windows do not overlap")
        self.p, self.pool, self.compiled = p, pool, compiled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or x.dim() != 4:
            return self.pool(x.clamp_min(0))
        return _ReluDropoutPool.apply(x, self.p, _pool_args(self.pool), self.compiled)

    def extra_repr(self) -> str:
        return f"p={self.p}" + (", compiled" if self.compiled else "")
