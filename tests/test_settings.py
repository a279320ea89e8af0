"""Settings: each field's help, allowed values and unit are declared once, on the field; the
flags, their help and the range checks all read that one declaration; and one function layers
defaults < a zoo model's own recipe < --config < flags, for the CLI and the Python API alike."""

import dataclasses

import pytest

from tinycnn.cli import make_parser
from tinycnn.errors import ConfigError
from tinycnn.ranges import Range, check_fields, meta, setting
from tinycnn.rules import Target, with_preset
from tinycnn.search import SearchConfig
from tinycnn.settings import Recipe, Runtime, layered

CLASSES = [Recipe, Runtime, Target, SearchConfig]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_setting_says_what_it_means(cls):
    for f in dataclasses.fields(cls):
        assert meta(f).help, f"{cls.__name__}.{f.name} has no help"


def _help(command: str) -> dict[str, str]:
    sub = next(a for a in make_parser()._actions if hasattr(a, "choices") and a.choices)
    return {a.dest: a.help for a in sub.choices[command]._actions if a.help}


@pytest.mark.parametrize(("command", "classes"), [("train", [Recipe, Runtime, Target]),
                                                  ("search", [SearchConfig])])  # fmt: skip
def test_flags_are_built_from_the_declarations(command, classes):
    helps = _help(command)
    for cls in classes:
        for f in dataclasses.fields(cls):
            if f.name == "space":  # the search's positional SPACE
                continue
            assert helps[f.name].replace("%%", "%").startswith(meta(f).help), f.name
            assert helps[f.name].count("(default:") == 1, f.name


def test_a_help_text_with_a_percent_sign_prints_as_written():
    """argparse %-formats every help text: an unescaped "10 %" printed the action's dict."""
    import argparse

    from tinycnn.cli.flags import add_flags

    @dataclasses.dataclass(frozen=True)
    class Odd:
        share: float = setting(0.5, "a share, 50 % by default; 100 % is all")

    parser = argparse.ArgumentParser(prog="x")
    add_flags(parser, Odd)
    text = " ".join(parser.format_help().split())
    assert "a share, 50 % by default; 100 % is all (default: 0.5)" in text
    assert "option_strings" not in text


def test_the_range_check_reads_the_declaration():
    @dataclasses.dataclass(frozen=True)
    class Probe:
        rate: float = setting(0.5, "a rate", Range(0, 1, why="a probability"))

        def __post_init__(self):
            check_fields(self)

    assert Probe(0.25).rate == 0.25
    with pytest.raises(ConfigError, match=r"^rate = 1.5: must be in \[0, 1\] \(a probability\)$"):
        Probe(1.5)
    with pytest.raises(ConfigError, match="rate = nan"):
        Probe(float("nan"))


def test_search_settings_are_checked_like_a_runs():
    for bad, text in [({"seed": -1}, "seed = -1"), ({"timeout": -1.0}, "timeout = -1.0"),
                      ({"timeout": float("nan")}, "timeout = nan"), ({"limit_train": 0},
                      "limit_train = 0")]:  # fmt: skip
        with pytest.raises(ConfigError, match=text):
            SearchConfig(space="course", **bad)


def test_settings_are_layered_in_one_order(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text("[recipe]\nlr = 0.02\nepochs = 9\n")
    # course-t11's own recipe is batch 64 and its LR; the file and the flags come on top
    recipe, target, runtime = layered("course-t11", given={"recipe": {"epochs": 3}},
                                      data_target=99.4)  # fmt: skip
    assert (recipe.batch_size, recipe.epochs, round(recipe.lr, 4)) == (64, 3, 0.0994)
    recipe, _, _ = layered("course-t11", cfg, {"recipe": {"epochs": 3}}, 99.4)
    assert (recipe.batch_size, recipe.lr, recipe.epochs) == (64, 0.02, 3)
    recipe, _, _ = layered("fast7806", cfg, {}, 99.4)  # no zoo recipe: the defaults
    assert (recipe.batch_size, recipe.lr, recipe.epochs) == (128, 0.02, 9)
    assert target.target == 99.4 and runtime == Runtime()
    _, t, _ = layered("fast7806", given={"target": {"preset": "under8k"}}, data_target=99.4)
    assert t.preset == "under8k" and with_preset(t).consistent == 3  # the preset's rule
    _, t, _ = layered("fast7806", data_target=None)  # a data set without a target
    assert t.target is None
    with pytest.raises(ConfigError, match="give either --preset or --target"):
        layered("fast7806", given={"target": {"preset": "under8k", "target": 99.0}})
