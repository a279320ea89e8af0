"""kernels.c through native.py: built on first use, the same bits as the torch ops it replaces
(the equality itself is swept in test_speed's ReLU + dropout + pool test), and every way it can
be missing or broken falls back to the torch ops with a one-line reason."""

import json
import os
import subprocess
import sys
import tempfile

import pytest
import torch

from tinycnn.training import Recipe, Runtime, Target
from tinycnn.training.engine import train
from tinycnn.training.fast import native


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty cache and no library loaded in this process; the real one afterwards."""
    monkeypatch.setenv(native.CACHE_ENV, str(tmp_path / "cache"))
    native.load.cache_clear()
    yield tmp_path / "cache"
    native.load.cache_clear()


def test_builds_once_into_the_cache_and_passes_its_self_check(kernels, fresh):
    assert native.available() is None
    built = list(fresh.iterdir())
    assert len(built) == 1 and built[0].suffix == ".so"
    stamp = built[0].stat().st_mtime_ns
    native.load.cache_clear()
    assert native.available() is None  # loaded from the cache, not built again
    assert [p.stat().st_mtime_ns for p in fresh.iterdir()] == [stamp]


def test_no_compiler_falls_back_to_torch_with_the_reason(fresh, monkeypatch):
    monkeypatch.setenv("CC", "no-such-cc")
    assert native.available() == "no C compiler ('no-such-cc' is not on PATH; set CC to one)"


def test_a_compiler_that_fails_is_one_line(fresh, monkeypatch, tmp_path):
    cc = tmp_path / "badcc"
    cc.write_text("#!/bin/sh\necho 'bad: cannot compile' >&2\nexit 1\n")
    cc.chmod(0o755)
    monkeypatch.setenv("CC", str(cc))
    assert native.available() == f"{cc} could not build kernels.c: bad: cannot compile"
    assert list(fresh.iterdir()) == []  # no half-written file left behind
    monkeypatch.setenv("CC", f"{cc} -O1")  # a command with words, as `ccache gcc`
    assert native.available() == f"{cc} -O1 could not build kernels.c: bad: cannot compile"


def test_an_unwritable_cache_falls_back(kernels, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(native.CACHE_ENV, str(blocker / "cache"))
    native.load.cache_clear()
    try:
        why = native.available()
    finally:
        native.load.cache_clear()
    assert why is not None and why.startswith(str(blocker / "cache"))


def test_a_damaged_cached_library_is_built_again(kernels, fresh):
    lib = native.library_path(native._compiler())
    fresh.mkdir()
    lib.write_bytes(b"\x7fELF truncated")  # e.g. a disk that filled up under another tool
    assert native.available() is None
    assert lib.read_bytes()[:4] == b"\x7fELF" and lib.stat().st_size > 1000


def test_a_compiler_that_builds_something_else_is_refused(kernels, fresh, monkeypatch, tmp_path):
    other = tmp_path / "other.c"
    other.write_text("int unrelated(void) { return 1; }\n")
    monkeypatch.setattr(native, "SOURCE", other)
    why = native.available()
    assert why is not None and "undefined symbol: rdp_forward_f32" in why


def test_a_kernel_that_disagrees_with_torch_is_refused(kernels, fresh, monkeypatch, tmp_path):
    wrong = tmp_path / "kernels.c"  # forgets the dropout scale: the self-check must notice
    wrong.write_text(native.SOURCE.read_text().replace("a * s", "a"))
    monkeypatch.setattr(native, "SOURCE", wrong)
    why = native.available()
    assert why is not None and why.endswith("its results differ from torch's; delete it to rebuild")


def test_processes_building_at_once_each_load_a_whole_library(kernels, fresh):
    code = "from tinycnn.training.fast import native; print(native.available())"
    env = {**os.environ, native.CACHE_ENV: str(fresh)}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    assert [p.communicate(timeout=120)[0].strip() for p in procs] == ["None"] * 3
    assert len([p for p in fresh.iterdir() if p.suffix == ".so"]) == 1
    assert [p for p in fresh.iterdir() if p.suffix == ".tmp"] == []


@pytest.mark.slow
@pytest.mark.exact
def test_a_run_with_the_kernels_equals_one_without_to_the_bit(kernels):
    """The default model's first block runs in kernels.c; two epochs of a small subset give the
    same metrics and weights as the torch ops (whatever precision this CPU defaults to)."""
    results = []
    for compiled in (True, False):
        with tempfile.TemporaryDirectory() as d:
            rt = Runtime(out=d, threads=1, progress=False, report=False, native=compiled)
            r = train("fast7806", Recipe(epochs=2, limit_train=1280, limit_test=500),
                      Target(target=None), rt)  # fmt: skip
            assert json.loads((r.run_dir / "env.json").read_text())["speed"]["native"] is compiled
            results.append((r.metrics, r.model.state_dict()))
    (m1, w1), (m2, w2) = results
    assert [(m["train_loss"], m["test_acc"]) for m in m1] == [
        (m["train_loss"], m["test_acc"]) for m in m2
    ]
    assert all(torch.equal(w1[k], w2[k]) for k in w1)


@pytest.mark.parametrize("width", [native.MAX_WIDTH, native.MAX_WIDTH + 2])
def test_the_widest_map_runs_in_the_kernels_and_a_wider_one_in_torch(kernels, width):
    """kernels.c's row buffers hold MAX_WIDTH columns: up to it the kernels run, beyond it the
    torch ops; either way the same bits as ReLU + dropout then the pool."""
    from tinycnn.training.fast.fastops import FastMaxPool, ReluDropout, ReluDropoutPool

    x = torch.randn(1, 2, 4, width, generator=torch.Generator().manual_seed(2)).to(torch.bfloat16)
    assert native.fits(x) is (width <= native.MAX_WIDTH)
    g = torch.randn(1, 2, 2, width // 2).to(torch.bfloat16)
    outs = []
    for m in (torch.nn.Sequential(ReluDropout(0.2), FastMaxPool(2, 2)),
              ReluDropoutPool(0.2, FastMaxPool(2, 2), compiled=True)):  # fmt: skip
        leaf = x.clone().requires_grad_()
        torch.manual_seed(3)
        y = m(leaf)
        y.backward(g)
        outs.append((y.detach(), leaf.grad))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])


def test_a_default_device_set_elsewhere_does_not_move_the_kernels_buffers(kernels):
    """A notebook's `torch.set_default_device(...)` must not decide where the kernels write:
    their outputs are allocated beside the CPU input (a buffer elsewhere would hand C a pointer
    it cannot write to)."""
    from tinycnn.training.fast.fastops import FastMaxPool, ReluDropoutPool

    x = torch.randn(2, 3, 6, 8, generator=torch.Generator().manual_seed(4))
    g = torch.randn(2, 3, 3, 4, generator=torch.Generator().manual_seed(5))
    for compiled in (True, False):  # the torch ops draw their drops from the CPU's RNG too
        outs = []
        for where in ("cpu", "meta"):
            native.load.cache_clear()  # loading (and its self-check) happens here too
            with torch.device(where):
                leaf = x.clone().requires_grad_()
                torch.manual_seed(6)
                y = ReluDropoutPool(0.2, FastMaxPool(2, 2), compiled=compiled)(leaf)
                y.backward(g)
            outs.append((y.detach(), leaf.grad))
        assert outs[1][0].device.type == "cpu" and outs[1][1].device.type == "cpu"
        assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
