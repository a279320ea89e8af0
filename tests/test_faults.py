"""Runs survive faults and say what happened: divergence, a full disk, damaged checkpoints, a
second process, SIGTERM, Ctrl-C with several seeds, resume rules, permissions, compare.

Exact comparisons pin fp32 and one thread: the numbers then depend on nothing but the code.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tinycnn import files
from tinycnn.cli import main
from tinycnn.errors import TrainingDiverged
from tinycnn.training import Recipe, Runtime, Target, resume, runs, train
from tinycnn.training.callbacks import Hooks
from tinycnn.training.runs import read_run

SMALL = Recipe(epochs=3, limit_train=256, limit_test=128, batch_size=64)
NO_TARGET = Target(target=None)


def runtime(tmp_path, **kw):
    return Runtime(
        device="cpu", out=str(tmp_path / "runs"), progress=False, report=False, threads=1,
        bf16=False, **kw,
    )  # fmt: skip


def metrics(run_dir):
    return [
        {k: v for k, v in json.loads(line).items() if k != "seconds"}
        for line in (run_dir / runs.METRICS).read_text().splitlines()
    ]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One small finished run (fp32, 1 thread), copied by the tests that damage it."""
    tmp = tmp_path_factory.mktemp("finished")
    return train("fast7806", SMALL, NO_TARGET, runtime(tmp)).run_dir


def copy_run(finished, tmp_path):
    return shutil.copytree(finished, tmp_path / finished.name)


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ----- divergence -------------------------------------------------------------------------------
def test_exploding_loss_stops_the_run(tmp_path):
    with pytest.raises(TrainingDiverged, match=r"epoch 1, batch \d+: training diverged") as e:
        train("fast7806", Recipe(epochs=2, limit_train=512, lr=1e6), NO_TARGET, runtime(tmp_path))
    assert "--lr 0.05" in str(e.value)  # a tenth of 1e6 would still diverge: the usual LR
    (d,) = (tmp_path / "runs").iterdir()
    assert json.loads((d / runs.STATUS).read_text())["state"] == "diverged"
    assert not (d / runs.LAST).exists()  # nothing non-finite was checkpointed


def test_non_finite_batch_norm_statistics_stop_the_run(tmp_path):
    """The loss can stay finite (train mode uses batch statistics) while a running statistic
    has overflowed: the model would then fail at evaluation. Caught at the epoch's end."""

    def poison(trainer):
        trainer.model.bn2.running_var.fill_(float("inf"))

    with pytest.raises(TrainingDiverged, match=r"bn2.running_var became non-finite in epoch 1"):
        train("fast7806", SMALL, NO_TARGET, runtime(tmp_path), callbacks=[Hooks(on_start=poison)])


# ----- a full disk ------------------------------------------------------------------------------
@pytest.mark.exact
def test_disk_full_then_resume_continues_exactly(tmp_path, monkeypatch, finished):
    """The second epoch's checkpoint write fails (ENOSPC, injected: a tmpfs needs privileges
    CI may lack). The error is one line naming the file; metrics.jsonl lists only the epoch
    whose checkpoint exists; after space is freed, resume ends with the uninterrupted numbers."""
    real, calls = files.tempfile.mkstemp, []

    def full_disk(*args, prefix="", **kw):
        if prefix.startswith(f".{runs.LAST}."):
            calls.append(prefix)
            if len(calls) == 2:
                raise OSError(28, "No space left on device")
        return real(*args, prefix=prefix, **kw)

    monkeypatch.setattr(files.tempfile, "mkstemp", full_disk)
    with pytest.raises(runs.RunWriteError) as e:
        train("fast7806", SMALL, NO_TARGET, runtime(tmp_path))
    msg = str(e.value)
    assert "last.pt: could not write (No space left on device)" in msg and "\n" not in msg
    assert "checkpoint after epoch 1 is intact: resume with: tinycnn.resume(" in msg
    assert "resume with: tinycnn train --resume" in e.value.message(cli=True)
    (d,) = (tmp_path / "runs").iterdir()
    assert [m["epoch"] for m in metrics(d)] == [1]
    assert json.loads((d / runs.STATUS).read_text())["state"] == "failed"

    monkeypatch.setattr(files.tempfile, "mkstemp", real)  # space freed
    resume(d)
    assert metrics(d) == metrics(finished)


@pytest.fixture
def small_disk(tmp_path):
    """A real 2 MB file system (tmpfs), where this process may mount one (root on Linux)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("no tmpfs here (needs root); the injected-ENOSPC test covers this case")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.exact
def test_real_full_disk_then_resume(tmp_path, small_disk, finished):
    """After epoch 1 a file takes all but a few KB of the disk: epoch 2's checkpoint cannot be
    written (ENOSPC from the kernel, not an injection). Space freed, the run resumes exactly."""
    filler = small_disk / "filler"

    def fill_disk(m):
        if m["epoch"] == 1:
            free = shutil.disk_usage(small_disk).free
            filler.write_bytes(b"\0" * (free - 8 * 1024))

    rt = Runtime(**{**runtime(tmp_path).__dict__, "out": str(small_disk / "runs")})
    with pytest.raises(runs.RunWriteError, match=r"could not write \(No space left on device\)"):
        train("fast7806", SMALL, NO_TARGET, rt, callbacks=[Hooks(on_epoch=fill_disk)])
    (d,) = (small_disk / "runs").iterdir()
    assert [m["epoch"] for m in metrics(d)] == [1]
    assert not [p for p in d.iterdir() if p.name.startswith(".")]  # no half-written temp files
    filler.unlink()
    resume(d)
    assert metrics(d) == metrics(finished)


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        d = train("fast7806", Recipe(epochs=1, limit_train=128, limit_test=64), NO_TARGET,
                  runtime(tmp_path)).run_dir  # fmt: skip
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in d.iterdir()}
    assert modes and set(modes.values()) == {0o640}, modes


# ----- checkpoints are verified when loaded -----------------------------------------------------
DAMAGE = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "foreign": lambda p: torch.save([1, 2, 3], p),
    "code": lambda p: p.write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR."),  # a pickle that runs
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_checkpoint_is_one_line(capsys, tmp_path, finished, damage):
    d = copy_run(finished, tmp_path)
    DAMAGE[damage](d / runs.LAST)
    code, out, err = cli(capsys, "evaluate", str(d))
    assert code == 2 and err.count("\n") == 1, err
    assert f"{d / runs.LAST}: " in err
    assert ("not a tinycnn checkpoint" if damage == "foreign" else "checkpoint") in err
    assert "pwned" not in out


def test_resume_without_last_checkpoint_is_refused(capsys, tmp_path, finished):
    d = copy_run(finished, tmp_path)
    (d / runs.LAST).unlink()
    runs.RunDir(d).set_status("interrupted", epoch=0)
    code, _, err = cli(capsys, "train", "--resume", str(d))
    assert code == 2 and "last.pt: missing, so there is nothing to resume" in err


# ----- resume applies only what it can ----------------------------------------------------------
def test_resume_refuses_recipe_flags(capsys, tmp_path, finished):
    d = copy_run(finished, tmp_path)
    code, _, err = cli(capsys, "train", "--resume", str(d), "--lr", "0.5", "--batch-size", "8")
    assert code == 2
    assert "--batch-size, --lr would not apply (only --epochs and the runtime flags do)" in err


@pytest.mark.exact
def test_resume_with_more_epochs(capsys, tmp_path):
    """A step schedule does not depend on the epoch count, so a finished run can go on; the
    result equals a run that was given the larger count from the start."""
    rec = Recipe(epochs=2, limit_train=256, limit_test=128, schedule="step", step_size=1, lr=0.02)
    d = train("fast7806", rec, NO_TARGET, runtime(tmp_path)).run_dir
    code, out, err = cli(capsys, "train", "--resume", str(d), "--epochs", "3", "--quiet")
    assert code == 0, err
    assert "training goes on to epoch 3" in out
    longer = train("fast7806", Recipe(**{**rec.__dict__, "epochs": 3}), NO_TARGET,
                   runtime(tmp_path)).run_dir  # fmt: skip
    assert [{**m, "epochs": 3} for m in metrics(d)] == metrics(longer)
    assert read_run(d).config["recipe"]["epochs"] == 3


def test_resume_more_epochs_of_onecycle_is_refused(capsys, tmp_path, finished):
    d = copy_run(finished, tmp_path)
    code, _, err = cli(capsys, "train", "--resume", str(d), "--epochs", "6")
    assert code == 2 and "onecycle schedule is laid out over 3 epochs" in err


def test_relative_data_dir_is_stored_resolved(tmp_path, monkeypatch):
    from helpers import write_set

    (tmp_path / "data").mkdir()
    write_set(tmp_path / "data", n_train=40, n_test=10, h=8, w=8)
    monkeypatch.chdir(tmp_path)
    from tinycnn.spec import Spec, conv, gap

    tiny = Spec("tiny", (conv(4), conv("classes", then=()), gap()))
    rt = runtime(tmp_path)
    d = train(tiny, Recipe(epochs=1, batch_size=10), NO_TARGET, rt, data_dir="data").run_dir
    assert read_run(d).config["data"]["dir"] == str(tmp_path / "data")


def test_one_step_onecycle_warm_up_is_refused(tmp_path):
    from tinycnn.errors import ConfigError

    with pytest.raises(ConfigError, match=r"onecycle over 5 steps with pct_start 0.2 warms up"):
        train("fast7806", Recipe(epochs=1, limit_train=320, batch_size=64), NO_TARGET,
              runtime(tmp_path))  # fmt: skip
    assert not any((tmp_path / "runs").iterdir())


def test_evaluate_on_data_of_another_shape_is_refused(capsys, tmp_path, finished):
    from helpers import write_set

    write_set(tmp_path, h=32, w=32)
    code, _, err = cli(capsys, "evaluate", str(finished), "--data-dir", str(tmp_path))
    assert code == 2, err
    assert "images 1×32×32 in 3 classes, but" in err and "trained on 1×28×28 in 10 classes" in err


# ----- processes: a live run is locked, a dead one is detected, signals stop cleanly ------------
TRAIN = [sys.executable, "-m", "tinycnn", "train", "--limit-train", "1024", "--limit-test",
         "128", "--threads", "1", "--quiet", "--no-report", "--device", "cpu"]  # fmt: skip


def start(tmp_path, *argv, **kw):
    return subprocess.Popen(
        [*TRAIN, "--out", str(tmp_path / "runs"), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as a terminal would: default Ctrl-C handling even when pytest runs in the background
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **kw,
    )


def wait_for(p, prefix):
    for line in p.stdout:
        if line.startswith(prefix):
            return line
    raise AssertionError(f"never printed {prefix!r}: {p.communicate()[1]}")


def test_live_run_is_locked_and_a_dead_one_is_detected(capsys, tmp_path):
    p = start(tmp_path, "--epochs", "30")
    try:
        d = wait_for(p, "run directory: ").split(": ", 1)[1].strip()
        wait_for(p, "epoch ")
        code, _, err = cli(capsys, "train", "--resume", d)
        assert code == 2 and f"{d}: in use by process {p.pid}" in err, err
    finally:
        p.kill()  # SIGKILL: no handler runs, the lock and "running" stay behind
        p.communicate()
    assert read_run(d).state == "died"
    code, out, _ = cli(capsys, "compare", d)
    assert code == 0 and "died" in out
    code, _, err = cli(capsys, "train", "--resume", d, "--quiet")  # takes the stale lock over
    assert code == 0, err
    assert read_run(d).state == "finished" and not (runs.Path(d) / runs.LOCK).exists()


def test_sigterm_stops_like_ctrl_c(tmp_path):
    p = start(tmp_path, "--epochs", "30")
    d = wait_for(p, "run directory: ").split(": ", 1)[1].strip()
    wait_for(p, "epoch ")
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert f"resume with: tinycnn train --resume {d}" in err and "Traceback" not in err
    assert read_run(d).state == "interrupted" and not (runs.Path(d) / runs.LOCK).exists()


def start_two_seeds(tmp_path):
    """`train --seeds 2` in a session of its own (a process group, as a terminal's job), returned
    once both seeds are past their first epoch (each has a checkpoint to resume from)."""
    p = start(tmp_path, "--epochs", "30", "--seeds", "2", start_new_session=True)
    out = tmp_path / "runs"
    deadline = time.monotonic() + 120
    while len(list(out.glob("*/last.pt"))) < 2:
        assert time.monotonic() < deadline and p.poll() is None, p.communicate()
        time.sleep(0.2)
    return p, out


def test_ctrl_c_with_seeds_names_each_seeds_resume(tmp_path):
    """Ctrl-C at a terminal reaches the whole process group: the parent and its workers."""
    p, out = start_two_seeds(tmp_path)
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    lines = [x.strip() for x in err.splitlines() if x.strip().startswith("seed ")]
    assert [x.split(":")[0] for x in lines] == ["seed 1", "seed 2"], err
    assert all("resume with: tinycnn train --resume" in x for x in lines), err
    assert "Traceback" not in err
    for x in lines:
        assert read_run(x.rsplit(" ", 1)[1]).state == "interrupted"


def test_sigterm_to_the_group_stops_seeds_like_ctrl_c(tmp_path):
    """`timeout` and schedulers send SIGTERM to the whole process group: the parent and its
    workers at once, and the parent forwards a SIGINT as well. Every seed stops resumable, the
    command exits 143, and no worker prints Python's "Signal 15 ignored due to race condition"."""
    p, out = start_two_seeds(tmp_path)
    os.killpg(p.pid, signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 128 + signal.SIGTERM, err
    lines = [x.strip() for x in err.splitlines() if x.strip().startswith("seed ")]
    assert len(lines) == 2 and all("resume with: tinycnn train --resume" in x for x in lines), err
    assert "Traceback" not in err and "race condition" not in err, err


WORKER_STOPS_THEN_TERM = """
import os, signal, time
from tinycnn.training import seeds_parallel as sp

def interrupted_train(*args, **kwargs):  # a run that Ctrl-C stops while it trains
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(30)

sp.train = interrupted_train
sp._worker_init()
try:
    sp._one((None,) * 7)
except KeyboardInterrupt:
    pass
os.kill(os.getpid(), signal.SIGTERM)  # what a broken pool's terminate() sends
time.sleep(5)
print("survived SIGTERM")
"""


def test_a_stopped_seed_worker_can_be_terminated():
    """A worker ignores repeats of the signal that stops it while it saves, but once its run has
    stopped, SIGTERM ends it: ProcessPoolExecutor terminates the workers of a broken pool with
    SIGTERM and then joins them, so a worker that ignored it hung the parent's exit forever (a
    SIGTERM to `benchmarks/preset_seeds.py`'s process group under `timeout` did)."""
    r = subprocess.run([sys.executable, "-c", WORKER_STOPS_THEN_TERM], capture_output=True,
                       text=True, timeout=60)  # fmt: skip
    assert r.returncode == -signal.SIGTERM, (r.returncode, r.stdout, r.stderr)
    assert "survived" not in r.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_seed_workers_stop_when_their_parent_is_killed(tmp_path):
    """kill -9 of the process that runs the seeds (a script, a notebook kernel): its workers
    stop as on Ctrl-C (checkpoints kept, resumable) and exit, instead of training for no one."""
    p, out = start_two_seeds(tmp_path)
    tasks = Path(f"/proc/{p.pid}/task")
    children = {int(c) for t in tasks.iterdir() for c in (t / "children").read_text().split()}
    assert len(children) >= 2  # the two workers (and multiprocessing's resource tracker)
    p.kill()
    p.communicate()
    deadline = time.monotonic() + 60
    while any(Path(f"/proc/{c}").exists() and _state(c) != "Z" for c in children):
        assert time.monotonic() < deadline, [(c, _state(c)) for c in children]
        time.sleep(0.2)
    for d in out.iterdir():
        assert read_run(d).state == "interrupted" and (d / runs.LAST).is_file()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


# ----- compare lists what it can read and marks the rest ----------------------------------------
def test_compare_marks_unreadable_directories(capsys, tmp_path, finished):
    broken = copy_run(finished, tmp_path)
    (broken / runs.CONFIG).write_text("{ not json")
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = cli(capsys, "compare", str(finished), str(broken), str(empty))
    assert code == 0
    rows = out.split("\n\n")[0].splitlines()[1:]  # the table; the notes on its columns follow
    assert len(rows) == 3 and "unreadable" in rows[1] and "unreadable" in rows[2]
    assert f"note: {broken / runs.CONFIG}: corrupt JSON" in err
    assert f"note: {empty}: not a tinycnn run directory" in err


def test_stopping_seed_workers_ends_them_when_the_pool_does_not(monkeypatch):
    """After Ctrl-C the parent interrupts its workers and must leave none alive, even when the
    pool's manager never sends them its exit sentinel (what happens when it calls itself broken):
    otherwise interpreter exit joins the idle workers forever. Here the pool's shutdown does
    nothing, and the workers' jobs ignore the stop: only terminate/kill can end them."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from tinycnn.training import seeds_parallel as sp

    monkeypatch.setattr(sp, "STOP_GRACE_S", 1.0)
    monkeypatch.setattr(sp, "EXIT_GRACE_S", 0.5)
    pool = ProcessPoolExecutor(2, mp_context=mp.get_context("spawn"), initializer=sp._worker_init)
    futures = [pool.submit(time.sleep, 60) for _ in range(2)]
    deadline = time.monotonic() + 60
    while not all(f.running() for f in futures) or len(pool._processes) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(1.0)  # the workers' initializers have run (their stop handlers are installed)
    procs = list(pool._processes.values())
    real_shutdown = pool.shutdown
    monkeypatch.setattr(pool, "shutdown", lambda *a, **k: None)  # no sentinels, ever
    t0 = time.monotonic()
    sp._stop_workers(pool, futures)
    assert not any(p.is_alive() for p in procs), [p.exitcode for p in procs]
    assert time.monotonic() - t0 < 15
    real_shutdown(wait=True)


def test_ready_to_write_fails_before_the_work_in_one_line(tmp_path):
    """A long benchmark checks where its JSON goes before it trains: a folder it can make is
    made, one that cannot be (a file stands in the way) is refused in one line, naming it."""
    from tinycnn.errors import TinyCnnError

    assert files.ready_to_write(tmp_path / "new" / "r.json") == tmp_path / "new" / "r.json"
    assert (tmp_path / "new").is_dir()
    (tmp_path / "f").write_text("")
    with pytest.raises(TinyCnnError) as e:
        files.ready_to_write(tmp_path / "f" / "r.json")
    message = str(e.value)
    assert message.startswith(f"{tmp_path / 'f'}: could not write") and "\n" not in message
