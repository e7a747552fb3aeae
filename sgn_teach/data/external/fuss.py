"""FUSS (Free Universal Sound Separation, Wisdom et al. 2020) → a solo-clip library.

FUSS ships **no class labels**: its sources were picked from FSD50K, but every source is
filed under the single scaper label ``sound`` (hence ``background0_sound.wav``). The
labels are recovered from FSD50K's ground truth (Zenodo record 4060432,
``FSD50K.ground_truth.zip``: ``dev.csv`` = ``fname,labels,mids,split`` and ``eval.csv`` =
``fname,labels,mids``; ``fname`` is the Freesound id, ``labels`` a comma-separated list
whose first entry is the most specific one), so ``--fsd50k-labels`` is required.

Layouts assumed (google-research/sound-separation ``datasets/fuss``: get_dev_data.sh,
make_ss_examples.py, make_fg_bg_file_lists.py), from Zenodo record 3694384:

- ``FUSS_ssdata.tar.gz`` → ``ssdata/{train,validation,eval}/exampleNNNNN.wav`` (mixture),
  ``exampleNNNNN.jams``, ``exampleNNNNN.txt`` and ``exampleNNNNN_sources/{background0_sound.wav,
  foreground0_sound.wav, …}`` — 10-s, 16 kHz mono. In the JAMS file (scaper namespace)
  each event's ``value`` has ``role`` (background/foreground) and ``source_file``
  (``…/fsd_data/<split>/sound/<freesound id>.wav``); the n-th event of a role is the
  file ``<role><n>_<label>.wav``; its ``time``/``duration`` say where the event is
  active. ``ssdata_reverb`` (same layout) works as well if its .jams files are present.
- ``FUSS_fsd_data.tar.gz`` → ``fsd_data/{train,validation,eval}/sound/<freesound id>.wav``:
  the original (unmixed, unreverberated) source files; the cleaner input for a solo
  library, used when present (``--source auto``).

Each source file (one FSD50K clip) is used once — in ssdata the same clip can appear in
several mixtures; the first occurrence is kept — cut to its active region, cut into
``--clip-seconds`` clips (a last part of at least 1 s is zero-padded; silent clips are
skipped) → ``OUT/<label>/<freesound id>_<k>.wav``, ``<label>`` being the clip's first
FSD50K label (or the first of its labels listed in ``--classes``) through
:func:`~.common.safe_name` (``Dog`` → ``dog``). Splits follow FUSS: train → train,
validation → val, eval → test (FUSS keeps uploaders apart between train and validation).
A source file that is not audio, or whose Freesound id is not in the ground truth, is
skipped with a warning.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ...core.errors import AudioError, DataError
from .builder import LibraryBuilder, check_out, finish
from .common import SAMPLE_RATE, clip_samples_for, cut_clips, decode_audio, info, per_group_cap, safe_name, select_labels, warn

FUSS_SPLITS = {"train": "train", "validation": "val", "eval": "test"}
SOURCES = ("auto", "fsd_data", "ssdata", "ssdata_reverb")
LABELS_HELP = ("FUSS ships no class labels (every source is labelled 'sound'); get FSD50K.ground_truth.zip "
               "(zenodo.org/record/4060432), unzip it and pass --fsd50k-labels FSD50K.ground_truth")


@dataclass
class Source:
    """One FSD50K clip used by FUSS."""

    fsd_id: str
    split: str  # FUSS folder name: train / validation / eval
    path: Path
    span: tuple[float, float] | None = None  # active region (s) in an ssdata source file
    labels: tuple[str, ...] = ()


def fsd_id_of(path: str | Path) -> str | None:
    """The Freesound id in a file name (``123456.wav`` → ``123456``), or None."""
    m = re.match(r"\D*(\d+)", Path(str(path)).stem)
    return m.group(1) if m else None


def load_fsd50k_labels(path: str | Path | None) -> dict[str, tuple[str, ...]]:
    """{freesound id: (label, …)} from FSD50K.ground_truth (a folder with dev.csv/eval.csv, or one CSV)."""
    if path is None:
        raise DataError(LABELS_HELP)
    path = Path(path)
    files = [path] if path.is_file() else [p for p in (path / "dev.csv", path / "eval.csv") if p.is_file()]
    if not files:
        raise DataError(f"{path}: no dev.csv/eval.csv (FSD50K.ground_truth) there; {LABELS_HELP}")
    out: dict[str, tuple[str, ...]] = {}
    for f in files:
        with open(f, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"fname", "labels"} <= set(reader.fieldnames):
                raise DataError(f"{f}: expected FSD50K columns fname,labels,mids[,split]")
            for row in reader:
                labels = tuple(x.strip() for x in (row["labels"] or "").split(",") if x.strip())
                if row["fname"] and labels:
                    out[str(row["fname"]).strip()] = labels
    if not out:
        raise DataError(f"{path}: no labelled rows")
    return out


def is_fsd_data(folder: Path) -> bool:
    """``folder/{train,validation,eval}/<label folder>/*.wav``?"""
    return any(any(d.glob("*/*.wav")) for d in (folder / s for s in FUSS_SPLITS) if d.is_dir())


def is_ssdata(folder: Path) -> bool:
    """``folder/{train,validation,eval}/example*_sources/``?"""
    return any(any(d.glob("example*_sources")) for d in (folder / s for s in FUSS_SPLITS) if d.is_dir())


def locate(root: Path, source: str) -> tuple[str, Path]:
    """Find the layout to read under `root` (the FUSS folder, or ssdata/fsd_data itself)."""
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    candidates = {"fsd_data": root / "fsd_data", "ssdata": root / "ssdata", "ssdata_reverb": root / "ssdata_reverb"}
    if root.name in candidates:
        candidates[root.name] = root
    elif is_fsd_data(root) and not is_ssdata(root):
        candidates["fsd_data"] = root
    elif is_ssdata(root):
        candidates["ssdata"] = root
    order = ("fsd_data", "ssdata", "ssdata_reverb") if source == "auto" else (source,)
    for name in order:
        folder = candidates[name]
        if folder.is_dir() and (is_fsd_data(folder) if name == "fsd_data" else is_ssdata(folder)):
            return name, folder
    raise DataError(f"{root}: no FUSS {' or '.join(order)} layout found (expected ssdata/{{train,validation,eval}}/"
                    "exampleNNNNN_sources/ with exampleNNNNN.jams, or fsd_data/{train,validation,eval}/sound/*.wav)")


def jams_events(path: Path) -> list[dict]:
    """The scaper events of a JAMS file: [{"role", "label", "source_file", "time", "duration"}] in file order."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
        anns = obj["annotations"]
        ann = next((a for a in anns if a.get("namespace") == "scaper"), anns[0])
        data = ann["data"]
        if isinstance(data, dict):  # column-wise serialisation: {"time": [...], "value": [...], ...}
            data = [dict(zip(data, col)) for col in zip(*data.values())]
        events = []
        for obs in data:
            value = obs["value"]
            events.append({"role": value["role"], "label": value.get("label", "sound"),
                           "source_file": value["source_file"], "time": float(obs.get("time", 0.0)),
                           "duration": float(obs.get("duration", 0.0))})
        return events
    except (OSError, ValueError, KeyError, TypeError, IndexError, StopIteration) as exc:
        raise DataError(f"{path}: not a scaper JAMS file ({exc.__class__.__name__}: {exc})") from None


def list_ssdata(folder: Path) -> list[Source]:
    """Every source of every example, with its Freesound id and active span."""
    out, no_jams, bad_jams, no_id = [], [], [], []
    for split in FUSS_SPLITS:
        for src_dir in sorted((folder / split).glob("example*_sources")) if (folder / split).is_dir() else []:
            jams = src_dir.with_name(src_dir.name[: -len("_sources")] + ".jams")
            if not jams.is_file():
                no_jams.append(jams)
                continue
            try:
                events = jams_events(jams)
            except DataError:
                bad_jams.append(jams)
                continue
            count: dict[str, int] = {}
            for ev in events:
                n = count.get(ev["role"], 0)
                count[ev["role"]] = n + 1
                path = src_dir / f"{ev['role']}{n}_{ev['label']}.wav"
                if not path.is_file():
                    matches = sorted(src_dir.glob(f"{ev['role']}{n}_*.wav"))
                    if not matches:
                        continue  # a partial copy: nothing to read
                    path = matches[0]
                fsd_id = fsd_id_of(ev["source_file"])
                if fsd_id is None:
                    no_id.append(jams)
                    continue
                out.append(Source(fsd_id, split, path, (ev["time"], ev["time"] + ev["duration"])))
    for what, paths in (("have no .jams file (so their sources' Freesound ids are unknown)", no_jams),
                        ("have a .jams file that is not scaper JSON", bad_jams),
                        ("name a source_file without a Freesound id", no_id)):
        if paths:
            warn(f"{len(paths)} examples {what}; skipped (first: {paths[0]})")
    return out


def list_fsd_data(folder: Path) -> list[Source]:
    """Every ``fsd_data/<split>/<folder>/<id>.wav``."""
    out = []
    for split in FUSS_SPLITS:
        for path in sorted((folder / split).glob("*/*.wav")) if (folder / split).is_dir() else []:
            fsd_id = fsd_id_of(path)
            if fsd_id is None:
                warn(f"{path}: no Freesound id in the file name; skipped")
                continue
            out.append(Source(fsd_id, split, path))
    return out


def prepare_fuss(out: str | Path, root: str | Path, fsd50k_labels: str | Path | None, source: str = "auto",
                 classes: Sequence[str] | None = None, max_clips_per_class: int | None = None,
                 clip_seconds: float = 6.0, min_active: float = 0.3, min_seconds: float = 1.0,
                 overwrite: bool = False) -> dict:
    """Build a FUSS solo-clip library with FSD50K class labels (see the module docstring)."""
    check_out(out, overwrite)
    clip_samples = clip_samples_for(clip_seconds)
    if source not in SOURCES:
        raise DataError(f"--source must be one of {', '.join(SOURCES)}")
    layout, folder = locate(Path(root), source)
    labels = load_fsd50k_labels(fsd50k_labels)
    info(f"reading FUSS {layout} in {folder}")
    sources = list_ssdata(folder) if layout != "fsd_data" else list_fsd_data(folder)

    seen: dict[str, Source] = {}
    unlabelled = 0
    for s in sources:
        if s.fsd_id in seen:
            continue  # the same FSD50K clip in another mixture: used once
        if s.fsd_id not in labels:
            unlabelled += 1
            continue
        s.labels = labels[s.fsd_id]
        seen[s.fsd_id] = s
    if unlabelled:
        warn(f"{unlabelled} source files have no entry in the FSD50K ground truth; skipped")
    if not seen:
        raise DataError(f"no labelled FUSS sources in {folder}")

    all_labels = sorted({lab for s in seen.values() for lab in s.labels})
    wanted = select_labels(all_labels, classes, "FSD50K label") if classes else None
    by_class: dict[str, list[Source]] = {}
    for s in seen.values():
        label = next((lab for lab in s.labels if lab in wanted), None) if wanted else s.labels[0]
        if label is not None:
            by_class.setdefault(safe_name(label), []).append(s)
    if not by_class:
        raise DataError("no FUSS source carries the requested --classes")

    min_samples = int(round(min_seconds * SAMPLE_RATE))
    with LibraryBuilder(out, overwrite=overwrite) as lib:
        for cls in sorted(by_class):
            items = by_class[cls]
            cap = per_group_cap(max_clips_per_class, len(items))
            for s in items:
                if max_clips_per_class is not None and lib.count(cls) >= max_clips_per_class:
                    break
                try:
                    wave = decode_audio(s.path)
                except AudioError as exc:
                    warn(f"{exc}; skipped")
                    continue
                if s.span is not None:  # keep the event's active region of the 10-s source file
                    a, b = (max(0, int(t * SAMPLE_RATE)) for t in s.span)
                    wave = wave[a:max(b, a)] if b > a else wave
                for k, clip in cut_clips(wave, clip_samples, min_active, pad_min_samples=min_samples)[:cap]:
                    if max_clips_per_class is not None and lib.count(cls) >= max_clips_per_class:
                        break
                    lib.add_clip(cls, f"{s.fsd_id}_{k}", clip, FUSS_SPLITS[s.split], group=s.fsd_id)
        return finish(lib)
