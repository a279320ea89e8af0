"""What a run directory gets from the trainer: its header before the first epoch, each epoch's
checkpoint (what it holds: `state`, and `load_state` to resume from it), best model and metrics,
and the verdict at the end (through `RunDir`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from ..rules import judge
from . import machine, runs
from .fast.replicas import replica_state
from .result import RunResult
from .runs import RunDir

# what `Recording.state` saves in last.pt, all of it needed to resume
LAST_KEYS = ("epoch", "model", "optimizer", "schedule", "g_order", "g_aug", "rng", "history")


class Recording:
    """The trainer's side of its run directories (`loop.Trainer` inherits it): one `RunDir`
    per seed, each seed's history, and the epoch whose checkpoint is on disk."""

    dirs: list[RunDir]
    histories: list[list[dict[str, Any]]]
    lr_steps: list[list[float]]
    saved_epoch: int  # epoch of the checkpoint on disk (what a resume starts from)

    def write_headers(self, data_dir: str | Path | None) -> None:
        """Each run directory's header before the first epoch: the resolved settings (bf16
        auto → on/off), the data as trained on (after a validation split: its statistics are the
        training split's), the model and the machine. A stacked group's seeds get one each."""
        env = machine.environment(self.device, self.threads, self.seeds[0])
        if len(self.seeds) > 1:
            env["stacked_seeds"] = list(self.seeds)
        env["speed"] = self.speed
        data, (train, test, val) = self.data, self.sizes()
        config = {
            "model": self.source.record(),  # a spec, or where your module came from
            "recipe": dataclasses.asdict(self.recipe),
            "target": dataclasses.asdict(self.target_given),
            "runtime": dataclasses.asdict(self.runtime),
            "data": {  # the folder resolved, so the run resumes from any working directory
                "dir": None if data_dir is None else str(Path(data_dir).resolve()),
                "name": data.name,
                "source": data.source,
                "classes": data.classes,
                "class_names": list(data.class_names) if data.class_names else None,
                "input_shape": list(data.input_shape),
                "mean": data.mean,
                "std": data.std,
                "train": train,  # images used
                "test": test,
                "val": val,
            },
        }
        if self.spec is not None:
            kept: dict[str, bytes | str] = {runs.SPEC: self.spec.to_toml()}
        else:  # the module's source, or its export: it can be rebuilt without your code
            kept = dict(self.kept)
            config["model"]["kept"] = sorted(kept) or self.unkept
        for seed, d in zip(self.seeds, self.dirs, strict=True):
            config["recipe"]["seed"] = seed  # a stacked group's seeds: one header each
            d.write_header(config, self.table, {**env, "seed": seed}, kept)

    def _record(self, rows: list[dict[str, Any]], lrs: list[float]) -> None:
        """Checkpoint first, then the best model, then the metrics: a write that fails (disk
        full) leaves metrics.jsonl listing only epochs whose checkpoint exists, and a resume
        from last.pt recomputes the rest exactly. A replica's last.pt holds its weights."""
        single = len(self.seeds) == 1
        judged = self.ema.module if self.ema else self.model  # the weights the rows measured
        for history, row in zip(self.histories, rows, strict=True):
            history.append(row)
        self.lr_steps.append(lrs)
        for s, d in enumerate(self.dirs):
            weights = judged.state_dict() if single else replica_state(judged, s)
            try:
                state = self.state() if single else {"epoch": self.epoch, "model": weights}
                d.save_checkpoint(runs.LAST, state)
            except runs.RunWriteError:
                for history in self.histories:  # not saved: not part of the run on disk
                    history.pop()
                self.lr_steps.pop()
                raise
        self.saved_epoch = self.epoch
        key = f"{self.recipe.select}_acc"  # which split picks the best model: test or val
        for s, (d, history) in enumerate(zip(self.dirs, self.histories, strict=True)):
            if history[-1][key] >= max(m[key] for m in history):
                weights = judged.state_dict() if single else replica_state(judged, s)
                best = {"epoch": self.epoch, key: history[-1][key], "model": weights}
                d.save_checkpoint(runs.BEST, best)
            d.write_history(history, self.lr_steps)

    def _finish(self, stopped: bool) -> list[RunResult]:
        r, out = self.recipe, []
        state = "stopped" if stopped else "finished"
        for d, history in zip(self.dirs, self.histories, strict=True):
            accs = [m["test_acc"] for m in history if "test_acc" in m]
            verdict = judge(self.target, accs, self.params, r.epochs, self.rules)
            d.write_verdict(verdict.to_json())
            d.set_status(state, epoch=self.epoch)
            out.append(RunResult(d.path, history, verdict, self.params, stopped))
        return out

    def _complete_files(self) -> None:
        """On a resume, from the checkpoint: metrics.jsonl for every epoch it holds, and best.pt
        where a disk fault in the last save left none and the last epoch is the best. A run is
        "finished" only with all its files."""
        d, history = self.dirs[0], self.histories[0]
        if not history:
            return
        d.write_history(history, self.lr_steps)
        key = f"{self.recipe.select}_acc"
        if not d.has(runs.BEST) and history[-1][key] >= max(m[key] for m in history):
            judged = self.ema.module if self.ema else self.model
            best = {"epoch": self.epoch, key: history[-1][key], "model": judged.state_dict()}
            d.save_checkpoint(runs.BEST, best)

    # ----- checkpoints (a single run's; stacked groups do not resume) -----------------------------
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
            "ema": self.ema.state_dict() if self.ema else None,
        }

    def load_state(self, s: dict[str, Any]) -> None:
        epoch = s["epoch"]
        if not isinstance(epoch, int) or not 0 < epoch <= self.recipe.epochs:
            raise ValueError(f"epoch {epoch!r} is not one of this run's 1…{self.recipe.epochs}")
        if len(s["history"]) != epoch:
            raise ValueError(f"{len(s['history'])} epochs of history for epoch {epoch}")
        self.epoch = epoch
        self.model.load_state_dict(s["model"])
        self.opt.load_state_dict(s["optimizer"])
        self.schedule.load_state_dict(s["schedule"])
        self.g_order.set_state(s["g_order"])
        self.g_aug.set_state(s["g_aug"])
        torch.set_rng_state(s["rng"])
        if s["cuda_rng"] is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(s["cuda_rng"])
        self.histories[0], self.lr_steps = list(s["history"]), list(s["lr_steps"])
        if self.ema and s.get("ema"):
            self.ema.load_state_dict(s["ema"])
        self.saved_epoch = self.epoch
