"""The graphed training step: its SGD update against torch.optim.SGD (on the CPU, in CI), and
on a GPU, graphed training against eager training and against a learning target."""

import copy
import dataclasses

import pytest
import torch

from tinycnn import zoo
from tinycnn.data import load
from tinycnn.training import Recipe, Runtime, Target
from tinycnn.training.fast.cudagraph import WARMUP_STEPS, GraphedStep, unsupported
from tinycnn.training.loop import Trainer
from tinycnn.training.runs import RunDir

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _params(seed: int) -> list[torch.nn.Parameter]:
    g = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(*s, generator=g)) for s in ((4, 3), (5,), (2, 2, 3))]


@pytest.mark.parametrize(
    "kw",
    [
        {"momentum": 0.9, "nesterov": True},
        {"momentum": 0.9, "nesterov": False},
        {"momentum": 0.85, "nesterov": True, "weight_decay": 1e-3},
        {"momentum": 0.0},
    ],
)
def test_graph_sgd_update_matches_torch_sgd(kw):
    """Several steps of the update a graph replays, with LR and momentum changing between steps
    as OneCycleLR changes them, against torch's own SGD (the oracle) from the same state."""
    mine, ref = _params(0), _params(0)
    opt_mine = torch.optim.SGD(mine, lr=0.1, **kw)
    opt_ref = torch.optim.SGD(ref, lr=0.1, **kw)
    step = GraphedStep(lambda idx: idx, opt_mine, [])
    g = torch.Generator().manual_seed(1)
    for i in range(5):
        lr, m = 0.1 / (i + 1), (kw["momentum"] and 0.85 + 0.02 * i)
        for group in (opt_mine.param_groups[0], opt_ref.param_groups[0]):
            group["lr"], group["momentum"] = lr, m
        grads = [torch.randn(p.shape, generator=g) for p in mine]
        for p, q, gr in zip(mine, ref, grads, strict=True):
            p.grad, q.grad = gr.clone(), gr.clone()
        if i == 0:
            opt_mine.step()  # the eager warm-up step: creates the momentum buffers
        else:
            step.lr.fill_(lr)
            step.momentum.fill_(m)
            with torch.no_grad():
                step._sgd_update()
        opt_ref.step()
        for p, q in zip(mine, ref, strict=True):
            torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-6)
    if kw["momentum"]:  # the buffers updated are the optimizer's own: checkpoints see them
        for p, q in zip(mine, ref, strict=True):
            torch.testing.assert_close(
                opt_mine.state[p]["momentum_buffer"], opt_ref.state[q]["momentum_buffer"]
            )


def test_only_sgd_is_graphed():
    p = _params(0)
    assert unsupported(torch.optim.SGD(p, lr=0.1, momentum=0.9), []) is None
    assert "Adam" in unsupported(torch.optim.Adam(p), [])
    assert "dampening" in unsupported(torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1), [])


def _trainer(tmp_path, runtime: Runtime, **recipe) -> Trainer:
    spec = zoo.get("gap7496")
    tmp_path.mkdir(parents=True, exist_ok=True)
    r = Recipe(**{"epochs": 2, "limit_train": 2048, "limit_test": 1000, **recipe})
    return Trainer(spec, r, Target(target=None), runtime, load(), RunDir(tmp_path))


@cuda
def test_graphed_training_matches_eager_training(tmp_path, monkeypatch):
    """Without dropout or augmentation (whose random draws the two need not share), with
    deterministic fp32 convolutions, graphed and eager training agree after 3 eager warm-up
    steps and 5 graphed ones up to rounding: a wrong LR or momentum in a graphed step would
    move the weights by far more (and the momentum buffers more still)."""
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    base = Runtime(device="cuda", progress=False, report=False)
    runs = {}
    for graphed in (False, True):
        t = _trainer(
            tmp_path / str(graphed),
            dataclasses.replace(base, cuda_graph=graphed),
            epochs=1,
            limit_train=512,
            batch_size=64,
            rotate=0,
        )
        for m in t.model.modules():
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
        assert t.speed["cuda_graph"] is graphed
        t.fit()
        bufs = [t.opt.state[p]["momentum_buffer"].clone() for p in t.model.parameters()]
        runs[graphed] = (copy.deepcopy(t.model.state_dict()), bufs, t.history)
    assert isinstance(t.step, GraphedStep) and len(t.step.graphs) == 1
    for name, ref in runs[False][0].items():
        got = runs[True][0][name]
        if ref.is_floating_point():
            err = ((got - ref).norm() / ref.norm()).item()
            assert err < 1e-4, (name, err)
        else:
            assert torch.equal(got, ref), name  # num_batches_tracked: every step counted
    for got, ref in zip(runs[True][1], runs[False][1], strict=True):
        err = ((got - ref).norm() / ref.norm()).item()
        assert err < 1e-3, err
    a, b = runs[False][2][0], runs[True][2][0]
    assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
    assert a["test_correct"] == b["test_correct"]


@cuda
def test_graphed_training_learns_and_draws_fresh_randomness(tmp_path):
    """Dropout and rotation under replay: 4 epochs on 4k images must reach 95 %, and two
    replays of one step must not repeat their random draws."""
    t = _trainer(
        tmp_path, Runtime(device="cuda", progress=False, report=False), epochs=4, limit_train=4096
    )
    res = t.fit()
    assert t.speed["cuda_graph"] and isinstance(t.step, GraphedStep)
    # a single run's batch index is (1, B): one replica (stacked groups pass (S, B))
    assert t.step.seen[(1, 128)] == WARMUP_STEPS + 1 and (1, 128) in t.step.graphs
    assert res.metrics[-1]["test_acc"] >= 95.0, res.metrics
    idx = torch.arange(128, device="cuda")[None]
    state = {k: v.clone() for k, v in t.model.state_dict().items()}
    first = t.step(idx).item()
    t.model.load_state_dict(state)  # same weights, same batch: only the draws differ
    second = t.step(idx).item()
    assert first != second


def _group(tmp_path, runtime: Runtime, seeds: list[int]) -> Trainer:
    """A stacked group (one seed: a single run) of gap7496 without dropout or rotation, whose
    random draws a group shares out differently: 3 eager warm-up steps and 5 replays."""
    spec = zoo.get("gap7496").with_(dropout=0.0)
    recipe = Recipe(epochs=1, limit_train=512, limit_test=1000, batch_size=64, rotate=0)
    recipe = dataclasses.replace(recipe, seed=seeds[0])
    dirs = [RunDir.create(tmp_path, "g", seed) for seed in seeds]
    t = Trainer(spec, recipe, Target(target=None), runtime, load(), dirs, seeds)
    t.fit()
    return t


def _rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


@cuda
def test_graphed_streams_group_is_the_single_graphed_runs(tmp_path, monkeypatch):
    """Seeds on their own streams, replayed from one graph, against each seed's own graphed
    run (deterministic fp32 kernels): the same kernels, so only rounding may differ. A stream
    not waited for (a race) or a replica reading another's channels would move far more."""
    from tinycnn.training.fast.replicas import StreamedReplicas, replica_state

    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    rt = Runtime(device="cuda", progress=False, report=False, streams=True)
    group = _group(tmp_path / "group", rt, [1, 2])
    assert isinstance(group.model, StreamedReplicas)
    assert group.speed["cuda_graph"] and (2, 64) in group.step.graphs
    for s, seed in enumerate((1, 2)):
        one = _group(tmp_path / "single", rt, [seed])
        mine, ref = replica_state(group.model, s), one.model.state_dict()
        for name, want in ref.items():
            if want.is_floating_point():
                assert _rel_err(mine[name], want) < 1e-4, (seed, name)
        assert group.histories[s][0]["test_correct"] == pytest.approx(
            one.history[0]["test_correct"], abs=2
        )


@cuda
def test_graphed_grouped_group_matches_eager_group(tmp_path, monkeypatch):
    """The grouped layout, replayed, against the same group trained eagerly. (Not against the
    single runs: grouped kernels sum in another order, and within 8 steps that alone moves a
    seed's conv1 weights by 3 %, on the CPU as on an H200, where it was measured.)"""
    from tinycnn.training.fast.replicas import replica_state

    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    base = Runtime(device="cuda", progress=False, report=False, streams=False)
    graphed = _group(tmp_path / "graphed", base, [1, 2])
    eager = _group(tmp_path / "eager", dataclasses.replace(base, cuda_graph=False), [1, 2])
    assert graphed.speed["cuda_graph"] and not eager.speed["cuda_graph"]
    for s in range(2):
        mine, ref = replica_state(graphed.model, s), replica_state(eager.model, s)
        for name, want in ref.items():
            if want.is_floating_point():
                assert _rel_err(mine[name], want) < 1e-4, (s, name)


@cuda
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels-last"])
def test_grouped_replicas_gradients_on_cuda(monkeypatch, channels_last):
    """One eager forward and backward of the grouped layout on the GPU against each replica's
    own model: cuDNN's grouped kernels must give each replica its own outputs and gradients."""
    from torch.nn import functional as F

    from tinycnn import build
    from tinycnn.training.fast.replicas import load_replicas, replica_state

    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    spec = zoo.get("gap7496").with_(dropout=0.0)
    nets = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        nets.append(build(spec))
    stacked = build(spec, replicas=2)
    load_replicas(stacked, nets)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    stacked = stacked.cuda().to(memory_format=fmt)
    nets = [n.cuda().to(memory_format=fmt) for n in nets]
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(64, 1, 28, 28, generator=g).cuda() for _ in nets]
    ys = [torch.randint(0, 10, (64,), generator=g).cuda() for _ in nets]
    out = stacked(torch.cat(xs, 1))
    sum(F.cross_entropy(out[:, s], ys[s]) for s in range(2)).backward()
    with torch.no_grad():  # the stacked gradients, cut into replicas as the weights are
        for p in stacked.parameters():
            p.copy_(p.grad)
    for s, net in enumerate(nets):
        single = net(xs[s])
        torch.testing.assert_close(out[:, s], single, rtol=1e-4, atol=1e-5)
        F.cross_entropy(single, ys[s]).backward()
        grads = replica_state(stacked, s)
        for name, p in net.named_parameters():
            err = ((grads[name] - p.grad).norm() / p.grad.norm()).item()
            assert err < 1e-4, (s, name, err)
