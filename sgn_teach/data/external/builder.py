"""Writing a solo-clip library atomically, the last step of every dataset preparation.

Clips go into ``OUT.tmp-XXXX`` next to OUT, which is renamed to OUT only once
everything succeeded (:meth:`LibraryBuilder.commit`); leaving the ``with`` block
otherwise removes it. :func:`check_out` refuses an OUT that must not be replaced
before any download or decoding starts; :func:`finish` commits and reports.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from ...core.errors import DataError
from .common import SAMPLE_RATE, SPLITS, info, warn


class LibraryBuilder:
    """Write a solo-clip library atomically.

    Usage::

        with LibraryBuilder(out) as lib:
            lib.add_clip("cello", "abc_0", wave, split="train", group="abc")
            lib.commit()            # write splits.csv, rename OUT.tmp-XXXX → OUT

    Leaving the block without :meth:`commit` (an exception, Ctrl-C, SIGTERM
    through :func:`~.common.run_cli`) deletes the temporary folder.
    """

    def __init__(self, out: str | os.PathLike, overwrite: bool = False, sample_rate: int = SAMPLE_RATE):
        self.out = Path(out).absolute()
        self.overwrite = overwrite
        self.sample_rate = sample_rate
        self.tmp: Path | None = None
        self.rows: list[tuple[str, str]] = []
        self.group_split: dict[str, str] = {}
        self.per_class: Counter = Counter()
        self.committed = False

    def __enter__(self) -> "LibraryBuilder":
        check_out(self.out, self.overwrite)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{self.out.name}.tmp-", dir=self.out.parent))
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if not self.committed and self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False

    def count(self, cls: str) -> int:
        """Clips written so far for class `cls`."""
        return self.per_class[cls]

    def add_clip(self, cls: str, name: str, wave: np.ndarray, split: str, group: str) -> str:
        """Save one mono clip as ``<class>/<name>.wav``.

        Args:
            cls: class folder name (already safe).
            name: clip file stem.
            wave: (L,) float32 at the library rate.
            split: train/val/test.
            group: the recording the clip comes from; all clips of a group must share a split.

        Returns:
            the clip's path relative to the library root.
        """
        from ...signal.audio import save_audio

        assert self.tmp is not None, "use LibraryBuilder as a context manager"
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
        if self.group_split.setdefault(group, split) != split:  # a bug in a caller, not a user error
            raise RuntimeError(f"recording {group!r} would be in both {self.group_split[group]} and {split}")
        rel = f"{cls}/{name}.wav"
        path = self.tmp / cls / f"{name}.wav"
        if path.exists():
            raise RuntimeError(f"two clips named {rel}")
        save_audio(path, np.asarray(wave, dtype=np.float32), self.sample_rate)
        self.rows.append((rel, split))
        self.per_class[cls] += 1
        return rel

    def commit(self) -> dict:
        """Write splits.csv and move the library into place.

        Returns:
            {"out", "classes": {class: n}, "splits": {split: n}, "clips"}.

        Raises:
            DataError: no clip was produced.
        """
        assert self.tmp is not None
        if not self.rows:
            raise DataError("no clips were produced (every input was missing, unreadable or silent)")
        with open(self.tmp / "splits.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["path", "split"])
            writer.writerows(sorted(self.rows))
        old = None
        if self.out.exists():  # only reachable with overwrite=True or an empty folder (check_out)
            old = Path(tempfile.mkdtemp(prefix=f"{self.out.name}.old-", dir=self.out.parent))
            os.replace(self.out, old / "lib")
        os.replace(self.tmp, self.out)
        self.committed = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        splits = Counter(split for _, split in self.rows)
        return {"out": str(self.out), "classes": dict(sorted(self.per_class.items())),
                "splits": {s: splits.get(s, 0) for s in SPLITS}, "clips": len(self.rows)}


def check_out(out: str | os.PathLike, overwrite: bool) -> None:
    """Raise :class:`DataError` if OUT exists (and is not an empty folder) without overwrite."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise DataError(f"{out} already exists; pass --overwrite to replace it")


def summary_line(result: dict) -> str:
    """``wrote OUT: 4 classes, 120 clips (train 90, val 12, test 18); per class: a 30, …``."""
    per = ", ".join(f"{c} {n}" for c, n in result["classes"].items())
    sp = ", ".join(f"{s} {n}" for s, n in result["splits"].items())
    return f"wrote {result['out']}: {len(result['classes'])} classes, {result['clips']} clips ({sp}); per class: {per}"


def finish(lib: LibraryBuilder) -> dict:
    """Commit the library, print its summary, warn if fewer than 2 classes (nothing to mix)."""
    result = lib.commit()
    info(summary_line(result))
    if len(result["classes"]) < 2:
        warn("the library has fewer than 2 classes: mix-and-separate needs at least 2")
    return result
