"""Reading TOML (specs, configs, presets, ladders) with one-line errors that name the file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .errors import TinyCnnError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

TOMLDecodeError = tomllib.TOMLDecodeError


def parse(text: str, where: str, error: type[TinyCnnError]) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise error(f"{where}: not valid TOML ({e}); check quoting and brackets") from None


def read(path: str | Path, what: str, hint: str, error: type[TinyCnnError]) -> dict[str, Any]:
    """Parse the TOML file at `path`; `what` names it ("ladder file"), `hint` says what to do."""
    p = Path(path)
    if not p.is_file():
        raise error(f"{p}: no such {what}; {hint}")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(
            f"{p}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
            f"save the {what} as UTF-8"
        ) from None
    return parse(text, str(p), error)
