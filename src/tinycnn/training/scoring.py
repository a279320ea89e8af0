"""One evaluation: a model (or S stacked replicas) on uint8 images, in large no-grad batches.

Training's per-epoch test and validation passes, stacked groups and `tinycnn evaluate` all call
these, with the precision the run trained in, so a report shows the numbers the log showed.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..data import standardize
from .fast.speed import autocast

EVAL_BATCH = 1000  # large batches: evaluation has no gradients to keep
EVAL_BATCH_CUDA = 10_000  # a GPU takes MNIST's test set in one pass (~0.5 GB of activations)


def batch_size(device: torch.device) -> int:
    return EVAL_BATCH_CUDA if device.type == "cuda" else EVAL_BATCH


def _batches(
    net: nn.Module, x: torch.Tensor, mean: float, std: float, bf16: bool, replicas: int
) -> Iterator[tuple[slice, torch.Tensor]]:
    """(rows, logits) per batch: logits (B, classes), or (B, S, classes) for S replicas, which
    all see the same images."""
    net.eval()
    n = batch_size(x.device)
    for start in range(0, len(x), n):
        rows = slice(start, start + n)
        inp = standardize(x[rows], mean, std)
        if replicas > 1:
            inp = inp.repeat(1, replicas, 1, 1)  # replica s reads channel group s
        with autocast(x.device, bf16):
            out = net(inp).float()
            yield rows, out.flatten(1) if replicas == 1 else out  # (N, classes, 1, 1) too


@torch.no_grad()
def logits(
    net: nn.Module, x: torch.Tensor, mean: float, std: float, bf16: bool = False
) -> torch.Tensor:
    """All logits (N, classes) for uint8 images x (N, C, H, W), with the training statistics."""
    return torch.cat([out for _, out in _batches(net, x, mean, std, bf16, 1)])


@torch.no_grad()
def score(
    net: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    mean: float,
    std: float,
    bf16: bool = False,
    replicas: int = 1,
) -> tuple[list[float], list[int]]:
    """Mean cross-entropy and correct count per replica ([one] for a single model); the sums
    stay on the device, so the whole pass costs one host sync."""
    loss = torch.zeros(replicas, device=x.device)
    correct = torch.zeros(replicas, device=x.device, dtype=torch.long)
    for rows, out in _batches(net, x, mean, std, bf16, replicas):
        t = y[rows]
        if replicas == 1:
            loss += F.cross_entropy(out, t, reduction="sum")
            correct += (out.argmax(1) == t).sum()
        else:
            k, ts = out.shape[-1], t.unsqueeze(1).expand(-1, replicas)
            each = F.cross_entropy(out.reshape(-1, k), ts.reshape(-1), reduction="none")
            loss += each.view(-1, replicas).sum(0)
            correct += (out.argmax(2) == ts).sum(0)
    return [v / len(x) for v in loss.tolist()], correct.tolist()  # divided in double
