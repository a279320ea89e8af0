"""A whole training step replayed as one CUDA graph (`Runtime.cuda_graph`, on by default on a GPU).

On a GPU a tiny model's step is ~200 kernels of a few microseconds each, so Python and launch
overhead, not arithmetic, set the pace: eager PyTorch keeps the GPU mostly idle. Here the step,
batch gather, augmentation, forward, loss, backward, the SGD update and the epoch's running sums,
is captured once per batch size and then replayed: one launch per step, no host sync.

`torch.optim.SGD` bakes its learning rate and momentum into a graph as constants, and OneCycleLR
changes both every step, so the update is written here with both held in device tensors that are
refilled before each replay. It is torch's formula (dampening 0):
    buf ← m·buf + g        p ← p − lr·(g + m·buf)  with Nesterov,  p ← p − lr·buf  without.
The momentum buffers are the optimizer's own state tensors, so `opt.state_dict()`, checkpoints
and resuming are unchanged. The first `WARMUP_STEPS` steps of each batch size run eagerly with
torch's SGD (it creates those buffers; cuDNN and the allocator settle), as the CUDA-graph docs ask.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable

import torch

WARMUP_STEPS = 3  # eager steps per batch size before it is captured

Body = Callable[[torch.Tensor], torch.Tensor]  # batch indices → loss (and running sums updated)
Step = Callable[[torch.Tensor], torch.Tensor]  # batch indices → the loss, after the update


def eager_step(body: Body, opt: torch.optim.Optimizer, idx: torch.Tensor) -> torch.Tensor:
    """One plain training step: `body`, backward, the optimizer's own update."""
    loss = body(idx)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()  # keeping no autograd graph alive keeps a later capture on one stream


def make_step(
    body: Body, opt: torch.optim.Optimizer, generators: list[torch.Generator], graph: bool
) -> tuple[Step, bool]:
    """The training step for `body`: graphed where `graph` (a CUDA run's `Runtime.cuda_graph`)
    and this optimizer allow it, else eager; and whether it is graphed."""
    if graph and unsupported(opt, generators) is None:
        return GraphedStep(body, opt, generators), True
    return functools.partial(eager_step, body, opt), False


def unsupported(opt: torch.optim.Optimizer, generators: list[torch.Generator]) -> str | None:
    """Why this optimizer's step cannot be graphed here (None: it can)."""
    if type(opt) is not torch.optim.SGD:
        return f"{type(opt).__name__} (only SGD's update is graphed)"
    if len(opt.param_groups) != 1:
        return "more than one parameter group"
    group = opt.param_groups[0]
    if group["dampening"] or group["maximize"]:
        return "SGD with dampening or maximize"
    if not hasattr(torch.cuda.CUDAGraph, "register_generator_state") and generators:
        return "this torch cannot replay a graph that draws from its own generator"
    return None


class GraphedStep:
    """`step(idx)` = zero grads, `body(idx).backward()`, SGD update; returns the loss tensor
    (valid until the next step). Replayed from a CUDA graph after the warm-up steps."""

    def __init__(self, body: Body, opt: torch.optim.SGD, generators: list[torch.Generator]):
        self.body, self.opt, self.generators = body, opt, generators
        group = opt.param_groups[0]
        self.params = [p for p in group["params"] if p.requires_grad]
        dev = self.params[0].device
        self.lr = torch.zeros((), device=dev)
        self.momentum = torch.zeros((), device=dev)
        self.side = torch.cuda.Stream() if dev.type == "cuda" else None
        self.seen: Counter[tuple[int, ...]] = Counter()
        self.graphs: dict[
            tuple[int, ...], tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor]
        ] = {}

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        n = tuple(idx.shape)  # (B,) for one model, (S, B) for a stacked one
        if n not in self.graphs:
            self.seen[n] += 1
            if self.seen[n] <= WARMUP_STEPS:
                return self._eager(idx)
            self._capture(idx)
        graph, static_idx, loss = self.graphs[n]
        static_idx.copy_(idx)
        group = self.opt.param_groups[0]
        self.lr.fill_(group["lr"])  # fills are queued like kernels: no host sync
        self.momentum.fill_(group["momentum"])
        graph.replay()
        return loss

    def _eager(self, idx: torch.Tensor) -> torch.Tensor:
        side = self.side  # warm-up on a side stream, as torch.cuda.graph's docs ask
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            loss = eager_step(self.body, self.opt, idx)
        torch.cuda.current_stream().wait_stream(side)
        return loss

    def _capture(self, idx: torch.Tensor) -> None:
        graph = torch.cuda.CUDAGraph()
        for g in self.generators:  # each replay then advances their offsets, as eager draws do
            graph.register_generator_state(g)
        static_idx = idx.clone()
        self.opt.zero_grad(set_to_none=True)  # gradients are then the graph's own, rewritten
        with torch.cuda.graph(graph):
            loss = self.body(static_idx)
            loss.backward()
            self._sgd_update()
        self.graphs[tuple(idx.shape)] = (graph, static_idx, loss.detach())

    @torch.no_grad()
    def _sgd_update(self) -> None:
        group, params = self.opt.param_groups[0], self.params
        grads = [p.grad for p in params]
        if group["weight_decay"]:
            grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
        bufs = [self.opt.state[p].get("momentum_buffer") for p in params]
        if any(b is None for b in bufs):  # momentum 0 when captured: torch's SGD keeps no buffers
            torch._foreach_sub_(params, torch._foreach_mul(grads, self.lr))
            return
        torch._foreach_mul_(bufs, self.momentum)
        torch._foreach_add_(bufs, grads)
        if group["nesterov"]:
            step = torch._foreach_mul(bufs, self.momentum)
            torch._foreach_add_(step, grads)
        else:
            step = bufs
        torch._foreach_sub_(params, torch._foreach_mul(step, self.lr))
