"""`train` and `resume`: what the CLI and notebooks call.

from tinycnn.training import Recipe, Target, train
result = train("gap7496", Recipe(epochs=15), Target(target=99.4, max_params=8000))
result.verdict.line()  # 'PASS  test ≥ 99.40% in each of the last 3 epochs (…) · …'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import zoo
from ..data import Dataset, load
from ..errors import TinyCnnError
from ..spec import Spec
from ..table import Table
from . import runs
from .config import Recipe, Runtime, Target, make, to_dict
from .loop import OnEpoch, RunResult, Trainer
from .rundir import read_run


def train(
    model: str | Path | Spec = zoo.DEFAULT_MODEL,
    recipe: Recipe | None = None,
    target: Target | None = None,
    runtime: Runtime | None = None,
    data_dir: str | Path | None = None,
    on_epoch: OnEpoch | None = None,
    on_start: Any = None,
) -> RunResult:
    """Train `model` (zoo name, spec file or Spec) in a new run directory and judge the result."""
    spec = zoo.resolve(model)
    recipe, target, runtime = recipe or Recipe(), target or Target(), runtime or Runtime()
    data = load(data_dir)
    run_dir = runs.new_run_dir(runtime.out, spec.name)
    try:
        trainer = Trainer(spec, recipe, target, runtime, data, run_dir)
    except TinyCnnError:
        _discard(run_dir)  # refused before training (budget, spec): leave no empty run behind
        raise
    env = {**runs.environment(trainer.device, trainer.threads, recipe.seed), "speed": trainer.speed}
    write_header(
        run_dir,
        spec,
        recipe,
        target,
        trainer.runtime,  # resolved (e.g. bf16 auto → on/off)
        data,
        data_dir,
        (len(trainer.train_x), len(trainer.test_x)),
        trainer.model.table,
        env,
    )
    if on_start:
        on_start(trainer)
    return _finish(trainer.fit(on_epoch), runtime, data_dir)


def write_header(
    run_dir: Path,
    spec: Spec,
    recipe: Recipe,
    target: Target,
    runtime: Runtime,
    data: Dataset,
    data_dir: str | Path | None,
    sizes: tuple[int, int],
    table: Table,
    env: dict[str, Any],
) -> None:
    """What a run directory holds before its first epoch: the resolved config and the model."""
    config = {
        "model": spec.to_dict(),
        "recipe": to_dict(recipe),
        "target": to_dict(target),
        "runtime": to_dict(runtime),
        "data": {
            "dir": None if data_dir is None else str(data_dir),
            "source": data.source,
            "classes": data.classes,
            "input_shape": list(data.input_shape),
            "mean": data.mean,
            "std": data.std,
            "train": sizes[0],
            "test": sizes[1],
        },
    }
    runs.write_json(run_dir / runs.CONFIG, config)
    runs.write_text(run_dir / "spec.toml", spec.to_toml())
    runs.write_json(run_dir / "table.json", table.to_json())
    runs.write_json(run_dir / runs.ENV, env)


def _finish(result: RunResult, runtime: Runtime, data_dir: str | Path | None) -> RunResult:
    if runtime.report:
        from ..reports import write_report  # matplotlib is only imported when reporting

        write_report(result.run_dir, data_dir)
    return result


def resume(
    run_dir: str | Path,
    runtime: Runtime | None = None,
    on_epoch: OnEpoch | None = None,
    on_start: Any = None,
    changes: dict[str, Any] | None = None,
) -> RunResult:
    """Continue an interrupted run from its last checkpoint, in the same directory: with
    `runtime`, or else the run's saved runtime with `changes` (field → value) applied."""
    import torch

    run = read_run(run_dir)  # one-line errors for a foreign or damaged directory
    d, cfg, status, ckpt = run.path, run.config, run.status, run.path / runs.LAST
    if status.get("stacked"):
        raise TinyCnnError(
            f"{d}: this run was trained in a stacked group (--stacked), which "
            f"does not resume; rerun the group"
        )
    if status.get("state") == "finished":
        raise TinyCnnError(
            f"{d}: this run already finished all its epochs; start a new run with tinycnn train"
        )
    spec = run.spec
    recipe, target = make(Recipe, cfg["recipe"]), make(Target, cfg["target"])
    runtime = runtime or make(Runtime, {**cfg["runtime"], **(changes or {})})
    data_dir = cfg["data"]["dir"]
    trainer = Trainer(spec, recipe, target, runtime, load(data_dir), d)
    if ckpt.is_file():
        trainer.load_state(torch.load(ckpt, map_location=trainer.device, weights_only=False))
    if on_start:
        on_start(trainer)
    return _finish(trainer.fit(on_epoch), runtime, data_dir)


def format_epoch(m: dict[str, Any]) -> str:
    """`epoch  3/15  train loss 0.0652 acc 97.82%  test loss 0.0387 acc 98.85% (9885/10000) …`"""
    w = len(str(m["epochs"]))
    return (
        f"epoch {m['epoch']:>{w}}/{m['epochs']}  train loss {m['train_loss']:.4f} "
        f"acc {m['train_acc']:.2f}%  test loss {m['test_loss']:.4f} acc {m['test_acc']:.2f}% "
        f"({m['test_correct']}/{m['test_total']})  lr {m['lr']:.4f}  {m['seconds']:.1f}s"
    )


def _discard(run_dir: Path) -> None:
    for p in run_dir.iterdir():
        p.unlink()
    run_dir.rmdir()
