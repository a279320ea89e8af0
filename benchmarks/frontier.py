"""The frontier: every zoo model's size, cost, speed and consistency, in one table and one plot.

    python benchmarks/frontier.py --measure  # time every zoo model's epoch, then as below
    python benchmarks/frontier.py            # README's frontier table + docs/frontier.png

`--measure` writes benchmarks/results/frontier_speed.json; every run writes
benchmarks/results/frontier.json: one row per zoo model (params, MACs per image, seconds per
epoch, k/n met, mean ± std of the last-k minimum, every seed's last-k minimum) with the JSONs
each number comes from.

Consistency comes from each model's committed seeds JSON (`preset_seeds_MODEL.json` under its
assignment preset, else `default_recipe_MODEL_bf16.json` under the classic target), as it was
measured on the machine that JSON names. Speed comes from one `--measure` run on one machine:
every zoo model's second epoch (the first warms up) with its test pass and its own recipe, each
in a fresh process on all cores, one after another, against the published pipeline (`gap7496`
in the published style: a per-sample loader with 2 workers) timed in the same run, so the ratio
compares like with like.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tinycnn import tomlfile, zoo
from tinycnn.bench import reference_run, tinycnn_run
from tinycnn.cli import run_script
from tinycnn.data import load
from tinycnn.errors import ConfigError
from tinycnn.reports import plots
from tinycnn.rules import load_preset
from tinycnn.search.report import pareto_front
from tinycnn.settings import model_recipe
from tinycnn.table import layer_table
from tinycnn.training import Runtime
from tinycnn.training.machine import machine

RESULTS = Path("benchmarks/results")
SPEED = RESULTS / "frontier_speed.json"
TABLE = RESULTS / "frontier.json"
PUBLISHED = Path("benchmarks/published.toml")
PLOT = Path("docs/frontier.png")
README = Path("README.md")
BEGIN, END = "<!-- frontier:begin -->", "<!-- frontier:end -->"
REFERENCE_MODEL = "gap7496"  # the published design, trained the published way
TIMED_EPOCHS = 2  # the second is timed: the first pays for warm-up (allocations, oneDNN plans)


def _reference_seconds(threads: int) -> float:
    recipe = model_recipe(REFERENCE_MODEL, epochs=TIMED_EPOCHS)
    return reference_run(load(), REFERENCE_MODEL, recipe, threads)[-1]["seconds"]


def _model_seconds(name: str, threads: int) -> dict:
    recipe = model_recipe(name, epochs=TIMED_EPOCHS)  # its own (a batch size changes the cost)
    metrics, speed = tinycnn_run(load(), name, recipe, Runtime(threads=threads))
    return {"seconds_per_epoch": metrics[-1]["seconds"], "batch_size": recipe.batch_size,
            "speed": speed}  # fmt: skip


def _fresh(fn, *args):  # noqa: ANN001, ANN202
    """fn(*args) in a new process: no run inherits another's threads, allocator state or
    loader workers (measured: a model timed after the reference in one process ran 1.4×
    slower than alone)."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def measure() -> dict:
    threads = os.cpu_count() or 1
    ref = _fresh(_reference_seconds, threads)
    models = {name: _fresh(_model_seconds, name, threads) for name in zoo.names()}
    return {
        "command": "python benchmarks/frontier.py --measure",
        "machine": {**machine(), "threads": threads},
        "reference": {"model": REFERENCE_MODEL, "seconds_per_epoch": ref},
        "models": models,
    }


def evidence(name: str) -> tuple[Path, dict] | None:
    for path in (
        RESULTS / f"preset_seeds_{name}.json",
        RESULTS / f"default_recipe_{name}_bf16.json",
    ):
        if path.is_file():
            return path, json.loads(path.read_text())
    return None


def budget(d: dict) -> str:
    if "preset" in d:
        p = load_preset(d["preset"])
        return f"`{p.name}`: " + ", ".join(p.budget_rules())
    t = d["target"]
    return f"≤ {t['max_params']:,} params, ≤ {t['max_epochs']} epochs"


def rows(speed: dict | None) -> list[dict]:
    out = []
    for name in zoo.names():
        table = layer_table(zoo.get(name))
        row = {"name": name, "params": table.total_params, "macs": table.macs}
        if speed and name in speed["models"]:
            s = speed["models"][name]["seconds_per_epoch"]
            row |= {"s_epoch": s, "ratio": speed["reference"]["seconds_per_epoch"] / s}
        found = evidence(name)
        if found:
            path, d = found
            sm = d["summary"]
            row |= {
                "json": path,
                "budget": budget(d),
                "passed": sm["passed"],
                "n": sm["n"],
                "last_k": sm["last_k"],
                "mean": sm["last_k_min_mean"],
                "std": sm["last_k_min_std"],
                "per_seed": dict(zip(sm["seeds"], sm["last_k_min"], strict=True)),
                "cpu": d["machine"].get("cpu_model") or "CPU not recorded",
                "precision": d.get("precision") or ("bf16" if d["runtime"]["bf16"] else "fp32"),
            }
        out.append(row)
    return sorted(out, key=lambda r: r["params"])


def markdown(table: list[dict], speed: dict | None) -> str:
    lines = [
        "| model | params | MACs/image | s/epoch | vs published pipeline | budget | k/n met "
        "| last-k minimum | seeds JSON |",
        "|---|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for r in table:
        timing = (f"{r['s_epoch']:.1f}", f"{r['ratio']:.1f}×") if "s_epoch" in r else ("–", "–")
        if "json" in r:
            seeds = (
                r["budget"],
                f"{r['passed']}/{r['n']}",
                f"{r['mean']:.2f} ± {r['std']:.2f} % (last {r['last_k']})",
                f"[{r['json'].name}]({r['json']}) ({r['cpu']}, {r['precision']})",
            )
        else:
            seeds = ("–", "not run", "–", "–")
        lines.append(
            f"| `{r['name']}` | {r['params']:,} | {r['macs']:,} | {' | '.join(timing)} | "
            + " | ".join(seeds)
            + " |"
        )
    if speed:
        m, ref = speed["machine"], speed["reference"]
        lines.append(
            "\ns/epoch: one training epoch with its test pass, from one run of "
            f"`{speed['command']}` "
            f"on {m['cpu_model']} ({m['cpu_count']} cores, {m['threads']} threads, torch "
            f"{m['torch']}; [frontier_speed.json]({SPEED})); the published pipeline "
            f"(`{ref['model']}`, per-sample loader) took {ref['seconds_per_epoch']:.1f} s per "
            "epoch in the same run."
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--measure", action="store_true", help="time every zoo model's epoch first")
    args = ap.parse_args()
    if args.measure:
        SPEED.write_text(json.dumps(measure(), indent=1) + "\n")
    speed = json.loads(SPEED.read_text()) if SPEED.is_file() else None
    table = rows(speed)
    published = tomlfile.read(PUBLISHED, "published figures", "", ConfigError)["published"]
    marks = [(p["model"], p["params"], p["test"]) for p in published if "params" in p]
    measured = [r for r in table if "json" in r]
    front = pareto_front([(r["params"], r["mean"]) for r in measured])
    plots.save(plots.frontier(measured, front, marks, target=load_preset("under8k").target), PLOT)
    TABLE.write_text(
        json.dumps(
            {
                "command": "python benchmarks/frontier.py",
                "speed": str(SPEED) if speed else None,
                "speed_machine": speed["machine"] if speed else None,
                "models": [{**r, "json": str(r["json"])} if "json" in r else r for r in table],
            },
            indent=1,
        )
        + "\n"
    )
    text = markdown(table, speed)
    readme = README.read_text()
    block = f"{BEGIN}\n{text}\n{END}"
    README.write_text(
        re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, readme, flags=re.S)
    )
    print(text)


if __name__ == "__main__":
    run_script(main)
