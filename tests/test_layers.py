"""The package's import graph, read from the source: no circle, and no import from a lower
layer to a higher one (the builder knows nothing of training, rules know nothing of training,
training knows nothing of reports, rendering depends on the table and never the reverse, only
cli/ presents). Every import a reader follows counts: inside functions, and under
`if TYPE_CHECKING:` (a type-only import is still a dependency).

And the description layer runs without torch: the commands that train nothing answer without
importing it (torch's import alone costs seconds on a 2-core machine)."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tinycnn

ROOT = Path(tinycnn.__file__).parent
# lowest first; a module may import its own layer or any lower one
LAYERS = [
    {"errors", "tomlfile", "richtext", "defaults", "files", "modules", "idx", "imagefolder"},
    {"ranges", "layers"},  # what a setting means; what a layer kind is
    {"spec"},
    {"table", "zoo"},
    {"render", "rules"},
    {"settings"},  # the description layer ends here: no torch below this line
    {"data"},
    {"builder", "modtable", "nets"},
    {"describe", "convert"},
    {"training"},
    {"reports", "deploy"},
    {"ladder", "bench", "api", "search"},
    {"cli", "__main__", ""},  # "" is the package's __init__
]
TORCH_FREE = ["defaults", "ranges", "layers", "spec", "table", "zoo", "render", "rules", "settings"]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def modules() -> dict[str, Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = p.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """Every module of the package that `name` imports: relative or absolute (`tinycnn.x`), at
    the top, inside functions or under TYPE_CHECKING."""
    tree = ast.parse(path.read_text())
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "tinycnn" and len(parts) > 1:
                    found.add(".".join(parts[1:]))
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package[: len(package) - (node.level - 1)] + (node.module or "").split(".")
        elif (node.module or "").split(".")[0] == "tinycnn":
            base = node.module.split(".")[1:]
        else:
            continue
        base = [b for b in base if b]
        for alias in node.names:
            sub = ".".join([*base, alias.name])
            found.add(sub if sub in mods else ".".join(base))  # a submodule, or a name in base
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {m: {t for t in imports(m, p, mods) if t in mods and t != m} for m, p in mods.items()}


def layer(module: str) -> int:
    return LAYER[module.split(".")[0]]


def test_every_module_has_a_layer():
    assert all(m.split(".")[0] in LAYER for m in modules())


def test_no_import_runs_from_a_lower_layer_to_a_higher_one():
    up = [(a, b) for a, targets in graph().items() for b in targets if layer(b) > layer(a)]
    assert up == []


def test_the_import_graph_has_no_circle():
    g, state, circles = graph(), {}, []

    def visit(m, path):
        state[m] = "open"
        for t in sorted(g[m]):
            if state.get(t) == "open":
                circles.append([*path[path.index(t) :], t])
            elif t not in state:
                visit(t, [*path, t])
        state[m] = "done"

    for m in sorted(g):
        if m not in state:
            visit(m, [m])
    assert circles == []


def test_the_checker_sees_a_circle_and_an_upward_import(monkeypatch):
    """The oracle itself can fail: a planted circle and a planted upward import are found."""
    planted = {"a": {"b"}, "b": {"a"}}
    monkeypatch.setattr("test_layers.graph", lambda: planted)
    monkeypatch.setitem(LAYER, "a", 0)
    monkeypatch.setitem(LAYER, "b", 1)
    try:
        test_the_import_graph_has_no_circle()
    except AssertionError:
        pass
    else:
        raise AssertionError("a planted circle went unseen")
    try:
        test_no_import_runs_from_a_lower_layer_to_a_higher_one()
    except AssertionError:
        pass
    else:
        raise AssertionError("a planted upward import went unseen")


def test_the_description_layer_imports_no_torch():
    """Read from the source: no module of the description layer names torch at all."""
    offenders = [
        m
        for m, p in modules().items()
        if m.split(".")[0] in TORCH_FREE and "torch" in _top_level_imports(p)
    ]
    assert offenders == []


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in tree.body:  # module level only: a factory may import torch when it is called
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["zoo"], ["zoo", "gap7496"], ["presets"], ["summary", "fast7806"],
     ["check", "gap7496", "--preset", "under8k"], ["train", "--help"], ["search", "--help"]],
)  # fmt: skip
def test_commands_that_train_nothing_import_no_torch(argv):
    """`python -X importtime` lists every module imported: torch must not be among them."""
    env = {**os.environ, "PYTHONPATH": str(ROOT.parent)}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tinycnn", *argv],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert proc.stdout.strip()  # it answered
    assert not [m for m in imported if m == "torch" or m.startswith("torch.")]
