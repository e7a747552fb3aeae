"""Atomic file writes: a temp file in the target folder, then a rename.

Every file the package writes (wavs, checkpoints, JSON reports, figures) goes
through :func:`atomic_path`, so an error or an interrupt never leaves a
truncated file behind, and finished files are ordinary 0644 files (mkstemp
alone would leave them 0600). A *set* of files that belong together (the wavs
and figure of one `separate`) goes through :func:`atomic_dir`: all or nothing.

Temp names start with :data:`TMP_PREFIX`; a process killed with SIGKILL in the
middle of a write leaves one behind, which :func:`remove_stale_tmp` clears (the
library reader skips hidden files anyway).
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .errors import OutputError

TMP_PREFIX = ".tmp-"


WRITE_ERRNOS = {errno.ENOSPC: "No space left on device", errno.EDQUOT: "disk quota exceeded",
                errno.EROFS: "read-only file system", errno.EACCES: "permission denied", errno.EPERM: "not permitted",
                errno.EFBIG: "file too large", errno.EIO: "input/output error"}


def write_failure(path: str | os.PathLike, exc: BaseException) -> OutputError | None:
    """The one-line OutputError for a failed write of `path` (a full disk, a read-only or forbidden place),
    or None when `exc` is not such a failure. PyTorch reports a full disk as a RuntimeError."""
    if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
        return OutputError(f"{path}: cannot write: {exc.strerror or WRITE_ERRNOS[exc.errno]}")
    if isinstance(exc, RuntimeError) and ("write failed" in str(exc) or "No space left" in str(exc)):
        return OutputError(f"{path}: cannot write: {WRITE_ERRNOS[errno.ENOSPC]} (or the device failed)")
    return None


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temp path next to `path`; on success it becomes `path`, on error it is removed.

    A write that fails for want of space or permission becomes one :class:`OutputError` line naming `path`.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=suffix or path.suffix, dir=path.parent, prefix=TMP_PREFIX)
        os.close(fd)
    except OSError as exc:
        raise (write_failure(path, exc) or exc) from None
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        failure = write_failure(path, exc)
        if failure is not None:
            raise failure from None
        raise


def json_safe(obj: Any) -> Any:
    """A copy of `obj` that is strict JSON: NaN and ±inf become None (null), NumPy scalars plain numbers.

    ``json.dump`` would otherwise write bare ``NaN`` / ``Infinity``, which no
    JSON parser outside Python accepts.
    """
    if isinstance(obj, dict):
        return {str(k) if not isinstance(k, str) else k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 0) == 0:  # NumPy / torch scalar
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, int):
        return int(obj)
    if hasattr(obj, "tolist"):  # NumPy arrays, tensors
        return json_safe(obj.tolist())
    return obj


def write_json(path: str | os.PathLike, obj: Any, indent: int = 2) -> Path:
    """Write `obj` as strict JSON (NaN/inf → null, :func:`json_safe`) atomically."""
    text = json.dumps(json_safe(obj), indent=indent, allow_nan=False)  # serialise first: a failure writes nothing
    with atomic_path(path, ".json") as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    return Path(path)


def remove_stale_tmp(folder: str | os.PathLike) -> list[Path]:
    """Delete the temp files/folders (``.tmp-*``) a killed writer left directly in `folder`; return them.

    Call it only while no other process writes there (e.g. holding the run's lock).
    """
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for p in folder.glob(TMP_PREFIX + "*"):
        try:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            removed.append(p)
        except OSError:
            pass  # not ours to remove (permissions): it is hidden and ignored anyway
    return removed


def process_alive(pid: int) -> bool:
    """Is process `pid` running (on this host)? Staging folders and run locks name their writer's pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def remove_dead_staging(folder: Path, prefix: str) -> list[Path]:
    """Delete the staging folders ``<prefix><pid>-*`` in `folder` whose process is gone (a killed `separate`
    leaves one, with its temp stream: tens of MB); those of a live process are left alone."""
    removed = []
    for p in folder.glob(prefix + "*"):
        pid = p.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            removed.append(p)
    return removed


class AtomicDir:
    """Write a set of files into `target` all at once (see :func:`atomic_dir`).

    Attributes:
        target: the folder the files end up in.
        tmp: the folder to write them into meanwhile.
    """

    def __init__(self, target: str | os.PathLike) -> None:
        self.target = Path(target)
        if self.target.exists() and not self.target.is_dir():
            raise FileExistsError(f"{self.target} exists and is not a folder")
        self.fresh = not self.target.exists()
        self._made: list[Path] = []          # parent folders we created (removed again on failure)
        self.removed: list[Path] = []        # a killed run's staging folders, cleared on the way in
        self.tmp = None
        try:
            if self.fresh:
                missing = []
                p = self.target.parent
                while not p.exists():
                    missing.append(p)
                    p = p.parent
                for m in reversed(missing):
                    m.mkdir()
                    self._made.append(m)
                # a sibling of the target (renamed to it in one step at the end), named with our pid so that the next
                # run into `target` can tell a killed run's leftovers from a live one's
                prefix = f"{TMP_PREFIX}{self.target.name}-"
                self.removed = remove_dead_staging(self.target.parent, prefix)
                self.tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=self.target.parent))
            else:
                self.removed = remove_dead_staging(self.target, TMP_PREFIX)
                self.tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=self.target))
        except BaseException:
            self.abort()
            raise

    def commit(self) -> list[Path]:
        """Move every file of `tmp` into `target`; on any failure undo the moves. Returns the final paths."""
        names = sorted(p.name for p in self.tmp.iterdir())
        for name in names:
            os.chmod(self.tmp / name, 0o644)
        if self.fresh:
            os.chmod(self.tmp, 0o755)
            os.rename(self.tmp, self.target)  # one rename: the whole set appears at once
            return [self.target / n for n in names]
        backup = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "old-", dir=self.target))
        moved: list[str] = []
        try:
            for name in names:
                if (self.target / name).exists():
                    os.replace(self.target / name, backup / name)  # keep what it replaces until all are in
                os.replace(self.tmp / name, self.target / name)
                moved.append(name)
        except BaseException:
            for name in moved:  # undo: the new files go, the old ones come back
                os.unlink(self.target / name)
            for old in backup.iterdir():
                os.replace(old, self.target / old.name)
            shutil.rmtree(backup, ignore_errors=True)
            raise
        shutil.rmtree(backup, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return [self.target / n for n in names]

    def abort(self) -> None:
        """Remove the temp folder and any parent folders this object created."""
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        for m in reversed(self._made):
            try:
                m.rmdir()
            except OSError:
                pass


@contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[AtomicDir]:
    """Yield an :class:`AtomicDir`; write into ``.tmp``; on success every file appears in `target`, on error none.

    A new `target` is created by renaming the finished temp folder (one atomic
    step); into an existing folder the files are moved one by one and the moves
    are undone if one fails, so either the whole set is there or none of it
    (files it would replace are restored).

    Raises OSError (e.g. PermissionError) at entry when `target` cannot be written.
    """
    d = AtomicDir(target)
    try:
        yield d
        d.commit()
    except BaseException:
        d.abort()
        raise
