"""MUSDB18 / MUSDB18-HQ → a solo-clip library with the four stems as classes.

Layouts assumed (the ones the ``musdb`` package reads, see its ``configs/mus.yaml`` and
``DB.load_mus_tracks``):

- MUSDB18-HQ (wav): ``ROOT/{train,test}/<track name>/{mixture,vocals,drums,bass,other}.wav``,
  44.1 kHz stereo; 100 train and 50 test tracks.
- MUSDB18 (compressed): ``ROOT/{train,test}/<track name>.stem.mp4``, one multi-stream
  file per track (stream ids: mixture 0, drums 1, bass 2, other 3, vocals 4). Decoding
  goes through ``musdb.DB(root, is_wav=False)`` → stempeg → ffmpeg/ffprobe, so this layout
  needs ffmpeg; without it the run stops with one error line.

The wav layout is read directly with soundfile rather than through ``musdb.DB(...,
is_wav=True)``: importing ``musdb`` imports ``stempeg``, which raises at import time
when ffmpeg is not installed, even for wav files. The result is the same folder walk.

Each stem (``--stems``, default vocals drums bass other) becomes a class; each is cut into
``--clip-seconds`` clips and the silent ones are skipped (bass and vocals are silent for
long stretches): ``OUT/<stem>/<track>_<k>.wav``. Splits are by track: MUSDB's test subset
→ test; the train tracks on musdb's official validation list (14 tracks, read from the
installed ``musdb`` package's ``configs/mus.yaml``) → val, or, if none of them is present,
a seeded ``--val-frac`` of the train tracks; the rest → train. A stem file that is not
audio is skipped with a warning.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ...core.errors import AudioError, DataError
from .builder import LibraryBuilder, check_out, finish
from .common import (
    SAMPLE_RATE,
    assign_group_splits,
    clip_samples_for,
    cut_clips,
    decode_audio,
    per_group_cap,
    require_tools,
    safe_stem,
    warn,
)

STEMS = ("vocals", "drums", "bass", "other")
SUBSETS = ("train", "test")
LAYOUT_HELP = ("expected ROOT/{train,test}/<track>/{mixture,vocals,drums,bass,other}.wav (MUSDB18-HQ) "
               "or ROOT/{train,test}/<track>.stem.mp4 (MUSDB18)")


def official_validation_tracks() -> set[str]:
    """musdb's validation track names (from the installed package's mus.yaml), or an empty set."""
    try:
        spec = importlib.util.find_spec("musdb")  # locates the package without importing it (no stempeg)
        if spec is None or not spec.submodule_search_locations:
            return set()
        import yaml

        path = Path(list(spec.submodule_search_locations)[0]) / "configs" / "mus.yaml"
        with open(path) as f:
            return set(yaml.safe_load(f).get("validation_tracks") or [])
    except Exception:  # an optional refinement: fall back to a seeded slice
        return set()


def find_tracks(root: Path, subsets: Sequence[str]) -> tuple[str, list[tuple[str, str, Path]]]:
    """Detect the layout and list the tracks.

    Returns:
        (layout, [(subset, track name, path)]): layout is "wav" (path = track folder)
        or "stem" (path = .stem.mp4 file).
    """
    if not root.is_dir():
        raise DataError(f"{root}: no such folder ({LAYOUT_HELP})")
    wav, stem = [], []
    for subset in subsets:
        folder = root / subset
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if entry.is_dir() and any((entry / f"{s}.wav").is_file() for s in STEMS + ("mixture",)):
                wav.append((subset, entry.name, entry))
            elif entry.is_file() and entry.name.endswith(".stem.mp4"):
                stem.append((subset, entry.name[: -len(".stem.mp4")], entry))
    if wav:
        if stem:
            warn(f"{root} has both wav track folders and .stem.mp4 files: using the wav ones")
        return "wav", wav
    if stem:
        return "stem", stem
    raise DataError(f"{root}: no MUSDB tracks in {'/'.join(subsets)} ({LAYOUT_HELP})")


def read_stems_wav(folder: Path, stems: Sequence[str]) -> Iterator[tuple[str, np.ndarray | None]]:
    """(stem, mono 11025 Hz wave or None) for each stem of a MUSDB18-HQ track folder."""
    for stem in stems:
        path = folder / f"{stem}.wav"
        if not path.is_file():
            warn(f"{folder}: no {stem}.wav, skipping that stem")
            yield stem, None
            continue
        try:
            yield stem, decode_audio(path)
        except AudioError as exc:
            warn(f"{exc}; skipped")
            yield stem, None


def read_stems_mp4(root: Path, tracks: list[tuple[str, str, Path]], stems: Sequence[str]):
    """Yield (subset, name, [(stem, wave or None)]) for .stem.mp4 tracks through the musdb package."""
    from ...signal.audio import resample, to_mono

    try:
        import musdb as musdb_pkg

        db = musdb_pkg.DB(root=str(root), subsets=sorted({t[0] for t in tracks}), is_wav=False)
    except Exception as exc:
        raise DataError(f"cannot read the .stem.mp4 files with the musdb package: {exc}") from None
    for track in db.tracks:
        waves = []
        for stem in stems:
            try:
                audio = np.asarray(track.sources[stem].audio, dtype=np.float32)  # (L, channels)
                wave = resample(to_mono(audio), int(track.rate), SAMPLE_RATE)
                waves.append((stem, np.ascontiguousarray(wave, dtype=np.float32)))
            except Exception as exc:  # stempeg/ffmpeg errors: skip this stem, keep going
                warn(f"skipping {track.name} {stem}: {str(exc).splitlines()[0] if str(exc) else exc}")
                waves.append((stem, None))
        yield track.subset, track.name, waves


def track_splits(tracks: list[tuple[str, str, Path]], val_frac: float, seed: int) -> dict[str, str]:
    """{track name: split} — test subset → test; official (or seeded) validation tracks → val."""
    train = [name for subset, name, _ in tracks if subset == "train"]
    official = official_validation_tracks() & set(train)
    if official:
        out = {name: ("val" if name in official else "train") for name in train}
    else:
        out = assign_group_splits(train, val_frac=val_frac, test_frac=0.0, seed=seed, salt="musdb")
    out.update({name: "test" for subset, name, _ in tracks if subset == "test"})
    return out


def prepare_musdb(out: str | Path, root: str | Path, stems: Sequence[str] = STEMS,
                  subsets: Sequence[str] = SUBSETS, max_clips_per_class: int | None = None,
                  clip_seconds: float = 6.0, min_active: float = 0.5, val_frac: float = 0.1, seed: int = 0,
                  overwrite: bool = False) -> dict:
    """Build a library with one class per MUSDB stem (see the module docstring)."""
    check_out(out, overwrite)
    clip_samples = clip_samples_for(clip_seconds)
    bad = [s for s in stems if s not in STEMS]
    if bad:
        raise DataError(f"unknown stem(s) {', '.join(bad)}; MUSDB's stems are {', '.join(STEMS)}")
    bad = [s for s in subsets if s not in SUBSETS]
    if bad:
        raise DataError(f"unknown subset(s) {', '.join(bad)}; MUSDB's subsets are train, test")
    root = Path(root)
    layout, tracks = find_tracks(root, subsets)
    if layout == "stem":
        require_tools(("ffmpeg", "ffprobe"), "decoding MUSDB18 .stem.mp4 files", hint="apt-get install ffmpeg",
                      extra="; or use the wav version MUSDB18-HQ (or convert with musdb's musdbconvert)")
    splits = track_splits(tracks, val_frac, seed)
    cap = per_group_cap(max_clips_per_class, len(tracks))

    def source() -> Iterator[tuple[str, str, list]]:
        if layout == "wav":
            for subset, name, folder in tracks:
                yield subset, name, read_stems_wav(folder, stems)
        else:
            yield from read_stems_mp4(root, tracks, stems)

    with LibraryBuilder(out, overwrite=overwrite) as lib:
        for _, name, waves in source():
            for stem, wave in waves:
                if wave is None or (max_clips_per_class is not None and lib.count(stem) >= max_clips_per_class):
                    continue
                for k, clip in cut_clips(wave, clip_samples, min_active)[:cap]:
                    if max_clips_per_class is not None and lib.count(stem) >= max_clips_per_class:
                        break
                    lib.add_clip(stem, f"{safe_stem(name)}_{k}", clip, splits[name], group=name)
        return finish(lib)
