"""The solo-clip library: a folder of single-instrument clips, one sub-folder per class.

Layout (every data source of the course writes it)::

    ROOT/
      accordion/  clip1.wav  clip2.flac ...
      cello/      ...
      splits.csv  (optional: columns path,split — path relative to ROOT, split train|val|test)

The class list is the sorted folder names (or a list you give); class i is the
i-th. A clip's split comes from splits.csv when it lists the clip, else from a
stable hash of its relative path (80 % train, 10 % val, 10 % test), so the split
never changes when clips are added, removed or the folder is moved.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import AUDIO_EXTENSIONS, load_audio
from ..errors import DataError

SPLITS = ("train", "val", "test")
SPLITS_FILE = "splits.csv"


@dataclass(frozen=True)
class Clip:
    """One solo clip: its `path`, `rel` (posix path relative to the root), class index and name."""

    path: Path
    rel: str
    class_index: int
    class_name: str


def split_of(rel_path: str) -> str:
    """The split of a clip from the md5 of its posix relative path: 80 % train, 10 % val, 10 % test."""
    bucket = int(hashlib.md5(rel_path.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "train" if bucket < 80 else "val" if bucket < 90 else "test"


def read_splits_csv(path: Path) -> dict[str, str]:
    """ROOT/splits.csv → {relative path: split}; DataError for a malformed file."""
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
        table[Path((row["path"] or "").strip()).as_posix()] = split
    return table


class SoloLibrary:
    """The clips of one split of a solo-clip library.

    Args:
        root: the library folder.
        split: "train", "val", "test" or "all".
        classes: the class list (each must be a folder of ROOT); None: every folder, sorted.
        cache_size: decoded clips kept in memory by :meth:`load` (least recently used are dropped).

    Attributes:
        root, split, classes (list of names; class i = classes[i]),
        clips (list of :class:`Clip`, sorted by class then path),
        by_class ({class index: its clips}, only classes that have clips in this split).
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", classes: list[str] | None = None,
                 cache_size: int = 2048) -> None:
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
                all_clips.append(Clip(path, rel, ci, name))
        if not all_clips:
            raise DataError(f"{self.root} has no audio clips ({'/'.join(AUDIO_EXTENSIONS)}) in its class folders")
        self.clips = [c for c in all_clips if split == "all" or table.get(c.rel, split_of(c.rel)) == split]
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
        return f"SoloLibrary({str(self.root)!r}, split={self.split!r}: {len(self)} clips — {counts})"

    @property
    def classes_with_clips(self) -> list[int]:
        """Indices of the classes that have at least one clip in this split."""
        return sorted(self.by_class)

    def load(self, clip: Clip, sample_rate: int = 11025) -> np.ndarray:
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
