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


def test_a_policy_probability_augments_about_that_share_of_images():
    x = torch.rand(4000, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    s = {"rotate": 30.0}
    # p = 1 draws nothing more: the same images as a run from before the policy existed
    assert torch.equal(augment(x, s, torch.Generator().manual_seed(5), 1.0),
                       augment(x, s, torch.Generator().manual_seed(5)))  # fmt: skip
    for p in (0.25, 0.75):
        out = augment(x, s, torch.Generator().manual_seed(5), p)
        # an image left alone is resampled by the identity: equal to itself up to rounding
        untouched = ((out - x).abs().flatten(1).amax(1) < 1e-5).float().mean().item()
        assert abs((1 - untouched) - p) < 0.03, (p, untouched)
    # each op is drawn on its own: with two ops at p = 0.5, a quarter of the images get neither
    both = augment(x, {"rotate": 30.0, "scale": 0.3}, torch.Generator().manual_seed(6), 0.5)
    neither = ((both - x).abs().flatten(1).amax(1) < 1e-5).float().mean().item()
    assert abs(neither - 0.25) < 0.03, neither
