"""Recipe(ema=…): an average of the weights is what is evaluated, saved and judged; it is
computed as its formula says, survives a resume exactly, and is what load_model returns."""

import pytest
import torch
from torch import nn

from tinycnn.data import load
from tinycnn.errors import TrainingInterrupted
from tinycnn.training import Recipe, Runtime, Target, resume, scoring, train
from tinycnn.training.callbacks import Hooks
from tinycnn.training.ema import WeightAverage
from tinycnn.training.runs import load_model

SMALL = Recipe(epochs=2, limit_train=512, limit_test=256, batch_size=64, ema=0.9)


def rt(tmp_path):
    return Runtime(out=str(tmp_path), report=False, threads=1)


def test_average_follows_its_formula():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    avg = WeightAverage(model, decay=0.9)
    start = avg.module[0].weight.clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
    avg.update(model)  # step 1: d = min(0.9, 2/11)
    d = 2 / 11
    torch.testing.assert_close(avg.module[0].weight, d * start + (1 - d) * model[0].weight)
    assert avg.module[1].num_batches_tracked == model[1].num_batches_tracked  # ints: copied
    for _ in range(200):
        avg.update(model)
    torch.testing.assert_close(avg.module[0].weight, model[0].weight)  # converges to w


@pytest.mark.exact
def test_the_average_is_what_is_evaluated_and_saved(tmp_path):
    r = train("gap7496", SMALL, Target(target=None), rt(tmp_path))
    run, model = load_model(r.run_dir)
    last = torch.load(r.run_dir / "last.pt", weights_only=True)
    raw = {k: v for k, v in last["model"].items()}
    averaged = last["ema"]["model"]
    assert any(not torch.equal(raw[k], averaged[k]) for k in raw)  # two different sets
    assert all(torch.equal(model.state_dict()[k], averaged[k]) for k in averaged)
    data = load()
    logits = scoring.logits(
        model, data.test_x[:256], data.mean, data.std, run.config["runtime"]["bf16"]
    )
    assert int((logits.argmax(1) == data.test_y[:256]).sum()) == r.metrics[-1]["test_correct"]


@pytest.mark.exact
def test_resume_continues_the_average_exactly(tmp_path):
    full = train("gap7496", SMALL, Target(target=None), rt(tmp_path / "a"))

    def stop(m):
        if m["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted) as e:
        train(
            "gap7496",
            SMALL,
            Target(target=None),
            rt(tmp_path / "b"),
            callbacks=[Hooks(on_epoch=stop)],
        )
    (d,) = e.value.run_dirs
    resumed = resume(d, rt(tmp_path / "b"))
    keys = ("test_loss", "test_correct", "train_loss")
    assert [[m[k] for k in keys] for m in resumed.metrics] == [
        [m[k] for k in keys] for m in full.metrics
    ]
