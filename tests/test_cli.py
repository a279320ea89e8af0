"""The command line as users run it: output they read, errors they see, exit codes."""

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
    r = run("--help")
    assert r.returncode == 0 and "summary" in r.stdout and "zoo" in r.stdout


def test_closed_pipe_stops_quietly():
    """`tinycnn zoo | head -1`: the reader leaves early; no traceback, exit 141 as Unix tools."""
    p = subprocess.Popen(
        [sys.executable, "-m", "tinycnn", "zoo"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    p.stdout.close()  # the reader is gone before anything is written
    err = p.stderr.read().decode()
    assert p.wait() == 141, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
