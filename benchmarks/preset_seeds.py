"""A zoo model under its assignment preset over N seeds: how often the published design holds.

    python benchmarks/preset_seeds.py seq9274 under10k --seeds 16
    python benchmarks/preset_seeds.py cand.toml examples/presets/under4k.toml --config cand.run.toml

MODEL is a zoo name or a spec file; PRESET a built-in name or a preset file. --config takes a run
file's [recipe] (a search's topN.run.toml), over the default recipe.

Epochs are the most the preset allows (its own rule), the recipe is tinycnn's default unless
--config says otherwise, bf16 is this machine's default unless --no-bf16 (recorded). Writes
benchmarks/results/preset_seeds_MODEL.json (MODEL: the spec's name), or --out: the
command, machine, precision and threads, k/N that met the preset, mean ± std of the last-k
minimum, and every seed's verdict and per-epoch metrics.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

from tinycnn import files, zoo
from tinycnn.cli import run_script
from tinycnn.search.config import final_epochs
from tinycnn.settings import load_config_file
from tinycnn.training import Recipe, Runtime, Target, runs
from tinycnn.training.machine import machine
from tinycnn.training.seeds_parallel import run_seeds, workers_for


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    ap.add_argument("preset")
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--config", help="a run file whose [recipe] replaces the default's values")
    ap.add_argument("--out", help="default: benchmarks/results/preset_seeds_MODEL.json")
    ap.add_argument("--no-bf16", action="store_true", help="fp32 even where bf16 is native")
    args = ap.parse_args()
    spec = zoo.resolve(args.model)
    out = files.ready_to_write(
        Path(args.out or f"benchmarks/results/preset_seeds_{spec.name}.json")
    )
    # a run file's recipe, else a zoo model's own (its measured recipe), else the default
    overrides = load_config_file(args.config)["recipe"] if args.config else zoo.recipe(args.model)
    epochs = final_epochs(args.preset)  # the most the preset allows
    recipe, target = Recipe(**{**overrides, "epochs": epochs}), Target(preset=args.preset)
    runtime = Runtime(
        out=tempfile.mkdtemp(prefix="tinycnn-preset-"),
        report=False,
        bf16=False if args.no_bf16 else None,  # None: this machine's default
    )
    procs, threads = workers_for(args.seeds)
    t0 = time.time()
    res = run_seeds(spec, recipe, target, runtime, list(range(1, args.seeds + 1)))
    first = json.loads((res.runs[0].run_dir / runs.CONFIG).read_text())
    result = {
        "command": "python benchmarks/preset_seeds.py "
        f"{args.model} {args.preset} --seeds {args.seeds}"
        + (f" --config {args.config}" if args.config else "")
        + (f" --out {args.out}" if args.out else "")
        + (" --no-bf16" if args.no_bf16 else ""),
        "model": spec.name,
        "spec": spec.to_toml() if args.model not in zoo.names() else None,
        "preset": args.preset,
        "params": res.runs[0].params,
        "recipe": dataclasses.asdict(recipe),
        "precision": "bf16" if first["runtime"]["bf16"] else "fp32",
        "machine": {**machine(), "processes": procs, "threads_per_process": threads},
        "wall_seconds": time.time() - t0,
        "summary": res.summary(),
        "line": res.line(),
        "verdicts": [r.verdict.line() for r in res.runs],
        "metrics": {str(s): r.metrics for s, r in zip(res.seeds, res.runs, strict=True)},
    }
    files.write_text(out, json.dumps(result, indent=1) + "\n")
    print(res.line())


if __name__ == "__main__":
    run_script(main)
