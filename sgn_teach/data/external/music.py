"""MUSIC (Zhao et al., "The Sound of Pixels", 2018) → a solo-clip library.

Layout assumed (github.com/roudimit/MUSIC_dataset):

- the index ``MUSIC_solo_videos.json`` is ``{"version": 1.0, "videos": {"<instrument>":
  ["<youtube id>", …], …}}`` with the 11 MUSIC instruments (accordion, acoustic_guitar,
  cello, clarinet, erhu, flute, saxophone, trumpet, tuba, violin, xylophone; 536 ids).
  ``MUSIC21_solo_videos.json`` (version 2.0, 21 instruments) has the same shape.
  Keys are turned into folder names with :func:`~.common.safe_name` (``"acoustic
  guitar"`` → ``acoustic_guitar``), so either spelling works;
- raw downloads: ``RAW/<class>/<youtube id>.<ext>`` (yt-dlp ``-x``: audio only, in the
  video's own codec: .m4a/.webm/.opus; .wav/.flac also accepted).

Flow: read the index (``--index FILE`` or ``--index-url URL``) → download every missing
id with yt-dlp (ids already in RAW are skipped, so an interrupted run resumes; a video
that is gone is a warning, not an error) → decode each raw file to mono 11025 Hz
(soundfile, or ffmpeg for .m4a/.webm) → cut into ``--clip-seconds`` clips, skipping
silent ones → ``OUT/<class>/<id>_<k>.wav``. Splits are by video: every clip of one
video is in the same split (seeded, 80/10/10 per class by default).

Without yt-dlp/ffmpeg or without a network, the files already in RAW are used (with a
warning); with nothing in RAW the run stops with one error line and writes nothing.
A raw file that is not audio is skipped with a warning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from ...core.errors import AudioError, DataError
from .builder import LibraryBuilder, check_out, finish
from .common import (
    assign_group_splits,
    check_decodable,
    check_network,
    clip_samples_for,
    count_raw,
    cut_clips,
    decode_audio,
    fetch_url,
    find_raw,
    info,
    per_group_cap,
    require_tools,
    run_tool,
    safe_name,
    select_labels,
    warn,
)

INDEX_URL = "https://raw.githubusercontent.com/roudimit/MUSIC_dataset/master/MUSIC_solo_videos.json"
MUSIC11 = ("accordion", "acoustic_guitar", "cello", "clarinet", "erhu", "flute", "saxophone", "trumpet",
           "tuba", "violin", "xylophone")
YOUTUBE_HOST = "www.youtube.com"


def parse_index(data: bytes | str, source: str = "index") -> dict[str, list[str]]:
    """The index JSON as {class folder name: [youtube ids]} (order kept, duplicates dropped).

    Raises:
        DataError: not JSON, or not ``{"videos": {name: [ids]}}``.
    """
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{source}: not a JSON file ({exc})") from None
    videos = obj.get("videos") if isinstance(obj, dict) else None
    if not isinstance(videos, dict) or not videos:
        raise DataError(f"{source}: expected {{\"videos\": {{\"<instrument>\": [youtube ids], …}}}}")
    out: dict[str, list[str]] = {}
    for label, ids in videos.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) and i.strip() for i in ids):
            raise DataError(f"{source}: videos[{label!r}] must be a list of YouTube ids")
        out.setdefault(safe_name(label), [])
        out[safe_name(label)].extend(i.strip() for i in ids)
    return {c: list(dict.fromkeys(ids)) for c, ids in out.items()}


def load_index(index: str | Path | None, index_url: str | None) -> dict[str, list[str]]:
    """Read the index from a local file or a URL."""
    if index is not None:
        path = Path(index)
        if not path.is_file():
            raise DataError(f"{path}: no such index file")
        return parse_index(path.read_bytes(), str(path))
    if index_url:
        hint = f" Download {index_url} elsewhere and pass --index FILE."
        return parse_index(fetch_url(index_url, hint=hint), index_url)
    raise DataError(f"pass --index MUSIC_solo_videos.json or --index-url (default {INDEX_URL})")


def download_command(video_id: str, out_dir: Path) -> list[str]:
    """yt-dlp: best audio stream only, no re-encoding, saved as ``out_dir/<id>.<ext>``."""
    return ["yt-dlp", "--quiet", "--no-warnings", "--no-playlist", "--no-progress", "--socket-timeout", "30",
            "-f", "bestaudio/best", "-x", "-o", str(out_dir / f"{video_id}.%(ext)s"),
            f"https://www.youtube.com/watch?v={video_id}"]


def download_missing(plan: dict[str, list[str]], raw: Path, max_videos: int | None, network_check: bool,
                     timeout: float) -> None:
    """Download ids of `plan` that are not in RAW yet (resumable), up to max_videos per class."""
    def todo() -> list[tuple[str, str]]:
        out = []
        for cls, ids in plan.items():
            have = sum(1 for i in ids if find_raw(raw / cls, i))
            need = None if max_videos is None else max_videos - have
            missing = [i for i in ids if not find_raw(raw / cls, i)]
            out += [(cls, i) for i in (missing if need is None else missing[:max(need, 0)])]
        return out

    pending = todo()
    if not pending:
        return
    fallback = f"; or pass --skip-download to use only the audio already in {raw}"
    try:
        require_tools(("yt-dlp", "ffmpeg"), "downloading MUSIC videos", extra=fallback)
        if network_check:
            check_network(YOUTUBE_HOST, extra=f": downloading needs YouTube{fallback}")
    except DataError as exc:
        if count_raw(raw) == 0:
            raise
        warn(f"{exc} — using the {count_raw(raw)} files already in {raw}")
        return
    info(f"downloading {len(pending)} videos into {raw} (yt-dlp)")
    failed = 0
    for n, (cls, vid) in enumerate(pending, 1):
        (raw / cls).mkdir(parents=True, exist_ok=True)
        ok, msg = run_tool(download_command(vid, raw / cls), timeout=timeout)
        if not ok or find_raw(raw / cls, vid) is None:
            failed += 1
            warn(f"could not download {cls}/{vid}: {msg or 'yt-dlp wrote no audio file'}")
        elif n % 10 == 0 or n == len(pending):
            info(f"  {n}/{len(pending)} done")
    if failed:
        warn(f"{failed} of {len(pending)} downloads failed (MUSIC videos disappear from YouTube over time)")


def prepare_music(out: str | Path, raw: str | Path, index: str | Path | None = None, index_url: str | None = None,
                  classes: Sequence[str] | None = None, max_videos_per_class: int | None = None,
                  max_clips_per_class: int | None = None, clip_seconds: float = 6.0, min_active: float = 0.5,
                  skip_download: bool = False, network_check: bool = True, val_frac: float = 0.1,
                  test_frac: float = 0.1, seed: int = 0, overwrite: bool = False,
                  download_timeout: float = 900.0) -> dict:
    """Build a MUSIC solo-clip library (see the module docstring for the layout and flow).

    Returns:
        the summary of :meth:`LibraryBuilder.commit`.
    """
    check_out(out, overwrite)
    clip_samples = clip_samples_for(clip_seconds)
    plan = load_index(index, index_url)
    plan = {c: plan[c] for c in select_labels(plan, classes, "instrument")}
    raw = Path(raw)
    if not skip_download:
        download_missing(plan, raw, max_videos_per_class, network_check, download_timeout)
    elif count_raw(raw) == 0:
        raise DataError(f"--skip-download: no audio in {raw} (expected {raw}/<class>/<youtube id>.<ext>)")

    available: dict[str, list[tuple[str, Path]]] = {}
    for cls, ids in plan.items():
        have = [(i, p) for i in ids if (p := find_raw(raw / cls, i)) is not None]
        if max_videos_per_class is not None:
            have = have[:max_videos_per_class]
        if have:
            available[cls] = have
        else:
            warn(f"no audio for {cls} in {raw / cls}")
    if not available:
        raise DataError(f"no MUSIC audio in {raw} (expected {raw}/<class>/<youtube id>.<ext>)")
    check_decodable(p for files in available.values() for _, p in files)

    video_split: dict[str, str] = {}  # per class, stratified; a video listed twice keeps its first split
    for cls, files in available.items():
        fresh = [i for i, _ in files if i not in video_split]
        video_split.update(assign_group_splits(fresh, val_frac, test_frac, seed, salt=cls))

    with LibraryBuilder(out, overwrite=overwrite) as lib:
        for cls, files in available.items():
            cap = per_group_cap(max_clips_per_class, len(files))
            for vid, path in files:
                if max_clips_per_class is not None and lib.count(cls) >= max_clips_per_class:
                    break
                try:
                    wave = decode_audio(path)
                except AudioError as exc:
                    warn(f"{exc}; skipped")
                    continue
                clips = cut_clips(wave, clip_samples, min_active)
                if not clips:
                    warn(f"{path}: no clip of {clip_seconds:g} s with sound")
                for k, clip in clips[:cap]:
                    if max_clips_per_class is not None and lib.count(cls) >= max_clips_per_class:
                        break
                    lib.add_clip(cls, f"{vid}_{k}", clip, video_split[vid], group=vid)
        return finish(lib)
