"""The FluidSynth renderer (skipped, with the reason, where FluidSynth or a SoundFont is missing)."""

from __future__ import annotations

import numpy as np
import pytest

from sgn_teach.core.errors import DataError
from sgn_teach.data import (
    MUSIC11,
    RENDER_NOTE,
    SoloLibrary,
    SoundFontRenderer,
    clip_rng,
    find_course_soundfonts,
    find_soundfont,
    fluidsynth_available,
    fluidsynth_problem,
    get_class,
    random_phrase,
    render_library,
)
from sgn_teach.data import render as render_module
from sgn_teach.signal.audio import load_audio

SR = 11025
needs_fluidsynth = pytest.mark.skipif(not fluidsynth_available(), reason=f"FluidSynth unusable: {fluidsynth_problem()}")


def _centroid(x: np.ndarray) -> float:
    mag, f = np.abs(np.fft.rfft(x)), np.fft.rfftfreq(len(x), 1 / SR)
    return float((mag * f).sum() / mag.sum())


def _render(renderer: SoundFontRenderer, name: str, k: int, duration: float = 2.0, notes_of: str | None = None):
    notes = random_phrase(notes_of or name, clip_rng(0, notes_of or name, k), duration)
    return renderer.render(name, notes, duration)


def test_find_soundfont_errors_and_override(tmp_path, monkeypatch):
    monkeypatch.delenv("SGN_SOUNDFONT", raising=False)
    with pytest.raises(DataError, match="apt-get install fluidsynth fluid-soundfont-gm"):
        find_soundfont(tmp_path / "missing.sf2")
    fake = tmp_path / "mine.sf2"
    fake.write_bytes(b"RIFF")
    assert find_soundfont(fake) == fake
    monkeypatch.setenv("SGN_SOUNDFONT", str(fake))
    assert find_soundfont() == fake
    monkeypatch.setenv("SGN_SOUNDFONT", str(tmp_path / "gone.sf2"))
    with pytest.raises(DataError, match=r"\$SGN_SOUNDFONT .*gone\.sf2 does not exist"):
        find_soundfont()
    monkeypatch.setattr(render_module, "SOUNDFONT_DIRS", (str(tmp_path / "nowhere"),))
    monkeypatch.delenv("SGN_SOUNDFONT")
    with pytest.raises(DataError, match="no SoundFont"):
        find_soundfont()
    assert not fluidsynth_available() and "no SoundFont" in fluidsynth_problem()


def test_render_note_names_the_erhu_stand_in():
    erhu = get_class("erhu")
    assert f"program {erhu.gm_program} '{erhu.gm_name}'" in RENDER_NOTE
    assert all(c.name in RENDER_NOTE for c in MUSIC11)


@needs_fluidsynth
def test_render_clip_is_sane_and_independent_of_history():
    r = SoundFontRenderer()
    a = _render(r, "violin", 0)
    assert a.shape == (2 * SR,) and a.dtype == np.float32 and np.all(np.isfinite(a))
    assert abs(np.abs(a).max() - 0.9) < 1e-4 and np.sqrt(np.mean(a ** 2)) > 0.02
    _render(r, "tuba", 1)     # whatever played before ...
    _render(r, "accordion", 2)
    assert np.array_equal(a, _render(r, "violin", 0))  # ... the clip is the same, sample for sample


@needs_fluidsynth
def test_render_library_is_deterministic_and_loads_the_soundfont_once(tmp_path, monkeypatch):
    render_module._ENGINES.clear()
    loads = []
    original = render_module._Engine.__init__

    def counting_init(self, soundfont, sample_rate):
        loads.append(soundfont)
        original(self, soundfont, sample_rate)

    monkeypatch.setattr(render_module._Engine, "__init__", counting_init)
    kw = dict(clips_per_class=2, seed=1, duration=1.5, classes=("erhu", "xylophone"), progress=False,
              soundfont=find_soundfont())
    a = render_library(tmp_path / "a", **kw)
    b = render_library(tmp_path / "b", **kw)
    assert len(loads) == 1 and len(render_module._ENGINES) == 1
    files = sorted(p.relative_to(a) for p in a.rglob("*.wav"))
    assert [f.as_posix() for f in files] == ["erhu/erhu_0000.wav", "erhu/erhu_0001.wav",
                                             "xylophone/xylophone_0000.wav", "xylophone/xylophone_0001.wav"]
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert (a / "splits.csv").read_text() == (b / "splits.csv").read_text()


@needs_fluidsynth
def test_multi_soundfont_library_records_soundfonts_and_splits(tmp_path):
    fonts = find_course_soundfonts()
    if len(fonts) < 2:
        pytest.skip("needs at least two of the course SoundFonts")
    keys = list(fonts)[:2]
    root = render_library(tmp_path / "lib", clips_per_class=3, seed=0, duration=1.0, classes=("cello", "flute"),
                          progress=False, soundfonts=keys)
    lib = SoloLibrary(root, "all")
    assert lib.soundfonts == sorted(keys) and len(lib) == 2 * 2 * 3
    for key in keys:
        part = SoloLibrary(root, "all", soundfonts=[key])
        assert len(part) == 6 and all(f"_{key}_" in c.rel and c.soundfont == key for c in part.clips)
        # stratified per class and SoundFont: each (class, SoundFont) group of 3 has one test and one val clip
        for split in ("train", "val", "test"):
            got = SoloLibrary(root, split, soundfonts=[key])
            assert all(len(v) == 1 for v in got.by_class.values()) and len(got.by_class) == 2
    # the two SoundFonts play different phrases: same class and index, different notes *and* timbre
    a, _ = load_audio(root / f"cello/cello_{keys[0]}_0000.wav")
    b, _ = load_audio(root / f"cello/cello_{keys[1]}_0000.wav")
    assert abs(float(np.corrcoef(a, b)[0, 1])) < 0.5


@needs_fluidsynth
def test_rendered_timbres():
    r = SoundFontRenderer()
    tuba = np.mean([_centroid(_render(r, "tuba", k)) for k in range(3)])
    flute = np.mean([_centroid(_render(r, "flute", k)) for k in range(3)])
    assert tuba < 0.5 * flute
    # the erhu is not just the violin: same notes, another patch with slides and vibrato
    erhu, violin = _render(r, "erhu", 0), _render(r, "violin", 0, notes_of="erhu")
    assert np.sqrt(np.mean((erhu - violin) ** 2)) > 0.05


@needs_fluidsynth
def test_bad_soundfont_is_a_clear_error(tmp_path):
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"this is not a SoundFont")
    with pytest.raises(DataError, match="not a SoundFont"):
        SoundFontRenderer(fake)
    assert not any(str(fake) in key[0] for key in render_module._ENGINES)


@needs_fluidsynth
def test_variety_library_adds_voices_without_touching_the_course_library(tmp_path):
    """The shipped models' training library: the course library's clips, names and splits unchanged, plus other GM
    voices of the same instruments in every course SoundFont and the synthesizer, each SoundFont in its column."""
    import csv

    from sgn_teach.data import find_course_soundfonts, render_library
    from sgn_teach.data.variety import EXTRA_PROGRAMS, render_variety_library

    if len(find_course_soundfonts()) < 3:
        pytest.skip("the three course SoundFonts are not all installed")
    names = ("saxophone", "tuba")
    base = render_library(tmp_path / "base", clips_per_class=3, seed=1, duration=1.0, classes=names, progress=False)
    var = render_variety_library(tmp_path / "var", clips_per_class=3, extra_clips=3, synth_clips=3, seed=1,
                                 duration=1.0, classes=names, progress=False)
    rows = {r["path"]: r for r in csv.DictReader(open(var / "splits.csv"))}
    for r in csv.DictReader(open(base / "splits.csv")):
        assert rows[r["path"]]["split"] == r["split"] and rows[r["path"]]["soundfont"] == r["soundfont"]
        np.testing.assert_array_equal(load_audio(base / r["path"])[0], load_audio(var / r["path"])[0])
    sax = [r for r in rows.values() if r["path"].startswith("saxophone/")]
    assert {int(r["program"]) for r in sax if r["soundfont"] != "synth"} == {65, *EXTRA_PROGRAMS["saxophone"]}
    assert {r["soundfont"] for r in rows.values()} == {"fluidr3", "timgm6mb", "csound", "synth"}
    lib = SoloLibrary(var, split="all", soundfonts=["timgm6mb", "csound", "synth"])  # FluidR3 left out entirely
    assert all(c.soundfont != "fluidr3" for c in lib.clips) and len(lib.clips) == len(rows) - len(
        [r for r in rows.values() if r["soundfont"] == "fluidr3"])
    # another choice of voices on top (bench_timbre_transfer.py's program swap): tuba gains GM 57 (trombone) in
    # every course SoundFont; every clip already there keeps its split
    more = render_variety_library(var, clips_per_class=3, extra_clips=3, synth_clips=3, seed=1, duration=1.0,
                                  classes=names, progress=False, extra_programs={**EXTRA_PROGRAMS, "tuba": (57,)})
    after = {r["path"]: r for r in csv.DictReader(open(more / "splits.csv"))}
    assert all(after[k]["split"] == r["split"] for k, r in rows.items())
    added = [r for k, r in after.items() if k not in rows]
    assert len(added) == 3 * 3 and all(r["path"].startswith("tuba/") and r["program"] == "57" for r in added)
