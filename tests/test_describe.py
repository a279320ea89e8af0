"""`tinycnn.summary` of any nn.Module, against tables derived by hand (and, for every zoo model,
against the spec's own arithmetic): shapes, parameters, MACs and the course's n/j/r columns."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import tinycnn
from tinycnn import zoo
from tinycnn.errors import ConfigError, SpecError
from tinycnn.modtable import module_table


class LeNet(nn.Module):  # LeCun et al. 1998, as course notebooks write it: functional pooling
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = F.avg_pool2d(torch.tanh(self.conv1(x)), 2)
        x = F.avg_pool2d(torch.tanh(self.conv2(x)), 2)
        x = x.view(-1, 400)
        return self.fc3(torch.tanh(self.fc2(torch.tanh(self.fc1(x)))))


def vgg_block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]


VGG = nn.Sequential(  # VGG-style on 3×224×224, modules only
    *vgg_block(3, 64), *vgg_block(64, 64), nn.MaxPool2d(2),
    *vgg_block(64, 128), *vgg_block(128, 128), nn.MaxPool2d(2),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10),
)  # fmt: skip


def rows(table, kinds=("conv", "maxpool", "avgpool", "gap", "flatten", "linear", "merge")):
    return [(r.kind, r.shape, r.j_out, r.r_out, r.params) for r in table.rows if r.kind in kinds]


def test_lenet_by_hand():
    t = tinycnn.summary(LeNet(), input_size=(1, 32, 32))
    # by hand: r_out = r_in + (k-1)·j_in, j_out = j_in·stride; flatten covers the 5×5 map
    assert rows(t) == [
        ("conv", (6, 28, 28), 1, 5, 6 * 25 + 6),
        ("avgpool", (6, 14, 14), 2, 6, 0),
        ("conv", (16, 10, 10), 2, 6 + 4 * 2, 16 * 6 * 25 + 16),
        ("avgpool", (16, 5, 5), 4, 16, 0),
        ("flatten", (400,), 4, 16 + 4 * 4, 0),
        ("linear", (120,), 4, 32, 400 * 120 + 120),
        ("linear", (84,), 4, 32, 120 * 84 + 84),
        ("linear", (10,), 4, 32, 84 * 10 + 10),
    ]
    assert t.total_params == 61_706 == sum(p.numel() for p in LeNet().parameters())
    assert t.macs == 28 * 28 * 6 * 25 + 10 * 10 * 16 * 6 * 25 + 400 * 120 + 120 * 84 + 84 * 10
    assert t.notes == () and t.receptive_field == 32


def test_vgg_style_on_224():
    t = tinycnn.summary(VGG, input_size=(1, 3, 224, 224))  # torchinfo's (batch, C, H, W) too
    assert rows(t, ("conv", "maxpool", "gap", "linear")) == [
        ("conv", (64, 224, 224), 1, 3, 3 * 64 * 9 + 64),
        ("conv", (64, 224, 224), 1, 5, 64 * 64 * 9 + 64),
        ("maxpool", (64, 112, 112), 2, 6, 0),
        ("conv", (128, 112, 112), 2, 10, 64 * 128 * 9 + 128),
        ("conv", (128, 112, 112), 2, 14, 128 * 128 * 9 + 128),
        ("maxpool", (128, 56, 56), 4, 16, 0),
        ("gap", (128, 1, 1), 4, 16 + 55 * 4, 0),
        ("linear", (10,), 4, 236, 128 * 10 + 10),
    ]
    assert t.rows[0].macs == 224 * 224 * 64 * 3 * 9
    assert t.total_params == sum(p.numel() for p in VGG.parameters())
    bn = [r for r in t.rows if r.kind == "bn"]
    assert [r.params for r in bn] == [128, 128, 256, 256]  # weight + bias; stats are buffers


@pytest.mark.parametrize("name", zoo.names())
def test_module_table_agrees_with_every_zoo_spec(name):
    """Two derivations of the same table: the spec's arithmetic, and the built module traced."""
    spec_t = tinycnn.summary(name)
    mod_t = module_table(tinycnn.build(zoo.get(name)), spec_t.input_shape)
    by_name = {r.name: r for r in mod_t.rows}
    for r in spec_t.rows:
        m = by_name[r.name]
        assert (m.shape, m.params, m.macs, m.j_out, m.r_out) == (
            r.shape, r.params, r.macs, r.j_out, r.r_out
        ), r.name  # fmt: skip
    assert mod_t.total_params == spec_t.total_params


def test_grouped_dilated_and_branches():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(1, 8, 3)
            self.dw = nn.Conv2d(8, 8, 3, groups=8, dilation=2)  # depthwise, dilated
            self.skip = nn.Conv2d(8, 8, 1, bias=False)
            self.scale = nn.Parameter(torch.ones(1))

        def forward(self, x):
            x = self.a(x)
            y = F.pad(self.dw(x), (2, 2, 2, 2)) + self.skip(x)  # F.pad: not analysed
            return y.mean((2, 3)) * self.scale

    t = tinycnn.summary(Net(), (1, 12, 12))
    dw = next(r for r in t.rows if r.name == "dw")
    assert dw.params == 8 * 9 + 8 and dw.r_out == 3 + (5 - 1) * 1  # dilation 2: a 5-wide window
    assert dw.macs == 6 * 6 * 8 * 9
    assert any("pad" in n and "not derived" in n for n in t.notes)
    assert t.rows[-1].r_out is None  # never a guessed number past what it cannot follow
    assert t.total_params == sum(p.numel() for p in Net().parameters())
    assert "1 parameter is used outside the listed layers" in t.notes


def test_merge_takes_the_larger_field_and_says_so():
    class Res(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x):
            h = self.a(x)
            return (self.b(h) + h).flatten(1)

    t = tinycnn.summary(Res(), (1, 6, 6))
    merge = next(r for r in t.rows if r.kind == "merge")
    assert merge.r_out == 5 and any("branches meet (RF 5, 3)" in n for n in t.notes)


def test_untraceable_forward_keeps_shapes_and_explains():
    class Dyn(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            return self.c(x) if x.sum() >= 0 else -self.c(x)

    t = tinycnn.summary(Dyn(), "1x8x8")
    assert [(r.shape, r.params, r.r_out) for r in t.rows] == [((2, 6, 6), 20, None)]
    assert "torch.fx could not trace Dyn.forward" in t.notes[0]
    assert "not derived" in str(t)


def test_errors_name_the_fix():
    with pytest.raises(SpecError, match=r"input_size=\(1, 28, 28\)"):
        tinycnn.summary(LeNet())
    with pytest.raises(SpecError, match="forward on a 1×28×28 input failed"):
        tinycnn.summary(LeNet(), (1, 28, 28))  # 4×4 after pooling: view(-1, 400) breaks
    with pytest.raises(SpecError, match="channels×height×width"):
        tinycnn.summary(LeNet(), "32x32")
    # a count from Python of the wrong type: one line, not a TypeError from the range check
    with pytest.raises(ConfigError, match="epochs = '15': give a number; it must be ≥ 1"):
        tinycnn.check("fast7806", "under8k", epochs="15")


def test_summary_leaves_the_module_as_it_was():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten())
    before = net[1].running_mean.clone()
    tinycnn.summary(net, (1, 5, 5))
    assert net.training and torch.equal(net[1].running_mean, before)


def test_reprs_show_the_table():
    t = tinycnn.summary("gap7496")
    assert str(t) == repr(t) == tinycnn.render_text(t)
    html = t._repr_html_()
    assert html.count("<tr>") == len(t.rows) + 1 and "% params" in html and "MACs" in html
    assert "Params size: 0.030 MB" in html
