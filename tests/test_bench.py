"""The benchmark harness runs every pipeline on the same model and reports comparable rows."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tinycnn.bench import benchmark, render
from tinycnn.training.fast.speed import native_bf16


def test_benchmark_smoke():
    r = benchmark("gap7496", epochs=1, seeds=1, threads=1, limit=256, device="cpu", stacked=2)
    names = list(r["pipelines"])
    bf16 = native_bf16(torch.device("cpu"))
    assert names == [
        "reference (per-sample loader)",
        "tinycnn",
        *(["tinycnn --no-bf16"] if bf16 else []),
        "tinycnn --stacked ×2",
    ]
    used = r["pipelines"]["tinycnn"]["speed"]
    assert used["bf16"] is bf16 and used["fast_dropout"] is True
    assert len(r["pipelines"]["tinycnn --stacked ×2"]["final_test_acc"]) == 2
    assert r["pipelines"]["tinycnn --stacked ×2"]["speed"]["stacked"] is True
    for row in r["pipelines"].values():
        assert row["seconds_per_epoch"] > 0 and 0 <= row["final_test_acc_mean"] <= 100
    ref = r["pipelines"][names[0]]["seconds_per_epoch"]
    for row in r["pipelines"].values():  # the definition: reference seconds / the row's seconds
        assert row["speedup"] == pytest.approx(ref / row["seconds_per_epoch"], rel=1e-9)
    table = render(r)
    assert "| tinycnn |" in table
    tinycnn_line = next(line for line in table.splitlines() if line.startswith("| tinycnn |"))
    assert ("bf16" in tinycnn_line) is bf16 and "fast dropout" in tinycnn_line


def test_parallel_row_counts_one_seeds_epoch():
    """2 seeds in 2 processes × 1 thread (what `train --seeds 2` does on 2 cores): the row's
    seconds per epoch are one seed's share, the processes' mean epoch time / 2."""
    r = benchmark(
        "gap7496",
        epochs=1,
        seeds=1,
        threads=2,
        limit=256,
        device="cpu",
        reference=False,
        fp32=False,
        parallel=2,
    )
    row = r["pipelines"]["tinycnn --seeds 2 (parallel processes)"]
    assert (row["processes"], row["threads_each"]) == (2, 1)
    assert len(row["final_test_acc"]) == 2 and row["speed"]["fast_dropout"] is True
    epochs = [m["seconds"] for ms in row["per_seed"] for m in ms]
    assert len(epochs) == 2
    assert abs(row["seconds_per_epoch"] - sum(epochs) / 2 / 2) < 1e-9
    assert (
        row["speedup"] == r["pipelines"]["tinycnn"]["seconds_per_epoch"] / row["seconds_per_epoch"]
    )


ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize(
    "argv",
    [
        ["preset_seeds.py", "nosuch", "under8k"],
        ["speed.py", "--model", "nosuch"],
        ["roofline.py", "--models", "nosuch"],
        ["speed_options.py", "--model", "nosuch"],  # its workers would build the model
        ["search_frontier.py", "course", "nosuch"],
    ],
    ids=lambda a: a[0],
)
def test_benchmark_scripts_refuse_a_wrong_name_in_one_line(argv):
    """The README tells users to rerun these: a wrong model, preset or space ends as the command
    does (one line naming the script and the problem, exit 2), not in a traceback."""
    script, *rest = argv
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *rest],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    lines = [x for x in r.stderr.splitlines() if not x.startswith("tinycnn: ")]  # the bf16 line
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert lines[0].startswith(f"{script}: error: unknown ") and "nosuch" in lines[0], r.stderr
