"""Your own nn.Module, as users arrive with it: trained from a file on the command line and from
Python, judged by a preset's rules from its traced table, kept with its run so that evaluate,
predict and export work without the user's code, and converted to and from specs."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import tinycnn
from tinycnn import Recipe, Runtime, Target, nets
from tinycnn.errors import BudgetError, ConfigError, SpecError
from tinycnn.training import train
from tinycnn.training.runs import load_model, read_run

COURSE = Path(__file__).parents[1] / "examples" / "modules" / "course_net.py"
QUICK = Recipe(epochs=1, limit_train=256, limit_test=128, batch_size=64)


class NotebookNet(nn.Module):
    """Written as the course writes it, functional calls and all (fx traces them)."""

    def __init__(self):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(1, 8, 3, bias=False), nn.BatchNorm2d(8)
        self.c2, self.c3 = nn.Conv2d(8, 16, 3, bias=False), nn.Conv2d(16, 10, 1)
        self.fc = nn.Linear(10, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.b1(self.c1(x))), 2)  # 28→26→13
        x = F.dropout(F.relu(self.c2(x)), 0.069, self.training)  # 13→11
        x = F.adaptive_avg_pool2d(self.c3(x), 1).view(-1, 10)  # GAP, 1×1 conv before it
        return F.log_softmax(self.fc(x), dim=-1)


class Untraceable(NotebookNet):
    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow: torch.fx cannot follow it
            x = x * 1
        return super().forward(x)


def rt(tmp_path, **kw):
    return Runtime(**{"out": str(tmp_path / "runs"), "report": False, "threads": 1, **kw})


def cli(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", "tinycnn", *argv], capture_output=True,
                          text=True, timeout=300, cwd=cwd)  # fmt: skip


def test_a_module_from_a_file_learns(tmp_path):
    """Learning tested by learning: the course's network from its file, 3 epochs on 2,048
    images, reaches ≥ 70 % on 1,000 test images (80.6–84.2 % measured over seeds 1–3)."""
    recipe = Recipe(epochs=3, limit_train=2048, limit_test=1000, batch_size=64)
    r = train(f"{COURSE}:Net", recipe, Target(target=70.0, consistent=1), rt(tmp_path))
    assert r.verdict.passed, r.verdict.line()
    assert r.params == sum(p.numel() for p in nets.from_file(f"{COURSE}:Net").fresh().parameters())


def test_the_cli_trains_a_file_under_a_preset_and_reports_it(tmp_path):
    out = tmp_path / "runs"
    r = cli("train", f"{COURSE}:Net", "--preset", "under8k", "--epochs", "1", "--limit-train",
            "256", "--limit-test", "128", "--out", str(out), "--quiet")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "7,184 < 8,000 params" in r.stdout and "1 ≤ 15 epochs" in r.stdout
    (d,) = out.iterdir()
    run = read_run(d)
    assert run.is_module and run.model_name == "Net"
    assert (d / nets.SOURCE).read_bytes() == COURSE.read_bytes()  # kept, with its hash
    report = (d / "report.md").read_text()
    assert "Your own `nn.Module` **Net**" in report and "| conv5.0 | conv | 20×6×6 |" in report
    assert "| gap | gap | 20×1×1 | 6 | 1 | 20 | 20 | 0 | 6 | 1 | 2 | 2 | 18 | 28 |" in report
    r = cli("export", str(d), "--onnx", str(tmp_path / "net.onnx"))
    assert r.returncode == 0 and "top-1 same 256/256" in r.stdout, r.stdout + r.stderr
    r = cli("evaluate", str(d), "--json")
    assert json.loads(r.stdout)["correct"] == run.metrics[-1]["test_correct"]


def test_a_class_from_a_notebook_is_kept_as_an_export(tmp_path):
    r = tinycnn.train(NotebookNet, QUICK, Target(target=None), rt(tmp_path, report=True))
    assert (r.run_dir / nets.EXPORTED).is_file() and not (r.run_dir / nets.SOURCE).exists()
    run, model = load_model(r.run_dir)  # rebuilt without the class
    x = torch.zeros(3, 1, 28, 28)
    assert model(x).shape == (3, 10)
    assert "model.pt2" in (r.run_dir / "report.md").read_text()
    ev = tinycnn.reports.evaluate_run(r.run_dir)[1]
    assert ev.correct == r.metrics[-1]["test_correct"]
    (r.run_dir / nets.EXPORTED).write_bytes(b"damaged")  # a damaged export: one line
    with pytest.raises(SpecError, match=r"model.pt2: unreadable .*it is damaged"):
        load_model(r.run_dir)


def test_seeds_get_fresh_networks(tmp_path):
    """A class is called under each seed; an instance is copied and re-initialised under it."""
    for source in (NotebookNet, NotebookNet()):
        net = nets.from_object(source)
        a, b, a2 = (net.build((1, 28, 28), 10, s) for s in (1, 2, 1))
        wa, wb, wa2 = (m.c1.weight for m in (a, b, a2))
        assert not torch.equal(wa, wb) and torch.equal(wa, wa2)
    template = NotebookNet()
    before = template.c1.weight.clone()
    nets.from_object(template).build((1, 28, 28), 10, 5)
    assert torch.equal(template.c1.weight, before)  # the user's instance is never touched
    group = tinycnn.run_seeds(NotebookNet, QUICK, Target(target=None), rt(tmp_path), [1, 2])
    w = [load_model(r.run_dir / "last.pt")[1].state_dict()["c1.weight"] for r in group.runs]
    assert not torch.equal(w[0], w[1])


def test_a_preset_judges_a_module_from_its_traced_table():
    """12k-18k asks for BN, GAP, an FC layer, a 1×1 conv and dropout 0.069: all read off the
    traced rows (dropout called functionally included); only the params rule fails here."""
    v = tinycnn.check(NotebookNet(), "12k-18k", epochs=19)
    failed = {c.name for c in v.failed}
    assert failed == {"params"}, v.line()
    assert "dropout p 0.069 = 0.069" in v.line()


def test_what_the_trace_cannot_see_is_said_not_guessed():
    v = tinycnn.check(Untraceable(), "12k-18k", epochs=19)
    undecided = [c for c in v.failed if "not decided" in c.text]
    # hooks still see modules (BN, the convs, the linear); the functional GAP and dropout not
    assert {c.name for c in undecided} == {"gap", "dropout"}
    assert "--declare gap" in v.line()
    v = tinycnn.check(Untraceable(), "12k-18k", epochs=19, declared="gap, dropout=0.069")
    assert {c.name for c in v.failed} == {"params"}, v.line()
    assert "(declared)" in v.line()
    with pytest.raises(ConfigError, match="declared 'dropoutt'"):
        tinycnn.check(Untraceable(), "12k-18k", declared="dropoutt")


def test_a_module_over_budget_is_refused_before_training(tmp_path):
    with pytest.raises(BudgetError, match="NotebookNet breaks preset 12k-18k"):
        train(NotebookNet, QUICK, Target(preset="12k-18k"), rt(tmp_path))
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("nowhere.py:Net", "nowhere.py: no such Python file"),
        (f"{COURSE}:Nope", "has no 'Nope'; it defines Net, small"),
        (lambda: 5, "gave int, not an nn.Module"),
        (lambda: nn.Sequential(nn.Conv2d(1, 7, 28), nn.Flatten()), "returns 7 outputs per image"),
        (lambda: NotebookNet().double(), "its parameters are torch.float64; tinycnn trains"),
        (NotebookNet().to(torch.bfloat16), "pass model.float()"),
    ],
)
def test_bad_modules_are_one_line(tmp_path, model, message):
    with pytest.raises(SpecError) as e:
        train(model, QUICK, Target(target=None), rt(tmp_path))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_double_module_is_described_in_its_own_precision():
    """Its table traces it on a float64 input (a float32 one would fail inside the trace and be
    blamed on the input size); the counts are those of the float32 module."""
    table = tinycnn.summary(NotebookNet().double(), input_size=(1, 28, 28))
    assert table.total_params == sum(p.numel() for p in NotebookNet().parameters())


def test_a_float64_default_dtype_is_one_line_and_leaves_no_run(tmp_path):
    """A notebook's torch.set_default_dtype(torch.float64) made every tensor the loop creates
    float64: a traceback from the rotation's grid_sample, mid-epoch. Now one line, up front."""
    torch.set_default_dtype(torch.float64)
    try:
        with pytest.raises(ConfigError) as e:
            train("fast7806", QUICK, Target(target=None), rt(tmp_path))
    finally:
        torch.set_default_dtype(torch.float32)
    assert "default dtype is torch.float64" in str(e.value) and "\n" not in str(e.value)
    assert "torch.set_default_dtype(torch.float32)" in str(e.value)
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_a_float64_default_dtype_is_one_line_when_a_run_is_used(tmp_path):
    """Evaluating a finished run under it said the run was "damaged; rerun the run" (a float64
    model met bf16 images): wrong advice about a sound run. Now the same line as training."""
    from tinycnn.deploy.predict import Predictor
    from tinycnn.reports import evaluate_run

    run = train(NotebookNet, QUICK, Target(target=None), rt(tmp_path))
    torch.set_default_dtype(torch.float64)
    try:
        for use in (evaluate_run, Predictor):
            with pytest.raises(ConfigError, match="default dtype is torch.float64"):
                use(run.run_dir)
    finally:
        torch.set_default_dtype(torch.float32)
    assert evaluate_run(run.run_dir)[1].accuracy >= 0  # the run itself is sound


def test_stacked_seeds_need_a_spec(tmp_path):
    with pytest.raises(ConfigError, match="seeds stacked into one model need a spec"):
        tinycnn.run_seeds(NotebookNet, QUICK, Target(), rt(tmp_path), [1, 2], stacked=True)


def test_spec_from_module_gives_the_same_network():
    """The oracle: the spec built and given the module's weights by position computes the same
    log-probabilities as the module."""
    torch.manual_seed(0)
    module = nets.from_file(f"{COURSE}:Net").fresh().eval()
    spec = tinycnn.spec_from_module(module)
    built = tinycnn.build(spec, classes=10).eval()
    with torch.no_grad():
        for mine, theirs in zip(built.state_dict().values(), module.state_dict().values(),
                                strict=True):  # fmt: skip
            mine.copy_(theirs)
        x = torch.randn(4, 1, 28, 28)
        assert torch.allclose(built(x).log_softmax(1), module(x), atol=1e-5)


def test_spec_from_module_names_what_it_cannot_express():
    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(1, 1, 3, padding=1)

        def forward(self, x):
            return x + self.c(x)

    with pytest.raises(SpecError, match=r"Skip: operation 2 \(add\): takes x, c"):
        tinycnn.spec_from_module(Skip())
    with pytest.raises(SpecError, match=r"Sequential: operation 2 \(1\): GELU has no spec layer"):
        tinycnn.spec_from_module(nn.Sequential(nn.Conv2d(1, 4, 3), nn.GELU()))


@pytest.mark.parametrize("name", ["fast7806", "gap7496", "fc14k"])
def test_zoo_python_prints_a_class_that_is_the_model(name, tmp_path):
    r = cli("zoo", name, "--python")
    assert r.returncode == 0, r.stderr
    scope: dict = {}
    exec(compile(r.stdout, f"{name}.py", "exec"), scope)  # noqa: S102 - our own output
    cls = next(v for v in scope.values() if isinstance(v, type) and issubclass(v, nn.Module)
               and v is not nn.Module)  # fmt: skip
    theirs, ours = cls().eval(), tinycnn.build(tinycnn.zoo.get(name)).eval()
    with torch.no_grad():
        for a, b in zip(theirs.state_dict().values(), ours.state_dict().values(), strict=True):
            a.copy_(b)
        x = torch.randn(2, 1, 28, 28)
        assert torch.allclose(theirs(x), ours(x), atol=1e-6)
    assert "RF 28" in r.stdout


def test_tensorboard_logs_every_epoch_readable_by_tensorboard(tmp_path):
    """Read back with TensorBoard's own reader: one run per seed, every epoch's scalars."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logs = tmp_path / "tb"
    out = tmp_path / "runs"
    r = cli("train", "--seeds", "2", "--epochs", "2", "--limit-train", "256", "--limit-test",
            "128", "--out", str(out), "--tensorboard", str(logs), "--quiet", "--threads", "1",
            "--no-report")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("seed 1  epoch") == 2 and r.stdout.count("seed 2  epoch") == 2
    runs = sorted(logs.iterdir())
    assert [d.name[-3:] for d in runs] == ["-s1", "-s2"]  # a group's directories name the seed
    for d in runs:
        acc = EventAccumulator(str(d))
        acc.Reload()
        test = [(e.step, round(e.value, 4)) for e in acc.Scalars("accuracy/test")]
        lines = (out / d.name / "metrics.jsonl").read_text().splitlines()
        metrics = [json.loads(x) for x in lines]
        assert test == [(m["epoch"], round(m["test_acc"], 4)) for m in metrics]
        assert {"loss/train", "loss/test", "accuracy/train", "lr"} <= set(acc.Tags()["scalars"])
    group = next(p for p in out.iterdir() if p.name.startswith("fast7806-seeds"))
    md = (group / "report.md").read_text()
    assert "0/2 seeds met the target" in md and "| 1 |" in md and "curves.png" in md
    r = cli("report", str(group))  # a seeds group is from tinycnn train too
    assert r.returncode == 0 and "a seeds group's report" in r.stdout, r.stderr


def test_a_notebook_left_without_autograd_trains_as_any_other(tmp_path):
    """`torch.set_grad_enabled(False)` or `torch.inference_mode()` left on in a notebook made the
    first backward fail ("element 0 of tensors does not require grad"). Training turns autograd
    on for itself, gives the same numbers, and leaves the caller's mode as it was."""
    runs = [train(NotebookNet, QUICK, Target(target=None), rt(tmp_path)).metrics]
    torch.set_grad_enabled(False)
    try:
        runs.append(train(NotebookNet, QUICK, Target(target=None), rt(tmp_path)).metrics)
        assert not torch.is_grad_enabled()
    finally:
        torch.set_grad_enabled(True)
    with torch.inference_mode():
        runs.append(train(NotebookNet, QUICK, Target(target=None), rt(tmp_path)).metrics)
        assert torch.is_inference_mode_enabled()
    losses = [[m["train_loss"] for m in r] for r in runs]
    assert losses[0] == losses[1] == losses[2]


def test_a_run_uses_its_threads_and_gives_the_callers_back(tmp_path):
    """The run trains at its own thread count; the notebook's count is what it was afterwards
    (it used to stay at the run's)."""
    from tinycnn.training.callbacks import Callback

    seen = []

    class Threads(Callback):
        def on_epoch_start(self, trainer):
            seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    torch.set_num_threads(3)  # not the run's 1, on any machine
    try:
        train(NotebookNet, QUICK, Target(target=None), rt(tmp_path), callbacks=[Threads()])
        assert seen == [1] and torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
