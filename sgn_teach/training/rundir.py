"""The training run folder: one writer at a time, no stale temp files, no silent overwrite.

``RUN/.train.lock`` holds the process id and host of the training that writes
into RUN. A second training on the same folder is refused while that process
lives; a lock left by a process that died (SIGKILL, power loss) is recognised
by its pid and taken over. The lock is created by hard-linking a complete temp
file, so it never exists half-written.

While holding the lock, temp files (``.tmp-*``) that a killed save left behind
are removed. A folder that already holds a run (``checkpoint.pt`` or
``model.pt``) is only written into with ``resume=True``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from ..core.atomic import process_alive, remove_stale_tmp
from ..core.errors import SGNError

LOCK_NAME = ".train.lock"
RUN_FILES = ("checkpoint.pt", "model.pt")


class RunBusyError(SGNError):
    """Another live process is training into the same run folder."""


class RunLock:
    """Context manager holding RUN/.train.lock (see the module docstring).

    Args:
        run_dir: the run folder (must exist).
        enabled: False does nothing (e.g. the non-zero ranks of a multi-GPU run,
            which do not write into RUN).

    Attributes:
        removed_tmp: the stale temp files cleared on entry.
        took_over: the pid of a dead process whose lock was taken over, else None.
    """

    def __init__(self, run_dir: str | os.PathLike, enabled: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self.enabled = enabled
        self.held = False
        self.removed_tmp: list[Path] = []
        self.took_over: int | None = None

    def _owner(self) -> tuple[int | None, str]:
        try:
            pid, _, host = self.path.read_text(encoding="utf-8").strip().partition(" ")
            return int(pid), host
        except (OSError, ValueError):
            return None, ""

    def acquire(self) -> None:
        """Take the lock; RunBusyError if a live process holds it."""
        if not self.enabled:
            return
        me = f"{os.getpid()} {socket.gethostname()}\n"
        for _ in range(3):
            tmp = self.run_dir / f"{LOCK_NAME}.{os.getpid()}"  # not .tmp-*: a starting rival must not clear it
            tmp.write_text(me, encoding="utf-8")
            try:
                os.link(tmp, self.path)  # atomic: fails if a lock exists
                self.held = True
                return
            except FileExistsError:
                pid, host = self._owner()
                if pid is not None and (host != socket.gethostname() or process_alive(pid)):
                    where = "" if host == socket.gethostname() else f" on {host}"
                    raise RunBusyError(f"{self.run_dir} is in use by training process {pid}{where} (lock file "
                                       f"{self.path}); wait for it to finish, or train into another --out") from None
                self.took_over = pid  # dead owner (or an unreadable lock): stale, take it over
                try:
                    self.path.unlink()
                except FileNotFoundError:
                    pass
            finally:
                tmp.unlink(missing_ok=True)
        raise RunBusyError(f"{self.run_dir}: could not take the lock {self.path}; another training is starting there")

    def release(self) -> None:
        if self.held:
            pid, _ = self._owner()
            if pid == os.getpid():
                self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> "RunLock":
        self.acquire()
        if self.enabled:
            self.removed_tmp = remove_stale_tmp(self.run_dir)  # safe now: nobody else writes here
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def existing_run(run_dir: str | os.PathLike) -> list[str]:
    """The run files (checkpoint.pt, model.pt) already in `run_dir`."""
    run_dir = Path(run_dir)
    return [name for name in RUN_FILES if (run_dir / name).exists()]


def is_rank_zero() -> bool:
    """True unless this process is a non-zero rank of a torchrun / DDP job ($RANK)."""
    try:
        return int(os.environ.get("RANK", "0")) == 0
    except ValueError:
        return True
