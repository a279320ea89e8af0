"""The CPU speed options change no result in meaning: checked against plain torch modules."""

import json
import platform

import pytest
import torch
from torch import nn

from tinycnn import build, zoo
from tinycnn.training import Recipe, Runtime, Target, train
from tinycnn.training.fast.fastops import (
    FastDropout,
    FastMaxPool,
    ReluDropout,
    ReluDropoutPool,
    drop_positions,
    memory_order,
)
from tinycnn.training.fast.speed import (
    native_bf16,
    use_fast_dropout,
    use_fast_pool,
)

pytestmark = pytest.mark.exact
CPU = torch.device("cpu")


def dense_drop(n: int, p: float) -> torch.Tensor:
    """The oracle's mask: True where `drop_positions` (same RNG state) drops."""
    mask = torch.zeros(n, dtype=torch.bool)
    mask[drop_positions(n, p, CPU)] = True
    return mask


@pytest.mark.parametrize("p", [0.05, 0.3])
def test_drop_positions_are_a_bernoulli_p_process(p):
    torch.manual_seed(0)
    n = 1 << 20
    pos = drop_positions(n, p, CPU)
    assert pos.dtype == torch.long and int(pos[0]) >= 0 and int(pos[-1]) < n
    assert bool((pos[1:] > pos[:-1]).all())  # sorted, no repeats
    drop = torch.zeros(n)
    drop[pos] = 1
    assert abs(drop.mean().item() - p) < 0.003  # binomial std is ≤ 0.0005
    a, b = drop[:-1] - p, drop[1:] - p  # neighbours uncorrelated
    assert abs((a * b).mean().item()) < 0.003
    # the start and the end of the range are no different from the middle
    for part in (drop[: n // 8], drop[-n // 8 :]):
        assert abs(part.mean().item() - p) < 0.01
    assert len(drop_positions(n, 0.0, CPU)) == 0


def test_drop_masks_follow_torch_rng_state():
    n = 64 * 8 * 5 * 5
    torch.manual_seed(1)
    first, second = dense_drop(n, 0.5), dense_drop(n, 0.5)
    assert not torch.equal(first, second)  # each call draws afresh
    torch.manual_seed(1)
    assert torch.equal(dense_drop(n, 0.5), first)  # the seed decides the masks
    state = torch.get_rng_state()  # what a checkpoint saves: a resume draws the same next mask
    assert torch.equal(dense_drop(n, 0.5), second)
    torch.set_rng_state(state)
    assert torch.equal(dense_drop(n, 0.5), second)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_fast_dropout_zeroes_and_scales_like_inverted_dropout(layout):
    x = torch.randn(64, 8, 5, 5).contiguous(memory_format=layout).requires_grad_()
    g = torch.randn_like(x)
    d = FastDropout(0.2)
    torch.manual_seed(3)
    y = d(x)
    y.backward(g)
    torch.manual_seed(3)
    keep = torch.empty_like(x, dtype=torch.bool)  # x's layout; positions count in memory order
    memory_order(keep).copy_(~dense_drop(x.numel(), 0.2))
    torch.testing.assert_close(y, x.detach() * keep / 0.8)
    torch.testing.assert_close(x.grad, g * keep / 0.8)
    assert y.is_contiguous(memory_format=layout) and x.grad.is_contiguous(memory_format=layout)
    d.eval()
    assert d(x) is x


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_relu_dropout_equals_relu_then_fast_dropout(dtype):
    x = torch.randn(32, 16, 6, 6).to(dtype).requires_grad_()
    g = torch.randn_like(x)
    plain = nn.Sequential(nn.ReLU(), FastDropout(0.05))
    fused = ReluDropout(0.05)
    outs = []
    for m in (plain, fused):
        torch.manual_seed(7)
        x.grad = None
        y = m(x)
        y.backward(g)
        outs.append((y.detach(), x.grad.clone()))
    assert torch.equal(outs[0][0], outs[1][0])
    assert torch.equal(outs[0][1], outs[1][1])
    fused.eval()
    assert torch.equal(fused(x), torch.relu(x))


def test_use_fast_dropout_fuses_and_keeps_names_and_numbers():
    torch.manual_seed(0)
    model = build(zoo.get("gap7496"))
    n_dropout = sum(type(m) is nn.Dropout for m in model.modules())
    keys = list(model.state_dict())
    x = torch.randn(16, 1, 28, 28)
    model.eval()
    before = model(x)
    plain = build(zoo.get("gap7496"))
    plain.load_state_dict(model.state_dict())
    for name, child in list(plain.named_children()):  # the unfused oracle: FastDropout only
        if type(child) is nn.Dropout:
            setattr(plain, name, FastDropout(child.p))

    prims = zoo.get("gap7496").expand(10)  # the spec says how many, and what precedes each
    after_relu = sum(
        p.kind == "dropout" and prims[i - 1].kind == "relu" for i, p in enumerate(prims)
    )
    assert use_fast_dropout(model) == n_dropout == sum(p.kind == "dropout" for p in prims)
    assert sum(isinstance(m, ReluDropout) for m in model.modules()) == after_relu > 0
    assert list(model.state_dict()) == keys
    assert torch.equal(model(x), before)  # eval: dropout off, ReLU still applied
    model.train()
    plain.train()
    torch.manual_seed(5)
    fused_out = model(x)
    torch.manual_seed(5)
    torch.testing.assert_close(fused_out, plain(x))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize(
    "settings, size",
    [
        ((2, 2, 0, 1, False), 24),  # no gradients: pairwise maxima
        ((2, 2, 0, 1, False), 13),  # the same, the odd last row and column dropped
        ((2, 2, 0, 1, True), 25),  # channels-last kernel either way from here on
        ((3, 2, 1, 1, False), 13),
        ((2, 1, 0, 2, False), 9),
    ],
)
def test_fast_max_pool_equals_torch_bit_for_bit(dtype, settings, size):
    k, stride, pad, dilation, ceil = settings
    torch.manual_seed(0)
    # after ReLU and dropout most windows hold ties (zeros, and repeated values in bf16)
    x = torch.randn(8, 5, size, size).relu().round(decimals=1).to(dtype)
    g = torch.randn(8, 5, *nn.MaxPool2d(k, stride, pad, dilation, ceil_mode=ceil)(x).shape[2:])
    outs = []
    for pool in (nn.MaxPool2d, FastMaxPool):
        xi = x.clone().requires_grad_()
        y = pool(k, stride, pad, dilation, ceil_mode=ceil)(xi)
        y.backward(g.to(dtype))
        outs.append((y.detach(), xi.grad, y.is_contiguous()))
    assert torch.equal(outs[0][0], outs[1][0])
    assert torch.equal(outs[0][1], outs[1][1])  # the gradient picks the same element per window
    assert outs[1][2]  # hands back the layout it was given
    with torch.no_grad():  # the test pass: 2×2 pools take pairwise maxima, no indices
        fast = FastMaxPool(k, stride, pad, dilation, ceil_mode=ceil)(x)
    assert torch.equal(fast, outs[0][0]) and torch.equal(fast.signbit(), outs[0][0].signbit())


@pytest.mark.parametrize("settings", [(2, 2), (3, 2)])  # pairwise maxima; channels-last kernel
def test_fast_max_pool_keeps_nan_and_signed_zeros_as_torch(settings):
    x = torch.zeros(2, 3, 6, 6)
    x[0, 0, 1, 1] = float("nan")  # the last element of its 2×2 window
    x[1, 2, 2, 3] = float("nan")
    x[0, 1, 0, 0] = -0.0  # a tie between -0.0 and 0.0: the first one wins, sign included
    x[1, 1, 4:, 4:] = torch.tensor([[-0.0, 0.0], [0.0, 0.0]])
    want = nn.MaxPool2d(*settings)(x)
    got = FastMaxPool(*settings)(x)
    assert torch.equal(got.isnan(), want.isnan()) and bool(got.isnan().any())
    assert torch.equal(got.signbit(), want.signbit()) and bool(got.signbit().any())


@pytest.mark.parametrize("shape", [(2, 3, 1, 4), (2, 3, 3, 1), (2, 3, 1, 1)])
def test_fast_max_pool_refuses_a_map_too_small_as_torch(shape):
    with torch.no_grad(), pytest.raises(RuntimeError, match="Output size is too small"):
        FastMaxPool(2)(torch.randn(shape))


def test_use_fast_pool_swaps_every_max_pool_and_keeps_the_state_dict():
    model = build(zoo.get("gap7496"))
    keys = list(model.state_dict())
    assert use_fast_pool(model) == 1
    assert [type(m) for m in model.modules() if isinstance(m, nn.MaxPool2d)] == [FastMaxPool]
    assert list(model.state_dict()) == keys


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize(
    "settings, size",
    [((2, 2, 0, False), 24), ((2, 2, 0, False), 13), ((2, 2, 0, True), 25), ((3, 3, 1, False), 13)],
)
def test_relu_dropout_pool_equals_relu_dropout_then_pool(dtype, settings, size, kernels):
    k, stride, pad, ceil = settings
    torch.manual_seed(0)
    x = torch.randn(8, 5, size, size).round(decimals=1).to(dtype)  # ties, as after ReLU in bf16
    pool = FastMaxPool(k, stride, pad, ceil_mode=ceil)
    g = torch.randn(pool(x).shape).to(dtype)
    outs = []
    fused, compiled = ReluDropoutPool(0.3, pool), ReluDropoutPool(0.3, pool, compiled=True)
    for model in (nn.Sequential(ReluDropout(0.3), pool), fused, compiled):
        xi = x.clone().requires_grad_()
        torch.manual_seed(4)
        y = model(xi)
        y.backward(g)
        outs.append((y.detach(), xi.grad))
        model.eval()
        outs.append((model(x), None))
    for i in (2, 4):  # fused, then fused in kernels.c where the pool fits it (to the bit)
        assert torch.equal(bits(outs[0][0]), bits(outs[i][0]))
        assert torch.equal(bits(outs[0][1]), bits(outs[i][1]))
        assert torch.equal(outs[1][0], outs[i + 1][0])  # eval: ReLU and pool, no dropout


def bits(t: torch.Tensor) -> torch.Tensor:
    """The raw bits: equal values with different signs of zero differ here."""
    return t.view({2: torch.int16, 4: torch.int32}[t.element_size()])


def test_use_fast_pool_fuses_after_relu_dropout_unless_windows_overlap():
    torch.manual_seed(0)
    model = build(zoo.get("gap7496"))
    keys = list(model.state_dict())
    unfused = build(zoo.get("gap7496"))
    unfused.load_state_dict(model.state_dict())
    for m, fuse in ((model, True), (unfused, False)):
        use_fast_dropout(m)
        assert use_fast_pool(m, fuse=fuse) == 1
    assert type(model.drop2) is ReluDropoutPool and type(model.pool1) is nn.Identity
    assert list(model.state_dict()) == keys
    x = torch.randn(16, 1, 28, 28)
    for mode in (True, False):
        model.train(mode), unfused.train(mode)
        torch.manual_seed(5)
        out = model(x)
        torch.manual_seed(5)
        assert torch.equal(out, unfused(x))
    overlapping = nn.Sequential(nn.ReLU(), nn.Dropout(0.1), nn.MaxPool2d(3, 2))
    use_fast_dropout(overlapping)
    use_fast_pool(overlapping)
    assert [type(m) for m in overlapping] == [nn.Identity, ReluDropout, FastMaxPool]


PAGE_FAULT_PROBE = """
import resource, torch
from tinycnn.training.fast.speed import reuse_freed_memory
assert reuse_freed_memory()
for _ in range(3):  # the heap grows once
    torch.empty(8 << 20, dtype=torch.uint8).fill_(1)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    torch.empty(8 << 20, dtype=torch.uint8).fill_(1)  # 2,048 pages each if mmap'd afresh
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)
"""


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_reuse_freed_memory_stops_page_faults_on_reallocation():
    """In a fresh process: the page faults of pytest's own one depend on every earlier test's
    allocations (it failed once in ~20 suite runs that way)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", PAGE_FAULT_PROBE], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) < 500


@pytest.mark.parametrize("bf16", [None, False])
def test_bf16_auto_is_resolved_in_the_saved_config(tmp_path, bf16):
    r = train(
        "gap7496",
        Recipe(epochs=1, limit_train=128, limit_test=64, batch_size=64),
        Target(target=None),
        Runtime(device="cpu", out=str(tmp_path), progress=False, report=False, bf16=bf16),
    )
    saved = json.loads((r.run_dir / "config.json").read_text())["runtime"]["bf16"]
    used = json.loads((r.run_dir / "env.json").read_text())["speed"]["bf16"]
    want = native_bf16(torch.device("cpu")) if bf16 is None else bf16
    assert saved is want and used is want  # a resume reads the resolved value back


def test_cpu_bf16_override_takes_another_cpus_default(monkeypatch):
    """`TINYCNN_CPU_BF16` makes `make test` compute as other CPUs would; a typo is one line."""
    from tinycnn.errors import ConfigError
    from tinycnn.training.fast.speed import CPU_BF16_ENV, resolve_bf16

    monkeypatch.setenv(CPU_BF16_ENV, "0")
    assert native_bf16(CPU) is False and resolve_bf16(None, CPU) is False
    assert resolve_bf16(True, CPU) is True  # an explicit --bf16 still wins
    monkeypatch.setenv(CPU_BF16_ENV, "1")
    assert native_bf16(CPU) is True and resolve_bf16(None, CPU) is True
    monkeypatch.setenv(CPU_BF16_ENV, "yes")
    with pytest.raises(ConfigError, match=r"TINYCNN_CPU_BF16='yes': use 1 .* or 0"):
        native_bf16(CPU)
