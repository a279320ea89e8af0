"""CI runs exactly the README's test command, and the script that does so is valid bash.

A broken `.ci/run` fails CI in 0 s while `make test` still passes locally, so the script itself is
checked: `bash -n` parses it, and its last command is the one README's opening block names.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CI = ROOT / ".ci" / "run"


def _commands(script: str) -> list[str]:
    """Non-blank lines outside comments, as bash would run them (no line continuations here)."""
    return [
        ln.strip() for ln in script.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is needed to parse .ci/run")
def test_ci_script_parses():
    done = subprocess.run(["bash", "-n", str(CI)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert block, "README opens with a bash block of the two commands"
    tests_cmd = [ln.split("#")[0].strip() for ln in block.group(1).splitlines() if "test" in ln]
    assert tests_cmd == ["make test"], tests_cmd
    assert _commands(CI.read_text())[-1] == tests_cmd[0]


def test_ci_comments_hold_no_commands():
    """The failure that broke CI: a command pasted inside a comment's open backquote."""
    for ln in CI.read_text().splitlines():
        if ln.lstrip().startswith("#"):
            assert ln.count("`") % 2 == 0, f"unbalanced backquote in .ci/run comment: {ln!r}"
