"""Full settings for people, shrunken ones for CI, and where the course keeps what it makes.

``SGN_FAST=1`` (set by CI) shrinks every long cell; people get the full
settings by default. Notebooks write ``pick(full, fast)``. ``SGN_CACHE`` moves
the cache (default ``~/.cache/sgn_teach``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def fast_mode() -> bool:
    """True when the environment variable SGN_FAST is set to anything but '' or '0'."""
    return os.environ.get("SGN_FAST", "0") not in ("", "0")


def pick(full: T, fast: T) -> T:
    """`full` for people, `fast` under SGN_FAST=1 (CI)."""
    return fast if fast_mode() else full


def cache_dir() -> Path:
    """Where course data is kept: $SGN_CACHE, else ~/.cache/sgn_teach."""
    return Path(os.environ.get("SGN_CACHE", Path.home() / ".cache" / "sgn_teach"))
