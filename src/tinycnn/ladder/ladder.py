"""Experiment ladders: a base (model + recipe + target) and ordered steps, each changing one thing.

    title = "7.5k"
    model = "gap7496"        # zoo name or spec file (relative to this file)
    preset = "under8k"       # or a [target] table
    [recipe]                 # the base recipe's changes from the defaults
    schedule = "constant"
    [[steps]]
    title = "Skeleton"
    target = "what this step is meant to show"
    spec = { norm = false, dropout = 0.0 }     # spec switches
    recipe = { rotate = 0.0 }                  # recipe fields
    model = "other"                            # or a different model

Each step applies its change to the previous step. The file states every change: a zoo model's
own recipe (`tinycnn zoo`) is not applied here, so a step that names one changes only the model.
Steps run in order, each seed in its own run directory under the ladder's directory; a finished
step (same config, all runs finished) is skipped when the ladder is run again, so an interrupted
ladder resumes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import files, tomlfile, zoo
from ..api import run
from ..defaults import MNIST_CLASSES, MNIST_INPUT
from ..errors import ConfigError
from ..nets import ModuleNet, from_file
from ..ranges import check_value, is_number, is_whole
from ..richtext import html_block, html_table, text_table
from ..rules import Target, load_preset, static_conditions
from ..settings import Recipe, Runtime, make
from ..spec import Spec
from ..table import Table, layer_table
from ..training.runs import RunDirError, read_run
from .markdown import write_ladder_md

LADDER_KEYS = {"title", "description", "model", "preset", "target", "recipe", "seeds", "steps"}
STEP_KEYS = {"title", "target", "spec", "recipe", "model", "published"}
PUBLISHED_KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {  # one write-up run's figures
    "params": (is_whole, "a whole number"),
    "train": (is_number, "a number"),
    "test": (is_number, "a number"),
    "note": (lambda v: isinstance(v, str), "text"),
}
SWITCHES = {"norm", "dropout", "dropout_kind", "order", "bias", "then"}
STATE = "ladder.json"
SPEC_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Spec)}


@dataclass(frozen=True)
class Step:
    index: int  # 1-based
    title: str
    goal: str  # what the step is meant to show (the "Target" column)
    spec: Spec | ModuleNet  # a spec, or your own module (file.py:NAME)
    recipe: Recipe
    change: str  # the change against the previous step, in words
    published: dict[str, Any] = dataclasses.field(default_factory=dict)  # the write-up's figures

    def fingerprint(self, target: Target) -> str:
        """What the step trains, as a hash of the settings that differ from the defaults: a
        setting tinycnn adds later (at its default) does not make finished steps run again."""
        model = self.spec.to_dict() if isinstance(self.spec, Spec) else self.spec.record()
        blob = json.dumps([model, _changed(self.recipe), _changed(target)], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _changed(config: Any) -> dict[str, Any]:
    return {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if getattr(config, f.name) != f.default
    }


@dataclass(frozen=True)
class Ladder:
    title: str
    description: str
    target: Target
    steps: tuple[Step, ...]
    seeds: int
    source: Path

    def _rows(self) -> tuple[list[str], list[list[Any]]]:
        head = ["step", "title", "params", "change", "target"]
        rows = [
            [s.index, s.title, f"{_table(s).total_params:,}", s.change, s.goal] for s in self.steps
        ]
        return head, rows

    def __repr__(self) -> str:
        head, rows = self._rows()
        return f"Ladder {self.title!r} ({self.source})\n{text_table(head, rows)}"

    def _repr_html_(self) -> str:
        head, rows = self._rows()
        return html_block(f"Ladder: {self.title}", html_table(head, rows), lines=[str(self.source)])


def _diff(before: dict[str, Any], after: dict[str, Any], defaults: dict[str, Any]) -> list[str]:
    """'field old → new' for each field that differs (to_dict leaves defaults out)."""
    keys = [k for k in {**before, **after} if k != "layers"]
    get = lambda d, k: d.get(k, defaults.get(k))  # noqa: E731
    return [
        f"{k} {get(before, k)!r} → {get(after, k)!r}"
        for k in keys
        if get(before, k) != get(after, k)
    ]


def load_ladder(path: str | Path) -> Ladder:
    p = Path(path)
    d = tomlfile.read(p, "ladder file", "see examples/ladders/ for the format", ConfigError)
    where = str(p)
    _known(d, LADDER_KEYS, where)
    if not d.get("steps"):
        raise ConfigError(f"{where}: a ladder needs at least one [[steps]] entry")
    if "preset" in d and "target" in d:
        raise ConfigError(f"{where}: give either preset or [target], not both")
    target = make(Target, {"preset": d["preset"]} if "preset" in d else d.get("target", {}))

    def model_at(name: str) -> Spec | ModuleNet:
        if zoo.is_file_model(name):  # your own module; a path relative to the ladder file
            path, _, attr = name.rpartition(":")
            local = p.parent / path
            return from_file(f"{local if local.is_file() else path}:{attr}")
        local = p.parent / name
        return zoo.resolve(local if local.is_file() else name)

    spec = model_at(d.get("model", zoo.DEFAULT_MODEL))
    recipe = make(Recipe, d.get("recipe", {}))
    steps = []
    for i, s in enumerate(d["steps"], 1):
        at = f"{where}: step {i}"
        _known(s, STEP_KEYS, at)
        if "title" not in s:
            raise ConfigError(f"{at}: needs a title")
        changes = []
        if "model" in s:
            new = model_at(s["model"])
            if new != spec:
                changes.append(f"model {spec.name} → {new.name}")
            spec = new
        if "spec" in s:
            if not isinstance(spec, Spec):
                raise ConfigError(
                    f"{at}: spec switches change a spec, and {spec.name} is your own module; "
                    f"give the changed module as model = FILE:NAME"
                )
            _known(s["spec"], SWITCHES, f"{at} spec")
            new = spec.with_(
                **{k: tuple(v) if isinstance(v, list) else v for k, v in s["spec"].items()}
            )
            changes += _diff(spec.to_dict(), new.to_dict(), SPEC_DEFAULTS)
            spec = new
        if "recipe" in s:
            new_recipe = make(Recipe, {**dataclasses.asdict(recipe), **s["recipe"]})
            changes += _diff(dataclasses.asdict(recipe), dataclasses.asdict(new_recipe), {})
            recipe = new_recipe
        if i > 1 and not changes:
            raise ConfigError(
                f"{at} ({s['title']}): changes nothing against step {i - 1}; "
                f"each step must change the spec, the recipe or the model"
            )
        step = Step(
            i,
            s["title"],
            s.get("target", ""),
            spec,
            recipe,
            "; ".join(changes) if changes else "base",
            _published(s.get("published", {}), at),
        )
        _check_preset(step, target, at)
        steps.append(step)
    seeds = d.get("seeds", 1)
    return Ladder(d.get("title", p.stem), d.get("description", ""), target, tuple(steps), seeds, p)


def _table(step: Step) -> Table:
    """The step's layer table on MNIST's input (a spec's arithmetic, a module's trace)."""
    if isinstance(step.spec, Spec):
        return layer_table(step.spec)
    return step.spec.table(MNIST_INPUT, MNIST_CLASSES)


def _published(d: Any, at: str) -> dict[str, Any]:
    """The write-up's figures for a step: params, train and test accuracy (%), a note."""
    _known(d, set(PUBLISHED_KEYS), f"{at} published")
    for k, v in d.items():
        ok, what = PUBLISHED_KEYS[k]
        if not ok(v):
            raise ConfigError(f"{at} published: {k} = {v!r} must be {what}")
    return dict(d)


def _known(d: Any, keys: set[str], where: str) -> None:
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: expected a table")
    unknown = sorted(set(d) - keys)
    if unknown:
        raise ConfigError(
            f"{where}: unknown field {unknown[0]!r}; known: {', '.join(sorted(keys))}"
        )


def _check_preset(step: Step, target: Target, at: str) -> None:
    if target.preset is None:
        return

    preset = load_preset(target.preset)
    conds = static_conditions(preset, None, step.recipe.epochs, table=_table(step))
    broken = [c.text for c in conds if not c.ok]
    if broken:
        raise ConfigError(f"{at} ({step.title}) breaks preset {preset.name}: {'; '.join(broken)}")


def run_ladder(
    ladder: Ladder,
    runtime: Runtime,
    out_dir: str | Path,
    seeds: int | None = None,
    data_dir: str | Path | None = None,
    on_step: Any = None,
    rehearse: dict[str, int] | None = None,
) -> Path:
    """Run every unfinished step; returns the ladder directory (ladder.md written there).
    rehearse: recipe fields every step takes (`{"epochs": 2, "limit_train": 2000}`): a quick
    rehearsal of the whole ladder, marked as such in ladder.md."""
    n = ladder.seeds if seeds is None else seeds
    check_value("seeds", n)
    if rehearse:
        steps = [
            dataclasses.replace(
                s, recipe=make(Recipe, {**dataclasses.asdict(s.recipe), **rehearse})
            )
            for s in ladder.steps
        ]
        ladder = dataclasses.replace(ladder, steps=tuple(steps))
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    state_path = d / STATE
    state = json.loads(state_path.read_text()) if state_path.is_file() else {"steps": {}}
    state["rehearsal"] = rehearse or None
    for step in ladder.steps:
        key, fp = str(step.index), step.fingerprint(ladder.target)
        done = state["steps"].get(key)
        if done and done["fingerprint"] == fp and len(done["runs"]) >= n and _finished(done, d):
            if on_step:
                on_step(step, "skipped (finished)")
            continue
        rt = dataclasses.replace(runtime, out=str(d / f"step{step.index:02d}"))
        seeds_list = [step.recipe.seed + i for i in range(n)]
        res = run(step.spec, step.recipe, ladder.target, rt, seeds=seeds_list, data_dir=data_dir)
        state["steps"][key] = {
            "fingerprint": fp,
            "title": step.title,
            "runs": [str(r.run_dir.relative_to(d)) for r in res.runs],
        }
        files.write_json(state_path, state)
        if on_step:
            on_step(step, res.line())
    write_ladder_md(ladder, state, d)
    return d


def _finished(entry: dict[str, Any], d: Path) -> bool:
    """Every run of the step finished; a missing or damaged run directory means rerun the step."""
    try:
        return all(read_run(d / r).status.get("state") == "finished" for r in entry["runs"])
    except RunDirError:
        return False
