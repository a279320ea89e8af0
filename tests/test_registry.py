"""One place is enough: a layer kind registered here, inside the test, is seen by the spec (its
fields and their validation), the layer table, the builder, a traced module's table and a
preset's features; after it is removed, a spec that uses it is refused in one line."""

import pytest
import torch
from torch import nn

from tinycnn import build, layer_table, verify
from tinycnn.errors import SpecError
from tinycnn.layers import KINDS, Kind, Layer, Step, register, unregister
from tinycnn.modtable import module_table
from tinycnn.rules import Preset, features, static_conditions
from tinycnn.spec import Spec, conv, gap, maxpool

ALPHA = Kind(
    "alphadrop", "adrop",
    shape=lambda prim, cur, where: Step(),  # elementwise: shape and receptive field kept
    module=lambda prim, ch_in, flat, replicas: nn.AlphaDropout(prim.p),
    fields=frozenset({"p"}),
    lower=lambda layer, spec, classes: [("alphadrop", {"p": 0.1 if layer.p is None else layer.p})],
    traced=("AlphaDropout",),
    features=lambda row: ("dropout",),
)  # fmt: skip


@pytest.fixture
def alphadrop():
    register(ALPHA)
    yield ALPHA
    unregister(ALPHA.name)


def spec_with(layer: Layer) -> Spec:
    return Spec(
        "alpha", (conv(8), layer, maxpool(), conv(16), gap(), conv("classes", k=1, then=()))
    )


def test_a_kind_registered_in_one_place_is_seen_everywhere(alphadrop):
    spec = spec_with(Layer("alphadrop", p=0.2))
    prims = spec.expand(10)
    assert [p.name for p in prims if p.kind == "alphadrop"] == ["adrop1"]
    assert Spec.from_toml(spec.to_toml()) == spec  # its fields round-trip through TOML
    table = layer_table(spec)
    i = next(i for i, r in enumerate(table.rows) if r.kind == "alphadrop")
    before, row = table.rows[i - 1], table.rows[i]
    assert (row.shape, row.params, row.r_out, row.j_out) == (before.shape, 0, before.r_out, 1)
    model = build(spec)
    assert isinstance(model.adrop1, nn.AlphaDropout) and model.adrop1.p == 0.2
    assert verify(model).total_params == sum(p.numel() for p in model.parameters())
    assert features(table)["dropout"]  # the preset sees its feature...
    rule = static_conditions(Preset("needs-dropout", requires=("dropout",)), spec)
    assert [c.ok for c in rule if c.name == "dropout"] == [True]
    without = spec_with(Layer("maxpool", k=1))  # ...and not without it
    assert not features(layer_table(without))["dropout"]
    traced = module_table(nn.Sequential(nn.Conv2d(1, 4, 3), nn.AlphaDropout(0.1)), (1, 28, 28))
    assert [r.kind for r in traced.rows] == ["conv", "alphadrop"]


def test_a_registered_kind_refuses_fields_it_did_not_declare(alphadrop):
    with pytest.raises(SpecError, match=r"layer 2 \(alphadrop\): unknown field 'k'; allowed: p"):
        layers = [{"kind": "conv", "out": 8}, {"kind": "alphadrop", "k": 3}]
        Spec.from_dict({"name": "x", "layers": layers})


def test_an_unregistered_kind_is_refused_in_one_line():
    assert "alphadrop" not in KINDS
    with pytest.raises(SpecError) as e:
        spec_with(Layer("alphadrop"))
    assert "unknown kind 'alphadrop'; use one of conv, linear" in str(e.value)
    assert "\n" not in str(e.value)


def test_every_builtin_kind_builds_what_its_table_says():
    """The registry's own sweep: each built-in kind in a spec that uses it, table vs module."""
    specs = [
        Spec("k1", (conv(4, pad=1), maxpool(), conv(8, stride=2), gap(), conv("classes", k=1))),
        Spec("k2", (conv(4), Layer("avgpool", k=2), Layer("flatten"), Layer("linear", out=10))),
        Spec(
            "k3",
            (
                conv(4),
                Layer("bn"),
                Layer("relu"),
                Layer("dropout", p=0.1),
                gap(),
                Layer("linear", out="classes", then=("bn",)),
            ),
        ),  # fmt: skip
    ]
    used = {p.kind for s in specs for p in s.expand(10)}
    assert used == set(KINDS)
    for s in specs:
        torch.manual_seed(0)
        verify(build(s))
