"""Shared machinery for the dataset preparation scripts.

- :class:`~.builder.LibraryBuilder` (in :mod:`.builder`) writes a solo-clip library
  atomically: clips go into ``OUT.tmp-XXXX`` next to OUT, which is renamed to OUT
  only once everything succeeded; any error, Ctrl-C or SIGTERM (:func:`run_cli`)
  removes it, so a failed run leaves neither OUT nor a half-written folder behind.
- :func:`require_tools` / :func:`check_network` / :func:`fetch_url` turn a
  missing yt-dlp/ffmpeg or a missing network into one clear :class:`DataError`.
- :func:`decode_audio` reads any raw file as mono 11025 Hz (soundfile first,
  ffmpeg for containers libsndfile cannot open: .m4a, .webm, .opus, .mp4).
- :func:`cut_clips` cuts a recording into fixed-length clips and skips the
  silent ones (stems and videos are often silent for long stretches).
- :func:`assign_group_splits` splits by recording (video, track), never by
  clip, so no recording is in two splits.

Torch (through :mod:`sgn_teach.signal.audio`) is imported lazily, inside the functions
that decode or write audio, so the argument and tool checks fail fast.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ...core.config import SAMPLE_RATE
from ...core.errors import AudioError, DataError, SGNError

SPLITS = ("train", "val", "test")
SOUNDFILE_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")  # what libsndfile decodes
# Extensions a finished yt-dlp download can have (.part/.ytdl leftovers are not audio yet).
RAW_AUDIO_EXTENSIONS = SOUNDFILE_EXTENSIONS + (".opus", ".m4a", ".aac", ".webm", ".mp4", ".mka", ".oga")
ACTIVE_DB = -50.0  # a 100-ms frame counts as active above this RMS level (dBFS)
FRAME_SECONDS = 0.1
YT_TOOLS_HINT = "pip install yt-dlp; apt-get install ffmpeg"


# ---------------------------------------------------------------------------
# messages, names


def warn(message: str) -> None:
    """One warning line on stderr (the scripts' convention: ``warning: …``)."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def info(message: str) -> None:
    """A progress line on stdout."""
    print(message, flush=True)


def safe_name(label: str) -> str:
    """A class label as a folder name: lower case, runs of anything but a-z0-9 → ``_``.

    ``"acoustic guitar"`` → ``acoustic_guitar``; ``"people eating, crunching"`` →
    ``people_eating_crunching``; ``"Electric_guitar"`` → ``electric_guitar``.
    """
    name = re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")
    if not name:
        raise DataError(f"the label {label!r} gives an empty folder name")
    return name


def safe_stem(name: str) -> str:
    """A recording name (track, file) as a clip file stem: keeps case, ``.`` and ``-``."""
    stem = re.sub(r"[^A-Za-z0-9.\-]+", "_", name.strip()).strip("_.")
    return stem or "clip"


def select_labels(available: Iterable[str], wanted: Sequence[str] | None, what: str = "class") -> list[str]:
    """The labels of `available` named in `wanted` (by exact label or by :func:`safe_name`).

    Args:
        available: the dataset's labels.
        wanted: labels asked for on the command line; None or empty keeps all.

    Raises:
        DataError: a wanted label that the dataset does not have.
    """
    available = list(dict.fromkeys(available))
    if not wanted:
        return available
    by_safe: dict[str, str] = {}
    for label in available:
        by_safe.setdefault(safe_name(label), label)
    chosen, unknown = [], []
    for w in wanted:
        label = w if w in available else by_safe.get(safe_name(w)) if w.strip() else None
        if label is None:
            unknown.append(w)
        elif label not in chosen:
            chosen.append(label)
    if unknown:
        examples = ", ".join(sorted(by_safe)[:8])
        raise DataError(f"no {what} {', '.join(map(repr, unknown))} in the dataset; available ({len(by_safe)}): "
                        f"{examples}{', …' if len(by_safe) > 8 else ''}")
    return chosen


def stable_order(items: Iterable[str], seed: int, salt: str = "") -> list[str]:
    """Items in a seeded pseudo-random order that does not depend on Python's hash seed."""
    def key(item: str) -> str:
        return hashlib.sha1(f"{seed}:{salt}:{item}".encode()).hexdigest()
    return sorted(dict.fromkeys(items), key=key)


def assign_group_splits(groups: Iterable[str], val_frac: float = 0.1, test_frac: float = 0.1,
                        seed: int = 0, salt: str = "") -> dict[str, str]:
    """Assign whole recordings (videos, tracks) to train/val/test.

    Groups are ordered by a seeded hash; the first ``round(test_frac·n)`` go to
    test, the next ``round(val_frac·n)`` to val, the rest to train. With 3 or more
    groups, a non-zero fraction gets at least one group; train always keeps one.

    Returns:
        {group: split}
    """
    order = stable_order(groups, seed, salt)
    n = len(order)

    def count(frac: float) -> int:
        if frac <= 0 or n == 0:
            return 0
        k = int(round(frac * n))
        return max(k, 1) if n >= 3 else k

    n_test = count(test_frac)
    if n == 2 and test_frac > 0:
        n_test = 1
    n_val = count(val_frac)
    while n_test + n_val > max(n - 1, 0):  # keep one group for training
        if n_val > 0:
            n_val -= 1
        else:
            n_test -= 1
    out = {g: "test" for g in order[:n_test]}
    out.update({g: "val" for g in order[n_test:n_test + n_val]})
    out.update({g: "train" for g in order[n_test + n_val:]})
    return out


# ---------------------------------------------------------------------------
# tools and network


def which(tool: str) -> str | None:
    """The path of `tool` on PATH, or None."""
    return shutil.which(tool)


def require_tools(tools: Sequence[str], purpose: str, hint: str = YT_TOOLS_HINT, extra: str = "") -> None:
    """Raise :class:`DataError` naming every tool of `tools` that is not on PATH.

    The message reads e.g. ``downloading MUSIC videos needs yt-dlp and ffmpeg:
    pip install yt-dlp; apt-get install ffmpeg (not found on PATH: yt-dlp)``.
    """
    missing = [t for t in tools if which(t) is None]
    if missing:
        names = " and ".join(tools)
        raise DataError(f"{purpose} needs {names}: {hint} (not found on PATH: {', '.join(missing)}){extra}")


def check_network(host: str, port: int = 443, timeout: float = 5.0, extra: str = "") -> None:
    """Open (and close) a TCP connection to host:port, or raise :class:`DataError`."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise DataError(f"no network: cannot reach {host}:{port} within {timeout:g} s ({reason}){extra}") from None


def fetch_url(url: str, timeout: float = 20.0, hint: str = "") -> bytes:
    """Download a small file (an index JSON or CSV) into memory, or raise :class:`DataError`."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http/https only)
            return response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(f"cannot fetch {url} ({reason}): no network?{hint}") from None


def run_tool(cmd: Sequence[str], timeout: float) -> tuple[bool, str]:
    """Run an external tool quietly.

    Returns:
        (ok, message): message is the tool's last stderr/stdout line on failure.
    """
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:g} s"
    except OSError as exc:
        return False, str(exc)
    if proc.returncode == 0:
        return True, ""
    lines = [ln.strip() for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
    return False, lines[-1] if lines else f"exit status {proc.returncode}"


def find_raw(folder: Path, stem: str) -> Path | None:
    """A finished download ``folder/<stem>.<audio ext>`` (ignores .part/.ytdl leftovers)."""
    if not folder.is_dir():
        return None
    for ext in RAW_AUDIO_EXTENSIONS:
        path = folder / f"{stem}{ext}"
        if path.is_file() and path.stat().st_size > 0:
            return path
    return None


def count_raw(folder: Path) -> int:
    """How many finished raw audio files lie anywhere under `folder`."""
    if not folder.is_dir():
        return 0
    return sum(1 for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in RAW_AUDIO_EXTENSIONS)


def check_decodable(paths: Iterable[Path]) -> None:
    """Raise :class:`DataError` when some raw files need ffmpeg to decode and it is missing."""
    needs = sorted({p.suffix.lower() for p in paths if p.suffix.lower() not in SOUNDFILE_EXTENSIONS})
    if needs and which("ffmpeg") is None:
        raise DataError(f"decoding {'/'.join(needs)} files needs ffmpeg: apt-get install ffmpeg "
                        f"(libsndfile only reads {'/'.join(SOUNDFILE_EXTENSIONS)})")


# ---------------------------------------------------------------------------
# audio


def decode_audio(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read any raw file as mono float32 at `sample_rate`: (L,).

    Files libsndfile reads (wav/flac/ogg/mp3) go through :func:`sgn_teach.signal.audio.load_audio`;
    the rest (.m4a, .webm, .opus, .mp4 from yt-dlp) through ffmpeg.

    Raises:
        AudioError: not audio, empty, NaN/inf, or ffmpeg missing/failing.
    """
    from ...signal.audio import load_audio

    path = Path(path)
    first_error = None
    if path.suffix.lower() in SOUNDFILE_EXTENSIONS:
        try:
            wave, _ = load_audio(path, sample_rate=sample_rate, mono=True, allow_silence=True)
            return wave
        except AudioError as exc:
            if which("ffmpeg") is None or not path.is_file():
                raise
            first_error = exc  # a codec libsndfile lacks? let ffmpeg try
    if which("ffmpeg") is None:
        raise AudioError(f"{path}: decoding {path.suffix or 'this file'} needs ffmpeg: apt-get install ffmpeg")
    with tempfile.TemporaryDirectory(prefix="sgn-decode-") as tmp:
        out = Path(tmp) / "audio.wav"
        ok, msg = run_tool(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(path), "-vn", "-ac", "1",
                            "-ar", str(sample_rate), "-f", "wav", str(out)], timeout=3600)
        if not ok or not out.is_file():
            if first_error is not None:
                raise AudioError(f"{first_error}; ffmpeg cannot decode it either ({msg})") from None
            raise AudioError(f"{path}: ffmpeg cannot decode it ({msg})")
        wave, _ = load_audio(out, sample_rate=sample_rate, mono=True, allow_silence=True)
        return wave


def active_fraction(wave: np.ndarray, sample_rate: int = SAMPLE_RATE, threshold_db: float = ACTIVE_DB) -> float:
    """Fraction of 100-ms frames of `wave` (L,) whose RMS is above `threshold_db` dBFS."""
    frame = max(1, int(round(FRAME_SECONDS * sample_rate)))
    n = len(wave) // frame
    if n == 0:
        rms = float(np.sqrt(np.mean(np.square(wave, dtype=np.float64)))) if len(wave) else 0.0
        return float(rms > 10 ** (threshold_db / 20))
    frames = wave[: n * frame].reshape(n, frame)  # (n_frames, frame)
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return float(np.mean(rms > 10 ** (threshold_db / 20)))


def cut_clips(wave: np.ndarray, clip_samples: int, min_active: float = 0.5,
              pad_min_samples: int | None = None, sample_rate: int = SAMPLE_RATE) -> list[tuple[int, np.ndarray]]:
    """Cut a recording into consecutive, non-overlapping clips and drop the silent ones.

    Args:
        wave: (L,) mono.
        clip_samples: clip length.
        min_active: keep a clip if at least this fraction of its 100-ms frames is
            above -50 dBFS (and always require one active frame).
        pad_min_samples: a tail (or a whole recording) shorter than a clip but at
            least this long is zero-padded into a last clip; None drops it.

    Returns:
        [(k, clip)]: k is the clip's position in the recording (0, 1, …; gaps where
        clips were silent), each clip (clip_samples,).
    """
    out = []
    n_full = len(wave) // clip_samples
    for k in range(n_full):
        clip = wave[k * clip_samples:(k + 1) * clip_samples]
        frac = active_fraction(clip, sample_rate)
        if frac > 0 and frac >= min_active:
            out.append((k, clip))
    tail = wave[n_full * clip_samples:]
    if pad_min_samples is not None and len(tail) >= max(pad_min_samples, 1):
        frac = active_fraction(tail, sample_rate)
        if frac > 0 and frac >= min_active:
            out.append((n_full, np.pad(tail, (0, clip_samples - len(tail)))))
    return out


def loudest_window(wave: np.ndarray, clip_samples: int, step: int) -> np.ndarray:
    """The clip_samples-long window of `wave` (L,) with the most energy (zero-padded if L is shorter)."""
    if len(wave) <= clip_samples:
        return np.pad(wave, (0, clip_samples - len(wave)))
    power = np.concatenate([[0.0], np.cumsum(np.square(wave, dtype=np.float64))])
    starts = np.arange(0, len(wave) - clip_samples + 1, max(step, 1))
    energy = power[starts + clip_samples] - power[starts]
    s = int(starts[int(np.argmax(energy))])
    return wave[s:s + clip_samples]


def clip_samples_for(seconds: float, sample_rate: int = SAMPLE_RATE) -> int:
    """Clip length in samples, with a check that it is positive."""
    if not seconds > 0 or not math.isfinite(seconds):
        raise DataError(f"--clip-seconds must be a positive number, not {seconds}")
    return int(round(seconds * sample_rate))


def per_group_cap(max_per_class: int | None, n_groups: int) -> int | None:
    """Clips per recording so a capped class still draws on all its recordings."""
    if max_per_class is None:
        return None
    return max(1, math.ceil(max_per_class / max(n_groups, 1)))


# ---------------------------------------------------------------------------
# command line


def add_common_args(parser: argparse.ArgumentParser, clip_seconds: float = 6.0, min_active: float = 0.5) -> None:
    """The flags every prepare script shares."""
    parser.add_argument("--out", required=True, type=Path, help="library folder to create")
    parser.add_argument("--max-clips-per-class", type=int, default=None, metavar="N",
                        help="stop a class at N clips (default: no limit)")
    parser.add_argument("--clip-seconds", type=float, default=clip_seconds,
                        help=f"clip length in seconds (default {clip_seconds:g}; the paper's clip is 65535 "
                             "samples ≈ 5.94 s)")
    parser.add_argument("--min-active", type=float, default=min_active,
                        help="skip a clip unless this fraction of its 100-ms frames is above -50 dBFS "
                             f"(default {min_active:g})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split assignment (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def check_common_args(args: argparse.Namespace) -> None:
    """Validate the shared flags (raises :class:`DataError`)."""
    clip_samples_for(args.clip_seconds)
    if args.max_clips_per_class is not None and args.max_clips_per_class < 1:
        raise DataError("--max-clips-per-class must be at least 1")
    if not 0.0 <= args.min_active <= 1.0:
        raise DataError("--min-active must be between 0 and 1")


def _sigterm(signum, frame):  # pragma: no cover - exercised by a real kill
    raise KeyboardInterrupt


def run_cli(main: Callable[[Sequence[str] | None], object], argv: Sequence[str] | None = None) -> int:
    """Run a script's main(argv): user errors become one ``error: …`` line and exit status 2.

    SIGTERM is turned into KeyboardInterrupt so the temporary library is removed.
    """
    try:
        previous = signal.signal(signal.SIGTERM, _sigterm)
    except ValueError:  # not the main thread
        previous = None
    try:
        main(argv)
    except SGNError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted (no library was written)", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0

