"""Spec text form, switches, and the validation messages a user sees."""

import re

import pytest

from tinycnn import build, layer_table, zoo
from tinycnn.errors import SpecError
from tinycnn.spec import Spec, conv, gap, load_spec_file, maxpool


def kinds(spec, classes=10):
    return [p.kind for p in spec.expand(classes)]


def test_switches_change_one_concept():
    base = Spec("s", (conv(8), gap(), conv("classes", k=1, then=())), dropout=0.1)
    assert kinds(base) == ["conv", "bn", "relu", "dropout", "gap", "conv"]
    assert kinds(base.with_(norm=False)) == ["conv", "relu", "dropout", "gap", "conv"]
    assert kinds(base.with_(dropout=0.0)) == ["conv", "bn", "relu", "gap", "conv"]
    assert kinds(base.with_(order="relu-bn")) == ["conv", "relu", "bn", "dropout", "gap", "conv"]
    ch = base.with_(dropout_kind="channel").expand(10)
    assert ch[3].channel and ch[3].p == 0.1
    # and the module follows: BN off removes exactly the BN parameters
    assert (
        layer_table(base).total_params - layer_table(base.with_(norm=False)).total_params == 2 * 8
    )


def test_toml_file_roundtrip(tmp_path):
    spec = zoo.get("seq9274")
    p = tmp_path / "m.toml"
    p.write_text(spec.to_toml())
    assert load_spec_file(p) == spec
    assert build(load_spec_file(p)).table.total_params == 9274


def test_map_too_small_names_the_layer():
    # 28 → pool 14 → pool 7 → conv 5 → pool 2 → 3×3 conv cannot fit
    s = Spec("small", (maxpool(), maxpool(), conv(8), maxpool(), conv("classes"), gap()))
    with pytest.raises(SpecError, match=r"small: layer 5 \(conv2\): 3×3 conv on a 2×2 map") as e:
        layer_table(s)
    assert "padding" in str(e.value)
    s = Spec("small", (conv(8), maxpool(), maxpool(), maxpool(), maxpool(), conv("classes"), gap()))
    with pytest.raises(SpecError, match=r"layer 6 \(conv2\): 3×3 conv on a 1×1 map"):
        layer_table(s)


def test_wrong_class_count_is_refused():
    s = Spec("c", (conv(8), gap(), conv(7, k=1, then=())))
    with pytest.raises(SpecError, match="ends with 7 outputs but the data has 10 classes"):
        build(s)


def test_network_that_never_pools_to_one_is_refused():
    s = Spec("c", (conv(8), conv("classes", then=())))
    with pytest.raises(SpecError, match=r"ends on a 10×24×24 map; end with gap"):
        build(s)


def test_linear_needs_flat_input():
    from tinycnn.spec import linear

    with pytest.raises(SpecError, match=r"layer 2 \(fc1\): linear on a 8×26×26 map"):
        build(Spec("l", (conv(8), linear("classes"))))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'name="x"\n[[layers]]\nkind="conv"\nout=8\nkernal=3\n',
            "layer 1 (conv): unknown field 'kernal'",
        ),
        ('name="x"\n[[layers]]\nkind="convv"\n', "layer 1: unknown kind 'convv'"),
        ('name="x"\nnorn=true\n[[layers]]\nkind="gap"\n', "unknown field 'norn'"),
        ('name="x"\norder="bn-first"\n[[layers]]\nkind="gap"\n', "order 'bn-first' must be one of"),
        ('name="x"\n[[layers]]\nkind="conv"\nout=-2\n', "out must be a positive integer"),
        ('name="x"\n[[layers\n', "not valid TOML"),
    ],
)
def test_bad_spec_files(text, message, tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(SpecError, match=re.escape(message)):
        load_spec_file(p)


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec_file(tmp_path / "nope.toml")


def test_other_input_sizes_and_classes():
    s = Spec("any", (conv(8), maxpool(), conv(8), conv("classes", then=()), gap()))
    t = layer_table(s, input_shape=(3, 40, 32), classes=5)
    assert t.rows[-1].shape == (5, 1, 1)
    assert t.rows[0].params == 3 * 8 * 9
    import torch

    assert build(s, (3, 40, 32), 5)(torch.zeros(2, 3, 40, 32)).shape == (2, 5)
