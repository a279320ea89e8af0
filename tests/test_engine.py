"""The training engine driven from outside: callbacks that watch and stop a run, a validation
split, and a library that prints nothing unless asked."""

import json

import pytest
import torch

from tinycnn.data import load, split_val
from tinycnn.training import Callback, Recipe, Runtime, Target, runs, train
from tinycnn.training.callbacks import Hooks

QUICK = Recipe(epochs=4, limit_train=512, limit_test=256, batch_size=64)


def rt(tmp_path, **kw):
    return Runtime(device="cpu", out=str(tmp_path / "runs"), report=False, threads=1, **kw)


class Recorder(Callback):
    def __init__(self, stop_after=None):
        self.events, self.steps, self.stop_after = [], 0, stop_after

    def on_start(self, trainer):
        self.events.append("start")

    def on_step(self, trainer, step):
        self.steps += 1

    def on_epoch_end(self, trainer, row):
        self.events.append(("epoch", row["epoch"]))
        return self.stop_after is not None and row["epoch"] >= self.stop_after

    def on_end(self, trainer, result):
        self.events.append(("end", None if result is None else len(result.metrics)))


def test_a_callback_stops_the_run_after_epoch_2(tmp_path):
    cb = Recorder(stop_after=2)
    r = train("fast7806", QUICK, Target(target=None), rt(tmp_path), callbacks=[cb])
    assert cb.events == ["start", ("epoch", 1), ("epoch", 2), ("end", 2)]
    steps_per_epoch = -(-512 // 64)
    assert cb.steps == 2 * steps_per_epoch  # every SGD step, no more
    assert r.stopped and [m["epoch"] for m in r.metrics] == [1, 2]
    status = json.loads((r.run_dir / runs.STATUS).read_text())
    assert status == {"state": "stopped", "epoch": 2}


def test_a_run_nobody_stops_is_finished(tmp_path):
    cb = Recorder()
    r = train("fast7806", QUICK.__class__(**{**QUICK.__dict__, "epochs": 2}), Target(None),
              rt(tmp_path), callbacks=[cb])  # fmt: skip
    assert not r.stopped and cb.events[-1] == ("end", 2)


def test_the_library_prints_nothing_and_the_engine_draws_nothing(tmp_path, capfd):
    r = train("fast7806", Recipe(epochs=1, limit_train=256, limit_test=64), Target(None),
              Runtime(device="cpu", out=str(tmp_path / "runs"), threads=1))  # fmt: skip
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert not (r.run_dir / "report.md").exists()  # tinycnn.train adds the report writer


def test_the_workbench_writes_the_report_unless_told_not_to(tmp_path):
    import tinycnn

    quick = Recipe(epochs=1, limit_train=256, limit_test=64)
    on = tinycnn.train("fast7806", quick, Target(None), Runtime(out=str(tmp_path), threads=1))
    off = tinycnn.train("fast7806", quick, Target(None), rt(tmp_path))  # report=False
    assert (on.run_dir / "report.md").is_file() and not (off.run_dir / "report.md").exists()


def test_val_split_is_stratified_disjoint_and_the_same_for_every_seed():
    ds = load()
    n = 5000
    a, b = split_val(ds, n, seed=0), split_val(ds, n, seed=0)
    assert torch.equal(a.val_y, b.val_y) and torch.equal(a.val_x, b.val_x)
    assert len(a.val_y) == n and len(a.train_y) == len(ds.train_y) - n
    # each class gives its share: the independent oracle is n · count_c / N, within one image
    share = torch.bincount(ds.train_y).double() * n / len(ds.train_y)
    got = torch.bincount(a.val_y, minlength=len(share)).double()
    assert ((got - share).abs() < 1).all(), (got, share)
    # disjoint: every training image is in exactly one split (images are distinct enough that
    # matching the first val image's pixels against the rest finds none among the kept ones)
    assert a.train_x.shape[0] + a.val_x.shape[0] == ds.train_x.shape[0]
    assert not (a.train_x == a.val_x[0]).flatten(1).all(1).any()
    assert split_val(ds, n, seed=1).val_y.tolist() != a.val_y.tolist()  # the seed draws it


def test_val_rows_and_selection_on_val(tmp_path):
    recipe = Recipe(epochs=3, limit_train=512, limit_test=256, val=300, select="val")
    seen = []
    r = train(
        "fast7806", recipe, Target(None), rt(tmp_path), callbacks=[Hooks(on_epoch=seen.append)]
    )
    assert all({"val_loss", "val_acc", "val_correct", "val_total"} <= m.keys() for m in seen)
    assert all(m["val_total"] == 300 for m in r.metrics)
    best = max(range(3), key=lambda i: (r.metrics[i]["val_acc"], i))  # ties: the later epoch
    ckpt = torch.load(r.run_dir / runs.BEST, weights_only=True)
    assert ckpt["epoch"] == best + 1 and ckpt["val_acc"] == r.metrics[best]["val_acc"]
    cfg = json.loads((r.run_dir / runs.CONFIG).read_text())
    assert cfg["recipe"]["val"] == 300 and cfg["data"]["val"] == 300
    assert cfg["data"]["train"] == 512  # --limit-train counts the images left for training


def test_select_val_needs_a_split():
    from tinycnn.errors import ConfigError

    with pytest.raises(ConfigError, match="select = 'val' needs a validation split"):
        Recipe(select="val")


def test_a_stacked_group_is_the_same_trainer_with_replicas(tmp_path):
    """Callbacks see each replica's row and each replica's end; one stop stops the group."""
    from tinycnn.training.seeds_stacked import run_stacked

    cb = Recorder(stop_after=1)
    group = run_stacked("fast7806", QUICK, Target(None), rt(tmp_path), [1, 2], callbacks=[cb])
    assert cb.events == ["start", ("epoch", 1), ("epoch", 1), ("end", 1), ("end", 1)]
    assert [r.stopped for r in group.runs] == [True, True]
    assert len({r.run_dir for r in group.runs}) == 2
