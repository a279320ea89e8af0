"""`tinycnn train` as a user runs it: a real SIGINT, resume, budgets, bad flags and config files."""

import json
import os
import signal
import subprocess
import sys

import pytest

# fmt: off
ARGS = ["--epochs", "3", "--limit-train", "1500", "--limit-test", "300", "--threads", "1",
        "--quiet", "--batch-size", "64", "--no-report", "--device", "cpu"]
# fmt: on


def tinycnn(*argv, **kw):
    return subprocess.run(
        [sys.executable, "-m", "tinycnn", *argv], capture_output=True, text=True, timeout=300, **kw
    )


def metrics(run_dir):
    rows = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
    return [{k: v for k, v in m.items() if k != "seconds"} for m in rows]


@pytest.mark.slow
@pytest.mark.exact
def test_sigint_then_resume_matches_uninterrupted(tmp_path):
    out = str(tmp_path / "runs")
    full = tinycnn("train", *ARGS, "--out", out)
    assert full.returncode == 0, full.stderr
    full_dir = full.stdout.strip().splitlines()[-1].removeprefix("saved: ")

    # a shell without job control starts background jobs with SIGINT ignored, and Python then
    # installs no Ctrl-C handler: give the child the default disposition, as a terminal would
    p = subprocess.Popen(
        [sys.executable, "-m", "tinycnn", "train", *ARGS, "--out", out],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    for line in p.stdout:  # wait for epoch 1 to finish, then press Ctrl-C
        if line.startswith("epoch 1/3"):
            p.send_signal(signal.SIGINT)
            break
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130
    assert "resume with: tinycnn train --resume" in err
    run_dir = err.strip().rsplit(" ", 1)[-1]
    assert len(metrics(run_dir)) < 3

    resumed = tinycnn("train", "--resume", run_dir, "--threads", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert metrics(run_dir) == metrics(full_dir)


def test_budget_refusal_exit_code_and_message(tmp_path):
    r = tinycnn("train", "gap7496", "--max-params", "7000", "--out", str(tmp_path))
    assert r.returncode == 2
    assert r.stderr.startswith("error: gap7496: 7,496 > 7,000 params, breaking the budget; shrink")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--optimizer", "rmsprop"], "error: optimizer = 'rmsprop': use one of sgd, adam, adamw"),
        (["--lr", "-1"], "error: lr = -1.0: must be > 0"),
        (["--config", "nope.toml"], "error: nope.toml: no such config file"),
        (["--resume", "/tmp"], "error: /tmp: not a tinycnn run directory"),
    ],
)
def test_bad_flags(argv, message):
    r = tinycnn("train", *argv)
    assert r.returncode == 2 and r.stderr.startswith(message), r.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[recipe]\nepoch = 3\n", "[recipe] has unknown setting 'epoch'"),
        ("[recipie]\nepochs = 3\n", "unknown section [recipie]"),
        ("epochs = 'three'\n", "epochs = 'three': expected int"),
        ("epochs = [3\n", "not valid TOML"),
    ],
)
def test_bad_config_files(tmp_path, text, message):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    r = tinycnn("train", "--config", str(cfg), "--out", str(tmp_path / "runs"))
    assert r.returncode == 2 and message in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_config_file_and_flags(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[recipe]\nepochs = 1\nlimit_train = 256\nlimit_test = 128\nrotate = 0.0\n"
        "[target]\ntarget = 10.0\nconsistent = 1\n"
    )
    r = tinycnn(
        "train",
        "--config",
        str(cfg),
        "--seed",
        "5",
        "--quiet",
        "--strict",
        "--out",
        str(tmp_path / "runs"),
    )
    assert r.returncode in (0, 1), r.stderr
    run_dir = r.stdout.strip().splitlines()[-1].removeprefix("saved: ")
    config = json.load(open(os.path.join(run_dir, "config.json")))
    assert config["recipe"]["epochs"] == 1 and config["recipe"]["seed"] == 5  # flag wins
    assert config["target"]["target"] == 10.0
    assert "epoch 1/1  train loss" in r.stdout
    assert "\r" not in r.stdout + r.stderr  # no progress-bar noise without a terminal


def test_resume_of_a_damaged_run_is_one_line(tmp_path):
    (tmp_path / "config.json").write_text("{oops")
    r = tinycnn("train", "--resume", str(tmp_path))
    assert r.returncode == 2 and "config.json: corrupt JSON" in r.stderr
    assert r.stderr.count("\n") == 1, r.stderr


def test_a_zoo_models_own_recipe_sits_under_config_and_flags(tmp_path):
    """course-t11 was measured with batch 64 and its own LR: training it by name starts there,
    a --config file and flags still win, and a spec file of the same layers gets the default."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[recipe]\nepochs = 1\nlimit_train = 256\nlimit_test = 128\nlr = 0.02\n")
    base = ["--config", str(cfg), "--quiet", "--no-report", "--threads", "1", "--device", "cpu"]

    def recipe(*argv):
        r = tinycnn("train", *argv, *base, "--out", str(tmp_path / "runs"))
        assert r.returncode == 0, r.stderr
        run_dir = r.stdout.strip().splitlines()[-1].removeprefix("saved: ")
        header.append(r.stdout.splitlines()[1])
        return json.load(open(os.path.join(run_dir, "config.json")))["recipe"]

    header = []
    by_name = recipe("course-t11")
    assert header[0].startswith("recipe: batch_size 64, lr 0.02 (course-t11's own")
    assert by_name["batch_size"] == 64  # the zoo's
    assert by_name["lr"] == 0.02  # the config file's, over the zoo's 0.0994
    assert recipe("course-t11", "--batch-size", "32")["batch_size"] == 32  # the flag's
    spec = tmp_path / "t11.toml"
    spec.write_text(tinycnn("zoo", "course-t11").stdout)
    assert recipe(str(spec))["batch_size"] == 128  # a file has no recipe: the default's
