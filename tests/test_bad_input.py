"""Bad input, table-driven: data, flags, config files, specs and budgets.

Each case runs `tinycnn train` as a user would (in this process, through `cli.main`, so the whole
table takes seconds) and must end with exit code 2, one line on stderr that names the problem,
no traceback, and no run directory: a run that never starts leaves nothing behind.
"""

import gzip

import pytest
import torch
from helpers import idx_bytes, write_set

from tinycnn.cli import main
from tinycnn.idx import FILES

QUICK = ["--epochs", "1", "--limit-train", "64", "--limit-test", "32", "--threads", "1",
         "--quiet", "--no-report", "--device", "cpu"]  # fmt: skip


def expect_refused(capsys, tmp_path, argv, message):
    out = tmp_path / "runs"
    code = main(["train", *QUICK, "--out", str(out), *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err  # one line
    assert message in err, err
    assert "Traceback" not in err
    assert not out.exists() or not any(out.iterdir()), "a refused run left a run directory"


# ----- data invariants --------------------------------------------------------------------------
def _set_with(tmp_path, **replace):
    """A valid 3-class IDX set with some files' tensors replaced."""
    parts, paths = write_set(tmp_path, n_train=12, n_test=6, h=8, w=8, classes=3)
    for key, t in replace.items():
        paths[key].write_bytes(idx_bytes(t))
    return tmp_path


DATA = {
    # one stray label would silently add outputs (a label of 11 makes 12 classes)
    "stray train label": (
        {"train_labels": torch.tensor([0, 1, 2] * 3 + [0, 1, 11])},
        "class 3 has no training image and label 11 appears (first at image 11)",
    ),
    "test label not in train": (
        {"test_labels": torch.tensor([0, 1, 2, 0, 1, 3])},
        "label 3 at image 5 is not a class of the training set (0..2)",
    ),
    "one class": (
        {"train_labels": torch.zeros(12), "test_labels": torch.zeros(6)},
        "only one class",
    ),
    "one training image": (
        {"train_images": torch.ones(1, 8, 8), "train_labels": torch.tensor([0])},
        "1 images; the train split needs at least 2",
    ),
    "empty test split": (
        {"test_images": torch.ones(0, 8, 8), "test_labels": torch.zeros(0)},
        "0 images; the test split needs at least 1",
    ),
    "blank images": (
        {"train_images": torch.full((12, 8, 8), 7)},
        "every training pixel is 7; the images are blank",
    ),
    "counts differ": ({"train_labels": torch.arange(11) % 3}, "12 images but 11 labels"),
}


@pytest.mark.parametrize("case", DATA)
def test_bad_data(capsys, tmp_path, case):
    replace, message = DATA[case]
    (tmp_path / "data").mkdir()
    d = _set_with(tmp_path / "data", **replace)
    expect_refused(capsys, tmp_path, ["--data-dir", str(d)], message)


def test_truncated_gzip_idx(capsys, tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    write_set(d, gz=True)
    p = d / (FILES["train_images"] + ".gz")
    p.write_bytes(gzip.compress(p.read_bytes())[:40])
    expect_refused(capsys, tmp_path, ["--data-dir", str(d)], "not a readable gzip file")


# ----- flags and config values: one table of ranges for both ------------------------------------
FLAGS = [
    (["--seeds", "0"], "seeds = 0: must be ≥ 1"),
    (["--epochs", "0"], "epochs = 0: must be ≥ 1"),
    (["--momentum", "-0.5"], "momentum = -0.5: must be in [0, 1)"),
    (["--weight-decay", "-1"], "weight_decay = -1.0: must be ≥ 0"),
    (["--threads", "0"], "threads = 0: must be ≥ 1"),
    (["--schedule", "step", "--step-size", "0"], "step_size = 0: must be ≥ 1"),
    (["--div-factor", "0"], "div_factor = 0.0: must be > 0"),
    (["--schedule", "plateau", "--plateau-factor", "1"], "plateau_factor = 1.0: must be in (0, 1)"),
    (["--lr", "nan"], "lr = nan: must be > 0"),
    (["--lr", "inf"], "lr = inf: must be > 0"),
    (["--batch-size", "1"], "batch_size = 1: must be ≥ 2"),
    (["--target", "101"], "target = 101.0: must be in (0, 100]"),
    (["--rotate", "400"], "rotate = 400.0: must be in [0, 180]"),
    (["--seed", "-3"], "seed = -3: must be in [0,"),
    (["--limit-train", "1"], "limit_train = 1: must be ≥ 2"),
    (["--min-params", "9000", "--max-params", "8000"], "min_params = 9000 is above max_params"),
    (["--min-params", "9000"], "7,806 < 9,000 params, breaking the budget; widen the spec"),
    (["--max-epochs", "0"], "max_epochs = 0: must be ≥ 1"),
]


@pytest.mark.parametrize(("argv", "message"), FLAGS, ids=[" ".join(a) for a, _ in FLAGS])
def test_bad_flags(capsys, tmp_path, argv, message):
    expect_refused(capsys, tmp_path, argv, message)


CONFIGS = [
    ("[recipe]\nmomentum = -1\n", "momentum = -1: must be in [0, 1)"),
    ("[recipe]\nstep_size = true\n", "step_size = True: expected int"),
    ("[runtime]\nfast_pool = 'yes'\n", "fast_pool = 'yes': expected bool"),
    ("[target]\ntarget = 0\n", "target = 0: must be in (0, 100]"),
    ("lr = nan\n", "lr = nan: must be > 0"),
]


@pytest.mark.parametrize(("text", "message"), CONFIGS)
def test_bad_config_values(capsys, tmp_path, text, message):
    cfg = tmp_path / "run.toml"
    cfg.write_text(text)
    expect_refused(capsys, tmp_path, ["--config", str(cfg)], message)


def test_non_utf8_config(capsys, tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_bytes("[recipe]\n# Größe\nepochs = 2\n".encode("latin-1"))
    expect_refused(capsys, tmp_path, ["--config", str(cfg)], "not UTF-8 text (byte 0xf6")


def test_python_api_checks_the_same_ranges():
    from tinycnn.errors import ConfigError
    from tinycnn.training import Recipe, Runtime, Target

    with pytest.raises(ConfigError, match=r"lr = nan: must be > 0"):
        Recipe(lr=float("nan"))
    with pytest.raises(ConfigError, match=r"threads = -2: must be ≥ 1"):
        Runtime(threads=-2)
    with pytest.raises(ConfigError, match=r"consistent = 0"):
        Target(consistent=0)
    with pytest.raises(ConfigError, match=r"epochs = '3': expected int"):
        Recipe(epochs="3")


# ----- specs ------------------------------------------------------------------------------------
GOOD_LAYERS = """layers = [
    { kind = "conv", out = 8 },
    { kind = "maxpool" },
    { kind = "conv", out = "classes", then = [] },
    { kind = "gap" },
]
"""
SPECS = [
    ('name = "s"\nnorm = "no"\n' + GOOD_LAYERS, "norm = 'no' must be true or false"),
    ('name = "s"\nbias = "false"\n' + GOOD_LAYERS, "bias = 'false' must be true or false"),
    ('name = "s"\ndropout = true\n' + GOOD_LAYERS, "dropout = True must be a number"),
    ('name = "../../escape"\n' + GOOD_LAYERS, "spec name '../../escape': use letters, digits"),
    ('name = "a/b"\n' + GOOD_LAYERS, "spec name 'a/b'"),
    ('name = ""\n' + GOOD_LAYERS, "spec name ''"),
    (
        'name = "s"\nlayers = [{ kind = "conv", out = true }, { kind = "gap" }]\n',
        "out must be a positive integer",
    ),
    (
        'name = "s"\nlayers = [{ kind = "conv", out = 8, k = 2.5 }, { kind = "gap" }]\n',
        "k must be a positive integer, got 2.5",
    ),
    (
        'name = "s"\nlayers = [{ kind = "conv", out = 8, bias = 1 }, { kind = "gap" }]\n',
        "bias = 1 must be true or false",
    ),
    (  # torch refuses pooling pads over half the window: say so before building
        'name = "s"\nlayers = [{ kind = "conv", out = 8 }, { kind = "maxpool", k = 2, pad = 2 },'
        ' { kind = "conv", out = "classes", then = [] }, { kind = "gap" }]\n',
        "maxpool pad 2 is more than half its 2×2 window; use pad ≤ 1",
    ),
    (
        'name = "s"\nlayers = [{ kind = "conv", out = 8 }, { kind = "avgpool", k = 3, pad = 2 },'
        ' { kind = "conv", out = "classes", then = [] }, { kind = "gap" }]\n',
        "avgpool pad 2 is more than half its 3×3 window",
    ),
]


@pytest.mark.parametrize(("text", "message"), SPECS)
def test_bad_specs(capsys, tmp_path, text, message):
    spec = tmp_path / "mine.toml"
    spec.write_text(text)
    expect_refused(capsys, tmp_path, [str(spec)], message)


def test_non_utf8_spec(capsys, tmp_path):
    spec = tmp_path / "mine.toml"
    spec.write_bytes(('name = "s"\ndescription = "für"\n' + GOOD_LAYERS).encode("latin-1"))
    expect_refused(capsys, tmp_path, [str(spec)], "not UTF-8 text (byte 0xfc")


def test_huge_spec_refused_before_allocation(capsys, tmp_path):
    """9 billion parameters under --max-params 8000: refused by the table's arithmetic, in
    well under a second, before a tensor of that size is asked for (it would need 36 GB)."""
    import time

    spec = tmp_path / "huge.toml"
    spec.write_text(
        'name = "huge"\nlayers = [{ kind = "conv", out = 30000, k = 1 }, '
        '{ kind = "conv", out = 300000, k = 1 }, { kind = "conv", out = "classes", then = [] },'
        ' { kind = "gap" }]\n'
    )
    t0 = time.perf_counter()
    expect_refused(capsys, tmp_path, [str(spec), "--max-params", "8000"], "> 8,000 params")
    assert time.perf_counter() - t0 < 5
    # without a budget, the machine's memory is the budget
    expect_refused(capsys, tmp_path, [str(spec)], "but this machine has")


OTHER_COMMANDS = [
    (["bench", "--seeds", "0"], "seeds = 0: must be ≥ 1"),
    (["bench", "--threads", "0"], "threads = 0: must be ≥ 1"),
    (["bench", "--parallel", "-1"], "parallel = -1: must be ≥ 0"),
    (["ladder", "examples/ladders/ladder1_7k5.toml", "--seeds", "0"], "seeds = 0: must be ≥ 1"),
    (["ladder", "examples/ladders/ladder1_7k5.toml", "--threads", "0"], "threads = 0"),
]


@pytest.mark.parametrize(
    ("argv", "message"), OTHER_COMMANDS, ids=[" ".join(a) for a, _ in OTHER_COMMANDS]
)
def test_other_commands_check_the_same_ranges(capsys, tmp_path, monkeypatch, argv, message):
    """bench and ladder train too: their counts go through the same table (--seeds 0 made a
    ladder train one seed, and bench divide by zero)."""
    import pathlib

    argv = [
        str(pathlib.Path(__file__).parent.parent / a) if a.endswith(".toml") else a for a in argv
    ]
    monkeypatch.chdir(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err
    assert not any(tmp_path.iterdir()), "nothing may be written"
