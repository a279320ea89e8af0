"""The package's import graph, read from the source: no circle, and no import from a lower
layer to a higher one (`model.py knows nothing of training`, rules know nothing of training,
training knows nothing of reports, only cli/ presents). Imports inside functions count too;
those under `if TYPE_CHECKING:` (annotations only, never run) do not."""

import ast
from pathlib import Path

import tinycnn

ROOT = Path(tinycnn.__file__).parent
# lowest first; a module may import its own layer or any lower one
LAYERS = [
    {"errors", "tomlfile", "richtext", "idx", "imagefolder"},
    {"ranges", "spec", "data"},
    {"table", "render", "modtable"},
    {"builder"},
    {"rules", "zoo", "describe"},
    {"training"},
    {"reports", "deploy"},
    {"ladder", "bench", "api", "search"},
    {"cli", "__main__", ""},  # "" is the package's __init__
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def modules() -> dict[str, Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = p.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def runtime_imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text())
    skip = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip or not isinstance(node, ast.ImportFrom) or not node.level:
            continue
        base = package[: len(package) - (node.level - 1)] + (node.module or "").split(".")
        base = [b for b in base if b]
        for alias in node.names:
            sub = ".".join([*base, alias.name])
            found.add(sub if sub in mods else ".".join(base))  # a submodule, or a name in base
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {
        m: {t for t in runtime_imports(m, p, mods) if t in mods and t != m} for m, p in mods.items()
    }


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
