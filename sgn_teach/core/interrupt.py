"""Stopping a long job cleanly on Ctrl-C (SIGINT) or `kill` (SIGTERM).

A signal can arrive anywhere: in the middle of a forward pass (BatchNorm's
running statistics already moved), of a backward pass, or between
``optimizer.step()`` and the step counter. Raising an exception there and saving
would store a state that no uninterrupted run ever had, and ``--resume`` would
not continue to the same weights. So the handler only *records* the signal;
the training loop looks at :attr:`GracefulStop.requested` at each step boundary,
saves a consistent checkpoint and raises :class:`TrainingInterrupted`.

A second signal while the step finishes means "now": it raises
KeyboardInterrupt at once, without saving (the last periodic checkpoint stays).

The exit status a shell expects after a signal is 128 + its number: 130 for
SIGINT, 143 for SIGTERM (:func:`exit_status`).
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Callable

from .errors import SGNError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_status(signum: int) -> int:
    """128 + the signal number: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + int(signum)


def ignore_stop_signals(*_) -> None:
    """DataLoader `worker_init_fn`: workers ignore Ctrl-C (sent to the whole process group) and leave the
    stop to the main process, which finishes its step and shuts them down. (SIGTERM stays: the
    loader's own shutdown uses it.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped at a step boundary after a signal; the checkpoint there is consistent.

    Attributes:
        step: the last completed step (saved).
        signum: the signal that asked for the stop.
        checkpoint: the path of the saved checkpoint.
    """

    def __init__(self, step: int, signum: int, checkpoint: str, hint: str = "continue with --resume") -> None:
        self.step, self.signum, self.checkpoint, self.hint = step, signum, checkpoint, hint
        super().__init__(step, signum, checkpoint)

    def __str__(self) -> str:
        name = signal.Signals(self.signum).name
        return f"interrupted at step {self.step} ({name}): saved {self.checkpoint}; {self.hint}"

    @property
    def exit_status(self) -> int:
        return exit_status(self.signum)


class GracefulStop:
    """Context manager: while inside, SIGINT/SIGTERM set :attr:`requested` instead of interrupting.

    Outside the main thread (where Python cannot install signal handlers) it
    does nothing and :attr:`requested` stays None.

    Attributes:
        requested: the number of the first signal received, or None.
    """

    def __init__(self, message: str = "stopping after this step … (signal again to abort without saving)") -> None:
        self.requested: int | None = None
        self.message = message
        self._old: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested is not None:  # the second signal: stop now
            raise KeyboardInterrupt
        self.requested = signum
        print(f"\n{signal.Signals(signum).name}: {self.message}", file=sys.stderr, flush=True)

    def __enter__(self) -> "GracefulStop":
        if threading.current_thread() is threading.main_thread():
            for s in STOP_SIGNALS:
                self._old[s] = signal.getsignal(s)
                signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, old in self._old.items():
            signal.signal(s, old)
        self._old.clear()


class Terminated(KeyboardInterrupt):
    """SIGTERM outside a training loop: unwind (temp files are removed on the way) and exit 143."""

    signum = signal.SIGTERM


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def script_main(main: Callable[[], int | None], say_errors: bool = True) -> int:
    """Run a command's or a script's `main`; return the exit status. The command line and ``benchmarks/*.py``
    (``raise SystemExit(script_main(main))``) run this way.

    0 done (or what `main` returns); 2 a user error (:class:`SGNError`: one ``error: …`` line, printed when
    `say_errors`); 130 / 143 stopped by SIGINT / SIGTERM — a training saves and says how to continue — never
    a traceback. SIGTERM unwinds like Ctrl-C while `main` runs, so temp files are cleaned up on the way.
    """
    old = None
    try:
        old = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:
        pass  # not the main thread: leave signals alone
    try:
        status = main()
        return status if isinstance(status, int) else 0  # a command returns None (done)
    except SGNError as exc:
        if say_errors:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    except TrainingInterrupted as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        print(f"interrupted ({signal.Signals(signum).name}): stopped without finishing; nothing partial was written",
              file=sys.stderr)
        return exit_status(signum)
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
