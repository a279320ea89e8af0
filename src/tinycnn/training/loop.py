"""The training loop: data resident in memory as uint8, batches sliced from a permutation.

No DataLoader, no per-sample Python. Randomness has three sources, all seeded from `recipe.seed`
and all saved in every checkpoint, so a resumed run continues exactly where it stopped:
the data-order generator, the augmentation generator, and torch's global RNG (dropout).

The one loop for one run and for S seeds trained at once as one stacked model (`seeds`):
replica s starts from exactly the weights of a single run with seed s and sees its own data
order; only the step body, the evaluation's replica count and the recording differ.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..builder import build
from ..data import Dataset, split_val
from ..errors import ConfigError, ResumeAt, TrainingDiverged, TrainingInterrupted
from ..nets import ModuleNet, Net, SpecNet, as_net, keep_files
from ..rules import Target, check_budget, check_memory, preset_rules
from ..settings import Recipe, Runtime
from ..spec import Spec
from . import augment as aug
from . import runs
from .callbacks import Callback
from .divergence import check_finite, diverged, exploded_loss
from .ema import WeightAverage
from .fast import cudagraph, speed
from .fast.replicas import StreamedReplicas, load_replicas
from .fast.speed import pick_device
from .optim import Schedule, make_optimizer
from .record import Recording
from .result import RunResult
from .runs import RunDir
from .scoring import score

DIVERGENCE_CHECK_EVERY_CUDA = 25  # steps between loss checks on a GPU (each costs a sync)
OnEpoch = Callable[[dict[str, Any]], Any]  # an epoch's row → True to stop the run


def _as_a_run(method: Callable) -> Callable:
    """A Trainer method runs with autograd on and the run's thread count, whatever the caller's
    mode: a notebook left in `torch.set_grad_enabled(False)` or `torch.inference_mode()` would
    otherwise get "element 0 of tensors does not require grad" from the first backward. The
    caller's thread count is put back afterwards (a notebook's next cell keeps its own)."""

    @functools.wraps(method)
    def wrapped(self: Trainer, *args: Any, **kwargs: Any) -> Any:
        threads = torch.get_num_threads()
        try:
            if hasattr(self, "threads"):  # set by __init__
                torch.set_num_threads(self.threads)
            with torch.inference_mode(False), torch.enable_grad():
                return method(self, *args, **kwargs)
        finally:
            torch.set_num_threads(threads)

    return wrapped


class Trainer(Recording):
    """One run, or S seeds as S replicas of one stacked model (`seeds`, one run directory
    each): model, optimiser, schedule, RNG state and history; checkpointed every epoch."""

    @_as_a_run  # the weights are made here: not as inference tensors
    def __init__(
        self,
        spec: Spec | Net,
        recipe: Recipe,
        target: Target,
        runtime: Runtime,
        data: Dataset,
        run_dir: RunDir | Sequence[RunDir],
        seeds: Sequence[int] | None = None,
    ):
        speed.require_float32()
        # a spec, or your own module (nets.py): the same loop trains both
        self.source = as_net(spec)
        self.spec = self.source.spec if isinstance(self.source, SpecNet) else None
        self.name, self.recipe = self.source.name, recipe
        self.seeds = list(seeds or [recipe.seed])
        self.dirs = [run_dir] if isinstance(run_dir, RunDir) else list(run_dir)
        self.run_dirs = [d.path for d in self.dirs]
        self.run_dir, S = self.run_dirs[0], len(self.seeds)
        cores = os.cpu_count() or 1
        # more threads than cores only makes tiny models slower (and 10,000 hangs): clamped
        self.threads_asked = runtime.threads or cores
        self.threads = min(self.threads_asked, cores)
        torch.set_num_threads(self.threads)
        self.device = dev = pick_device(runtime.device)
        # resolved, so the saved config says what ran (and a resume runs the same)
        self.runtime = runtime = speed.resolve(runtime, dev)
        r = recipe
        # budgets from the table (a spec's arithmetic: nothing of the model is allocated yet)
        self.table = table = self.source.table(data.input_shape, data.classes)
        self.params = table.total_params
        check_budget(target, self.name, self.params, r.epochs)
        check_memory(self.name, table, r.batch_size * S, S)
        self.target_given = target  # what the run was asked; `target`: with its preset applied
        self.target, self.rules = preset_rules(self.name, table, r.epochs, target)
        # global RNG: each seed's parameter init here, dropout masks later
        nets = [self.source.build(data.input_shape, data.classes, seed) for seed in self.seeds]
        self.model: nn.Module = nets[0]
        if S > 1:  # the replicas start from exactly the single runs' weights
            if self.spec is None:
                raise ConfigError(
                    f"{self.name}: seeds stacked into one model need a spec; train your own "
                    f"module's seeds one by one (drop --stacked)"
                )
            if runtime.streams:  # the single models themselves, side by side on a GPU
                self.model = StreamedReplicas(nets)
            else:  # one model of grouped convolutions
                self.model = build(self.spec, data.input_shape, data.classes, replicas=S)
                load_replicas(self.model, nets)
        # what a module's run keeps to be rebuilt later (made before any speed option swaps in)
        self.kept, self.unkept = ({}, "")
        if isinstance(self.source, ModuleNet):
            with torch.random.fork_rng(devices=[]):
                self.kept, self.unkept = keep_files(self.source, self.model, data.input_shape)
        self.model.to(dev)
        if r.val:  # carved from the training images, the same for every seed (val_seed)
            data = split_val(data, r.val, r.val_seed)
        self.data = data
        self.speed = speed.apply(self.model, dev, runtime)
        self.speed["compile"] = runtime.compile
        self.train_x = data.train_x[: r.limit_train].to(dev)
        self.train_y = data.train_y[: r.limit_train].to(dev)
        self.test_x = data.test_x[: r.limit_test].to(dev)
        self.test_y = data.test_y[: r.limit_test].to(dev)
        self.val_x = None if data.val_x is None else data.val_x.to(dev)
        self.val_y = None if data.val_y is None else data.val_y.to(dev)
        self.mean, self.std = data.mean, data.std
        self.orders = [torch.Generator().manual_seed(seed) for seed in self.seeds]
        self.g_order = self.orders[0]
        self.g_aug = torch.Generator(device=dev).manual_seed(self.seeds[0] + 1)
        self.strengths = aug.strengths_at(r, 0)  # train_epoch: each epoch's own
        self.steps_per_epoch = -(-len(self.train_x) // r.batch_size)
        self.exploded = S * exploded_loss(data.classes)  # the replicas' losses are summed
        self.opt = make_optimizer(self.model, r)
        self.schedule = Schedule(self.opt, r, self.steps_per_epoch)
        self.net = torch.compile(self.model) if runtime.compile else self.model
        # an average of the weights (Recipe.ema): what is evaluated, saved and judged
        self.ema = WeightAverage(self.model, r.ema) if r.ema else None
        # the epoch's running sums, per replica, live on the device: a graphed step adds to them
        self.loss_sum = torch.zeros(S, device=dev)
        self.correct = torch.zeros(S, device=dev, dtype=torch.long)
        self.seen = 0  # training images so far this epoch (per replica)
        self._make_step()
        self.epoch = 0
        self.saved_epoch = 0  # epoch of the checkpoint on disk (what a resume starts from)
        self.histories: list[list[dict[str, Any]]] = [[] for _ in self.seeds]
        self.lr_steps: list[list[float]] = []
        self.results: list[RunResult] = []

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.histories[0]

    # ----- one epoch -----------------------------------------------------------------------------
    def _make_step(self) -> None:
        """The step for this epoch's augmentation: a CUDA graph holds the ops it captured."""
        body = self._step_one if len(self.seeds) == 1 else self._step_replicas
        graph = self.device.type == "cuda" and self.runtime.cuda_graph
        self.step, self.speed["cuda_graph"] = cudagraph.make_step(
            body, self.opt, [self.g_aug], graph
        )

    def _autocast(self) -> torch.autocast:
        return speed.autocast(self.device, self.runtime.bf16)

    def _input(self, idx: torch.Tensor) -> torch.Tensor:
        """The training images at idx, augmented as this epoch says, standardised."""
        x, r = self.train_x[idx], self.recipe
        return aug.train_input(x, self.strengths, self.g_aug, self.mean, self.std, r.aug_p)

    def _step_one(self, idx: torch.Tensor) -> torch.Tensor:
        """Forward one batch (idx: (1, B)) and add to the running sums; returns the loss."""
        idx = idx[0]
        x = self._input(idx)
        y = self.train_y[idx]
        with self._autocast():
            out = self.net(x).flatten(1)  # your own module may end on (N, classes, 1, 1)
            loss = F.cross_entropy(out.float(), y, label_smoothing=self.recipe.label_smoothing)
        self.loss_sum += loss.detach() * len(idx)
        self.correct += (out.argmax(1) == y).sum()
        return loss

    def _step_replicas(self, idx: torch.Tensor) -> torch.Tensor:
        """idx (S, B): each replica its own images, read from its own channel group; the loss
        is the sum of the replicas' mean losses, so each gets exactly its own gradient."""
        (S, B), (C, H, W) = idx.shape, self.train_x.shape[1:]
        x = self._input(idx.reshape(-1)).view(S, B, C, H, W).transpose(0, 1)
        y = self.train_y[idx].T  # (B, S)
        with self._autocast():
            out = self.net(x.reshape(B, S * C, H, W)).float()  # (B, S, classes)
        each = F.cross_entropy(
            out.reshape(B * S, -1),
            y.reshape(-1),
            reduction="none",
            label_smoothing=self.recipe.label_smoothing,
        )
        each = each.view(B, S).mean(0)
        self.loss_sum.add_(each.detach() * B)
        self.correct.add_((out.argmax(2) == y).sum(0))
        return each.sum()

    def train_epoch(self, stepped: list[Callback]) -> tuple[list[float], list[float], list[float]]:
        """One pass over the training images; `stepped`: the callbacks with an `on_step`.
        Returns each replica's mean loss and accuracy, and every step's LR."""
        r, dev = self.recipe, self.device
        self.net.train()
        strengths = aug.strengths_at(r, self.epoch)
        if strengths != self.strengths:  # the clean last epochs begin (or a resume is in them)
            self.strengths = strengths
            self._make_step()
        perm = torch.stack([torch.randperm(len(self.train_x), generator=g) for g in self.orders])
        perm = perm.to(dev)
        self.loss_sum.zero_()
        self.correct.zero_()
        self.seen, lrs = 0, []
        check_every = 1 if dev.type == "cpu" else DIVERGENCE_CHECK_EVERY_CUDA  # free on a CPU
        for b, start in enumerate(range(0, perm.shape[1], r.batch_size)):
            idx = perm[:, start : start + r.batch_size]
            if idx.shape[1] < 2:  # batch norm cannot train on one image
                continue
            lrs.append(self.schedule.lr)
            loss = self.step(idx)
            if self.ema:
                self.ema.update(self.model)
            self.schedule.after_batch()
            self.seen += idx.shape[1]
            last = start + r.batch_size >= perm.shape[1]
            if b % check_every == 0 or last:
                value = loss.item()
                if not math.isfinite(value) or value > self.exploded:
                    where = f"epoch {self.epoch + 1}, batch {b + 1}"
                    raise diverged(f"the loss became {value:.4g}", where, r, self.run_dir)
            for cb in stepped:
                cb.on_step(self, b)
        losses = [v / self.seen for v in self.loss_sum.tolist()]
        return losses, [100 * c / self.seen for c in self.correct.tolist()], lrs

    def sizes(self) -> tuple[int, int, int]:
        """Images used: (train, test, val)."""
        val = 0 if self.val_x is None else len(self.val_x)
        return len(self.train_x), len(self.test_x), val

    def running(self) -> tuple[float, float]:
        """This epoch's mean training loss and accuracy (percent) so far, over the replicas."""
        n = self.seen * len(self.seeds)
        return self.loss_sum.sum().item() / n, 100 * self.correct.sum().item() / n

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[list[float], list[int]]:
        """Each replica's mean loss and correct count on uint8 images, in the precision the
        run trains in (every replica sees the same images)."""
        S, net = len(self.seeds), self.ema.module if self.ema else self.net
        return score(net, x, y, self.mean, self.std, self.runtime.bf16, replicas=S)

    # ----- the run -------------------------------------------------------------------------------
    @_as_a_run
    def fit(self, callbacks: Sequence[Callback] = ()) -> RunResult:
        """Train to the recipe's last epoch (or until a callback stops the run), checkpointing
        every epoch; the callbacks see every epoch (each replica's row) and the end, and do all
        the presenting. Returns the (first) run's result; `results` holds every replica's."""
        r = self.recipe
        stepped = [cb for cb in callbacks if type(cb).on_step is not Callback.on_step]
        stop = False
        self._status({"state": "running", "epoch": self.epoch})
        try:
            if self.saved_epoch:  # a resume: what a fault at the last save left undone is done
                self._complete_files()
            for cb in callbacks:
                cb.on_start(self)
            while self.epoch < r.epochs and not stop:
                t0 = time.perf_counter()
                for cb in callbacks:
                    cb.on_epoch_start(self)
                train_loss, train_acc, lrs = self.train_epoch(stepped)
                check_finite(self.model, self.epoch + 1, self.recipe, self.run_dir)
                rows = self._rows(train_loss, train_acc, lrs)
                # plateau's signal: the validation split where there is one (the test set must
                # not steer training), else the test split as the course does
                split = "val" if "val_loss" in rows[0] else "test"
                self.schedule.after_epoch(rows[0][f"{split}_loss"], rows[0][f"{split}_acc"])
                self.epoch += 1
                for row in rows:  # a stacked group's time is shared out
                    row["seconds"] = (time.perf_counter() - t0) / len(rows)
                self._record(rows, lrs)
                stop = any([cb.on_epoch_end(self, row) for row in rows for cb in callbacks])
            self.results = self._finish(stopped=stop and self.epoch < r.epochs)
            return self.results[0]
        except KeyboardInterrupt:
            if len(self.seeds) > 1:
                self._status({"state": "interrupted", "stacked": True})
                raise TrainingInterrupted(
                    f"interrupted in a stacked group of {len(self.seeds)} seeds; stacked "
                    f"groups do not resume: rerun the command"
                ) from None
            if not self.saved_epoch:  # no checkpoint yet: say so (the engine removes the run)
                raise TrainingInterrupted(
                    "interrupted in epoch 1, before its first checkpoint: nothing to resume; "
                    "start the run again"
                ) from None
            self._status({"state": "interrupted", "epoch": self.saved_epoch})
            raise TrainingInterrupted(
                f"interrupted in epoch {self.saved_epoch + 1}; checkpoint after epoch "
                f"{self.saved_epoch} kept; resume with: ",
                ResumeAt(self.run_dir),
            ) from None
        except TrainingDiverged:
            self._status({"state": "diverged", "epoch": self.saved_epoch})
            raise
        except runs.RunWriteError as e:
            with contextlib.suppress(runs.RunWriteError):  # the disk may still be full
                self._status({"state": "failed", "epoch": self.saved_epoch})
            if not self.saved_epoch:
                raise runs.RunWriteError(f"{e}; no epoch was saved: start the run again") from None
            raise runs.RunWriteError(
                f"{e}; the checkpoint after epoch {self.saved_epoch} is intact: resume with: ",
                ResumeAt(self.run_dir),
            ) from None
        except Exception:  # a callback's bug, say: never a run left "running" for ever
            with contextlib.suppress(runs.RunWriteError):
                self._status({"state": "failed", "epoch": self.saved_epoch})
            raise
        finally:
            for cb in callbacks:
                for result in self.results or [None]:
                    cb.on_end(self, result)

    def _rows(
        self, train_loss: list[float], train_acc: list[float], lrs: list[float]
    ) -> list[dict[str, Any]]:
        """This epoch's metrics row for each replica (one for a single run)."""
        # no test images (a search): the test set is never evaluated, not even looked at
        test = self.evaluate(self.test_x, self.test_y) if len(self.test_x) else None
        val = None if self.val_x is None else self.evaluate(self.val_x, self.val_y)
        rows = []
        for s in range(len(self.seeds)):
            row: dict[str, Any] = {
                "epoch": self.epoch + 1,
                "epochs": self.recipe.epochs,
                "train_loss": train_loss[s],
                "train_acc": train_acc[s],
            }
            row.update(_split("test", test, s, len(self.test_x)))
            row["lr"] = lrs[-1]
            row.update(_split("val", val, s, 0 if self.val_x is None else len(self.val_x)))
            rows.append(row)
        return rows

    def _status(self, status: dict[str, Any]) -> None:
        for d in self.dirs:
            d.set_status(**status)


def _split(name: str, scores: tuple[list[float], list[int]] | None, s: int, n: int) -> dict:
    """A split's columns of replica s's row (none when the split was not evaluated)."""
    if scores is None:
        return {}
    loss, correct = scores
    return {
        f"{name}_loss": loss[s],
        f"{name}_acc": 100 * correct[s] / n,
        f"{name}_correct": correct[s],
        f"{name}_total": n,
    }
