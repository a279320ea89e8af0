"""Sweep every registered model: it builds, runs, learns-ready, and its table matches the module."""

import json
from pathlib import Path

import pytest
import tomllib
import torch

from tinycnn import build, verify, zoo
from tinycnn.spec import Layer, load_spec_file
from tinycnn.training import Recipe


@pytest.mark.parametrize("name", zoo.names())
def test_every_zoo_model(name):
    spec = zoo.get(name)
    assert spec.description and spec.source, "every zoo entry says what it is and where it is from"
    torch.manual_seed(0)
    model = build(spec)
    verify(model)  # the table's shapes and params against a real forward pass and the modules
    x = torch.randn(4, 1, 28, 28)
    out = model(x)
    assert out.shape == (4, 10)
    assert torch.isfinite(out).all()
    out.logsumexp(1).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"{name}.{pname} got no gradient"


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_specs_roundtrip_through_toml(name):
    spec = zoo.get(name)
    assert type(spec).from_toml(spec.to_toml()) == spec


def test_published_counts():
    assert build(zoo.get("gap7496")).table.total_params == 7496
    assert build(zoo.get("seq9274")).table.total_params == 9274


def test_summary_does_not_touch_rng_or_bn_stats():
    model = build(zoo.get("gap7496"))
    model.train()
    bn_before = model.bn1.running_mean.clone()
    rng_before = torch.get_rng_state()
    verify(model)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert torch.equal(model.bn1.running_mean, bn_before)
    assert model.training


def test_unknown_model_names_the_zoo():
    with pytest.raises(Exception, match="unknown model 'nope'.*gap7496"):
        zoo.resolve("nope")


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_recipes_are_recipes(name):
    changes = zoo.recipe(name)
    recipe = Recipe(**changes)  # unknown fields or out-of-range values raise here
    assert all(getattr(recipe, k) != getattr(Recipe(), k) for k in changes), "no-op changes"


ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs" / "search"
CANDIDATES = ROOT / "benchmarks" / "candidates"  # screened on validation
SEARCHED = {  # zoo entry → the files its 16 seeds trained (a search's top, or a screen's pick)
    "course-t11": DOCS / "top2",
    "highres4k-t34": DOCS / "highres4k" / "top1",
    "course-t14": DOCS / "course-under6k" / "top1",
    "course-t14-w11": CANDIDATES / "course-t14-w11",  # their README's third round
    "highres4k-t37-w14": CANDIDATES / "highres4k-t37-w14",  # fourteenth round
    "t14-b64ema": CANDIDATES / "t14_b64ema",  # third and fifteenth rounds
}


@pytest.mark.parametrize("name", SEARCHED)
def test_searched_entries_are_the_candidates_their_evidence_ran(name):
    """A searched or screened zoo entry is the file its 16 seeds trained (benchmarks/results/
    preset_seeds_NAME.json: the spec file with its .run.toml), layer for layer and recipe for
    recipe."""
    found = load_spec_file(SEARCHED[name].with_suffix(".toml"))
    entry = zoo.get(name)
    assert (entry.layers, entry.dropout, entry.name) == (found.layers, found.dropout, found.name)
    run = tomllib.loads(SEARCHED[name].with_suffix(".run.toml").read_text())["recipe"]
    assert Recipe(**zoo.recipe(name)) == Recipe(**run)


RESULTS = ROOT / "benchmarks" / "results"
# the seeds JSONs the README's frontier credits to zoo entries (others are candidates)
EVIDENCE = [
    p
    for p in sorted([*RESULTS.glob("preset_seeds_*.json"), *RESULTS.glob("default_recipe_*.json")])
    if json.loads(p.read_text())["model"] in zoo.names()
]


def test_every_zoo_entry_below_10k_has_seed_evidence():
    credited = {json.loads(p.read_text())["model"] for p in EVIDENCE}
    small = [n for n in zoo.names() if build(zoo.get(n)).table.total_params < 10_000]
    assert set(small) <= credited


@pytest.mark.parametrize("path", EVIDENCE, ids=lambda p: p.stem)
def test_seed_evidence_trained_the_zoo_entry_of_its_name(path):
    """A zoo entry's seeds JSON measured that entry: the same parameter count, the entry's own
    recipe and, where it ran from a spec file, the same layers; or the README's frontier would
    credit one model with another's run."""
    d = json.loads(path.read_text())
    entry = zoo.get(d["model"])
    assert d["params"] == build(entry).table.total_params
    assert {k: d["recipe"][k] for k in zoo.recipe(entry.name)} == zoo.recipe(entry.name)
    if d.get("spec") is not None:  # ran from a file, not by the zoo's name
        ran = type(entry).from_toml(d["spec"])
        assert (ran.layers, ran.dropout) == (entry.layers, entry.dropout)


@pytest.mark.parametrize("name", zoo.names())
def test_receptive_field_by_gradient(name):
    """An oracle independent of the RF arithmetic: the input pixels that the top-left unit of the
    last map of more than one pixel depends on, found by backpropagation. Max-pools become
    avg-pools (same window, but every pixel of it gets gradient), weights and input are positive
    (every ReLU passes), BN and dropout are off: the gradient is non-zero exactly on the RF."""
    spec = zoo.get(name)
    layers = tuple(Layer("avgpool", k=x.k, stride=x.stride, pad=x.pad) if x.kind == "maxpool"
                   else x for x in spec.layers)  # fmt: skip
    spec = spec.with_(layers=layers, norm=False, dropout=0.0)
    model = build(spec).eval()
    rows_ = model.table.rows  # cut where the map becomes one pixel (a GAP, a last conv) or flat
    cut = next(i for i, r in enumerate(rows_) if len(r.shape) == 1 or r.shape[1:] == (1, 1))
    row = rows_[cut - 1]  # the last map with more than one pixel
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.01)
    x = torch.ones(1, 1, 28, 28, requires_grad=True)
    out = torch.nn.Sequential(*list(model.children())[:cut])(x)
    out[0, :, 0, 0].sum().backward()
    rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
    offset = sum((r.padding or 0) * r.j_in for r in model.table.rows[:cut] if r.kernel)
    first, last = max(0, -offset), min(28, row.r_out - offset) - 1
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (first, last, first, last)
