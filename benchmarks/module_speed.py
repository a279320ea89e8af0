"""Your own nn.Module against the same network as a spec: seconds per epoch, one run each side,
in one process on one machine (issue 27: the module path within 1.3× of the spec path).

    python benchmarks/module_speed.py [--model seq9274] [--epochs 4] [--rounds 2]

The module is the plain `nn.Sequential` class `tinycnn zoo MODEL --python` prints (what a user
writes by hand), trained through the generic path; the spec trains through the usual one. Same
recipe (the model's own), seed and threads; the two alternate, `rounds` times, and each epoch's
seconds are kept. Output: benchmarks/results/module_speed_MODEL.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tinycnn import zoo
from tinycnn.cli import run_script
from tinycnn.convert import to_python
from tinycnn.rules import Target
from tinycnn.settings import Runtime, model_recipe
from tinycnn.table import layer_table
from tinycnn.training import train
from tinycnn.training.machine import machine


def module_class(model: str) -> type:
    """The class `tinycnn zoo MODEL --python` prints, made from that text."""
    from torch import nn

    scope: dict = {}
    exec(compile(to_python(model), f"{model}.py", "exec"), scope)  # noqa: S102 - our output
    classes = [v for v in scope.values() if isinstance(v, type) and issubclass(v, nn.Module)]
    return next(v for v in classes if v is not nn.Module)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="seq9274")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    recipe = model_recipe(args.model, epochs=args.epochs)
    cls = module_class(args.model)
    sides = {"spec": args.model, "module": cls}
    seconds: dict[str, list[float]] = {k: [] for k in sides}
    accuracy: dict[str, list[float]] = {k: [] for k in sides}
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime(out=tmp, report=False, progress=False, threads=args.threads)
        for _ in range(args.rounds):
            for side, model in sides.items():
                r = train(model, recipe, Target(target=None), rt)
                seconds[side] += [m["seconds"] for m in r.metrics[1:]]  # epoch 1 warms up
                accuracy[side].append(r.metrics[-1]["test_acc"])
    per_epoch = {k: statistics.median(v) for k, v in seconds.items()}
    result = {
        "command": "python benchmarks/module_speed.py " + " ".join(sys.argv[1:]),
        "model": args.model,
        "params": sum(p.numel() for p in cls().parameters()),
        "spec_params": layer_table(zoo.get(args.model)).total_params,
        "recipe": recipe.__dict__,
        "threads": args.threads,
        "rounds": args.rounds,
        "seconds_per_epoch_median": per_epoch,
        "ratio_module_to_spec": per_epoch["module"] / per_epoch["spec"],
        "bound": 1.3,
        "seconds": seconds,
        "final_test_acc": accuracy,
        "wall_seconds": time.time() - t0,
        "machine": machine(),
    }
    out = Path(f"benchmarks/results/module_speed_{args.model}.json")
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{args.model}: spec {per_epoch['spec']:.2f} s/epoch, your module "
          f"{per_epoch['module']:.2f} s/epoch: {result['ratio_module_to_spec']:.2f}× "
          f"(bound 1.3×); final test accuracy spec {accuracy['spec']}, module "
          f"{accuracy['module']} → {out}")  # fmt: skip


if __name__ == "__main__":
    run_script(main)
