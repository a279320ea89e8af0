"""One training per seed, several weight averages: which average holds the last epochs (issue 29).

    python benchmarks/ema_decays.py benchmarks/candidates/t14_b64ema.toml \
        examples/presets/under6k.toml --config benchmarks/candidates/t14_b64ema.run.toml \
        --decays 0.999 0.9995 --swa-from 10 13 --seeds 16 --out OUT.json

An average of the weights never touches training: SGD trains the raw weights, the average is
only evaluated. So one run per seed can carry several averages side by side, each updated after
every step, each scored on the test set after every epoch in the run's precision: a paired
comparison on the very same trajectories, where separate runs would each cost a training. The
recipe's own EMA is carried as a control: its numbers must equal the run's own metrics to the
digit (checked), so every other column is what a run with that average would have logged.

Two kinds of average:
- `--decays D`: `Recipe.ema`'s EMA. Its warm-up caps the decay at (1 + t)/(10 + t) after t
  steps, which passes 0.999 only after 8,990 steps and 0.9995 after 17,990: at batch 64 a
  15-epoch run has 14,070, so any decay ≥ 0.99937 gives the same average (the uncapped warm-up
  curve, spanning about t/9 steps: 1.7 epochs at the end, against 1.1 for 0.999).
- `--swa-from E`: every step's weights from the start of epoch E on, weighted equally
  (stochastic weight averaging along OneCycle's tail; BN's running statistics averaged alike);
  before epoch E the raw weights.
Writes the command, machine, and per average: k/N that met the preset's target in each of the
last k epochs, mean ± std of the last-k minimum, and every seed's per-epoch test accuracy.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tinycnn import files, zoo
from tinycnn.cli import run_script
from tinycnn.rules import with_preset
from tinycnn.search.config import final_epochs
from tinycnn.settings import load_config_file
from tinycnn.training import Recipe, Runtime, Target
from tinycnn.training.callbacks import Callback
from tinycnn.training.ema import WeightAverage
from tinycnn.training.machine import machine
from tinycnn.training.scoring import score
from tinycnn.training.seeds_parallel import run_seeds, workers_for

EXTRA = "ema_decays.json"  # each run's extra averages' per-epoch scores, in its run directory


class EqualAverage(WeightAverage):
    """Every step's weights from step `start` on, weighted equally (the raw weights before)."""

    def __init__(self, model: Any, start: int):
        super().__init__(model, decay=0.0)
        self.start, self.n = start, 0

    def update(self, model: Any) -> None:
        self.steps += 1
        if self.steps > self.start:
            self.n += 1
        self.blend(model, 1.0 / max(self.n, 1))


class Averages(Callback):
    """Weight averages of the run's raw weights, scored after every epoch."""

    def __init__(self, decays: list[float], swa_from: list[int]):
        self.decays, self.swa_from = decays, swa_from

    def on_start(self, trainer: Any) -> None:
        steps = trainer.steps_per_epoch
        self.avgs: dict[str, WeightAverage] = {
            **{f"ema {d}": WeightAverage(trainer.model, d) for d in self.decays},
            **{
                f"swa from {e}": EqualAverage(trainer.model, (e - 1) * steps) for e in self.swa_from
            },
        }
        self.rows: dict[str, list[dict[str, float]]] = {k: [] for k in self.avgs}

    def on_step(self, trainer: Any, step: int) -> None:
        for avg in self.avgs.values():  # after the step, as the run's own average
            avg.update(trainer.model)

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        t = trainer
        for name, avg in self.avgs.items():
            loss, correct = score(avg.module, t.test_x, t.test_y, t.mean, t.std, t.runtime.bf16)
            acc = 100 * correct[0] / len(t.test_x)
            self.rows[name].append({"epoch": row["epoch"], "test_acc": acc, "test_loss": loss[0]})
        (Path(t.run_dir) / EXTRA).write_text(json.dumps(self.rows))


def summarise(accs: dict[int, list[float]], target: float, k: int) -> dict[str, Any]:
    mins = {s: min(a[-k:]) for s, a in accs.items()}
    return {
        "passed": sum(m >= target for m in mins.values()),
        "n": len(mins),
        "last_k_min_mean": statistics.fmean(mins.values()),
        "last_k_min_std": statistics.stdev(mins.values()) if len(mins) > 1 else 0.0,
        "last_k_min": mins,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    ap.add_argument("preset")
    ap.add_argument("--config", help="a run file whose [recipe] replaces the default's values")
    ap.add_argument("--decays", type=float, nargs="+", default=[0.999, 0.9995])
    ap.add_argument("--swa-from", type=int, nargs="*", default=[], metavar="EPOCH")
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    spec = zoo.resolve(args.model)
    overrides = load_config_file(args.config)["recipe"] if args.config else zoo.recipe(args.model)
    epochs = final_epochs(args.preset)  # the most the preset allows
    recipe, target = Recipe(**{**overrides, "epochs": epochs}), Target(preset=args.preset)
    if not recipe.ema or recipe.ema not in args.decays:
        ap.error(f"the recipe's own decay ({recipe.ema}) must be among --decays: it is the control")
    out = files.ready_to_write(Path(args.out))  # fail now, not after the runs
    runtime = Runtime(out=tempfile.mkdtemp(prefix="tinycnn-ema-"), report=False)
    procs, threads = workers_for(args.seeds)
    t0 = time.time()
    seeds = list(range(1, args.seeds + 1))
    res = run_seeds(
        spec, recipe, target, runtime, seeds, callbacks=[Averages(args.decays, args.swa_from)]
    )
    goal = with_preset(target)
    runs_ = dict(zip(seeds, res.runs, strict=True))
    extra = {s: json.loads((r.run_dir / EXTRA).read_text()) for s, r in runs_.items()}
    own = {s: [m["test_acc"] for m in r.metrics] for s, r in runs_.items()}
    control = {s: [m["test_acc"] for m in extra[s][f"ema {recipe.ema}"]] for s in seeds}
    result: dict[str, Any] = {
        "command": "python benchmarks/ema_decays.py "
        f"{args.model} {args.preset}"
        + (f" --config {args.config}" if args.config else "")
        + f" --decays {' '.join(map(str, args.decays))}"
        + (f" --swa-from {' '.join(map(str, args.swa_from))}" if args.swa_from else "")
        + f" --seeds {args.seeds} --out {args.out}",
        "model": spec.name,
        "params": res.runs[0].params,
        "recipe": dataclasses.asdict(recipe),
        "target": goal.target,
        "last_k": goal.consistent,
        "machine": {**machine(), "processes": procs, "threads_per_process": threads},
        "wall_seconds": time.time() - t0,
        "control_equals_run": control == own,
        "run_line": res.line(),
        "averages": {},
    }
    for name in extra[seeds[0]]:
        accs = {s: [m["test_acc"] for m in extra[s][name]] for s in seeds}
        row = summarise(accs, goal.target, goal.consistent)
        result["averages"][name] = {**row, "test_acc": accs}
        print(
            f"{name}: {row['passed']}/{row['n']} met {goal.target} in each of the last "
            f"{goal.consistent}; last-{goal.consistent} minimum {row['last_k_min_mean']:.3f} "
            f"± {row['last_k_min_std']:.3f} %"
        )
    print(f"control (ema {recipe.ema}) equals the runs' own metrics: {control == own}")
    files.write_text(out, json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    run_script(main)
