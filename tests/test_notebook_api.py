"""What a notebook user gets back: the trained model, readable results, progress that leaves a
line per epoch with the epoch's own numbers, and figures that show themselves."""

import io

import pytest
from matplotlib.image import imread

import tinycnn
from tinycnn.reports import evaluate_run, plots
from tinycnn.training import ProgressBar, Recipe, Runtime, Target, scoring

SMALL = Recipe(epochs=2, limit_train=640, limit_test=300, batch_size=128)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("nb") / "runs"
    bar = ProgressBar()
    r = tinycnn.train(
        "gap7496",
        SMALL,
        Target(target=None, max_params=8000),
        Runtime(out=str(out), report=False),
        callbacks=[bar],
    )
    return r, bar


def test_epoch_lines_are_the_logged_numbers(tmp_path, capsys):
    bar = ProgressBar()
    r = tinycnn.train(
        "gap7496", SMALL, Target(target=None), Runtime(out=str(tmp_path), report=False),
        callbacks=[bar],
    )  # fmt: skip
    assert bar.every == 1  # 5 steps an epoch: the bar's running numbers refresh every step
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch")]
    assert [ln.split()[1] for ln in lines] == ["1/2", "2/2"]
    m = r.metrics[-1]
    assert f"train loss {m['train_loss']:.4f} acc {m['train_acc']:.2f}%" in lines[-1]
    assert f"({m['test_correct']}/{m['test_total']})" in lines[-1]


def test_result_model_is_the_last_epochs_network(result):
    r, _ = result
    assert isinstance(r.model, tinycnn.TinyNet) and not r.model.training
    run, ev, data = evaluate_run(r.run_dir)
    assert ev.total == SMALL.limit_test and ev.correct == r.metrics[-1]["test_correct"]
    logits = scoring.logits(
        r.model, data.test_x[: SMALL.limit_test], data.mean, data.std, run.config["runtime"]["bf16"]
    )
    assert int((logits.argmax(1) == data.test_y[: SMALL.limit_test]).sum()) == ev.correct
    # best_model: the epoch with the most correct test images (the latest of ties), not the last
    best = max(reversed(r.metrics), key=lambda m: m["test_correct"])
    x, y = data.test_x[: SMALL.limit_test], data.test_y[: SMALL.limit_test]
    bf16 = run.config["runtime"]["bf16"]
    best_logits = scoring.logits(r.best_model, x, data.mean, data.std, bf16)
    assert int((best_logits.argmax(1) == y).sum()) == best["test_correct"]


def test_reprs_are_short_and_say_what_matters(result):
    r, _ = result
    text = repr(r)
    assert r.verdict.line() in text and str(r.run_dir) in text and len(text) < 2000
    assert text.count("\n") == 2 + len(r.metrics)  # title, heading, a row per epoch, the directory
    assert "<table" in r._repr_html_() and r._repr_html_().count("<tr>") == 1 + len(r.metrics)
    _, ev, _ = evaluate_run(r.run_dir)
    assert len(repr(ev)) < 2000 and f"{ev.accuracy:.2f}%" in repr(ev)
    assert "the first 300 of 10,000 test images (the run's limit_test)" in repr(ev)
    assert repr(r.verdict).startswith("Verdict(PASS")


def test_figures_show_themselves_as_png(result):
    r, _ = result
    fig = plots.learning_curves([r.metrics])
    png = fig._repr_png_()
    assert png.startswith(b"\x89PNG")
    assert imread(io.BytesIO(png)).shape[1] == plots.WIDTH * plots.DPI
