"""Several replicas of one spec as one module (`build(spec, replicas=S)`): S seeds at once.

Replica s owns channel group s of every layer (grouped convolutions, per-channel batch norm,
block-diagonal linear layers), so the replicas never mix: the input is (N, S·C, H, W), replica s
reading channels [s·C, (s+1)·C), and the output is (N, S, classes). With the loss summed over the
replicas, each replica's gradient is exactly the gradient of its own loss. On a GPU this turns S
tiny models, each too small to fill the device, into one reasonably sized one. This module copies
single models in (`load_replicas`) and out (`replica_state`).

The other layout, `StreamedReplicas` (`Runtime.streams`): the S single models themselves, with
the same input and output, each run on its own CUDA stream (autograd runs each backward op on
its forward op's stream, so the backward passes run side by side too). Each replica then
computes exactly what its single run computes, where grouped kernels sum in another order and
drift from it within a few steps. It is not the default: on an H200, 16 seeds' kernels side by
side ran 3.5 at a time but each slower, 3.47 ms a step against the grouped 3.11
(benchmarks/results/gpu_step_h200.json).
"""

from __future__ import annotations

import torch
from torch import nn

from ...builder import TinyNet
from ...modules import GroupedLinear


class StreamedReplicas(nn.Module):
    """S single models as one: input (N, S·C, H, W), replica s reading channel group s; output
    (N, S, classes). On a GPU each replica's forward (and so its backward) runs on its own
    stream, forked from the current stream and joined back into it; on a CPU one after another."""

    def __init__(self, nets: list[nn.Module]):
        super().__init__()
        self.nets = nn.ModuleList(nets)
        self.replicas = len(nets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = x.chunk(self.replicas, dim=1)
        if x.device.type != "cuda":
            outs = [net(p).flatten(1) for net, p in zip(self.nets, parts, strict=True)]
            return torch.stack(outs, 1)
        main, sides = torch.cuda.current_stream(x.device), _streams(x.device, self.replicas)
        outs = []
        for net, p, side in zip(self.nets, parts, sides, strict=True):
            side.wait_stream(main)  # fork: the input is ready
            with torch.cuda.stream(side):
                outs.append(net(p).flatten(1))
            # the input is saved for the backward, which runs on `side` too: its memory must
            # not go back to the current stream's pool while `side` may still read it
            p.record_stream(side)
        for side, out in zip(sides, outs, strict=True):
            main.wait_stream(side)  # join: every replica's logits are ready
            out.record_stream(main)
        return torch.stack(outs, 1)


_STREAMS: dict[tuple[int | None, int], list[torch.cuda.Stream]] = {}


def _streams(device: torch.device, n: int) -> list[torch.cuda.Stream]:
    """n streams of `device`, made once per process: the graph captured in a step's warm-up
    and every later eager call (evaluation) use the same ones."""
    key = (device.index, n)
    if key not in _STREAMS:
        _STREAMS[key] = [torch.cuda.Stream(device) for _ in range(n)]
    return _STREAMS[key]


def _is_linear(stacked: TinyNet, key: str) -> bool:
    return isinstance(stacked.get_submodule(key.rsplit(".", 1)[0]), GroupedLinear)


@torch.no_grad()
def load_replicas(stacked: TinyNet | StreamedReplicas, nets: list[TinyNet]) -> None:
    """Copy S single models into the stacked one (replica s ← nets[s])."""
    if isinstance(stacked, StreamedReplicas):
        for mine, theirs in zip(stacked.nets, nets, strict=True):
            mine.load_state_dict(theirs.state_dict())
        return
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
def replica_state(stacked: TinyNet | StreamedReplicas, s: int) -> dict[str, torch.Tensor]:
    """The state dict of replica s, loadable into `build(spec)`."""
    if isinstance(stacked, StreamedReplicas):
        return {k: v.clone() for k, v in stacked.nets[s].state_dict().items()}
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
