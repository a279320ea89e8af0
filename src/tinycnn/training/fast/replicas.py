"""Several replicas of one spec as one module (`build(spec, replicas=S)`): S seeds at once.

Replica s owns channel group s of every layer (grouped convolutions, per-channel batch norm,
block-diagonal linear layers), so the replicas never mix: the input is (N, S·C, H, W), replica s
reading channels [s·C, (s+1)·C), and the output is (N, S, classes). With the loss summed over the
replicas, each replica's gradient is exactly the gradient of its own loss. On a GPU this turns S
tiny models, each too small to fill the device, into one reasonably sized one. This module copies
single models in (`load_replicas`) and out (`replica_state`).
"""

from __future__ import annotations

import torch

from ...builder import TinyNet
from ...modules import GroupedLinear


def _is_linear(stacked: TinyNet, key: str) -> bool:
    return isinstance(stacked.get_submodule(key.rsplit(".", 1)[0]), GroupedLinear)


@torch.no_grad()
def load_replicas(stacked: TinyNet, nets: list[TinyNet]) -> None:
    """Copy S single models into the stacked one (replica s ← nets[s])."""
    states = [n.state_dict() for n in nets]
    out = {}
    for key in stacked.state_dict():
        parts = [st[key] for st in states]
        if key.endswith("num_batches_tracked"):
            out[key] = parts[0]
        elif _is_linear(stacked, key):
            out[key] = torch.stack(parts)
        else:
            out[key] = torch.cat(parts)
    stacked.load_state_dict(out)


@torch.no_grad()
def replica_state(stacked: TinyNet, s: int) -> dict[str, torch.Tensor]:
    """The state dict of replica s, loadable into `build(spec)`."""
    out = {}
    for key, v in stacked.state_dict().items():
        if key.endswith("num_batches_tracked"):
            out[key] = v.clone()
        elif _is_linear(stacked, key):
            out[key] = v[s].clone()
        else:
            n = v.shape[0] // stacked.replicas
            out[key] = v[s * n : (s + 1) * n].clone()
    return out
