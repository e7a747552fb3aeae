"""VGGSound (Chen et al., ICASSP 2020) → a solo-clip library.

Layout assumed (github.com/hche11/VGGSound, ``data/vggsound.csv``; the same file is on
robots.ox.ac.uk/~vgg/data/vggsound/): a CSV **without header**, one 10-s YouTube segment
per row, ``youtube_id,start_seconds,label,split`` with split ``train`` or ``test``;
labels with commas are quoted (``"people eating, crunching"``), ~200 k rows, 309 labels.

Flow: pick labels with ``--classes`` (exact label or its folder name, e.g. ``dog_barking``)
→ per class, rows in a seeded order → download each missing segment with yt-dlp
(``--download-sections *START-END``, audio only) to ``RAW/<id>_<start:06d>.<ext>``
(files already there are kept: resumable; a gone video is a warning) → decode to mono
11025 Hz → the ``--clip-seconds`` window with the most energy → ``OUT/<label>/<id>_<start:06d>.wav``
(``<label>`` via :func:`~.common.safe_name`). A raw file much longer than 10 s (a whole
video) is cut at ``start`` first. Splits follow the CSV: test → test, and a seeded
``--val-frac`` of the train *videos* → val; a video listed under test anywhere goes
entirely to test, so no video is in two splits.

Without yt-dlp/ffmpeg or a network, the segments already in RAW are used (with a
warning); with nothing in RAW the run stops with one error line and writes nothing.
A raw file that is not audio is skipped with a warning.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ...core.errors import AudioError, DataError
from .builder import LibraryBuilder, check_out, finish
from .common import (
    SAMPLE_RATE,
    active_fraction,
    assign_group_splits,
    check_decodable,
    check_network,
    clip_samples_for,
    count_raw,
    decode_audio,
    fetch_url,
    find_raw,
    info,
    loudest_window,
    require_tools,
    run_tool,
    safe_name,
    select_labels,
    stable_order,
    warn,
)

CSV_URL = "https://raw.githubusercontent.com/hche11/VGGSound/master/data/vggsound.csv"
SEGMENT_SECONDS = 10
YOUTUBE_HOST = "www.youtube.com"


@dataclass(frozen=True)
class Segment:
    """One CSV row."""

    youtube_id: str
    start: int
    label: str
    split: str  # "train" or "test", as in the CSV

    @property
    def stem(self) -> str:
        """``<id>_<start:06d>``: the raw file's and the clip's name."""
        return f"{self.youtube_id}_{self.start:06d}"


def parse_csv(text: str, source: str = "csv") -> list[Segment]:
    """The VGGSound CSV as segments (a header or comment line is tolerated and skipped).

    Raises:
        DataError: no row has the shape ``id,start,label,train|test``.
    """
    rows, bad = [], 0
    for row in csv.reader(io.StringIO(text)):
        if not row or row[0].lstrip().startswith("#"):
            continue
        if len(row) != 4:
            bad += 1
            continue
        vid, start, label, split = (x.strip() for x in row)
        try:
            start_s = int(float(start))
        except ValueError:
            bad += 1  # e.g. a header line
            continue
        if not vid or not label or split not in ("train", "test") or start_s < 0:
            bad += 1
            continue
        rows.append(Segment(vid, start_s, label, split))
    if not rows:
        raise DataError(f"{source}: no rows of the form youtube_id,start_seconds,label,train|test")
    if bad > 1:
        warn(f"{source}: skipped {bad} malformed rows")
    return rows


def load_csv(csv_path: str | Path | None, csv_url: str | None) -> list[Segment]:
    """Read the CSV from a local file or a URL."""
    if csv_path is not None:
        path = Path(csv_path)
        if not path.is_file():
            raise DataError(f"{path}: no such CSV file")
        return parse_csv(path.read_text(encoding="utf-8", errors="replace"), str(path))
    if csv_url:
        data = fetch_url(csv_url, timeout=60, hint=f" Download {csv_url} elsewhere and pass --csv FILE.")
        return parse_csv(data.decode("utf-8", errors="replace"), csv_url)
    raise DataError(f"pass --csv vggsound.csv or --csv-url (default {CSV_URL})")


def download_command(seg: Segment, raw: Path) -> list[str]:
    """yt-dlp: the segment's 10 s of the best audio stream, saved as ``RAW/<id>_<start:06d>.<ext>``."""
    return ["yt-dlp", "--quiet", "--no-warnings", "--no-playlist", "--no-progress", "--socket-timeout", "30",
            "-f", "bestaudio/best", "-x", "--download-sections", f"*{seg.start}-{seg.start + SEGMENT_SECONDS}",
            "-o", str(raw / f"{seg.stem}.%(ext)s"), f"https://www.youtube.com/watch?v={seg.youtube_id}"]


def segment_splits(rows: list[Segment], chosen: list[Segment], val_frac: float, seed: int) -> dict[str, str]:
    """{youtube id: split}: test if the CSV lists the video under test anywhere, else val/train by video."""
    test_ids = {r.youtube_id for r in rows if r.split == "test"}
    train_ids = sorted({s.youtube_id for s in chosen} - test_ids)
    out = assign_group_splits(train_ids, val_frac=val_frac, test_frac=0.0, seed=seed, salt="vggsound")
    out.update({s.youtube_id: "test" for s in chosen if s.youtube_id in test_ids})
    return out


def prepare_vggsound(out: str | Path, raw: str | Path, csv_path: str | Path | None = None,
                     csv_url: str | None = None, classes: Sequence[str] | None = None,
                     max_clips_per_class: int | None = None, clip_seconds: float = 6.0, min_active: float = 0.3,
                     skip_download: bool = False, network_check: bool = True, val_frac: float = 0.1, seed: int = 0,
                     overwrite: bool = False, download_timeout: float = 300.0) -> dict:
    """Build a VGGSound solo-clip library (see the module docstring)."""
    check_out(out, overwrite)
    clip_samples = clip_samples_for(clip_seconds)
    rows = load_csv(csv_path, csv_url)
    labels = select_labels(sorted({r.label for r in rows}), classes, "label")
    folder = {label: safe_name(label) for label in labels}
    clash = [f for f in set(folder.values()) if list(folder.values()).count(f) > 1]
    if clash:
        raise DataError(f"labels {sorted(l for l in labels if folder[l] in clash)} give the same folder name")
    raw = Path(raw)

    by_label: dict[str, list[Segment]] = {}
    for label in labels:
        segs = {s.stem: s for s in rows if s.label == label}  # one row per (id, start)
        by_label[label] = [segs[k] for k in stable_order(segs, seed, salt=label)]

    if not skip_download:
        pending = []
        for label, segs in by_label.items():
            have = sum(1 for s in segs if find_raw(raw, s.stem))
            missing = [s for s in segs if not find_raw(raw, s.stem)]
            if max_clips_per_class is not None:
                missing = missing[:max(max_clips_per_class - have, 0)]
            pending += missing
        if pending:
            fallback = f"; or pass --skip-download to use only the segments already in {raw}"
            try:
                require_tools(("yt-dlp", "ffmpeg"), "downloading VGGSound segments", extra=fallback)
                if network_check:
                    check_network(YOUTUBE_HOST, extra=f": downloading needs YouTube{fallback}")
            except DataError as exc:
                if count_raw(raw) == 0:
                    raise
                warn(f"{exc} — using the {count_raw(raw)} files already in {raw}")
                pending = []
            if pending:
                info(f"downloading {len(pending)} segments into {raw} (yt-dlp)")
                raw.mkdir(parents=True, exist_ok=True)
            failed = 0
            for seg in pending:
                ok, msg = run_tool(download_command(seg, raw), timeout=download_timeout)
                if not ok or find_raw(raw, seg.stem) is None:
                    failed += 1
                    warn(f"could not download {seg.stem} ({seg.label}): {msg or 'yt-dlp wrote no audio file'}")
            if failed:
                warn(f"{failed} of {len(pending)} downloads failed (videos disappear from YouTube over time)")
    elif count_raw(raw) == 0:
        raise DataError(f"--skip-download: no audio in {raw} (expected {raw}/<youtube id>_<start:06d>.<ext>)")

    available = {label: [(s, p) for s in segs if (p := find_raw(raw, s.stem)) is not None]
                 for label, segs in by_label.items()}
    if not any(available.values()):
        raise DataError(f"no VGGSound audio in {raw} for the chosen labels "
                        f"(expected {raw}/<youtube id>_<start:06d>.<ext>)")
    check_decodable(p for files in available.values() for _, p in files)
    splits = segment_splits(rows, [s for files in available.values() for s, _ in files], val_frac, seed)

    with LibraryBuilder(out, overwrite=overwrite) as lib:
        for label, files in available.items():
            cls = folder[label]
            if not files:
                warn(f"no audio for {label!r}")
            for seg, path in files:
                if max_clips_per_class is not None and lib.count(cls) >= max_clips_per_class:
                    break
                try:
                    wave = decode_audio(path)
                except AudioError as exc:
                    warn(f"{exc}; skipped")
                    continue
                if len(wave) > (SEGMENT_SECONDS + 2) * SAMPLE_RATE:  # a whole video, not the segment
                    wave = wave[seg.start * SAMPLE_RATE:(seg.start + SEGMENT_SECONDS) * SAMPLE_RATE]
                clip = loudest_window(wave, clip_samples, step=SAMPLE_RATE // 2)
                frac = active_fraction(clip)
                if frac == 0 or frac < min_active:
                    warn(f"{path}: silent, skipped")
                    continue
                lib.add_clip(cls, seg.stem, clip, splits[seg.youtube_id], group=seg.youtube_id)
        return finish(lib)
