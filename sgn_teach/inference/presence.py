"""`--classes auto`: which classes are in a stream, by the presence head averaged over its windows.

:class:`PresenceMean` accumulates the presence probabilities of the windows of a
stream as it arrives (during the pass that reads the input); :func:`auto_from_presence`
keeps the classes whose mean probability exceeds 0.5 (at least the top one).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ..core.errors import DataError
from .streaming import Windower, WindowSeparator

NO_PRESENCE_HEAD = ("--classes auto needs a model with a presence head (sgn, sct or cag); name the classes "
                    "(--classes a,b, or --prompt \"...\" for a text-conditioned model)")


def auto_from_presence(mean: np.ndarray | None, class_names: list[str]) -> tuple[list[str], list[int]]:
    """The classes whose mean presence probability (C,) exceeds 0.5, at least the top one: (names, indices).

    DataError when `mean` is None (the model has no presence head).
    """
    if mean is None:
        raise DataError(NO_PRESENCE_HEAD)
    chosen = [i for i, p in enumerate(mean.tolist()) if p > 0.5] or [int(mean.argmax())]
    return [class_names[i] for i in chosen], chosen


class PresenceMean:
    """Running mean of the presence probabilities (C,) over the non-overlapping windows of a model-rate stream.

    The separator's windows overlap by half; for the presence every other one
    (windows 0, 2, 4, …) is enough: they tile the signal (an odd window length
    makes neighbours share one sample), so every sample is heard, at half the cost.
    push(block (L,)) as the stream arrives; result() after the last block. Only
    `sep.batch_size` windows are held at a time, so memory does not grow with the stream.
    """

    def __init__(self, sep: WindowSeparator) -> None:
        self.sep, self.windower = sep, Windower(sep.size)
        self.total: np.ndarray | None = None
        self.count = 0
        self.seen = 0  # windows cut so far (their index parity picks the non-overlapping ones)
        self.queue: list[np.ndarray] = []  # windows (k, size) not yet run through the model

    def _keep(self, windows: np.ndarray) -> np.ndarray:
        """The even-numbered windows of the next (W, size) cut from the stream."""
        first = self.seen % 2  # index within `windows` of the first even-numbered window
        self.seen += len(windows)
        return windows[first::2]

    def _run(self, frames: np.ndarray) -> None:
        for i in range(0, len(frames), self.sep.batch_size):
            p = self.sep.presence(frames[i: i + self.sep.batch_size])  # (k, C), or None without a presence head
            if p is None:
                return
            self.total = p.sum(0) if self.total is None else self.total + p.sum(0)
            self.count += len(p)

    def push(self, block: np.ndarray) -> None:
        self.queue.append(self._keep(self.windower.push(block)))
        if sum(len(q) for q in self.queue) >= self.sep.batch_size:
            self._run(np.concatenate(self.queue))
            self.queue = []

    def result(self) -> np.ndarray | None:
        self.queue.append(self._keep(self.windower.flush()))
        self._run(np.concatenate(self.queue))
        self.queue = []
        return None if self.total is None else self.total / self.count


def presence_mean(sep: WindowSeparator, blocks: Iterator[np.ndarray]) -> np.ndarray | None:
    """Mean presence probability (C,) over the non-overlapping windows of the stream `blocks` (model rate)."""
    acc = PresenceMean(sep)
    for block in blocks:
        acc.push(block)
    return acc.result()
