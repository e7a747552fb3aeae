"""ROOT/library.json: what made a generated library, so a folder is never silently mixed.

`data synth` and `data render` write the manifest before the first clip:

    {"format": "sgn-teach-library-v1", "generator": "synth" | "render", "seed": 0,
     "duration": 6.0, "sample_rate": 11025, "classes": [...], "soundfonts": [...],
     "clips_per_class": 60}

Writing into a folder that is not empty is allowed only when it holds the
*same* library (same generator, seed, duration, rate, classes and SoundFonts):
then the run completes it — a render killed midway is finished by running the
same command again, and a larger ``--clips-per-class`` extends it, because clip
k is the same whatever the count. Anything else is refused unless ``force``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..core.errors import DataError

MANIFEST = "library.json"
FORMAT = "sgn-teach-library-v1"
IDENTITY = ("generator", "seed", "duration", "sample_rate", "classes", "soundfonts")


def read_manifest(root: str | os.PathLike) -> dict[str, Any] | None:
    """ROOT/library.json as a dict, or None if absent or not ours."""
    try:
        data = json.loads((Path(root) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def prepare_library_dir(root: str | os.PathLike, manifest: dict[str, Any], force: bool = False) -> bool:
    """Check that `root` may receive the library `manifest` describes, then write the manifest.

    Args:
        manifest: the IDENTITY fields and `clips_per_class`.
        force: write into a non-empty folder whatever it holds.

    Returns:
        True when `root` already held this library (being completed or extended).

    Raises:
        DataError: `root` is a file, or a non-empty folder holding something else.
        OutputError: `root` cannot be written.
    """
    from ..core.atomic import write_json
    from ..core.checks import check_writable_dir

    root = Path(root)
    if root.exists() and not root.is_dir():
        raise DataError(f"{root}: exists and is not a folder")
    check_writable_dir(root)
    manifest = {"format": FORMAT, **manifest}
    old = read_manifest(root)
    entries = [p for p in root.iterdir() if not p.name.startswith(".tmp-")] if root.is_dir() else []
    same = old is not None and all(old.get(k) == manifest.get(k) for k in IDENTITY)
    if entries and not force:
        if old is None:
            raise DataError(f"{root} is not empty and holds no library.json: writing there would mix its files "
                            "into the new library; give a new --out, or --force to write there anyway")
        if not same:
            diff = ", ".join(f"{k} {old.get(k)!r} → {manifest.get(k)!r}" for k in IDENTITY
                             if old.get(k) != manifest.get(k))
            raise DataError(f"{root} holds another library ({diff}); give a new --out, or --force to mix them")
        if manifest["clips_per_class"] < int(old.get("clips_per_class", 0)):
            raise DataError(f"{root} holds {old['clips_per_class']} clips per class of this library; asking for "
                            f"{manifest['clips_per_class']} would leave the others in it; give a new --out, or "
                            f"--clips-per-class {old['clips_per_class']}")
    if same:
        manifest["clips_per_class"] = max(manifest["clips_per_class"], int(old.get("clips_per_class", 0)))
    write_json(root / MANIFEST, manifest)
    return bool(entries) and same
