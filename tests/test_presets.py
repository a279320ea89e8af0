"""Presets on zoo models: each rule both passing and failing, and the messages users see."""

import dataclasses
from pathlib import Path

import pytest

from tinycnn import build, zoo
from tinycnn.cli import main
from tinycnn.errors import BudgetError, ConfigError
from tinycnn.rules import PRESETS, features, load_preset, static_conditions
from tinycnn.spec import Spec, avgpool, conv, dropout, flatten, linear, maxpool
from tinycnn.table import layer_table
from tinycnn.training import Recipe, Runtime, Target, train


def broken(preset, model, epochs=None):
    spec = zoo.get(model) if isinstance(model, str) else model
    return [c.text for c in static_conditions(PRESETS[preset], spec, epochs) if not c.ok]


def test_each_zoo_budget_model_fits_its_preset():
    assert broken("under8k", "gap7496", 15) == []
    assert broken("under10k", "seq9274", 15) == []
    assert broken("under20k-nofc", "nofc17k", 19) == []
    assert broken("12k-18k", "fc14k", 19) == []


def test_params_rules_fail_with_numbers():
    assert broken("under8k", "seq9274") == ["9,274 ≥ 8,000 params"]
    assert broken("12k-18k", "gap7496", 19)[0] == "7,496 params outside 12,000–18,000"


def test_epoch_rules():
    assert broken("under8k", "gap7496", 16) == ["16 > 15 epochs"]
    assert broken("under20k-nofc", "nofc17k", 20) == ["20 ≥ 20 epochs"]
    assert broken("12k-18k", "fc14k", 18) == ["18 ≠ 19 epochs"]


def test_feature_rules_fail_and_pass():
    assert broken("under20k-nofc", "fc14k") == ["has fully connected layer"]
    nobn = zoo.get("fc14k").with_(norm=False)
    assert broken("12k-18k", nobn, 19) == ["no batch norm"]
    assert broken("12k-18k", zoo.get("fc14k").with_(dropout=0.1), 19) == ["dropout p 0.1 ≠ 0.069"]
    assert "no dropout" in broken("12k-18k", zoo.get("fc14k").with_(dropout=0.0), 19)


def test_gap_is_any_pooling_over_the_whole_map():
    # course style AvgPool2d(k) covering the whole remaining map counts as GAP, channel dropout
    # counts as dropout; a pool that leaves a map larger than 1×1 does not count
    s = Spec(
        "course",
        (
            conv(8),
            maxpool(),
            conv(16),
            conv(16),
            conv(16),
            conv(16),
            conv("classes", then=()),
            dropout(0.1, channel=True),
            avgpool(3),
        ),
    )  # 3×3 map
    t = layer_table(s)
    f = features(t)
    assert f["gap"] and f["dropout"] and not f["fc"]
    s2 = Spec("notgap", (conv(8), avgpool(2), conv(8), flatten(), linear("classes")))
    assert not features(layer_table(s2))["gap"]


def test_user_preset_file(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text('params_below = 7000\nrequires = ["bn"]\ntarget = 99.0\n')
    pre = load_preset(p)
    assert pre.name == "mine" and pre.rules() == [
        "< 7,000 params",
        "test ≥ 99.0% in the last epoch",
        "must have batch norm",
    ]
    bad = tmp_path / "bad.toml"
    bad.write_text("params_belw = 7000\n")
    with pytest.raises(ConfigError, match="unknown preset field 'params_belw'"):
        load_preset(bad)
    bad.write_text('requires = ["attention"]\n')
    with pytest.raises(ConfigError, match="unknown feature 'attention'"):
        load_preset(bad)
    with pytest.raises(ConfigError, match="unknown preset 'nope'; built in: under8k"):
        load_preset("nope")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('params_below = "lots"', "params_below = 'lots'; give a whole number ≥ 1"),
        ("epochs_at_most = 15.5", "epochs_at_most = 15.5; give a whole number ≥ 1"),
        ("consistent = 0", "consistent = 0; give a whole number ≥ 1"),
        ("params_range = [18000, 12000]", r"params_range = \(18000, 12000\); give \[low, high\]"),
        ("params_range = 5", r"params_range = 5; give \[low, high\]"),
        ('target = "high"', "target = 'high'; give a number in 0–100"),
        ("dropout_p = true", "dropout_p = True; give a number in 0–1"),
        ("requires = 5", "requires must be a list"),
    ],
)
def test_preset_file_with_a_wrong_type_is_one_line(tmp_path, body, message):
    """A hand-written preset file (examples/presets/under5k.toml is one to copy) with a value
    of the wrong type or range: one ConfigError naming the field, not a TypeError mid-run."""
    bad = tmp_path / "mine.toml"
    bad.write_text(body + "\n")
    with pytest.raises(ConfigError, match="preset mine: " + message):
        load_preset(bad)
    assert main(["train", "fast7806", "--preset", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_train_with_preset_refuses_and_judges(tmp_path):
    rt = Runtime(out=str(tmp_path), progress=False, threads=1, report=False)
    with pytest.raises(BudgetError, match="seq9274 breaks preset under8k: 9,274 ≥ 8,000 params"):
        train("seq9274", Recipe(epochs=1), Target(preset="under8k"), rt)
    r = train(
        "gap7496", Recipe(epochs=1, limit_train=256, limit_test=128), Target(preset="under8k"), rt
    )
    line = r.verdict.line()
    assert line.startswith("FAIL  ✗ test ≥ 99.40% in each of the last 3 epochs")
    assert "7,496 < 8,000 params · 1 ≤ 15 epochs" in line


def test_check_cli(capsys):
    assert main(["check", "fc14k", "--preset", "12k-18k", "--epochs", "19"]) == 0
    params = sum(p.numel() for p in build(zoo.get("fc14k")).parameters())  # the module's count
    assert capsys.readouterr().out.startswith(f"PASS  fc14k vs 12k-18k: {params:,} params in")
    assert main(["check", "gap7496", "--preset", "under20k-nofc"]) == 0
    assert main(["check", "seq9274", "--preset", "under8k"]) == 1
    assert "✗ 9,274 ≥ 8,000 params" in capsys.readouterr().out
    assert main(["presets"]) == 0
    assert "12k-18k" in capsys.readouterr().out


# The four assignments as their write-ups state them: the oracle the built-in presets must match.
ASSIGNMENTS = {
    "under8k": ["< 8,000 params", "≤ 15 epochs", "test ≥ 99.4% in each of the last 3 epochs"],
    "under10k": ["< 10,000 params", "≤ 15 epochs", "test ≥ 99.4% in each of the last 3 epochs"],
    "under20k-nofc": [
        "< 20,000 params",
        "< 20 epochs",
        "test ≥ 99.4% in the last epoch",
        "no fully connected layer",
    ],
    "12k-18k": [
        "12,000–18,000 params",
        "exactly 19 epochs",
        "test ≥ 99.4% in the last epoch",
        "must have batch norm",
        "must have global average pool",
        "must have fully connected layer",
        "must have 1×1 conv",
        "must have dropout",
        "dropout exactly 0.069",
    ],
}


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_builtin_presets_state_the_assignments(name):
    assert PRESETS[name].rules() == ASSIGNMENTS[name]


def test_a_preset_file_is_the_same_data(tmp_path):
    """A preset is data: the TOML file with the built-in's fields loads as an equal Preset."""
    p = tmp_path / "under8k.toml"
    p.write_text("params_below = 8000\nepochs_at_most = 15\nconsistent = 3\n")
    got = load_preset(p)
    assert (
        dataclasses.replace(got, description=PRESETS["under8k"].description) == PRESETS["under8k"]
    )


def test_budget_rules_are_every_rule_but_the_accuracy():
    p = PRESETS["12k-18k"]
    assert p.budget_rules() == [r for r in p.rules() if not r.startswith("test ≥")]
    assert len(p.rules()) == len(p.budget_rules()) + 1
    assert p.budget_rules()[:2] == ["12,000–18,000 params", "exactly 19 epochs"]


SHIPPED = sorted((Path(__file__).parent.parent / "examples" / "presets").glob("under*k.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_frontier_presets_hold_the_budget_their_name_states(path):
    """examples/presets/underNk.toml: ≤ N,000 params (N,000 passes, N,001 fails), ≤ 15 epochs,
    each of the last 3 — the frontier's rule at N,000, the oracle being the file's name."""
    preset = load_preset(path)
    n = int(path.stem.removeprefix("under").removesuffix("k")) * 1000
    assert (preset.name, preset.params_below, preset.epochs_at_most) == (path.stem, n + 1, 15)
    assert preset.consistent == 3
