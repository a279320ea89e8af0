"""What can be trained: a spec (zoo name, .toml file, `Spec`), or your own `nn.Module` (an
instance, a subclass, a zero-argument function returning one, or `path/to/file.py:NAME`).

Both become a `Net`: a name, a layer table (the spec's arithmetic, or the traced module's), a
fresh network per seed, and what a run directory keeps to rebuild it without your notebook.

Seeds need a fresh network each. A class or function is called once per seed, under that seed
(`torch.manual_seed(seed)` first), so its layers draw their initial weights from it. An instance
is deep-copied and every submodule with `reset_parameters()` is re-initialised under the seed:
two seeds start from different weights, the same seed from the same ones.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import inspect
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import zoo
from .builder import TinyNet, build
from .errors import SpecError
from .modtable import module_table
from .spec import NAME_RE, Spec
from .table import Table, layer_table

SOURCE, EXPORTED, SCRIPTED = "model.py", "model.pt2", "model.ts"  # kept in a module's run


class NotKept(UserWarning):
    """Your module could not be saved with its run (neither exported nor traced)."""

    def __init__(self, name: str, why: str):
        super().__init__(
            f"{name} cannot be saved with its run ({why}); it trains, but evaluate, predict and "
            f"export will need the module itself, in Python"
        )


@dataclass(frozen=True)
class SpecNet:
    spec: Spec
    _tables: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.spec.name

    def table(self, input_shape: tuple[int, int, int], classes: int) -> Table:
        """The spec's table for this input, worked out once (a search trial, its trainer and
        its builder all ask for it)."""
        key = (tuple(input_shape), classes)
        if key not in self._tables:
            self._tables[key] = layer_table(self.spec, input_shape, classes)
        return self._tables[key]

    def build(self, input_shape: tuple[int, int, int], classes: int, seed: int) -> TinyNet:
        table = self.table(input_shape, classes)
        torch.manual_seed(seed)  # global RNG: the parameter init draws from it
        return build(self.spec, input_shape, classes, table=table)

    def record(self) -> dict[str, Any]:
        return self.spec.to_dict()


@dataclass
class ModuleNet:
    """Your own network. `factory()` makes a fresh one (under the seed the caller set);
    `origin` says where it came from, for the run directory."""

    name: str
    factory: Callable[[], nn.Module] = field(repr=False)
    origin: dict[str, Any]
    _tables: dict = field(default_factory=dict, repr=False, compare=False)

    def fresh(self) -> nn.Module:
        m = self.factory()
        if not isinstance(m, nn.Module):
            raise SpecError(
                f"{self.name}: calling it gave {type(m).__name__}, not an nn.Module; give a "
                f"class, a function returning a module, or a module"
            )
        return m

    def table(self, input_shape: tuple[int, int, int], classes: int) -> Table:
        """The traced module's table (made once per input): shapes and params from a real
        forward pass, RF where torch.fx can follow it. The global RNG is left as it was."""
        key = tuple(input_shape)
        if key not in self._tables:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                self._tables[key] = module_table(self.fresh(), key, self.name)
        t = self._tables[key]
        if t.classes != classes:
            raise SpecError(
                f"{self.name}: returns {t.classes} outputs per image but the data has {classes} "
                f"classes; make its last layer output {classes}"
            )
        return t

    def build(self, input_shape: tuple[int, int, int], classes: int, seed: int) -> nn.Module:
        torch.manual_seed(seed)
        m = self.fresh()
        other = {str(t.dtype) for t in m.parameters() if t.dtype != torch.float32}
        if other:  # the loop feeds float32 images (bf16 inside autocast): it would fail mid-step
            raise SpecError(
                f"{self.name}: its parameters are {', '.join(sorted(other))}; tinycnn trains "
                f"float32 weights (bf16 arithmetic where the CPU has it): pass model.float(), "
                f"or build it after torch.set_default_dtype(torch.float32)"
            )
        return m

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "module": dict(self.origin)}

    def pickles(self) -> bool:
        """Can a worker process rebuild it? (A class defined in a notebook cannot be imported.)"""
        import pickle

        try:
            pickle.dumps(self.factory)
        except Exception:  # noqa: BLE001 - pickle raises many kinds
            return False
        return True


Net = SpecNet | ModuleNet


def _reinit(template: nn.Module) -> Callable[[], nn.Module]:
    """An instance as a factory: a deep copy, every `reset_parameters()` called under the seed
    the caller set (so the copy's weights come from that seed, not the template's)."""

    def fresh() -> nn.Module:
        m = copy.deepcopy(template)
        for sub in m.modules():
            reset = getattr(sub, "reset_parameters", None)
            if callable(reset):
                reset()
        return m

    return fresh


def _safe_name(text: str) -> str:
    """A module's name as a run directory's name: letters, digits and . _ + - only."""
    name = "".join(c if c.isalnum() or c in "._+-" else "_" for c in text).strip("._") or "net"
    return name[:64] if NAME_RE.fullmatch(name[:64]) else f"net-{name[:60]}"


def from_object(obj: Any, name: str | None = None) -> ModuleNet:
    """An `nn.Module` instance, an `nn.Module` subclass, or a zero-argument callable."""
    if isinstance(obj, nn.Module):
        label = name or type(obj).__name__
        return ModuleNet(_safe_name(label), _reinit(obj), {"kind": "python", "object": label})
    if inspect.isclass(obj) and issubclass(obj, nn.Module):
        return ModuleNet(_safe_name(name or obj.__name__), obj, _where(obj))
    if callable(obj):
        label = name or getattr(obj, "__name__", type(obj).__name__)
        return ModuleNet(_safe_name(label), obj, _where(obj))
    raise SpecError(
        f"cannot train a {type(obj).__name__}: give a zoo name, a spec (.toml or Spec), or an "
        f"nn.Module (instance, class, or a function returning one)"
    )


def _where(obj: Any) -> dict[str, Any]:
    return {"kind": "python", "object": getattr(obj, "__qualname__", repr(obj))}


def from_file(text: str) -> ModuleNet:
    """`path/to/file.py:NAME`: NAME is a class, a function returning a module, or a module."""
    path_text, _, attr = text.rpartition(":")
    path = Path(path_text)
    if not path.is_file():
        raise SpecError(f"{path}: no such Python file; give path/to/file.py:NAME")
    source = path.read_bytes()
    module = _import(path, source)
    if not hasattr(module, attr):
        mine = [(k, v) for k, v in vars(module).items() if not k.startswith("_")]
        found = [k for k, v in mine if _is_net(v) or _defined_in(v, module)]
        raise SpecError(
            f"{path} has no {attr!r}; it defines {', '.join(found) or 'no nn.Module'}"
            f" (give path/to/file.py:NAME)"
        )
    obj = getattr(module, attr)
    from_object(obj, attr)  # refuses what is no network, in one line
    origin = {
        "kind": "file",
        "file": str(path.resolve()),
        "attr": attr,
        "sha256": hashlib.sha256(source).hexdigest(),
    }
    return ModuleNet(_safe_name(attr), FileFactory(str(path.resolve()), attr), origin)


@dataclass(frozen=True)
class FileFactory:
    """NAME from a Python file, made anew: picklable (a path and a name), so seeds in worker
    processes import the same file. A class or function is called; an instance re-initialised."""

    path: str
    attr: str

    def __call__(self) -> nn.Module:
        path = Path(self.path)
        obj = getattr(_import(path, path.read_bytes()), self.attr)
        return _reinit(obj)() if isinstance(obj, nn.Module) else obj()


def _defined_in(v: Any, module: Any) -> bool:
    """A function written in the user's file (not one it imported)."""
    return inspect.isfunction(v) and v.__module__ == module.__name__


def _is_net(v: Any) -> bool:
    return isinstance(v, nn.Module) or (inspect.isclass(v) and issubclass(v, nn.Module))


def _import(path: Path, source: bytes) -> Any:
    """Import a user's file under a name of its own (its content's hash), so a worker process,
    pickling a class from it, imports the same file again."""
    name = f"tinycnn_user_{hashlib.sha256(source).hexdigest()[:12]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as e:  # noqa: BLE001 - the user's code may raise anything
        del sys.modules[name]
        why = str(e).splitlines()[0][:160] if str(e) else ""
        raise SpecError(f"{path}: importing it failed ({type(e).__name__}: {why})") from None
    return module


def as_net(model: Any) -> Net:
    """Anything `tinycnn.run` takes as a model → a `Net`."""
    if isinstance(model, SpecNet | ModuleNet):
        return model
    if isinstance(model, str | Path) and zoo.is_file_model(str(model)):
        return from_file(str(model))
    if isinstance(model, str | Path | Spec):
        return SpecNet(zoo.resolve(model))
    return from_object(model)


def keep_files(net: ModuleNet, module: nn.Module, input_shape: tuple[int, ...]) -> tuple[
    dict[str, bytes], str
]:  # fmt: skip
    """What a module's run keeps so that it can be rebuilt without the user's code: the source
    file (a file's model), else the network exported by torch.export, else traced to
    TorchScript. Returns the files and, when none could be made, why (else "")."""
    if net.origin.get("kind") == "file":
        return {SOURCE: Path(net.origin["file"]).read_bytes()}, ""
    was_training = module.training
    module.eval()  # the inference graph: BN from its running statistics, no dropout
    x = torch.zeros(2, *input_shape)
    reasons = []
    try:
        try:
            batch = torch.export.Dim("batch")
            program = torch.export.export(module, (x,), dynamic_shapes=({0: batch},))
            buf = io.BytesIO()
            torch.export.save(program, buf)
            return {EXPORTED: buf.getvalue()}, ""
        except Exception as e:  # noqa: BLE001 - export refuses many kinds of forward
            reasons.append(f"torch.export: {str(e).splitlines()[0][:120] if str(e) else e!r}")
        try:
            with torch.no_grad():
                traced = torch.jit.trace(module, x)
            buf = io.BytesIO()
            torch.jit.save(traced, buf)
            return {SCRIPTED: buf.getvalue()}, ""
        except Exception as e:  # noqa: BLE001
            reasons.append(f"TorchScript: {str(e).splitlines()[0][:120] if str(e) else e!r}")
    finally:
        module.train(was_training)
    return {}, "; ".join(reasons)


class Rebuilt(nn.Module):
    """A network rebuilt from a run's exported or traced file: inference only (eval mode)."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)

    def train(self, mode: bool = True) -> Rebuilt:
        self.training = False  # an exported graph is the eval graph; it cannot switch
        return self

    # the weights under the names the network had when it trained (not "inner.…")
    def state_dict(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.state_dict(*args, **kwargs)

    def load_state_dict(self, state: Any, strict: bool = True, assign: bool = False) -> Any:
        return self.inner.load_state_dict(state, strict=strict)


def rebuild(run_dir: Path, record: dict[str, Any]) -> nn.Module:
    """A module's network from its run directory alone (the kept file), untrained."""
    origin = record.get("module", {})
    if (run_dir / SOURCE).is_file():
        try:
            return FileFactory(str(run_dir / SOURCE), origin.get("attr", ""))()
        except AttributeError:
            raise SpecError(
                f"{run_dir / SOURCE}: has no {origin.get('attr')!r}; the run is damaged"
            ) from None
    for name, load in ((EXPORTED, lambda f: torch.export.load(f).module()),
                       (SCRIPTED, torch.jit.load)):  # fmt: skip
        if (run_dir / name).is_file():
            try:
                return Rebuilt(load(run_dir / name))
            except Exception as e:  # noqa: BLE001 - a damaged file: torch raises many kinds
                raise SpecError(
                    f"{run_dir / name}: unreadable ({type(e).__name__}); it is damaged: rerun "
                    f"the run, or evaluate the module in Python"
                ) from None
    raise SpecError(
        f"{run_dir}: {record.get('name', 'this module')} could not be saved with the run (see "
        f"its start line); evaluate it in Python with the module itself"
    )
