"""Batched augmentation with torch alone: one affine resample per batch, plus cutout.

Geometric ops are registered as functions that return per-image 2×3 affine matrices (in
`affine_grid`'s normalised coordinates); they are composed and applied in a single `grid_sample`,
so rotation + shift + scale cost one resample. Pixel ops act on the resampled batch. All randomness
comes from the generator passed in, never from the global RNG.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..data import Stat, per_channel, to_unit
from ..settings import Recipe

AffineOp = Callable[[int, float, torch.Generator, torch.device], torch.Tensor]  # → (N, 2, 3)
PixelOp = Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]


def _uniform(n: int, bound: float, g: torch.Generator, device: torch.device) -> torch.Tensor:
    return (torch.rand(n, generator=g, device=device) * 2 - 1) * bound


def rotation_matrix(angles_deg: torch.Tensor) -> torch.Tensor:
    """(N,) degrees → (N, 2, 3) matrices rotating the image by those angles (counter-clockwise)."""
    a = angles_deg * (math.pi / 180)
    cos, sin = torch.cos(a), torch.sin(a)
    zero = torch.zeros_like(a)
    # affine_grid maps output coords to input coords, so use the inverse rotation
    return torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)


def rotate(n: int, degrees: float, g: torch.Generator, device: torch.device) -> torch.Tensor:
    return rotation_matrix(_uniform(n, degrees, g, device))


def shift(n: int, fraction: float, g: torch.Generator, device: torch.device) -> torch.Tensor:
    m = torch.eye(2, 3, device=device).repeat(n, 1, 1)
    m[:, :, 2] = _uniform(2 * n, 2 * fraction, g, device).view(n, 2)  # normalised span is 2
    return m


def scale(n: int, amount: float, g: torch.Generator, device: torch.device) -> torch.Tensor:
    s = 1 / (1 + _uniform(n, amount, g, device))  # sample coords shrink when the image grows
    m = torch.zeros(n, 2, 3, device=device)
    m[:, 0, 0] = m[:, 1, 1] = s
    return m


def erase(x: torch.Tensor, prob: float, g: torch.Generator) -> torch.Tensor:
    """Cutout: with probability `prob`, zero a random square of a quarter of the image side."""
    n, _, h, w = x.shape
    side = max(1, min(h, w) // 4)
    cy = torch.randint(0, h, (n, 1, 1), generator=g, device=x.device)
    cx = torch.randint(0, w, (n, 1, 1), generator=g, device=x.device)
    on = torch.rand(n, 1, 1, generator=g, device=x.device) < prob
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    box = ((ys - cy).abs() <= side // 2) & ((xs - cx).abs() <= side // 2) & on
    return x.masked_fill(box.unsqueeze(1), 0.0)


AFFINE: dict[str, AffineOp] = {"rotate": rotate, "shift": shift, "scale": scale}
PIXEL: dict[str, PixelOp] = {"erase": erase}
NAMES = (*AFFINE, *PIXEL)  # each is a Recipe field holding the op's strength (0 = off)


def _compose(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    bottom = torch.zeros(a.shape[0], 1, 3, device=a.device)  # built on the device: no host
    bottom[:, :, 2] = 1.0  # copy, so a CUDA graph can capture it
    return torch.cat([a, bottom], 1).bmm(torch.cat([b, bottom], 1))[:, :2]


def apply_affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample x (N, C, H, W) by theta (N, 2, 3); outside the image is 0 (background)."""
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _sometimes(m: torch.Tensor, p: float, g: torch.Generator) -> torch.Tensor:
    """Each image keeps its drawn matrix with probability p, else the identity (left as is).
    p = 1 draws nothing more, so a run without the policy keeps its exact numbers."""
    if p >= 1:
        return m
    keep = torch.rand(m.shape[0], 1, 1, generator=g, device=m.device) < p
    return torch.where(keep, m, torch.eye(2, 3, device=m.device).expand_as(m))


def augment(
    x: torch.Tensor, strengths: dict[str, float], g: torch.Generator, p: float = 1.0
) -> torch.Tensor:
    """x: float images in [0, 1], (N, C, H, W). strengths: op name → strength (0 skips it).
    p: the probability that an image gets each geometric op (each drawn on its own)."""
    theta = None
    for name, op in AFFINE.items():
        if strengths.get(name, 0):
            m = _sometimes(op(x.shape[0], strengths[name], g, x.device), p, g)
            theta = m if theta is None else _compose(theta, m)
    if theta is not None:
        x = apply_affine(x, theta)
    for name, op in PIXEL.items():
        if strengths.get(name, 0):
            x = op(x, strengths[name], g)
    return x


def strengths_at(recipe: Recipe, epoch: int) -> dict[str, float]:
    """Each op's strength in epoch `epoch` (0-based): the recipe's, or none in its last
    `clean_epochs` epochs, which fit the un-augmented images the test set looks like."""
    clean = epoch >= recipe.epochs - recipe.clean_epochs
    return {name: 0.0 if clean else getattr(recipe, name) for name in NAMES}


def train_input(
    x: torch.Tensor,
    strengths: dict[str, float],
    g: torch.Generator,
    mean: Stat,
    std: Stat,
    p: float = 1.0,
) -> torch.Tensor:
    """A uint8 training batch → the network's input: [0, 1], augmented (0 is the background the
    resampling pads with), then standardised with the training images' statistics."""
    x = to_unit(x)
    if any(strengths.values()):
        x = augment(x, strengths, g, p)
    return (x - per_channel(mean, x)) / per_channel(std, x)
