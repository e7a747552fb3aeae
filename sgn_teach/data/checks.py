"""A check made before a long job: every clip of a solo-clip library decodes.

A clip that cannot be decoded, is empty, silent or not finite is found by
decoding every clip once, instead of failing hours into a training run. The
checks of settings and output places are in :mod:`sgn_teach.core.checks`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..core.errors import AudioError, DataError


def check_clips(paths: Iterable[Path], what: str, progress: bool = False) -> int:
    """Decode every clip once; DataError naming the first bad one and how many there are. Returns the count.

    Decoding is at the file's own rate (no resampling), so it costs about as
    much as reading the files.
    """
    from tqdm.auto import tqdm

    from ..signal.audio import load_audio

    paths = list(paths)
    bad: list[str] = []
    for p in tqdm(paths, desc=f"checking {what}", unit="clip", disable=not progress, leave=False):
        try:
            load_audio(p, sample_rate=None)
        except AudioError as exc:
            bad.append(str(exc))
    if bad:
        raise DataError(f"{len(bad)} of {len(paths)} {what} clips cannot be used, e.g. {bad[0]}; "
                        "fix or remove them")
    return len(paths)
