"""Data beyond the bundled MNIST: other IDX shapes and class counts, colour IDX (rank 4), image
folders, dataset.toml; named everywhere, with the data set's own target (or none)."""

import json

import pytest
import torch
from helpers import idx_bytes, write_set
from PIL import Image

import tinycnn
from tinycnn.cli import main
from tinycnn.data import load
from tinycnn.errors import DataError
from tinycnn.idx import FILES
from tinycnn.reports import compare, plots
from tinycnn.spec import Spec, conv, gap, maxpool

SIDE = 12


def bars(n: int, seed: int, colour: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """A learnable toy set: class 0 a vertical bar, 1 a horizontal bar, 2 a dot; random place,
    noise. uint8 (N, H, W) or (N, H, W, 3) (the bar in the red or green channel)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.randint(0, 40, (n, SIDE, SIDE), generator=g)
    pos = torch.randint(2, SIDE - 2, (n,), generator=g)
    for i in range(n):
        p = int(pos[i])
        if y[i] == 0:
            x[i, 1:-1, p] = 255
        elif y[i] == 1:
            x[i, p, 1:-1] = 255
        else:
            x[i, p - 1 : p + 1, p - 1 : p + 1] = 255
    x = x.to(torch.uint8)
    if colour:  # the same shapes, drawn in one channel of three
        rgb = torch.zeros(n, SIDE, SIDE, 3, dtype=torch.uint8)
        rgb[..., 0], rgb[..., 1] = x, torch.flip(x, dims=(1,)) // 2
        return rgb, y
    return x, y


def write_idx(d, colour=False, n_train=300, n_test=90):
    d.mkdir(parents=True, exist_ok=True)
    tx, ty = bars(n_train, 1, colour)
    vx, vy = bars(n_test, 2, colour)
    for key, t in zip(FILES, (tx, ty, vx, vy), strict=True):
        (d / FILES[key]).write_bytes(idx_bytes(t))
    return d


def write_folder(d, n=(30, 9), colour=False, suffix=".png"):
    for split, count in zip(("train", "test"), n, strict=True):
        x, y = bars(count, 3 if split == "train" else 4, colour)
        for i in range(count):
            folder = d / split / ("vertical", "horizontal", "dot")[int(y[i])]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(x[i].numpy()).save(folder / f"{i:03d}{suffix}")
    return d


SMALL_NET = Spec("bars", (conv(8, pad=1), maxpool(), conv(16), conv("classes", then=()), gap()))


def test_idx_of_another_shape_and_class_count(tmp_path):
    write_set(tmp_path, h=5, w=7, classes=3)
    ds = load(tmp_path)
    assert ds.input_shape == (1, 5, 7) and ds.classes == 3
    assert ds.name == tmp_path.name and ds.target is None and not ds.is_mnist


def test_colour_idx_rank4_has_per_channel_statistics(tmp_path):
    d = write_idx(tmp_path / "rgb", colour=True)
    ds = load(d)
    assert ds.input_shape == (3, SIDE, SIDE)
    raw, _ = bars(300, 1, colour=True)  # an independent computation of the statistics
    px = raw.double() / 255
    assert ds.mean == pytest.approx(tuple(px.mean((0, 1, 2)).tolist()), rel=1e-5)
    std = [v or 1.0 for v in px.std((0, 1, 2)).tolist()]  # the unused blue channel: scaled by 1
    assert ds.std == pytest.approx(tuple(std), rel=1e-4) and std[2] == 1.0


def test_image_folder_grey_and_colour(tmp_path):
    grey = load(write_folder(tmp_path / "grey"))
    assert grey.input_shape == (1, SIDE, SIDE) and grey.class_names == (
        "dot",
        "horizontal",
        "vertical",
    )
    assert len(grey.train_y) == 30 and len(grey.test_y) == 9
    x, y = bars(30, 3)  # files are read in name order per class: compare the sorted pixel sums
    assert sorted(grey.train_x.sum((1, 2, 3)).tolist()) == sorted(x.long().sum((1, 2)).tolist())
    colour = load(write_folder(tmp_path / "rgb", colour=True, suffix=".bmp"))
    assert colour.input_shape == (3, SIDE, SIDE) and isinstance(colour.mean, tuple)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda d: (d / "train" / "dot" / "bad.png").write_text("not a picture"),
            "bad.png: not a readable image",
        ),
        (
            lambda d: Image.new("L", (5, 5)).save(d / "test" / "dot" / "small.png"),
            "small.png: 5×5 pixels but",
        ),
        (lambda d: (d / "test" / "cat").mkdir(), "class 'cat' has no folder under train/"),
        (
            lambda d: (d / "dataset.toml").write_text('classes = ["a"]'),
            "1 class names for 3 classes",
        ),
        (lambda d: (d / "dataset.toml").write_text("colour = 1"), "unknown field 'colour'"),
    ],
)
def test_bad_image_folders_name_the_file(tmp_path, damage, message):
    d = write_folder(tmp_path / "set")
    damage(d)
    with pytest.raises(DataError, match=message):
        load(d)


def test_a_folder_that_is_neither(tmp_path):
    assert main(["train", "--data-dir", str(tmp_path), "--dry-run"]) == 2


def test_learns_other_data_and_names_it_everywhere(tmp_path, capsys):
    """Learning is tested by learning: the bars set is easy, 3 epochs reach 90 % on its test
    split. With a dataset.toml: its name and class names in the header, run name, config,
    report and compare; its target decides the verdict."""
    d = write_idx(tmp_path / "toybars")
    (d / "dataset.toml").write_text(
        'name = "bars"\nclasses = ["vertical", "horizontal", "dot"]\ntarget = 90\n'
    )
    spec = tmp_path / "net.toml"
    spec.write_text(SMALL_NET.to_toml())
    out = tmp_path / "runs"
    argv = ["train", str(spec), "--data-dir", str(d), "--epochs", "3", "--out", str(out)]
    assert main([*argv, "--threads", "1", "--lr", "0.05", "--consistent", "1"]) == 0
    text = capsys.readouterr().out
    assert "bars: 300 train / 90 test images" in text and "PASS  test ≥ 90.00%" in text
    (run,) = out.iterdir()
    assert run.name.startswith("bars-bars-")  # model, then data set
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["data"]["name"] == "bars" and cfg["data"]["class_names"] == [
        "vertical",
        "horizontal",
        "dot",
    ]
    report = (run / "report.md").read_text()
    assert "**Data:** bars" in report and "| horizontal |" in report
    assert "digit" not in report.lower()
    assert "Misclassified test images" in report or "Correctly classified test images" in report
    row = compare([run])[0]
    assert row["data"] == "bars" and row["last_test"] >= 90


def test_no_target_without_one(tmp_path, capsys):
    d = write_idx(tmp_path / "plain", n_train=60, n_test=30)
    spec = tmp_path / "net.toml"
    spec.write_text(SMALL_NET.to_toml())
    out = tmp_path / "runs"
    assert main(["train", str(spec), "--data-dir", str(d), "--epochs", "1", "--out", str(out)]) == 0
    assert (
        "NO TARGET  (results only; set one with --target N or --preset NAME)"
        in capsys.readouterr().out
    )
    (run,) = out.iterdir()
    assert "No accuracy target was set" in (run / "report.md").read_text()
    # and in Python: no target given → the data set's (none here, MNIST's 99.4 % there)
    r = tinycnn.train(SMALL_NET, tinycnn.Recipe(epochs=1), data_dir=d,
                      runtime=tinycnn.Runtime(out=str(out), report=False))  # fmt: skip
    assert r.verdict.conditions == ()


def test_compare_lists_seed_groups_with_mean_std_and_k_of_n(tmp_path, capsys):
    d = write_idx(tmp_path / "bars", n_train=90, n_test=30)
    spec = tmp_path / "net.toml"
    spec.write_text(SMALL_NET.to_toml())
    out = tmp_path / "runs"
    argv = ["train", str(spec), "--data-dir", str(d), "--epochs", "2", "--out", str(out)]
    assert main([*argv, "--seeds", "2", "--stacked", "--target", "20", "--consistent", "1"]) == 0
    capsys.readouterr()
    assert main(["compare", "--wide", *map(str, sorted(out.iterdir()))]) == 0
    text = capsys.readouterr().out
    group = next(ln for ln in text.splitlines() if "2 seeds" in ln)
    assert "/2 met" in group and "±" in group and "PASS" not in group
    assert "at_target: how many epochs reached" in text
    assert main(["compare", *map(str, sorted(out.iterdir()))]) == 0  # fits 120 columns
    narrow = capsys.readouterr().out.splitlines()
    assert max(len(ln) for ln in narrow[:4]) <= 120 and "--wide shows all" in narrow[-1]
    rows = compare(sorted(out.iterdir()), expand=True)
    assert sum(r["seed"] == "2 seeds" for r in rows) == 1 and len(rows) == 2 + 2 + 1


def test_confusion_readable_at_10_and_40_classes():
    for k in (10, 40):
        cm = [[(i == j) * 50 + (i + j) % 3 for j in range(k)] for i in range(k)]
        fig = plots.confusion(cm, [f"class{c}" for c in range(k)])
        ax = fig.axes[0]
        assert len(ax.get_xticklabels()) == k and ax.get_xticklabels()[0].get_text() == "class0"
        assert len(ax.texts) == (k * k if k <= plots.COUNTS_UP_TO else 0)
        w, h = fig.get_size_inches() * fig.dpi
        assert w == plots.WIDTH * plots.DPI and h <= w


def test_curves_zoom_where_the_target_is_and_count_what_falls_below():
    """Epoch 1's 11 % train accuracy would squash the curves the target is judged on: the axis
    starts below the later half's accuracies and a note says how many points are below it."""
    hist = [{"train_loss": 2.0 / e, "test_loss": 1.0 / e, "train_acc": a, "test_acc": b}
            for e, (a, b) in enumerate([(11.0, 35.0), (80.0, 96.0), (98.0, 99.0)], 1)]  # fmt: skip
    ax = plots.learning_curves([hist], target=99.4).axes[1]
    low, high = ax.get_ylim()
    assert 70 < low <= 80.0 and high >= 99.4
    assert [t.get_text() for t in ax.texts] == ["2 points below the frame"]


def test_summary_of_a_spec_with_input_and_no_head(tmp_path, capsys):
    p = tmp_path / "feat.toml"
    p.write_text(
        'name = "feat"\ninput = [3, 32, 32]\n'
        'layers = [{kind = "conv", out = 16, pad = 1}, {kind = "maxpool"}]\n'
    )
    assert main(["summary", str(p)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("feat: input 3×32×32") and "no classifier head" in out
    assert main(["summary", "gap7496", "--input", "3x64x64"]) == 0
    out = capsys.readouterr().out
    assert "input 3×64×64" in out and "Receptive field: 64 vs input 64×64" in out
    assert main(["summary", "gap7496", "--input", "64x64"]) == 2
    assert "give channels×height×width" in capsys.readouterr().err
