"""The training loop: data resident in memory as uint8, batches sliced from a permutation.

No DataLoader, no per-sample Python. Randomness has three sources, all seeded from `recipe.seed`
and all saved in every checkpoint, so a resumed run continues exactly where it stopped:
the data-order generator, the augmentation generator, and torch's global RNG (dropout).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..builder import TinyNet, build
from ..data import Dataset, split_val
from ..errors import ConfigError, TrainingDiverged, TrainingInterrupted
from ..rules import Target, Verdict, check_budget, check_memory, judge, preset_rules
from ..spec import Spec
from ..table import layer_table
from . import augment as aug
from . import runs
from .callbacks import Callback
from .config import Recipe, Runtime
from .evaluation import score
from .fast import cudagraph, speed
from .optim import Schedule, make_optimizer

DIVERGENCE_CHECK_EVERY_CUDA = 25  # steps between loss checks on a GPU (each costs a sync)
# A batch loss this many times that of guessing uniformly (ln C) means training has exploded:
# a network at chance scores ln C, and a learning one goes below it.
EXPLODED_VS_CHANCE = 10
USUAL_LR = {"sgd": 0.05, "adam": 0.003, "adamw": 0.003}  # peak LRs that train these models
OnEpoch = Callable[[dict[str, Any]], Any]  # an epoch's row → True to stop the run
# what `Trainer.state` saves in last.pt, all of it needed to resume
LAST_KEYS = ("epoch", "model", "optimizer", "schedule", "g_order", "g_aug", "rng", "history")


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    metrics: list[dict[str, Any]]
    verdict: Verdict
    params: int
    stopped: bool = False  # a callback ended the run before its last epoch


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device = 'cuda' but no CUDA GPU is visible; use --device cpu or auto")
    return torch.device(name)


class Trainer:
    """One run: model, optimiser, schedule, RNG state and history; checkpointed every epoch."""

    def __init__(
        self,
        spec: Spec,
        recipe: Recipe,
        target: Target,
        runtime: Runtime,
        data: Dataset,
        run_dir: Path,
    ):
        self.spec, self.recipe, self.target = spec, recipe, target
        self.run_dir = run_dir
        self.threads = runtime.threads or os.cpu_count() or 1
        torch.set_num_threads(self.threads)
        self.device = pick_device(runtime.device)
        # resolved, so the saved config says what ran (and a resume runs the same)
        self.runtime = runtime = speed.resolve(runtime, self.device)
        r = recipe
        # budgets from the table's arithmetic, before a single tensor of the model is allocated
        table = layer_table(spec, data.input_shape, data.classes)
        self.params = table.total_params
        check_budget(target, spec.name, self.params, r.epochs)
        check_memory(spec.name, table, r.batch_size)
        self.target, self.rules = preset_rules(
            spec, r.epochs, target, data.input_shape, data.classes
        )
        torch.manual_seed(r.seed)  # global RNG: parameter init here, dropout masks later
        self.model: TinyNet = build(spec, data.input_shape, data.classes)
        self.model.to(self.device)
        if r.val:  # carved from the training images, the same for every seed (val_seed)
            data = split_val(data, r.val, r.val_seed)
        self.data = data
        self.speed = speed.apply(self.model, self.device, runtime)
        self.speed["compile"] = runtime.compile
        dev = self.device
        self.train_x = data.train_x[: r.limit_train].to(dev)
        self.train_y = data.train_y[: r.limit_train].to(dev)
        self.test_x = data.test_x[: r.limit_test].to(dev)
        self.test_y = data.test_y[: r.limit_test].to(dev)
        self.val_x = None if data.val_x is None else data.val_x.to(dev)
        self.val_y = None if data.val_y is None else data.val_y.to(dev)
        self.mean, self.std = data.mean, data.std
        self.g_order = torch.Generator().manual_seed(r.seed)
        self.g_aug = torch.Generator(device=dev).manual_seed(r.seed + 1)
        self.strengths = {name: getattr(r, name) for name in aug.NAMES}
        self.steps_per_epoch = -(-len(self.train_x) // r.batch_size)
        self.exploded = EXPLODED_VS_CHANCE * math.log(data.classes)
        self.opt = make_optimizer(self.model, r)
        self.schedule = Schedule(self.opt, r, self.steps_per_epoch)
        self.net = torch.compile(self.model) if runtime.compile else self.model
        # the epoch's running sums live on the device: a graphed step adds to them in place
        self.loss_sum = torch.zeros((), device=dev)
        self.correct = torch.zeros((), device=dev, dtype=torch.long)
        self.seen = 0  # training images so far this epoch
        self.step, self.speed["cuda_graph"] = cudagraph.make_step(
            self._step_body, self.opt, [self.g_aug], dev.type == "cuda" and runtime.cuda_graph
        )
        self.epoch = 0
        self.saved_epoch = 0  # epoch of the checkpoint on disk (what a resume starts from)
        self.history: list[dict[str, Any]] = []
        self.lr_steps: list[list[float]] = []

    # ----- checkpoints ---------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "schedule": self.schedule.state_dict(),
            "g_order": self.g_order.get_state(),
            "g_aug": self.g_aug.get_state(),
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
            "history": self.history,
            "lr_steps": self.lr_steps,
        }

    def load_state(self, s: dict[str, Any]) -> None:
        self.epoch = s["epoch"]
        self.model.load_state_dict(s["model"])
        self.opt.load_state_dict(s["optimizer"])
        self.schedule.load_state_dict(s["schedule"])
        self.g_order.set_state(s["g_order"])
        self.g_aug.set_state(s["g_aug"])
        torch.set_rng_state(s["rng"])
        if s["cuda_rng"] is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(s["cuda_rng"])
        self.history, self.lr_steps = list(s["history"]), list(s["lr_steps"])
        self.saved_epoch = self.epoch

    # ----- one epoch -----------------------------------------------------------------------------
    def _autocast(self) -> torch.autocast:
        return speed.autocast(self.device, self.runtime.bf16)

    def _batch(self, idx: torch.Tensor) -> torch.Tensor:
        return aug.train_input(self.train_x[idx], self.strengths, self.g_aug, self.mean, self.std)

    def _step_body(self, idx: torch.Tensor) -> torch.Tensor:
        """Forward one batch and add to the running sums; returns the loss to differentiate."""
        x, y = self._batch(idx), self.train_y[idx]
        with self._autocast():
            out = self.net(x)
            loss = F.cross_entropy(out.float(), y, label_smoothing=self.recipe.label_smoothing)
        self.loss_sum += loss.detach() * len(idx)
        self.correct += (out.argmax(1) == y).sum()
        return loss

    def train_epoch(self, stepped: list[Callback]) -> tuple[float, float, list[float]]:
        """One pass over the training images; `stepped`: the callbacks with an `on_step`."""
        r, dev = self.recipe, self.device
        self.net.train()
        perm = torch.randperm(len(self.train_x), generator=self.g_order).to(dev)
        self.loss_sum.zero_()
        self.correct.zero_()
        self.seen, lrs = 0, []
        check_every = 1 if dev.type == "cpu" else DIVERGENCE_CHECK_EVERY_CUDA  # free on a CPU
        for b, start in enumerate(range(0, len(perm), r.batch_size)):
            idx = perm[start : start + r.batch_size]
            if len(idx) < 2:  # batch norm cannot train on one image
                continue
            lrs.append(self.schedule.lr)
            loss = self.step(idx)
            self.schedule.after_batch()
            self.seen += len(idx)
            last = start + r.batch_size >= len(perm)
            if b % check_every == 0 or last:
                value = loss.item()
                if not math.isfinite(value) or value > self.exploded:
                    raise self._diverged(f"the loss became {value:.4g}", f"batch {b + 1}")
            for cb in stepped:
                cb.on_step(self, b)
        return self.running() + (lrs,)

    def sizes(self) -> tuple[int, int, int]:
        """Images used: (train, test, val)."""
        val = 0 if self.val_x is None else len(self.val_x)
        return len(self.train_x), len(self.test_x), val

    def running(self) -> tuple[float, float]:
        """This epoch's mean training loss and accuracy (percent) so far."""
        return self.loss_sum.item() / self.seen, 100 * self.correct.item() / self.seen

    def _diverged(self, what: str, where: str) -> TrainingDiverged:
        r = self.recipe
        lr = min(r.lr / 10, USUAL_LR[r.optimizer])  # a tenth, and never above the usual
        return TrainingDiverged(
            f"{what} in epoch {self.epoch + 1}, {where}: training diverged; lower the "
            f"learning rate (e.g. --lr {lr:g}); the run directory {self.run_dir} keeps the "
            f"epochs before it"
        )

    def _check_finite(self) -> None:
        """A loss can stay finite while weights or BN statistics have overflowed (a dead
        network then predicts one class): refuse to checkpoint such a model."""
        for name, t in self.model.state_dict().items():
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise self._diverged(f"{name} became non-finite", "by its end")

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, int]:
        """Mean loss and correct count on uint8 images, in the precision the run trains in."""
        (loss,), (correct,) = score(self.net, x, y, self.mean, self.std, self.runtime.bf16)
        return loss, correct

    # ----- the run -------------------------------------------------------------------------------
    def fit(self, callbacks: Sequence[Callback] = ()) -> RunResult:
        """Train to the recipe's last epoch (or until a callback stops the run), checkpointing
        every epoch; the callbacks see every epoch and the end, and do all the presenting."""
        r, d = self.recipe, self.run_dir
        stepped = [cb for cb in callbacks if type(cb).on_step is not Callback.on_step]
        result, stop = None, False
        runs.write_json(d / runs.STATUS, {"state": "running", "epoch": self.epoch})
        try:
            for cb in callbacks:
                cb.on_start(self)
            while self.epoch < r.epochs and not stop:
                t0 = time.perf_counter()
                for cb in callbacks:
                    cb.on_epoch_start(self)
                train_loss, train_acc, lrs = self.train_epoch(stepped)
                self._check_finite()
                test_loss, correct = self.evaluate(self.test_x, self.test_y)
                test_acc = 100 * correct / len(self.test_x)
                row = {
                    "epoch": self.epoch + 1,
                    "epochs": r.epochs,
                    "train_loss": train_loss,
                    "train_acc": train_acc,
                    "test_loss": test_loss,
                    "test_acc": test_acc,
                    "test_correct": correct,
                    "test_total": len(self.test_x),
                    "lr": lrs[-1],
                }
                if self.val_x is not None:
                    val_loss, val_correct = self.evaluate(self.val_x, self.val_y)
                    row.update(
                        val_loss=val_loss,
                        val_acc=100 * val_correct / len(self.val_x),
                        val_correct=val_correct,
                        val_total=len(self.val_x),
                    )
                self.schedule.after_epoch(test_loss, test_acc)
                self.epoch += 1
                row["seconds"] = time.perf_counter() - t0
                self._record(row, lrs)
                stop = any([cb.on_epoch_end(self, row) for cb in callbacks])  # all are told
            result = self._finish(stopped=stop and self.epoch < r.epochs)
            return result
        except KeyboardInterrupt:
            runs.write_json(d / runs.STATUS, {"state": "interrupted", "epoch": self.saved_epoch})
            raise TrainingInterrupted(
                f"interrupted in epoch {self.saved_epoch + 1}; checkpoint after epoch "
                f"{self.saved_epoch} kept; resume with: tinycnn train --resume {d}"
            ) from None
        except TrainingDiverged:
            runs.write_json(d / runs.STATUS, {"state": "diverged", "epoch": self.saved_epoch})
            raise
        except runs.RunWriteError as e:
            with contextlib.suppress(runs.RunWriteError):  # the disk may still be full
                runs.write_json(d / runs.STATUS, {"state": "failed", "epoch": self.saved_epoch})
            raise runs.RunWriteError(
                f"{e}; the checkpoint after epoch {self.saved_epoch} is intact: resume with: "
                f"tinycnn train --resume {d}"
            ) from None
        finally:
            for cb in callbacks:
                cb.on_end(self, result)

    def _finish(self, stopped: bool) -> RunResult:
        r, d = self.recipe, self.run_dir
        accs = [m["test_acc"] for m in self.history]
        verdict = judge(self.target, accs, self.params, r.epochs, self.rules)
        runs.write_json(d / runs.VERDICT, verdict.to_json())
        state = "stopped" if stopped else "finished"
        runs.write_json(d / runs.STATUS, {"state": state, "epoch": self.epoch})
        return RunResult(d, self.history, verdict, self.params, stopped)

    def _record(self, row: dict[str, Any], lrs: list[float]) -> None:
        """Checkpoint first, then the best model, then the metrics: a write that fails (disk
        full) leaves metrics.jsonl listing only epochs whose checkpoint exists, and a resume
        from last.pt recomputes the rest exactly."""
        d = self.run_dir
        self.history.append(row)
        self.lr_steps.append(lrs)
        try:
            runs.save_checkpoint(d / runs.LAST, self.state())
        except runs.RunWriteError:
            self.history.pop()  # not saved: the epoch is not part of the run on disk
            self.lr_steps.pop()
            raise
        self.saved_epoch = self.epoch
        key = f"{self.recipe.select}_acc"  # which split picks the best model: test or val
        if row[key] >= max(m[key] for m in self.history):
            runs.save_checkpoint(
                d / runs.BEST,
                {"epoch": self.epoch, key: row[key], "model": self.model.state_dict()},
            )
        runs.write_history(d, self.history, self.lr_steps)
