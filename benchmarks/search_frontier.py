"""Benchmark: a full-budget search on this machine (issue 29's scheme).

Trials train with the preset's whole epoch budget and its schedule (OneCycle over 15 epochs);
successive halving stops the weak ones at epochs 3 and 9 on the validation split; the ones that
finish train a second seed and score as the worse seed's lowest validation accuracy over the last
3 epochs. The test set is not read here: the best candidates are judged afterwards over 16 seeds
with benchmarks/preset_seeds.py (their topN.toml and topN.run.toml are copied to docs/search/).

    python benchmarks/search_frontier.py highres4k examples/presets/under4k.toml --minutes 40
    python benchmarks/search_frontier.py course examples/presets/under6k.toml --name course-under6k

Writes benchmarks/results/search_NAME.json (the machine, the command, the config, the search's
time, every trial with its per-epoch validation accuracy and seed scores) and the search's
search.md, pareto.png, history.png and top files to docs/search/NAME/ (NAME: --name, else
the space's name).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from tinycnn.cli import run_script
from tinycnn.search import SearchConfig, search
from tinycnn.search.report import counts, pareto_front
from tinycnn.training.fast.speed import pick_device
from tinycnn.training.machine import device_name, machine

TOP_FILES = ("search.md", "pareto.png", "history.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("space")
    ap.add_argument("preset")
    ap.add_argument("--minutes", type=float, default=40, help="stop starting trials after this")
    ap.add_argument("--trials", type=int, default=1000, help="at most this many trials")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=2, help="seeds per candidate that finishes")
    ap.add_argument("--top", type=int, default=3)
    ap.add_argument("--name", help="names the JSON and docs folder (default: the space's name)")
    args = ap.parse_args()
    if args.name is not None and (not args.name or Path(args.name).name != args.name):
        ap.error(f"--name {args.name!r}: give a plain name (no folders), e.g. course-under6k")
    cfg = SearchConfig(
        space=args.space, preset=args.preset, trials=args.trials, workers=args.workers,
        seeds=args.seeds, timeout=args.minutes * 60, seed=0,
        out=tempfile.mkdtemp(prefix="tinycnn-"),
    )  # fmt: skip
    t0 = time.time()
    d = search(cfg, top=args.top)
    searched = time.time() - t0
    rows = [json.loads(line) for line in (d / "trials.jsonl").read_text().splitlines()]
    done = [(r["params"], r["value"]) for r in rows if r["value"] is not None]
    epochs = sum(len(r["val_acc"]) for r in rows) + sum(
        cfg.budget * (len(r.get("seed_scores") or [1]) - 1) for r in rows
    )  # every seed's epochs: what the search spent
    result = {
        "command": f"python benchmarks/search_frontier.py {args.space} {args.preset} "
        f"--minutes {args.minutes:g} --workers {args.workers} --seeds {args.seeds}"
        + (f" --name {args.name}" if args.name else ""),
        # the device the trials trained on (Runtime's "auto"): a GPU's name, else the CPU's
        "machine": {
            **machine(),
            "workers": args.workers,
            "device_name": device_name(pick_device("auto")),
        },
        "config": {k: v for k, v in cfg.__dict__.items() if k != "out"},
        "budget": cfg.budget,
        "last_k": cfg.last_k,
        "search_seconds": searched,
        "epochs_trained": epochs,
        "states": counts(rows),
        "pareto_front": pareto_front(done),
        "trials": rows,
    }
    name = args.name or Path(args.space).stem
    Path(f"benchmarks/results/search_{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    docs = Path("docs/search") / name
    docs.mkdir(parents=True, exist_ok=True)
    names = TOP_FILES + tuple(f"top{i}{ext}" for i in range(1, args.top + 1)
                              for ext in (".toml", ".run.toml"))  # fmt: skip
    for f in names:
        if (d / f).is_file():
            shutil.copy(d / f, docs / f)
    print(f"{len(rows)} trials, {epochs} epochs in {searched / 60:.1f} min: {counts(rows)}")
    for r in sorted((r for r in rows if r["value"] is not None), key=lambda r: -r["value"])[:5]:
        print(f"trial {r['number']}: {r['params']:,} params, score {r['value']:.2f}% "
              f"(seeds {r['seed_scores']})")  # fmt: skip


if __name__ == "__main__":
    run_script(main)
