"""The model zoo: registered specs (data, not classes), each with its description and provenance.

Add a model by writing a `Spec` and calling `register` (in `classic.py`, the course's models and
the width cuts of the default, or `frontier.py`, the smallest designs and where they came from);
the test suite sweeps every entry (builds, forward, gradients, table vs module), so a new entry is
tested without new tests. An entry whose evidence was measured under other training settings than
the default recipe registers them too (`recipe=`): training it by name starts from those
settings, the way timm models carry their default config, so the zoo's numbers are reproducible
by name alone.
"""

from . import classic, frontier  # noqa: F401  (importing them registers their entries)
from .registry import DEFAULT_MODEL, get, is_file_model, names, recipe, register, resolve

__all__ = ["DEFAULT_MODEL", "get", "is_file_model", "names", "recipe", "register", "resolve"]
