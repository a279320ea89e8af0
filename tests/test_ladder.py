"""Ladder files: parsing and its errors, resume, and a small end-to-end ladder."""

import json

import pytest

from tinycnn.cli import main
from tinycnn.errors import ConfigError
from tinycnn.ladder import load_ladder, run_ladder
from tinycnn.training import Runtime

BASE = """
title = "t"
model = "gap7496"
{target}
[recipe]
epochs = 2
limit_train = 1024
limit_test = 256
batch_size = 64
rotate = 0.0
schedule = "constant"
lr = 0.05
"""
STEPS = """
[[steps]]
title = "Skeleton"
target = "a baseline"
spec = { norm = false, dropout = 0.0 }
[[steps]]
title = "+ BN"
target = "BN trains faster"
spec = { norm = true }
"""


def write(tmp_path, body, target="[target]\ntarget = 50.0\nconsistent = 1"):
    p = tmp_path / "l.toml"
    p.write_text(BASE.format(target=target) + body)
    return p


def test_parse_steps_apply_cumulatively(tmp_path):
    lad = load_ladder(
        write(tmp_path, STEPS + '[[steps]]\ntitle = "rot"\nrecipe = { rotate = 7.0 }\n')
    )
    assert [s.title for s in lad.steps] == ["Skeleton", "+ BN", "rot"]
    assert lad.steps[1].change == "norm False → True"
    assert lad.steps[2].spec.norm and lad.steps[2].recipe.rotate == 7.0
    assert lad.steps[2].recipe.epochs == 2  # base recipe carried along


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[steps]]\ntitle = "a"\nrecipee = { epochs = 3 }\n', "step 1: unknown field 'recipee'"),
        ('[[steps]]\ntitle = "a"\nspec = { norn = false }\n', "step 1 spec: unknown field 'norn'"),
        (
            '[[steps]]\ntitle = "a"\n[[steps]]\ntitle = "b"\nrecipe = { epochs = 2 }\n',
            "step 2 (b): changes nothing against step 1",
        ),
        ('[[steps]]\ntitle = "a"\nrecipe = { optimizer = "lion" }\n', "optimizer = 'lion'"),
        ('[[steps]]\ntarget = "x"\n', "step 1: needs a title"),
        ("", "needs at least one [[steps]]"),
        *(  # a published write-up's figures: a count, percentages, a note
            (f'[[steps]]\ntitle = "a"\npublished = {{ {kv} }}\n', f"published: {msg}")
            for kv, msg in [
                ("params = true", "params = True must be a whole number"),
                ("params = 7496.0", "params = 7496.0 must be a whole number"),
                ('test = "99.1"', "test = '99.1' must be a number"),
                ("train = false", "train = False must be a number"),
                ("note = 3", "note = 3 must be text"),
            ]
        ),
    ],
)
def test_parse_errors(tmp_path, body, message):
    with pytest.raises(
        ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        load_ladder(write(tmp_path, body))


def test_step_that_breaks_the_preset_is_refused_before_running(tmp_path):
    body = '[[steps]]\ntitle = "a"\n[[steps]]\ntitle = "big"\nmodel = "seq9274"\n'
    with pytest.raises(ConfigError, match=r"step 2 \(big\) breaks preset under8k: 9,274 ≥ 8,000"):
        load_ladder(write(tmp_path, body, target='preset = "under8k"'))


@pytest.mark.slow
def test_two_step_two_seed_ladder_end_to_end_and_resume(tmp_path, capsys):
    lad = load_ladder(write(tmp_path, STEPS))
    rt = Runtime(progress=False, threads=1, report=False)
    out = tmp_path / "out"
    seen = []
    run_ladder(lad, rt, out, seeds=2, on_step=lambda s, what: seen.append((s.index, what)))
    state = json.loads((out / "ladder.json").read_text())
    assert [len(state["steps"][k]["runs"]) for k in ("1", "2")] == [2, 2]
    md = (out / "ladder.md").read_text()
    assert "| Step | Target | Results | Analysis |" in md
    assert "last-1 min" in md and "/2 seeds met the target" in md and "seed-to-seed spread" in md
    assert (out / "steps.png").is_file()
    assert all("skipped" not in w for _, w in seen)
    # run again: both steps finished with the same config → skipped, nothing new trained
    before = sorted(p.name for p in (out / "step01").iterdir())
    seen.clear()
    run_ladder(lad, rt, out, seeds=2, on_step=lambda s, what: seen.append((s.index, what)))
    assert seen == [(1, "skipped (finished)"), (2, "skipped (finished)")]
    assert sorted(p.name for p in (out / "step01").iterdir()) == before


def test_ladder_resume_reruns_only_unfinished_step(tmp_path):
    lad = load_ladder(write(tmp_path, STEPS))
    rt = Runtime(progress=False, threads=1, report=False)
    out = tmp_path / "out"
    run_ladder(lad, rt, out, seeds=1)
    state = json.loads((out / "ladder.json").read_text())
    run2 = out / state["steps"]["2"]["runs"][0]
    (run2 / "status.json").write_text('{"state": "interrupted", "epoch": 1}')  # as after Ctrl-C
    seen = []
    run_ladder(lad, rt, out, seeds=1, on_step=lambda s, what: seen.append((s.index, what)))
    assert seen[0] == (1, "skipped (finished)") and "skipped" not in seen[1][1]
    assert len(list((out / "step02").iterdir())) == 2  # the interrupted run is kept, not reused


def test_ladder_cli_errors(tmp_path, capsys):
    assert main(["ladder", str(tmp_path / "none.toml")]) == 2
    assert "no such ladder file" in capsys.readouterr().err


def test_shipped_example_ladders_parse_and_fit_their_presets():
    from pathlib import Path

    from tinycnn.rules import PRESETS

    files = sorted(Path(__file__).parent.parent.glob("examples/ladders/*.toml"))
    ladders = [load_ladder(f) for f in files]
    assert {lad.target.preset for lad in ladders} == set(PRESETS)  # one per assignment
    for f in files:
        lad = load_ladder(f)  # raises if a step changes nothing or breaks the preset
        assert lad.steps and all(s.goal for s in lad.steps), f


def test_rehearsal_and_published_column(tmp_path, capsys):
    body = STEPS.replace(
        "spec = { norm = true }",
        "spec = { norm = true }\npublished = { params = 7496, test = 99.1 }",
    )
    p = write(tmp_path, body)
    out = tmp_path / "out"
    argv = ["ladder", str(p), "--out", str(out), "--threads", "1", "--no-report"]
    assert main([*argv, "--epochs", "1", "--limit-train", "256"]) == 0
    assert "rehearsal: epochs 1, limit_train 256" in capsys.readouterr().out
    runs = sorted((out / "step01").iterdir())
    cfg = json.loads((runs[0] / "config.json").read_text())["recipe"]
    assert (cfg["epochs"], cfg["limit_train"]) == (1, 256)
    md = (out / "ladder.md").read_text()
    assert "**Rehearsal** (epochs = 1, limit_train = 256)" in md
    assert "| Step | Target | Published (1 run) | Results | Analysis |" in md
    assert "params 7,496<br>test 99.10%" in md and "| – |" in md  # step 1 has no figures


def test_a_setting_added_later_does_not_rerun_finished_steps(tmp_path):
    """The fingerprint hashes what differs from the defaults: a Recipe that gains a field (at
    its default) fingerprints the same, so a shipped ladder's finished steps stay finished."""
    import dataclasses

    from tinycnn.training import Recipe

    lad = load_ladder(write(tmp_path, STEPS))
    step = lad.steps[1]
    Later = dataclasses.make_dataclass(  # noqa: N806
        "Recipe",
        [("new_knob", float, dataclasses.field(default=0.0))],
        bases=(Recipe,),
        frozen=True,
    )
    later = Later(**dataclasses.asdict(step.recipe))
    assert dataclasses.replace(step, recipe=later).fingerprint(lad.target) == step.fingerprint(
        lad.target
    )
    changed = dataclasses.replace(step, recipe=dataclasses.replace(step.recipe, lr=0.02))
    assert changed.fingerprint(lad.target) != step.fingerprint(lad.target)


def test_a_ladder_of_your_own_module_runs(tmp_path, capsys):
    """A step's model may be file.py:NAME (relative to the ladder file): its table is traced,
    the preset judges it, and ladder.md reports its steps like a spec's."""
    from pathlib import Path

    src = Path(__file__).parent.parent / "examples" / "modules" / "course_net.py"
    p = tmp_path / "mine.toml"
    p.write_text(
        f'title = "mine"\nmodel = "{src}:small"\npreset = "under8k"\n'
        '[[steps]]\ntitle = "small"\ntarget = "t"\n'
        '[[steps]]\ntitle = "the course net"\ntarget = "t"\nmodel = "' + f"{src}:Net" + '"\n'
    )
    lad = load_ladder(p)
    assert [s.change for s in lad.steps] == ["base", "model small → Net"]
    assert "7,184" in repr(lad)
    out = tmp_path / "out"
    argv = ["ladder", str(p), "--out", str(out), "--threads", "1", "--no-report"]
    assert main([*argv, "--epochs", "1", "--limit-train", "256"]) == 0
    md = (out / "ladder.md").read_text()
    assert "the course net" in md and "7,184" in md
    p.write_text(
        p.read_text().replace('title = "small"\n', 'title = "small"\nspec = { norm = false }\n')
    )
    with pytest.raises(ConfigError, match="spec switches change a spec, and small is your own"):
        load_ladder(p)
