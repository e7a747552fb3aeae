"""The solo-clip library: a folder of single-instrument clips, one sub-folder per class.

Layout (every data source of the course writes it)::

    ROOT/
      accordion/  clip1.wav  clip2.flac ...
      cello/      ...
      splits.csv  (optional: columns path,split[,soundfont] — path relative to ROOT,
                   split train|val|test, soundfont: where the clip came from)

The class list is the sorted folder names (or a list you give); class i is the
i-th. A clip's split comes from splits.csv when it lists the clip; otherwise the
split is **stratified**: within each class the clips are ordered by a stable hash
of their relative path and the first 10 % go to `test`, the next 10 % to `val`,
the rest to `train` (at least one each once a class has three clips). Every class
is then represented in every split in proportion — a plain hash split gave 2–8
test clips per class on the course data. (Adding clips to a class can move a few
of its clips between splits; list them in splits.csv to pin them.)

The optional `soundfont` column records which SoundFont (or recording set) each
clip came from; ``SoloLibrary(..., soundfonts=[...])`` keeps only those clips,
which is how a model is trained on some timbres and tested on another.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.config import SAMPLE_RATE
from ..core.errors import DataError
from ..signal.audio import AUDIO_EXTENSIONS, load_audio

SPLITS = ("train", "val", "test")
SPLITS_FILE = "splits.csv"


@dataclass(frozen=True)
class Clip:
    """One solo clip: its `path`, `rel` (posix path relative to the root), class index and name,
    and the SoundFont (or recording set) it came from, "" when the library does not say."""

    path: Path
    rel: str
    class_index: int
    class_name: str
    soundfont: str = ""


def _hash(rel_path: str) -> int:
    return int(hashlib.md5(rel_path.encode("utf-8")).hexdigest()[:8], 16)


def split_of(rel_path: str) -> str:
    """A clip's split from the md5 of its posix relative path alone: 80 % train, 10 % val, 10 % test.

    Used only where a clip has no group to be stratified in; see :func:`stratified_splits`.
    """
    bucket = _hash(rel_path) % 100
    return "train" if bucket < 80 else "val" if bucket < 90 else "test"


def split_counts(n: int, val: float = 0.1, test: float = 0.1) -> tuple[int, int, int]:
    """(train, val, test) clip counts of a group of n: round(10 %) each, at least 1 from n ≥ 3."""
    n_test = max(round(n * test), 1 if n >= 3 else 0)
    n_val = max(round(n * val), 1 if n >= 3 else 0)
    return n - n_val - n_test, n_val, n_test


def stratified_splits(groups: dict[object, list[str]]) -> dict[str, str]:
    """Split every group (e.g. a class, or a class × SoundFont) 80/10/10 by rank of a stable hash.

    Args:
        groups: {group key: relative paths of its clips}.

    Returns:
        {relative path: "train" | "val" | "test"}.
    """
    table: dict[str, str] = {}
    for rels in groups.values():
        ordered = sorted(rels, key=lambda r: (_hash(r), r))
        _, n_val, n_test = split_counts(len(ordered))
        for i, rel in enumerate(ordered):
            table[rel] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return table


def read_splits_csv(path: Path) -> dict[str, dict[str, str]]:
    """ROOT/splits.csv → {relative path: {"split": …, "soundfont": … (if the column exists)}}.

    DataError for a malformed file.
    """
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    if rows and not {"path", "split"} <= set(rows[0]):
        raise DataError(f"{path}: needs the columns path,split (found {', '.join(rows[0])})")
    table = {}
    for i, row in enumerate(rows, start=2):
        split = (row["split"] or "").strip()
        if split not in SPLITS:
            raise DataError(f"{path}, line {i}: split must be train, val or test, not {split!r}")
        entry = {"split": split}
        if (row.get("soundfont") or "").strip():
            entry["soundfont"] = row["soundfont"].strip()
        table[Path((row["path"] or "").strip()).as_posix()] = entry
    return table


class SoloLibrary:
    """The clips of one split of a solo-clip library.

    Args:
        root: the library folder.
        split: "train", "val", "test" or "all".
        classes: the class list (each must be a folder of ROOT); None: every folder, sorted.
        soundfonts: keep only the clips of these SoundFonts (the `soundfont` column of
            splits.csv); None keeps every clip.
        cache_size: decoded clips kept in memory by :meth:`load` (least recently used are dropped).

    Attributes:
        root, split, classes (list of names; class i = classes[i]),
        clips (list of :class:`Clip`, sorted by class then path),
        by_class ({class index: its clips}, only classes that have clips in this split).
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", classes: list[str] | None = None,
                 soundfonts: list[str] | None = None, cache_size: int = 4096) -> None:
        self.root = Path(root)
        if split not in (*SPLITS, "all"):
            raise DataError(f"split must be train, val, test or all, not {split!r}")
        self.split = split
        if not self.root.is_dir():
            raise DataError(f"solo-clip library {self.root} does not exist (make one with "
                            "`python -m sgn_teach data synth --out DIR` or `... data render --out DIR`)")
        folders = sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not folders:
            raise DataError(f"{self.root} has no class folders: a library is ROOT/<class>/<clip>.wav")
        if classes is None:
            self.classes = folders
        else:
            missing = [c for c in classes if c not in folders]
            if missing:
                raise DataError(f"{self.root} has no folder for class(es) {', '.join(missing)}; "
                                f"it has {', '.join(folders)}")
            self.classes = list(classes)

        table = read_splits_csv(self.root / SPLITS_FILE) if (self.root / SPLITS_FILE).is_file() else {}
        all_clips: list[Clip] = []
        for ci, name in enumerate(self.classes):
            for path in sorted((self.root / name).rglob("*")):
                if path.name.startswith(".") or path.suffix.lower() not in AUDIO_EXTENSIONS or not path.is_file():
                    continue  # hidden files (e.g. half-written .tmp-*.wav) and non-audio
                rel = path.relative_to(self.root).as_posix()
                all_clips.append(Clip(path, rel, ci, name, table.get(rel, {}).get("soundfont", "")))
        if not all_clips:
            raise DataError(f"{self.root} has no audio clips ({'/'.join(AUDIO_EXTENSIONS)}) in its class folders")
        self.soundfonts_available = sorted({c.soundfont for c in all_clips if c.soundfont})
        if soundfonts is not None:
            unknown = [f for f in soundfonts if f not in self.soundfonts_available]
            if unknown:
                raise DataError(f"{self.root} has no clips of SoundFont(s) {', '.join(unknown)}; it has "
                                f"{', '.join(self.soundfonts_available) or 'no soundfont column in splits.csv'}")
            all_clips = [c for c in all_clips if c.soundfont in soundfonts]
        self.soundfonts = list(soundfonts) if soundfonts is not None else self.soundfonts_available
        unlisted: dict[object, list[str]] = {}
        for c in all_clips:
            if c.rel not in table:
                unlisted.setdefault((c.class_index, c.soundfont), []).append(c.rel)
        fallback = stratified_splits(unlisted)
        self.split_table = {c.rel: table[c.rel]["split"] if c.rel in table else fallback[c.rel] for c in all_clips}
        self.clips = [c for c in all_clips if split == "all" or self.split_table[c.rel] == split]
        if not self.clips:
            raise DataError(f"split {split!r} of {self.root} is empty ({len(all_clips)} clips in all): "
                            "add clips, use split='all', or assign splits in splits.csv")
        self.by_class: dict[int, list[Clip]] = {}   # only the classes that have clips in this split
        for c in self.clips:
            self.by_class.setdefault(c.class_index, []).append(c)
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self.clips)

    def __repr__(self) -> str:
        counts = ", ".join(f"{name} {len(self.by_class.get(i, []))}" for i, name in enumerate(self.classes))
        fonts = f", soundfonts {'+'.join(self.soundfonts)}" if self.soundfonts else ""
        return f"SoloLibrary({str(self.root)!r}, split={self.split!r}{fonts}: {len(self)} clips — {counts})"

    @property
    def classes_with_clips(self) -> list[int]:
        """Indices of the classes that have at least one clip in this split."""
        return sorted(self.by_class)

    def load(self, clip: Clip, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
        """Decode a clip to mono float32 at `sample_rate`: (L,). Cached in memory.

        Returns a fresh (writable) copy of the cached wave, so a caller can modify it.
        Raises AudioError (naming the file) for a broken or silent clip.
        """
        key = (str(clip.path), int(sample_rate))
        wave = self._cache.get(key)
        if wave is None:
            wave, _ = load_audio(clip.path, sample_rate=sample_rate)
            wave.setflags(write=False)  # the cached copy is shared: guard it
            self._cache[key] = wave
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)  # drop the least recently used
        else:
            self._cache.move_to_end(key)
        return wave.copy()
