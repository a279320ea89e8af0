"""Does flushing denormals (`torch.set_flush_denormal`) speed up OneCycle's low-LR tail?

    python benchmarks/denormals.py RUN_DIR [--steps 20] [--rounds 7]

Denormal floats (|x| < 1.18e-38 in fp32 and bf16) make some CPUs' arithmetic many times
slower; OneCycle ends at LR / final_div_factor, where updates, gradients and momentum are
smallest. A step at random initialisation has none of them, so this starts from a finished
run's last checkpoint (weights and momentum after its last epoch) and
- counts the denormal values in the weights, the momentum buffers, and in one training step's
  activations and their gradients (hooks) and the weights' gradients, on real training images;
- times training steps with flushing on and off, in turns within one process (the setting is
  process-wide), at the run's last learning rate, the run's own precision and this machine's
  threads; each side's time is the median of its rounds.
Writes benchmarks/results/denormals_MODEL.json with the counts, both timings and the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from tinycnn.cli import run_script
from tinycnn.data import load, standardize
from tinycnn.settings import Recipe
from tinycnn.training.fast.speed import (
    autocast,
    reuse_freed_memory,
    use_fast_dropout,
    use_fast_pool,
)
from tinycnn.training.machine import machine
from tinycnn.training.optim import make_optimizer
from tinycnn.training.runs import LAST, load_checkpoint, load_model

FP32_TINY = torch.finfo(torch.float32).tiny  # smallest normal; bf16 shares fp32's exponent range


def denormals(t: torch.Tensor) -> int:
    t = t.detach().float()
    return int(((t != 0) & (t.abs() < FP32_TINY)).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("run_dir")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    run, model = load_model(args.run_dir)
    state = load_checkpoint(Path(args.run_dir) / LAST, ("model", "optimizer"))
    model.load_state_dict(state["model"])  # the trained weights, not an EMA of them
    model.train()
    use_fast_dropout(model)  # the default CPU path: what a real step runs
    use_fast_pool(model)
    reuse_freed_memory()
    recipe, bf16 = Recipe(**run.config["recipe"]), bool(run.config["runtime"]["bf16"])
    lr = run.metrics[-1]["lr"]
    opt = make_optimizer(model, recipe)  # the run's own optimizer, its state as saved
    opt.load_state_dict(state["optimizer"])
    for g in opt.param_groups:
        g["lr"] = lr  # the schedule's last LR, where the tail's updates are smallest
    data = load()  # the bundled MNIST
    b = recipe.batch_size
    x, y = standardize(data.train_x[:b], data.mean, data.std), data.train_y[:b]

    counts = {
        "weights": sum(denormals(p) for p in model.parameters()),
        "weights_total": sum(p.numel() for p in model.parameters()),
        "momentum": sum(
            denormals(t)
            for st in opt.state.values()
            for t in st.values()
            if isinstance(t, torch.Tensor) and t.dim()
        ),  # fmt: skip
    }
    acts = {"activations": 0, "activations_total": 0, "activation_gradients": 0}

    def back(g: torch.Tensor) -> None:
        acts["activation_gradients"] += denormals(g)

    def hook(_m, _i, out) -> None:
        if isinstance(out, torch.Tensor):
            acts["activations"] += denormals(out)
            acts["activations_total"] += out.numel()
            if out.requires_grad:
                out.register_hook(back)

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]

    def step() -> None:
        with autocast(torch.device("cpu"), bf16):
            loss = F.cross_entropy(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    for h in handles:
        h.remove()
    counts |= acts | {
        "gradients": sum(denormals(p.grad) for p in model.parameters() if p.grad is not None),
    }
    samples: dict[str, list[float]] = {"flush off": [], "flush on": []}
    for _ in range(args.rounds):  # turns: this machine's drift hits both sides alike
        for name in samples:
            torch.set_flush_denormal(name == "flush on")
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step()
            samples[name].append(1000 * (time.perf_counter() - t0) / args.steps)
    torch.set_flush_denormal(False)
    ms = {k: statistics.median(v) for k, v in samples.items()}
    result = {
        "command": f"python benchmarks/denormals.py {args.run_dir} --steps {args.steps} "
        f"--rounds {args.rounds}",
        "model": run.model_name,
        "run_epochs": len(run.metrics),
        "last_lr": lr,
        "bf16": bf16,
        "batch": b,
        "threads": torch.get_num_threads(),
        "denormal_counts": counts,
        "ms_per_step_each_round": samples,
        "ms_per_step": ms,
        "flush_speedup": ms["flush off"] / ms["flush on"],
        "machine": machine(),
    }
    out = Path(f"benchmarks/results/denormals_{run.model_name}.json")
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("denormal_counts", "ms_per_step", "flush_speedup")}))


if __name__ == "__main__":
    run_script(main)
