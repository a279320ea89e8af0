"""Augmentation: geometry checked against torch's own rot90, and randomness owned by the caller."""

import pytest
import torch

from tinycnn.training.augment import apply_affine, augment, rotation_matrix

pytestmark = pytest.mark.exact


def test_rotation_by_90_matches_rot90():
    x = torch.rand(2, 1, 9, 9, generator=torch.Generator().manual_seed(0))
    out = apply_affine(x, rotation_matrix(torch.tensor([90.0, -90.0])))
    assert torch.allclose(out[0], torch.rot90(x[0], 1, dims=(1, 2)), atol=1e-5)
    assert torch.allclose(out[1], torch.rot90(x[1], -1, dims=(1, 2)), atol=1e-5)


def test_zero_rotation_is_identity():
    x = torch.rand(3, 1, 28, 28)
    assert torch.allclose(apply_affine(x, rotation_matrix(torch.zeros(3))), x, atol=1e-5)


def test_augment_uses_only_its_generator():
    x = torch.rand(8, 1, 28, 28)
    s = {"rotate": 15.0, "shift": 0.1, "scale": 0.1, "erase": 1.0}
    before = torch.get_rng_state()
    a = augment(x, s, torch.Generator().manual_seed(3))
    b = augment(x, s, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert torch.equal(torch.get_rng_state(), before)
    assert (augment(x, {"erase": 1.0}, torch.Generator()) == 0).any()  # cutout zeroes pixels
