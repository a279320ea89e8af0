"""Multi-seed consistency: the summary's numbers against hand computation, and a real 2-seed run."""

import statistics
from pathlib import Path

from tinycnn.cli import main
from tinycnn.rules import judge
from tinycnn.training import Recipe, Runtime, Target
from tinycnn.training.result import RunResult
from tinycnn.training.seeds_parallel import run_seeds, workers_for
from tinycnn.training.seeds_result import SeedsResult


def fake(accs):
    metrics = [{"epoch": i + 1, "test_acc": a, "seconds": 1.0} for i, a in enumerate(accs)]
    t = Target(99.4, 2)
    return RunResult(Path("x"), metrics, judge(t, accs, 1, len(accs)), 1)


def test_summary_numbers_by_hand():
    t = Target(99.4, 2)
    res = SeedsResult(
        (1, 2, 3),
        (fake([99.0, 99.5, 99.6]), fake([99.1, 99.3, 99.7]), fake([98.9, 99.45, 99.41])),
        t,
    )
    assert res.passed == 2  # seed 2 dips to 99.3 in the last two epochs
    assert res.last_k_min() == [99.5, 99.3, 99.41]
    s = res.summary()
    assert s["last_k_min_mean"] == statistics.fmean([99.5, 99.3, 99.41])
    assert s["last_k_min_std"] == statistics.stdev([99.5, 99.3, 99.41])
    assert [round(e["mean"], 4) for e in s["per_epoch"]] == [
        99.0,
        round((99.5 + 99.3 + 99.45) / 3, 4),
        99.57,
    ]
    assert res.line().startswith("2/3 seeds met the target; min of the last 2 epochs: 99.40 ± ")


def test_workers_never_oversubscribe():
    assert workers_for(5, cores=2) == (2, 1)
    assert workers_for(1, cores=2) == (1, 2)
    assert workers_for(16, cores=16) == (8, 2)
    assert workers_for(3, cores=16) == (3, 5)


def test_two_seeds_in_process(tmp_path):
    rt = Runtime(out=str(tmp_path), progress=False, threads=1, report=False)
    res = run_seeds(
        "gap7496",
        Recipe(epochs=1, limit_train=256, limit_test=128, batch_size=64),
        Target(target=5.0, consistent=1),
        rt,
        [3, 4],
        workers=1,
    )
    assert [r.run_dir.parent for r in res.runs] == [tmp_path, tmp_path]
    assert res.runs[0].metrics != res.runs[1].metrics  # different seeds, different runs
    assert res.seeds == (3, 4) and res.n == 2


def test_train_seeds_cli(tmp_path, capsys):
    argv = [
        "train",
        "--seeds",
        "2",
        "--epochs",
        "1",
        "--limit-train",
        "256",
        "--limit-test",
        "128",
        "--target",
        "5",
        "--consistent",
        "1",
        "--no-report",
        "--out",
        str(tmp_path),
        "--quiet",
        "--threads",
        "1",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "seed 1: " in out and "seed 2: " in out
    assert "seeds met the target; min of the last epoch" in out
    (group,) = [p for p in tmp_path.iterdir() if "-seeds-" in p.name]
    assert (group / "seeds.json").is_file() and (group / "curves.png").is_file()


def test_a_presets_group_counts_consistency_by_the_presets_k():
    """under20k-nofc holds the target in the last epoch (k = 1), not the default 3: a seeds
    group judged by that preset reports the last-1 minimum, as its verdicts do."""
    from tinycnn.rules import Target, with_preset

    t = with_preset(Target(preset="under20k-nofc"))
    assert (t.target, t.consistent) == (99.4, 1)
    assert with_preset(Target(target=98.0)) == Target(target=98.0)


def test_stacked_group_to_one_json(tmp_path, capsys):
    """benchmarks/stacked_json.py (how GPU groups are committed): one file holding the group's
    summary and every seed's epochs, as the run directories hold them."""
    import json
    import subprocess
    import sys

    argv = ["train", "--seeds", "2", "--stacked", "--epochs", "2", "--limit-train", "256",
            "--limit-test", "128", "--target", "5", "--consistent", "1", "--no-report",
            "--out", str(tmp_path / "runs"), "--quiet", "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    (group,) = [p for p in (tmp_path / "runs").iterdir() if "-seeds-" in p.name]
    script = Path(__file__).parent.parent / "benchmarks" / "stacked_json.py"
    out = tmp_path / "group.json"
    done = subprocess.run(
        [sys.executable, script, group, "--command", "tinycnn train …", "--out", out],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    d, seeds = json.loads(out.read_text()), json.loads((group / "seeds.json").read_text())
    assert f"{out}: {seeds['line']}" in done.stdout
    assert (d["command"], d["passed"], d["n"], d["seeds"]) == ("tinycnn train …", *[
        seeds[k] for k in ("passed", "n", "seeds")])  # fmt: skip
    assert d["machine"]["device"] == "cpu" and d["config"]["recipe"]["epochs"] == 2
    for seed in (1, 2):
        (run,) = [p for p in group.parent.iterdir() if p.name.endswith(f"-s{seed}")]
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert d["metrics"][str(seed)] == rows and len(rows) == 2


def test_stacked_json_refuses_what_is_not_a_group(tmp_path):
    """Each wrong input is one line and a non-zero exit, and no file is written."""
    import json
    import subprocess
    import sys

    script = Path(__file__).parent.parent / "benchmarks" / "stacked_json.py"
    damaged, keyless, orphan = (tmp_path / n for n in ("damaged", "keyless", "orphan"))
    for d in (damaged, keyless, orphan):
        d.mkdir()
    (damaged / "seeds.json").write_text('{"seeds": [1, 2], "ru')  # cut off mid-write
    (keyless / "seeds.json").write_text("[]")
    (orphan / "seeds.json").write_text(json.dumps({"seeds": [1], "runs": ["gone-s1"]}))
    cases = {
        tmp_path / "nowhere": "no seeds.json",
        damaged: "not a stacked group",
        keyless: "not a stacked group",
        orphan: "not a stacked group",
    }
    for group, says in cases.items():
        out = tmp_path / "out.json"
        done = subprocess.run(
            [sys.executable, script, group, "--command", "x", "--out", out],
            capture_output=True, text=True,
        )  # fmt: skip
        lines = done.stderr.strip().splitlines()
        assert done.returncode != 0 and says in lines[-1] and "Traceback" not in done.stderr
        assert not out.exists()


def test_roofline_refuses_an_out_folder_that_is_not_there_before_measuring(tmp_path):
    import subprocess
    import sys

    script = Path(__file__).parent.parent / "benchmarks" / "roofline.py"
    out = tmp_path / "no" / "such" / "roofline.json"
    done = subprocess.run(
        [sys.executable, script, "--models", "fast7806", "--out", out],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and f"no folder {out.parent}" in done.stderr
    assert "Traceback" not in done.stderr
