"""The command line as users run it: output they read, errors they see, exit codes."""

import argparse
import json
import subprocess
import sys

import pytest

from tinycnn.cli import main


def run(*argv):
    return subprocess.run(
        [sys.executable, "-m", "tinycnn", *argv], capture_output=True, text=True, timeout=120
    )


def test_summary_text(capsys):
    assert main(["summary", "gap7496"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 7,496" in out
    assert "Receptive field: 28 vs input 28×28 (covers the image)" in out


def test_summary_json_and_markdown(capsys):
    assert main(["summary", "seq9274", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_params"] == 9274
    keys = {
        "name",
        "kind",
        "shape",
        "n_in",
        "n_out",
        "ch_in",
        "ch_out",
        "padding",
        "kernel",
        "stride",
        "j_in",
        "j_out",
        "r_in",
        "r_out",
        "params",
    }
    assert keys <= set(data["layers"][0])
    assert main(["summary", "seq9274", "--markdown"]) == 0
    assert capsys.readouterr().out.startswith("| name | kind | shape |")


def test_spec_file_from_zoo_toml(tmp_path, capsys):
    assert main(["zoo", "gap7496"]) == 0
    p = tmp_path / "mine.toml"
    p.write_text(capsys.readouterr().out.replace("out = 20", "out = 24"))
    assert main(["summary", str(p)]) == 0
    assert "Total params: 8," in capsys.readouterr().out  # 20→24 channels adds params


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["summary", "nope"], "error: unknown model 'nope'"),
        (["summary", "missing.toml"], "error: missing.toml: no such spec file"),
        (
            ["summary", "gap7496", "--data-dir", "/nonexistent"],
            "error: /nonexistent: no such directory",
        ),
    ],
)
def test_errors_are_one_line_and_nonzero(argv, message):
    r = run(*argv)
    assert r.returncode == 2
    assert r.stderr.strip() == r.stderr.strip().splitlines()[0]  # one line, no traceback
    assert r.stderr.startswith(message)


def test_help_lists_commands():
    """Every registered sub-command appears in --help, with its one-line help."""
    from tinycnn.cli import make_parser

    sub = next(a for a in make_parser()._actions if isinstance(a, argparse._SubParsersAction))
    r = run("--help")
    assert r.returncode == 0
    assert len(sub.choices) >= 14
    for action in sub._choices_actions:  # name and help, as argparse lists them
        assert action.dest in r.stdout and action.help.split()[0] in r.stdout, action.dest


def test_closed_pipe_stops_quietly():
    """`tinycnn zoo | head -1`: the reader leaves early; no traceback, exit 141 as Unix tools."""
    p = subprocess.Popen(
        [sys.executable, "-m", "tinycnn", "zoo"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    p.stdout.close()  # the reader is gone before anything is written
    err = p.stderr.read().decode()
    assert p.wait() == 141, err
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_a_spec_file_from_the_zoo_is_named_after_the_file(tmp_path, capsys):
    from tinycnn.spec import load_spec_file

    assert main(["zoo", "gap7496"]) == 0
    text = capsys.readouterr().out
    (tmp_path / "mine.toml").write_text(text)
    assert load_spec_file(tmp_path / "mine.toml").name == "mine"  # not the zoo's gap7496
    (tmp_path / "other.toml").write_text('name = "kept"\n' + text)
    assert load_spec_file(tmp_path / "other.toml").name == "kept"  # a name in the file wins


def test_dry_run_says_ok_and_keeps_nothing(tmp_path, capsys):
    out = tmp_path / "runs"
    args = ["train", "--dry-run", "--threads", "1", "--quiet", "--device", "cpu", "--out", str(out)]
    assert main(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("dry run OK: 1 epoch on 512 images") and "FAIL" not in lines[-1]
    assert not out.exists() or not any(out.iterdir())  # nothing among the real runs


def test_train_help_states_each_default_once(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for flag_help in text.split(" --")[1:]:
        assert flag_help.count("(default:") <= 1, flag_help
