"""The second attack on the newer surfaces (issue 28), one table per class, as a hostile user
would try them: every case gets a one-line error or a 4xx answer, never a traceback, a hang or
unbounded memory."""

import json
import socket
import subprocess
import sys

import pytest
import torch
from torch import nn

from tinycnn.cli import main

# ----- serve: request framing ---------------------------------------------------------------------
BIG = b"[" * 200_000 + b"]" * 200_000
FRAMING = [  # (raw request, expected status)
    (b"POST /api/predict HTTP/1.1\r\nContent-Length: -1\r\n\r\n{}", 400),
    (b"POST /api/predict HTTP/1.1\r\nContent-Length: -99999999\r\n\r\n", 400),
    (b"POST /api/predict HTTP/1.1\r\n\r\n", 411),
    (b"POST /api/predict HTTP/1.1\r\nContent-Length: lots\r\n\r\n", 411),
    (b"POST /api/predict HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
    (b'POST /api/predict HTTP/1.1\r\nContent-Length: 12\r\n\r\n{"image": 5}', 400),
    (b"POST /api/predict HTTP/1.1\r\nContent-Length: 5\r\n\r\n[1,2]", 400),
    (b"POST /api/predict HTTP/1.1\r\nContent-Length: 4\r\n\r\nnull", 400),
    (b"POST /api/predict HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(BIG) + BIG, 400),
    (b"POST /api/predict HTTP/1.1\r\nContent-Length: 38\r\n\r\n"
     b'{"image": "data:image/png;base64,!!!"}', 400),
    (b'POST /api/predict HTTP/1.1\r\nContent-Length: 25\r\n\r\n{"image": "text/plain,a"}', 400),
    (b"POST /api/predict HTTP/1.1\r\nContent-Length: 4\r\n\r\n\xff\xfe\xfd\xfc", 400),
    (b"POST /elsewhere HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 404),
    (b"GET /../../etc/passwd HTTP/1.1\r\n\r\n", 404),
    (b"GET /nothing HTTP/1.1\r\n\r\n", 404),
    (b"PUT /api/predict HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 501),
    (b"BREW /api/predict HTTP/1.1\r\n\r\n", 501),
    (b"GET / HTTP/1.1\r\n" + b"X-Flood: y\r\n" * 150 + b"\r\n", 431),
]  # fmt: skip


def _send(url: str, raw: bytes, read: bool = True) -> int | None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as s:
        s.sendall(raw)
        if not read:
            return None
        s.shutdown(socket.SHUT_WR)
        head = s.recv(64)
    return int(head.split()[1]) if head.startswith(b"HTTP/") else None


@pytest.mark.parametrize(("raw", "status"), FRAMING, ids=range(len(FRAMING)))
def test_every_request_gets_an_answer(digits_server, capfd, raw, status):
    assert _send(digits_server, raw) == status
    assert "Traceback" not in capfd.readouterr().err


def test_clients_that_leave_early_leave_the_server_answering(digits_server, capfd):
    _send(digits_server, b"POST /api/predict HTTP/1.1\r\nContent-Length: 5000\r\n\r\n{", read=False)
    _send(digits_server, b"POST /api/pr", read=False)
    _send(digits_server, b"", read=False)
    assert _send(digits_server, b"GET /api/info HTTP/1.1\r\n\r\n") == 200
    assert "Traceback" not in capfd.readouterr().err


def _onnx_for(tmp_path, shape, classes):
    """An ONNX model of another input size or class count than the run's."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(shape[0] * shape[1] * shape[2], classes)).eval()
    path = tmp_path / f"other{classes}.onnx"
    torch.onnx.export(net, (torch.zeros(1, *shape),), str(path), input_names=["pixels"],
                      dynamic_axes={"pixels": {0: "batch"}}, dynamo=False)  # fmt: skip
    return path


def serve_cases(tmp_path):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    taken = busy.getsockname()[1]
    return busy, [
        (["--port", str(taken)], f"127.0.0.1:{taken}: cannot listen there"),
        (["--port", "70000"], "--port 70000: use 0–65535"),
        (["--port", "-1"], "--port -1: use 0–65535"),
        (["--host", "no.such.host.invalid"], "--host no.such.host.invalid: not an address"),
        (["--onnx", str(tmp_path / "missing.onnx")], "missing.onnx: not an ONNX model"),
        (["--onnx", str(garbage)], "garbage.onnx: not an ONNX model"),
        (["--onnx", str(_onnx_for(tmp_path, (1, 28, 28), 3))], "gives 3 classes, but run"),
        (["--onnx", str(_onnx_for(tmp_path, (3, 8, 8), 10))], "takes 3×8×8 images"),
    ]


def test_serve_refuses_bad_options_in_one_line(digits_run, tmp_path, capsys):
    busy, cases = serve_cases(tmp_path)
    with busy:
        for argv, message in cases:
            assert main(["serve", str(digits_run), *argv]) == 2, argv
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and message in err, (argv, err)


def test_cli_serve_survives_a_hostile_client(digits_run, tmp_path):
    """The real command in its own process: a negative Content-Length and a nested body get
    4xx answers, and its console shows no traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "tinycnn", "serve", str(digits_run)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        line = proc.stdout.readline()
        url = line.split(" at ")[1].split("/ ")[0]
        assert _send(url, FRAMING[0][0]) == 400 and _send(url, FRAMING[8][0]) == 400
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err


def test_the_page_json_is_bounded():
    from tinycnn.deploy.server import _depth

    assert _depth(b'{"image": "[[[[\\" {{"}') == 1  # brackets in strings do not count
    assert _depth(BIG) == 200_000
    assert json.loads(b'{"a": [1, {"b": 2}]}') and _depth(b'{"a": [1, {"b": 2}]}') == 3


# ----- runs whose files are loadable but not as tinycnn wrote them ---------------------------
def _edit_json(name, change):
    def damage(d):
        data = json.loads((d / name).read_text())
        change(data)
        (d / name).write_text(json.dumps(data))

    return damage


def _edit_ckpt(change):
    def damage(d):
        state = torch.load(d / "last.pt", weights_only=True)
        change(state)
        torch.save(state, d / "last.pt")

    return damage


def _first_weight(state):
    key = next(iter(state["model"]))
    state["model"][key] = torch.zeros(3, 3)


CFG, CKPT = "config.json", "last.pt"
DAMAGE = {  # name → (damage, the file the one-line error names)
    "recipe lr of the wrong type": (_edit_json(CFG, lambda c: c["recipe"].update(lr="x")), CFG),
    "recipe out of range": (_edit_json(CFG, lambda c: c["recipe"].update(epochs=-3)), CFG),
    "runtime of the wrong type": (_edit_json(CFG, lambda c: c.update(runtime=[])), CFG),
    "data of the wrong type": (_edit_json(CFG, lambda c: c.update(data=5)), CFG),
    "model not a spec": (_edit_json(CFG, lambda c: c.update(model={"name": "x"})), CFG),
    "weights of the wrong shape": (_edit_ckpt(_first_weight), CKPT),
    "optimizer state garbage": (_edit_ckpt(lambda s: s.update(optimizer={"state": 5})), CKPT),
    "rng state of the wrong type": (_edit_ckpt(lambda s: s.update(rng=torch.zeros(3))), CKPT),
    "negative epoch": (_edit_ckpt(lambda s: s.update(epoch=-4)), CKPT),
    "epoch past the end": (_edit_ckpt(lambda s: s.update(epoch=99)), CKPT),
    "history of the wrong length": (_edit_ckpt(lambda s: s.update(history=[])), CKPT),
    "metrics of the wrong types": (
        lambda d: (d / "metrics.jsonl").write_text('{"epoch": 1}'),
        None,
    ),
    "verdict of the wrong type": (lambda d: (d / "verdict.json").write_text("[1, 2]"), None),
}


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    """A run stopped after its first of two epochs: resumable, and readable by everything."""
    from tinycnn import Recipe, Runtime, Target
    from tinycnn.training import train
    from tinycnn.training.callbacks import Hooks

    out = tmp_path_factory.mktemp("damage")
    recipe = Recipe(epochs=2, limit_train=256, limit_test=128, batch_size=64)
    rt = Runtime(out=str(out / "runs"), report=False, threads=1)
    r = train(
        "fast7806", recipe, Target(target=None), rt, callbacks=[Hooks(on_epoch=lambda m: True)]
    )
    return r.run_dir


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_run_is_one_line_everywhere(stopped_run, tmp_path, capsys, case):
    import shutil

    damage, names = DAMAGE[case]
    d = tmp_path / stopped_run.name
    shutil.copytree(stopped_run, d)
    damage(d)
    for argv in (["train", "--resume", str(d)], ["report", str(d)], ["evaluate", str(d)]):
        code = main(argv)
        err = capsys.readouterr().err
        assert "Traceback" not in err
        if code != 0:  # refused: one line, naming the run (and the file where one is to blame)
            assert code == 2 and err.count("\n") == 1 and str(d) in err, (argv, err)
            assert names is None or names in err or argv[0] != "train", (argv, err)
    good = tmp_path / "good"
    shutil.copytree(stopped_run, good)
    assert main(["compare", str(d), str(good)]) == 0  # the good run is still listed
    out = capsys.readouterr().out
    assert "good" in out


def test_resume_of_an_empty_path_is_refused(capsys):
    assert main(["train", "--resume", ""]) == 2
    assert '--resume "": give the run directory' in capsys.readouterr().err


# ----- the Python API: wrong arguments, callbacks that misbehave ----------------------------------
def _quick(tmp_path):
    from tinycnn import Recipe, Runtime

    recipe = Recipe(epochs=2, limit_train=256, limit_test=128, batch_size=64)
    return recipe, Runtime(out=str(tmp_path / "runs"), report=False, threads=1)


class NoHooks:
    pass


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"recipe": "fast"}, "recipe = 'fast' is a str, not a Recipe"),
        ({"target": 99.4}, "target = 99.4 is a float, not a Target"),
        ({"runtime": "cpu"}, "runtime = 'cpu' is a str, not a Runtime"),
        ({"callbacks": [NoHooks()]}, "has no on_start, on_epoch_start, on_step"),
        ({"callbacks": "bar"}, "callbacks: give a list of callbacks"),
    ],
)
def test_wrong_arguments_leave_no_run_directory(tmp_path, kwargs, message):
    from tinycnn.errors import ConfigError
    from tinycnn.training import train

    recipe, rt = _quick(tmp_path)
    args = {"recipe": recipe, "runtime": rt, **kwargs}
    with pytest.raises(ConfigError, match=message):
        train("fast7806", **args)
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_a_callback_that_raises_leaves_the_run_failed_not_running(tmp_path):
    from tinycnn.training import Callback, train
    from tinycnn.training.runs import read_run

    class Broken(Callback):
        def on_epoch_end(self, trainer, row):
            raise ZeroDivisionError("my bug")

    recipe, rt = _quick(tmp_path)
    with pytest.raises(ZeroDivisionError):
        train("fast7806", recipe, runtime=rt, callbacks=[Broken()])
    (d,) = (tmp_path / "runs").iterdir()
    assert read_run(d).state == "failed"  # resumable from its checkpoint, never "running"


def test_ctrl_c_before_the_first_checkpoint_says_so_and_keeps_nothing(tmp_path):
    from tinycnn.errors import TrainingInterrupted
    from tinycnn.training import Callback, train

    class CtrlC(Callback):
        def on_step(self, trainer, step):
            raise KeyboardInterrupt

    recipe, rt = _quick(tmp_path)
    with pytest.raises(TrainingInterrupted) as e:
        train("fast7806", recipe, runtime=rt, callbacks=[CtrlC()])
    assert "before its first checkpoint: nothing to resume" in str(e.value)
    assert "resume with" not in str(e.value) and not e.value.run_dirs
    assert list((tmp_path / "runs").iterdir()) == []


def _full_disk_at(monkeypatch, name, nth=1):
    """mkstemp fails with ENOSPC on the nth write of `name` (an injected full disk)."""
    from tinycnn import files

    real, calls = files.tempfile.mkstemp, []

    def fake(*args, prefix="", **kw):
        if prefix.startswith(f".{name}."):
            calls.append(prefix)
            if len(calls) == nth:
                raise OSError(28, "No space left on device")
        return real(*args, prefix=prefix, **kw)

    monkeypatch.setattr(files.tempfile, "mkstemp", fake)
    return real


def test_a_disk_full_at_start_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    from tinycnn.training import train
    from tinycnn.training.runs import RunWriteError

    _full_disk_at(monkeypatch, "config.json")
    recipe, rt = _quick(tmp_path)
    with pytest.raises(RunWriteError) as e:
        train("fast7806", recipe, runtime=rt)
    assert "config.json: could not write (No space left on device)" in str(e.value)
    assert "no epoch was saved: start the run again" in str(e.value) and "\n" not in str(e.value)
    assert list((tmp_path / "runs").iterdir()) == []


def test_a_disk_full_at_best_pt_loses_nothing_on_resume(tmp_path, monkeypatch):
    """best.pt's first write fails after last.pt was saved: the resume writes the metrics and
    best.pt from the checkpoint, and the run ends with the numbers of one never interrupted."""
    from tinycnn.training import resume, train
    from tinycnn.training.runs import RunWriteError, read_run

    recipe, rt = _quick(tmp_path / "a")
    whole = train("fast7806", recipe, runtime=rt)
    real = _full_disk_at(monkeypatch, "best.pt")
    recipe, rt = _quick(tmp_path / "b")
    with pytest.raises(RunWriteError):
        train("fast7806", recipe, runtime=rt)
    monkeypatch.setattr("tinycnn.files.tempfile.mkstemp", real)  # space freed
    (d,) = (tmp_path / "b" / "runs").iterdir()
    r = resume(d)
    assert read_run(d).state == "finished" and (d / "best.pt").is_file()
    timeless = lambda rows: [{k: v for k, v in m.items() if k != "seconds"} for m in rows]  # noqa: E731
    assert timeless(r.metrics) == timeless(whole.metrics) and len(read_run(d).metrics) == 2


# ----- search: interrupts, renamed directories, another question, a damaged journal -------------
TINY = ["--epochs", "1", "--val", "200", "--limit-train", "400", "--pruner", "none"]


def test_ctrl_c_stops_the_search_and_says_how_to_resume(tmp_path):
    import signal
    import time

    out = tmp_path / "s"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tinycnn", "search", "course", "--trials", "20", "--out", str(out),
         "--epochs", "3", "--val", "200", "--limit-train", "4000", "--pruner", "none"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a shell without job control starts background jobs with SIGINT ignored, and Python
        # then installs no Ctrl-C handler: give the search the terminal's default back
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    first = proc.stdout.readline()  # the first trial's line: the second one is training now
    assert first.startswith("trial"), first + proc.stderr.read()
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGINT, err
    assert (
        "search interrupted" in err and "tinycnn search --resume" in err and "Traceback" not in err
    )
    assert rest.count("trial") == 0  # no trial ran after Ctrl-C
    (d,) = out.iterdir()
    assert (d / "trials.jsonl").read_text().count("\n") >= 1  # the study is kept


def test_a_renamed_search_resumes_its_own_study(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["search", "course", "--trials", "1", "--out", str(out), *TINY]) == 0
    (d,) = out.iterdir()
    moved = d.rename(tmp_path / "renamed")
    assert main(["search", "--resume", str(moved), "--trials", "1"]) == 0
    assert (moved / "trials.jsonl").read_text().count("\n") == 2  # earlier trials kept
    capsys.readouterr()


def test_a_study_answers_one_question(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'study.db'}"
    argv = ["search", "course", "--trials", "1", "--storage", db, "--study", "one", *TINY]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    capsys.readouterr()
    assert main([*argv, "--out", str(tmp_path / "b"), "--preset", "under10k"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "study one was searched with preset = 'under8k'" in err


def test_a_damaged_journal_is_named_by_its_line(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["search", "course", "--trials", "1", "--out", str(out), *TINY]) == 0
    (d,) = out.iterdir()
    with (d / "journal.log").open("a") as f:
        f.write("{half a record\n")
    capsys.readouterr()
    assert main(["search", "--resume", str(d), "--trials", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "journal.log: line" in err and "not a journal record" in err


def test_a_search_where_every_trial_fails_does_not_exit_0(tmp_path, capsys):
    space = tmp_path / "wild.toml"
    space.write_text('name = "wild"\n[[blocks]]\nconvs = 2\nchannels = 8\n'
                     "[recipe]\nlr = 1e9\n")  # fmt: skip
    argv = ["search", str(space), "--trials", "2", "--preset", "none", "--out", str(tmp_path)]
    assert main([*argv, *TINY]) == 1
    captured = capsys.readouterr()
    assert "none completed" in captured.out and "no trial completed" in captured.err


# ----- data folders ------------------------------------------------------------------------------
def _image_folder(root, classes=("a", "b"), n=2, splits=("train", "test")):
    from PIL import Image

    for split in splits:
        for c in classes:
            (root / split / c).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.new("L", (8, 8), 40 * i + 10).save(root / split / c / f"{i}.png")
    return root


def _broken_link(root):
    (root / "train" / "a" / "gone.png").symlink_to(root / "nowhere.png")


def _flat_test(root):
    import shutil

    shutil.rmtree(root / "test" / "a")
    shutil.rmtree(root / "test" / "b")
    from PIL import Image

    Image.new("L", (8, 8)).save(root / "test" / "x.png")


DATA_CASES = {  # damage → the path the message blames, and what it says
    "a broken symlink": (_broken_link, "train/a/gone.png", "not a readable image"),
    "test without class folders": (_flat_test, "test", "no class folders"),
    "test missing a class": (lambda r: __import__("shutil").rmtree(r / "test" / "b"),
                             "test/b", "missing; every training class needs test images"),
    "an empty class": (lambda r: [p.unlink() for p in (r / "train" / "b").iterdir()],
                       "train/b", "no images"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_a_bad_image_folder_is_one_line_blaming_the_right_place(tmp_path, capsys, case):
    damage, blamed, says = DATA_CASES[case]
    root = _image_folder(tmp_path / "data")
    damage(root)
    assert main(["summary", "fast7806", "--data-dir", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{root / blamed}:" in err and says in err, err
    assert "dataset.toml" not in err


def test_a_copy_of_mnists_checksums_does_not_make_a_folder_mnist(tmp_path):
    import shutil

    from tinycnn.data import bundled_dir, load

    root = _image_folder(tmp_path / "data")
    shutil.copy(bundled_dir() / "SHA256SUMS", root / "SHA256SUMS")
    data = load(root)
    assert not data.is_mnist and data.name == "data" and data.target is None


# ----- the newcomer's wording ---------------------------------------------------------------------
def test_wording_reads_as_written_by_a_person():
    from tinycnn.reports.report import used_settings
    from tinycnn.rules import Target, judge
    from tinycnn.settings import Recipe
    from tinycnn.training.callbacks import lr_text

    assert "only 1 epoch ran" in judge(Target(target=99.4), [98.0], 7000, 15).line()
    assert [lr_text(v) for v in (0.0034, 0.0001, 5e-06, 0.0)] == [
        "0.0034", "0.0001", "5.0e-06", "0.0000"]  # fmt: skip
    used = used_settings(Recipe().__dict__)  # a OneCycle run never read the step or plateau
    assert "pct_start" in used and not {"step_size", "gamma", "plateau_patience"} & set(used)
    assert "step_size" in used_settings(Recipe(schedule="step").__dict__)
    assert "clean_epochs" not in used_settings(Recipe(rotate=0.0).__dict__)  # nothing to clean
    assert "clean_epochs" in used_settings(Recipe(rotate=0.0, erase=0.5).__dict__)


def test_cli_wording(capsys):
    from tinycnn.cli import make_parser

    train = next(a for a in make_parser()._actions if hasattr(a, "choices") and a.choices)
    progress = next(a for a in train.choices["train"]._actions if a.dest == "progress")
    assert "(default: False)" not in progress.help and "terminal" in progress.help
    assert main(["zoo"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if " params  " in ln]
    assert len({ln.index(" params  ") for ln in lines}) == 1  # the columns line up


def test_a_seeds_line_with_one_seed_has_no_spread():
    from tinycnn.rules import Target
    from tinycnn.training.seeds_result import SeedsResult

    class Run:
        metrics = [{"test_acc": 99.5, "seconds": 1.0}]
        run_dir = "r"

        class verdict:  # noqa: N801
            passed = True

    line = SeedsResult((1,), (Run(),), Target(consistent=1)).line()
    assert line == "1/1 seed met the target; min of the last epoch: 99.50% (one seed: no spread)"


def test_plateau_reads_the_validation_loss_when_there_is_one(tmp_path, monkeypatch):
    """The test set must not steer training: with a validation split, ReduceLROnPlateau is fed
    the validation loss, not the test loss."""
    from tinycnn import Recipe, Runtime, Target
    from tinycnn.training import optim, train

    fed = []
    real = optim.Schedule.after_epoch
    spy = lambda self, loss, acc: fed.append(loss) or real(self, loss, acc)  # noqa: E731
    monkeypatch.setattr(optim.Schedule, "after_epoch", spy)
    recipe = Recipe(epochs=2, limit_train=600, limit_test=128, val=200, select="val",
                    schedule="plateau", lr=0.01)  # fmt: skip
    r = train("fast7806", recipe, Target(target=None), Runtime(out=str(tmp_path), report=False))
    assert fed == [m["val_loss"] for m in r.metrics] != [m["test_loss"] for m in r.metrics]


@pytest.mark.parametrize(
    ("layers", "message"),
    [((), "layers must be a non-empty tuple"), ((1, 2), "layer 1: 1 is not a layer"),
     (("conv",), "layer 1: 'conv' is not a layer")],
)  # fmt: skip
def test_a_spec_made_wrong_in_python_is_one_line(layers, message):
    from tinycnn.errors import SpecError
    from tinycnn.spec import Spec

    with pytest.raises(SpecError, match=message):
        Spec("x", layers)


@pytest.mark.parametrize(("argv", "message"), [
    (["summary", "gap7496", "--classes", "0"], "classes = 0: give how many classes"),
    (["summary", "gap7496", "--classes", "-3"], "classes = -3"),
    (["check", "gap7496", "--preset", "under8k", "--epochs", "-1"], "epochs = -1: must be ≥ 1"),
    (["predict", "RUN", "IMG", "--top", "0"], "--top 0: must be ≥ 1"),
    (["predict", "RUN", "IMG", "--top", "-2"], "--top -2: must be ≥ 1"),
    (["predict", "RUN", "IMG", "--show-input", "/proc/no/such"], "--show-input /proc/no/such"),
    (["predict", "RUN", "IMG", "--show-input", "FILE"], "cannot make that folder"),
    (["evaluate", "/no/such/run"], "/no/such/run: no such run directory"),
    (["report", "/no/such/run"], "/no/such/run: no such run directory"),
    (["search", "course", "--seed", "-1"], "seed = -1: must be in"),
    (["search", "course", "--timeout", "-1"], "timeout = -1.0: must be > 0"),
    (["search", "course", "--timeout", "nan"], "timeout = nan: must be > 0"),
    (["search", "course", "--top", "0"], "--top 0: must be ≥ 1"),
    (["search", "course", "--confirm", "-1"], "--confirm -1: must be ≥ 0"),
    (["search", "course", "--limit-train", "0"], "limit_train = 0: must be ≥ 2"),
    (["search", "course", "--workers", "0"], "workers = 0: must be ≥ 1"),
    (["train", "--seeds", "0"], "seeds = 0: must be ≥ 1"),
    (["train", "--dry-run", "--tensorboard", "/proc/no/such"], "--tensorboard /proc/no/such"),
])  # fmt: skip
def test_command_inputs_are_one_line(digits_run, tmp_path, capsys, argv, message):
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "file").write_text("x")
    swap = {"RUN": str(digits_run), "IMG": str(tmp_path / "a.png"), "FILE": str(tmp_path / "file")}
    assert main([swap.get(a, a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


# ----- summary and check allocate nothing of what they are told -------------------------------
def test_summary_of_an_absurd_input_allocates_nothing():
    """1×100,000×100,000 is 40 GB as one float tensor: the spec's table is arithmetic and the
    module's is traced on fake tensors, so both answer at once with the sizes they would need."""
    import resource

    import tinycnn

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    spec = tinycnn.summary("gap7496", input_size=(1, 100_000, 100_000))
    net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    module = tinycnn.summary(net, input_size=(1, 100_000, 100_000))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert spec.activation_bytes > 10**11 and module.rows[0].shape == (8, 99_998, 99_998)
    assert grown_mb < 500  # nothing of the 40 GB was allocated
    v = tinycnn.check("gap7496", "under8k", epochs=15, input_size=(1, 100_000, 100_000))
    assert v.passed  # params do not depend on the input size


def test_train_refuses_what_summary_describes(tmp_path):
    from tinycnn import Recipe, Runtime, Target
    from tinycnn.errors import BudgetError
    from tinycnn.layers import Layer
    from tinycnn.spec import Spec, conv, gap
    from tinycnn.training import train

    giant = Spec(
        "giant", (conv(4096, pad=1), conv(4096, pad=1), gap(), Layer("linear", out="classes"))
    )
    with pytest.raises(BudgetError, match="giant"):
        train(giant, Recipe(epochs=1), Target(target=None), Runtime(out=str(tmp_path)))


def test_absurd_threads_are_clamped_with_a_note(tmp_path):
    argv = [sys.executable, "-m", "tinycnn", "train", "--threads", "10000", "--dry-run", "--quiet"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "note: --threads 10000 is more than this machine's" in r.stdout
    assert "dry run OK" in r.stdout


def test_predict_flags_an_unsure_answer(digits_run, tmp_path, capsys):
    from PIL import Image

    img = tmp_path / "scribble.png"
    im = Image.new("L", (64, 64), 0)
    for x in range(0, 64, 7):  # a grid: no digit at all
        for y in range(64):
            im.putpixel((x, y), 255)
            im.putpixel((y, x), 255)
    im.save(img)
    assert main(["predict", str(digits_run), str(img), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["unsure"] == (row["top"][0]["p"] < 0.5)
    assert main(["predict", str(digits_run), str(img)]) == 0
    out = capsys.readouterr().out
    assert ("unsure: the top answer is below 50%" in out) == row["unsure"]
