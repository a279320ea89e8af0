"""Screen candidate designs on a validation split, before any of them sees the test set.

    python benchmarks/screen.py a.toml b.toml fast7806 --seeds 2 --out results/screen_4k.json
    python benchmarks/screen.py my_net.py:Net --set batch_size=64 --seeds 4 --out FILE

Each candidate (a spec file, a zoo name or your own module as FILE.py:NAME) trains N seeds on
the training set less a held-out validation split (one split for every seed and candidate). The
test images are removed from the data, so nothing here can read them. Candidates are ranked by
the mean over seeds of the validation accuracy's minimum over the last 3 epochs: the quantity
the target judges, measured where choosing by it is fair. A candidate's recipe is FILE.run.toml
beside FILE.toml (a search's topN.run.toml) when there is one, else the zoo's or the default;
--set KEY=VALUE overrides either for all.
Only the ranked winner then runs on the test set (benchmarks/preset_seeds.py, 16 seeds).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tinycnn import zoo
from tinycnn.cli import run_script
from tinycnn.data import load
from tinycnn.defaults import MNIST_CLASSES, MNIST_INPUT
from tinycnn.errors import TinyCnnError
from tinycnn.nets import as_net
from tinycnn.search.objective import without_test
from tinycnn.settings import load_config_file
from tinycnn.training import Recipe, Runtime, Target
from tinycnn.training.engine import train
from tinycnn.training.machine import machine
from tinycnn.training.seeds_parallel import workers_for

LAST_K = 3  # the target's window: each of the last 3 epochs


def recipe_for(model: str, overrides: dict, epochs: int, val: int) -> Recipe:
    run_file = Path(model).with_suffix(".run.toml")
    own = (  # a spec file's sibling run file, else a zoo model's own recipe (often none)
        load_config_file(run_file)["recipe"]
        if model.endswith(".toml") and run_file.is_file()
        else zoo.recipe(model)
    )
    return Recipe(**{**own, **overrides, "epochs": epochs, "val": val, "select": "val"})


def one(model: str, recipe: Recipe, threads: int) -> list[dict]:
    data = without_test(load())
    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime(out=tmp, threads=threads, progress=False, report=False)
        return train(model, recipe, Target(target=None), rt, data=data).metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--val", type=int, default=10_000)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.seeds < 1:
        ap.error(f"--seeds {args.seeds}: give 1 or more")
    fields = [f.name for f in dataclasses.fields(Recipe)]
    overrides = {}
    for text in args.set:
        key, _, value = text.partition("=")
        if key not in fields:
            ap.error(f"--set {text}: KEY=VALUE with KEY a recipe setting ({', '.join(fields)})")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            ap.error(f'--set {text}: the value must be JSON (5, 0.1, true, "adam")')
    try:  # a wrong name, file or value is one line now, not a worker's traceback later
        nets = {m: as_net(m) for m in args.models}
        tables = {m: net.table(MNIST_INPUT, MNIST_CLASSES) for m, net in nets.items()}
        recipes = {m: recipe_for(m, overrides, args.epochs, args.val) for m in args.models}
    except TinyCnnError as e:
        ap.error(str(e))
    jobs = [
        (m, dataclasses.replace(recipes[m], seed=s))
        for m in args.models
        for s in range(1, args.seeds + 1)
    ]
    procs, threads = workers_for(len(jobs))
    t0 = time.time()
    with ProcessPoolExecutor(procs, mp_context=mp.get_context("spawn")) as pool:
        done = list(pool.map(one, *zip(*jobs, strict=True), [threads] * len(jobs)))
    rows = []
    for i, m in enumerate(args.models):
        table = tables[m]  # a spec's table, or your module's traced one
        metrics = done[i * args.seeds : (i + 1) * args.seeds]
        mins = [min(r["val_acc"] for r in ms[-LAST_K:]) for ms in metrics]
        rows.append(
            {
                "model": m,
                "name": nets[m].name,
                "params": table.total_params,
                "macs": table.macs,
                "recipe": dataclasses.asdict(jobs[i * args.seeds][1]),
                "val_last3_min": mins,
                "mean": statistics.mean(mins),
                "std": statistics.stdev(mins) if len(mins) > 1 else 0.0,
                "seconds_per_epoch": statistics.mean(r["seconds"] for ms in metrics for r in ms),
                "metrics": metrics,
            }
        )
    rows.sort(key=lambda r: -r["mean"])
    result = {
        "command": "python benchmarks/screen.py "
        + " ".join(args.models)
        + f" --seeds {args.seeds} --epochs {args.epochs} --val {args.val}"
        + "".join(f" --set {s}" for s in args.set)
        + f" --out {args.out}",
        "machine": {**machine(), "processes": procs, "threads_per_process": threads},
        "wall_seconds": time.time() - t0,
        "ranked": rows,
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    for r in rows:
        print(
            f"{r['name']:>24} {r['params']:>6,} params {r['macs']:>9,} MACs  val last-3 min "
            f"{r['mean']:.2f} ± {r['std']:.2f} %  {r['seconds_per_epoch']:.1f} s/epoch"
        )


if __name__ == "__main__":
    run_script(main)
