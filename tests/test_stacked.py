"""Stacked replicas are exactly S independent models: outputs and one SGD step vs the originals."""

import pytest
import torch
import torch.nn.functional as F

from tinycnn import build, zoo
from tinycnn.training.fast.replicas import load_replicas, replica_state

pytestmark = pytest.mark.exact


@pytest.mark.parametrize("name", zoo.names())
def test_stacked_equals_separate_models(name):
    spec = zoo.get(name).with_(dropout=0.0)  # dropout masks are random: compare without them
    nets = []
    for seed in (1, 2, 3):
        torch.manual_seed(seed)
        nets.append(build(spec))
    stacked = build(spec, replicas=3)
    load_replicas(stacked, nets)
    assert sum(p.numel() for p in stacked.parameters()) == 3 * nets[0].table.total_params
    xs = [torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    x = torch.cat(xs, 1)  # replica s reads channel s
    ys = [
        torch.randint(0, 10, (8,), generator=torch.Generator().manual_seed(9 + i)) for i in range(3)
    ]

    # train-mode forward (batch-norm batch statistics) and one SGD step, both ways
    out = stacked(x)
    singles = [net(xs[s]) for s, net in enumerate(nets)]  # one forward each, as the stack
    for s in range(3):
        assert torch.allclose(out[:, s], singles[s], atol=1e-5), (name, s)
    opt = torch.optim.SGD(stacked.parameters(), lr=0.1, momentum=0.9)
    loss = F.cross_entropy(out.reshape(-1, 10), torch.stack(ys, 1).reshape(-1), reduction="sum")
    (loss / 8).backward()
    opt.step()
    for s, net in enumerate(nets):
        o = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        F.cross_entropy(singles[s], ys[s]).backward()
        o.step()
        got = replica_state(stacked, s)
        for key, want in net.state_dict().items():
            assert torch.allclose(got[key].float(), want.float(), atol=1e-5), (name, s, key)


# Relative tolerance of a loss computed two ways (grouped vs plain convolution kernels, which sum
# in different orders), per precision: fp32 leaves room for the summation order (observed 2e-7);
# under bf16 autocast each layer's output is rounded to 8 significant bits, so the two ways may
# differ by bf16's unit roundoff, 2^-8 (observed 7.8e-5 on an AVX512-BF16 CPU).
LOSS_RTOL = {False: 1e-5, True: 2**-8}


@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16"])
def test_stacked_training_matches_single_runs(tmp_path, bf16):
    """No dropout, no augmentation: the only randomness is init and data order, both per seed.

    Two steps, so float rounding (grouped vs plain convolution kernels) has no time to grow:
    after a few more steps a max-pool tie broken differently makes the runs drift apart.
    Precision is pinned (not the CPU's default), so the tolerance is the one that applies."""
    from tinycnn.reports import compare
    from tinycnn.training import Recipe, Runtime, Target, train
    from tinycnn.training.seeds_stacked import run_stacked

    spec = zoo.get("gap7496").with_(dropout=0.0)
    recipe = Recipe(epochs=1, limit_train=128, limit_test=256, batch_size=64, rotate=0.0, val=100)
    rt = Runtime(
        device="cpu", out=str(tmp_path), progress=False, threads=1, report=False, bf16=bf16
    )
    group = run_stacked(spec, recipe, Target(target=50.0, consistent=1), rt, [1, 2])
    rtol = LOSS_RTOL[bf16]
    for seed, run in zip((1, 2), group.runs, strict=True):
        single = train(
            spec, Recipe(**{**recipe.__dict__, "seed": seed}), Target(target=50.0), rt
        ).metrics
        for a, b in zip(run.metrics, single, strict=True):
            assert a["train_loss"] == pytest.approx(b["train_loss"], rel=rtol)
            assert a["test_loss"] == pytest.approx(b["test_loss"], rel=rtol)
            assert a["val_loss"] == pytest.approx(b["val_loss"], rel=rtol)  # one shared split
            if not bf16:  # a near-tie between two classes may round either way in bf16
                assert a["test_correct"] == b["test_correct"]
    assert [r["params"] for r in compare([r.run_dir for r in group.runs])] == [7496, 7496]


def test_stacked_refuses_plateau(tmp_path):
    from tinycnn.errors import ConfigError
    from tinycnn.training import Recipe, Runtime, Target
    from tinycnn.training.seeds_stacked import run_stacked

    with pytest.raises(ConfigError, match="plateau follows each seed's test loss"):
        run_stacked(
            "gap7496", Recipe(schedule="plateau"), Target(), Runtime(out=str(tmp_path)), [1, 2]
        )


def test_streamed_replicas_are_the_single_models():
    """The streams layout holds the single models themselves: the same outputs, and each
    replica's state dict is its model's, loadable into `build(spec)`."""
    from tinycnn.training.fast.replicas import StreamedReplicas

    spec = zoo.get("fast7806").with_(dropout=0.0)
    nets = []
    for seed in (1, 2, 3):
        torch.manual_seed(seed)
        nets.append(build(spec))
    streamed = StreamedReplicas([build(spec) for _ in range(3)])
    load_replicas(streamed, nets)
    x = torch.randn(8, 3, 28, 28, generator=torch.Generator().manual_seed(0))
    out = streamed(x)
    assert out.shape == (8, 3, 10)
    for s, net in enumerate(nets):
        assert torch.equal(out[:, s], net(x[:, s : s + 1])), s
        again = build(spec)
        again.load_state_dict(replica_state(streamed, s))  # keys without the ModuleList prefix
        mine, theirs = again.state_dict(), net.state_dict()
        assert all(torch.equal(mine[k], theirs[k]) for k in theirs)


@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16"])
def test_streamed_training_is_the_single_runs(tmp_path, bf16):
    """A stacked group in the streams layout trains each seed's own model with its own batches:
    on a CPU the replicas run one after another through the very kernels of a single run, so
    their weights after training are the single runs' bit for bit (no dropout, no rotation,
    whose draws a group shares out differently). Only the losses reported sum in another order
    (each replica's mean out of a group's per-image losses)."""
    from tinycnn.training import Recipe, Runtime, Target, train
    from tinycnn.training.seeds_stacked import run_stacked

    spec = zoo.get("gap7496").with_(dropout=0.0)
    recipe = Recipe(epochs=2, limit_train=128, limit_test=256, batch_size=64, rotate=0.0)
    rt = Runtime(
        device="cpu", out=str(tmp_path), progress=False, threads=1, report=False, bf16=bf16,
        streams=True,
    )  # fmt: skip
    group = run_stacked(spec, recipe, Target(target=50.0, consistent=1), rt, [1, 2])
    for seed, run in zip((1, 2), group.runs, strict=True):
        single = train(spec, Recipe(**{**recipe.__dict__, "seed": seed}), Target(target=50.0), rt)
        for a, b in zip(run.metrics, single.metrics, strict=True):
            assert a["train_acc"] == b["train_acc"]
            assert a["test_correct"] == b["test_correct"]
            for key in ("train_loss", "test_loss"):  # a mean summed in another order
                assert a[key] == pytest.approx(b[key], rel=1e-6)
        mine = torch.load(run.run_dir / "last.pt", weights_only=True)["model"]
        theirs = torch.load(single.run_dir / "last.pt", weights_only=True)["model"]
        assert mine.keys() == theirs.keys()
        for key in theirs:
            assert torch.equal(mine[key], theirs[key]), (seed, key)
