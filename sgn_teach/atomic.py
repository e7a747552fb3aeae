"""Atomic file writes: a temp file in the target folder, then a rename.

Every file the package writes (wavs, checkpoints, JSON reports, figures) goes
through :func:`atomic_path`, so an error or an interrupt never leaves a
truncated file behind, and finished files are ordinary 0644 files (mkstemp
alone would leave them 0600).
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temp path next to `path`; on success it becomes `path`, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=suffix or path.suffix, dir=path.parent, prefix=".tmp-")
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike, obj: Any, indent: int = 2) -> Path:
    """Write `obj` as JSON atomically."""
    with atomic_path(path, ".json") as tmp, open(tmp, "w") as f:
        json.dump(obj, f, indent=indent)
    return Path(path)
