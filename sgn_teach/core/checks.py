"""Checks made *before* a long job starts, so that a mistake costs seconds, not a run.

* settings out of range (``--steps 0``, ``--n-mixtures -1``, ``--duration 0``);
* places that cannot be written (a file where a folder is needed, a folder
  without permission, an immutable folder, a read-only or virtual file system
  such as /proc) — found by actually creating and removing a temp entry there,
  because permission bits alone do not tell (root ignores them, `chattr +i` and
  read-only mounts override them).

The check of a solo-clip library's clips (every clip decodes, is not empty,
silent or non-finite) is :func:`sgn_teach.data.checks.check_clips`.

Each failure raises an :class:`~sgn_teach.core.errors.SGNError` subclass whose message
is the one line the command line prints.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

from .errors import ConfigError, OutputError


def require_int(name: str, value: int, minimum: int = 1) -> None:
    """ConfigError unless `value` is an integer ≥ `minimum` (`name` is the option, e.g. "--steps")."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer of at least {minimum}, not {value!r}")


def require_positive(name: str, value: float) -> None:
    """ConfigError unless `value` is a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name} must be a positive number, not {value!r}")


def require_finite_nonnegative(name: str, value: float) -> None:
    """ConfigError unless `value` is a finite number ≥ 0 (a loss weight, a temperature)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name} must be a finite number ≥ 0, not {value!r}")


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _probe(folder: Path, what: Path) -> None:
    """Create and remove a temp folder in `folder`: OutputError if that is impossible."""
    try:
        probe = tempfile.mkdtemp(prefix=".tmp-probe-", dir=folder)
        os.rmdir(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputError(f"{what}: cannot write in {folder} ({reason})") from None


def check_writable_dir(path: str | os.PathLike, what: str = "") -> Path:
    """OutputError unless `path` is (or can be created as) a folder we can write into. Writes nothing lasting."""
    path = Path(path)
    label = what or str(path)
    base = _nearest_existing(path)
    if not base.is_dir():
        raise OutputError(f"{label}: exists and is not a folder" if base == path and not what
                          else f"{label}: {base} is a file, not a folder")
    _probe(base, Path(label))
    return path


def check_writable_file(path: str | os.PathLike, what: str = "") -> Path:
    """OutputError unless a file can be written at `path` (its folder may still have to be created)."""
    path = Path(path)
    label = what or str(path)
    if path.is_dir():
        raise OutputError(f"{label}: is a folder, not a file name")
    if path.exists() and not path.is_file():
        raise OutputError(f"{label}: exists and is not a regular file")
    check_writable_dir(path.parent, what=label)
    return path
