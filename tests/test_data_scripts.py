"""End-to-end tests of data_scripts/prepare_*.py on fixtures laid out like the real downloads.

Each script runs as a subprocess from the repository root. Downloads are exercised with a
fake ``yt-dlp`` on PATH that writes a short tone where the real one would write the audio,
so the command line, the resumable skip of files already in RAW and the handling of a gone
video are all covered without a network. Corrupt inputs are skipped with a warning line.

Starting a script costs seconds (torch), so the module fixture `runs` builds every fixture and
starts every subprocess at once; each test then waits for its own run and checks it. Failures
that happen before any audio work run in-process through the scripts' own ``main``.
"""

from __future__ import annotations

import csv
import json
import os
import runpy
import socket
import stat
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sgn_teach.core.errors import DataError

REPO = Path(__file__).resolve().parents[1]
SR = 11025


# ---------------------------------------------------------------------------
# helpers


def tone(seconds: float, sr: int, freq: float = 440.0, channels: int = 1, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    x = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def write(path: Path, wave: np.ndarray, sr: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wave, sr)
    return path


def corrupt(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not audio\n" * 20)
    return path


class Run:
    """A script started in the background: `result()` waits for it."""

    def __init__(self, name: str, args: list, out: Path, env_path: str | None = None,
                 extra_env: dict | None = None, **info):
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # 7 runs share the cores
        if env_path is not None:
            env["PATH"] = env_path
        env.update(extra_env or {})
        self.out, self.info = out, info
        self.proc = subprocess.Popen([sys.executable, str(REPO / "data_scripts" / name), *map(str, args)], cwd=REPO,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._done = None

    def result(self) -> subprocess.CompletedProcess:
        if self._done is None:
            stdout, stderr = self.proc.communicate(timeout=300)
            self._done = subprocess.CompletedProcess(self.proc.args, self.proc.returncode, stdout, stderr)
        return self._done

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def common():
    """sgn_teach.data.external.common, imported on first use (importing sgn_teach.data costs seconds)."""
    from sgn_teach.data.external import common as module

    return module


def builder():
    """sgn_teach.data.external.builder (LibraryBuilder, check_out), imported on first use like common()."""
    from sgn_teach.data.external import builder as module

    return module


def script_main(name: str):
    """The `main(argv)` of data_scripts/<name>, to run it in-process through common.run_cli."""
    return runpy.run_path(str(REPO / "data_scripts" / name), run_name="data_script_under_test")["main"]


def empty_path(tmp_path: Path) -> str:
    """A PATH with nothing on it: no yt-dlp, no ffmpeg."""
    empty = tmp_path / "empty_bin"
    empty.mkdir(exist_ok=True)
    return str(empty)


FAKE_YTDLP = """#!{python} -S
# Stand-in for yt-dlp (stdlib only, so it starts fast): writes a tone where the real tool
# would write the audio; ids containing GONE fail like a removed video, SIL give silence.
import math, os, struct, sys, wave
args = sys.argv[1:]
template = args[args.index("-o") + 1]
vid = args[-1].split("v=")[-1]
with open(os.environ["FAKE_YTDLP_LOG"], "a") as f:
    f.write(vid + "\\n")
if "GONE" in vid:
    print("ERROR: [youtube] " + vid + ": Video unavailable", file=sys.stderr)
    sys.exit(1)
seconds = 10.0 if "--download-sections" in args else 3.5
sr, freq = 8000, 200 + 10 * (sum(map(ord, vid)) % 50)
amp = 0 if "SIL" in vid else 9000
frames = struct.pack("<%dh" % int(seconds * sr),
                     *(int(amp * math.sin(2 * math.pi * freq * i / sr)) for i in range(int(seconds * sr))))
with wave.open(template.replace("%(ext)s", "wav"), "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(sr)
    w.writeframes(frames)
"""


def fake_tools(tmp_path: Path) -> tuple[str, Path]:
    """A PATH holding only fake yt-dlp / ffmpeg / ffprobe, and the yt-dlp call log."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "yt-dlp").write_text(FAKE_YTDLP.format(python=sys.executable))
    for tool in ("ffmpeg", "ffprobe"):  # present for the PATH check; never needed for wav files
        (bin_dir / tool).write_text("#!/bin/sh\necho 'fake tool' >&2\nexit 1\n")
    for f in bin_dir.iterdir():
        f.chmod(f.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(bin_dir), tmp_path / "ytdlp.log"


def read_library(out: Path, clip_samples: int) -> dict[str, dict[str, str]]:
    """Check format invariants; return {class: {clip stem: split}}."""
    assert out.is_dir()
    rows = list(csv.DictReader(open(out / "splits.csv", newline="")))
    listed = {r["path"]: r["split"] for r in rows}
    assert len(listed) == len(rows) and rows and set(rows[0]) == {"path", "split"}
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav"))
    assert on_disk == sorted(listed), "splits.csv must list exactly the clips on disk"
    lib: dict[str, dict[str, str]] = defaultdict(dict)
    for rel, split in listed.items():
        assert split in ("train", "val", "test")
        cls, name = rel.split("/")
        info = sf.info(str(out / rel))
        assert info.samplerate == SR and info.channels == 1 and info.frames == clip_samples, rel
        wave, _ = sf.read(str(out / rel))
        assert np.sqrt(np.mean(wave ** 2)) > 1e-3, f"{rel} is silent"
        lib[cls][name[:-4]] = split
    assert not list(out.parent.glob(f"{out.name}.tmp-*"))
    return dict(lib)


def assert_groups_in_one_split(lib: dict[str, dict[str, str]], group_of) -> None:
    seen: dict[str, str] = {}
    for clips in lib.values():
        for name, split in clips.items():
            g = group_of(name)
            assert seen.setdefault(g, split) == split, f"{g} is in {seen[g]} and {split}"


def assert_clean_failure(proc, out: Path, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert not out.exists()
    assert not list(out.parent.glob(f"{out.name}.tmp-*"))


# ---------------------------------------------------------------------------
# fixtures laid out like the real downloads


def music_index(tmp_path: Path) -> Path:
    index = {"version": 1.0, "videos": {
        "acoustic guitar": ["gtrA", "gtrB", "gtrC"],  # a key with a space → acoustic_guitar
        "cello": ["-celA", "celB", "celC"],            # YouTube ids can start with '-'
        "erhu": ["erhA", "erhGONE"],
    }}
    path = tmp_path / "MUSIC_solo_videos.json"
    path.write_text(json.dumps(index, indent=4))
    return path


VGG_CSV = """vidA1,30,dog barking,train
vidA2,0,dog barking,train
vidA3,10,dog barking,train
vidA4,20,dog barking,test
vidA1,60,dog barking,train
vidGONE,0,dog barking,train
vidSIL1,0,dog barking,train
vidB1,5,"people eating, crunching",train
vidB2,15,"people eating, crunching",train
vidB3,0,"people eating, crunching",test
vidB4,40,"people eating, crunching",train
vidC1,0,"playing violin, fiddle",train
"""

OFFICIAL_VAL = "Actions - One Minute Smile"  # on musdb's validation list


def musdb_fixture(root: Path) -> None:
    """ROOT/{train,test}/<track>/{mixture,vocals,drums,bass,other}.wav, 44.1 kHz stereo."""
    sr = 44100
    tracks = {("train", OFFICIAL_VAL): {}, ("train", "A Classic Education - NightOwl"): {"bass": "silent"},
              ("train", "ANiMAL - Clinic A"): {"vocals": "late"}, ("test", "Al James - Schoolboy Facination"):
              {"other": "corrupt"}}
    for (subset, name), special in tracks.items():
        folder = root / subset / name
        stems = {}
        for i, stem in enumerate(("vocals", "drums", "bass", "other")):
            x = tone(3.2, sr, 220 * (i + 1), channels=2)
            if special.get(stem) == "silent":
                x[:] = 0
            elif special.get(stem) == "late":  # silent for 2 s, then sound
                x[: 2 * sr] = 0
            stems[stem] = x
            if special.get(stem) == "corrupt":
                corrupt(folder / f"{stem}.wav")
            else:
                write(folder / f"{stem}.wav", x, sr)
        write(folder / "mixture.wav", sum(stems.values()), sr)


def jams_doc(events: list[tuple[str, int, float, float]]) -> dict:
    """A scaper JAMS document: events are (role, fsd_id, time, duration)."""
    data = [{"time": t, "duration": d, "confidence": 1.0,
             "value": {"label": "sound", "source_file": f"/data/fuss/fsd_data/train/sound/{fid}.wav",
                       "source_time": 0.0, "event_time": t, "event_duration": d, "snr": 10.0, "role": role,
                       "pitch_shift": None, "time_stretch": None}} for role, fid, t, d in events]
    return {"annotations": [{"namespace": "scaper", "data": data, "sandbox": {"scaper": {"duration": 10.0}},
                             "annotation_metadata": {}, "time": 0, "duration": 10.0}],
            "file_metadata": {"duration": 10.0}, "sandbox": {}}


def fsd50k_ground_truth(folder: Path) -> Path:
    """FSD50K.ground_truth/{dev,eval}.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "dev.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["fname", "labels", "mids", "split"])
        w.writerow([101, "Dog,Domestic_animals_and_pets,Animal", "/m/0bt9lr,/m/068hy,/m/0jbk", "train"])
        w.writerow([102, "Rain,Water,Weather", "/m/06mb1,/m/0838f,/m/03m9d0z", "train"])
        w.writerow([103, "Speech,Human_voice", "/m/09x0r,/m/09l8g", "train"])
        w.writerow([104, "Speech,Human_voice", "/m/09x0r,/m/09l8g", "val"])
        w.writerow([105, "Rain,Water,Weather", "/m/06mb1,/m/0838f,/m/03m9d0z", "val"])
    with open(folder / "eval.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["fname", "labels", "mids"])
        w.writerow([201, "Dog,Domestic_animals_and_pets,Animal", "/m/0bt9lr,/m/068hy,/m/0jbk"])
        w.writerow([202, "Rain,Water,Weather", "/m/06mb1,/m/0838f,/m/03m9d0z"])
    return folder


def fuss_ssdata(root: Path) -> None:
    """ssdata/{train,validation,eval}/exampleNNNNN{.wav,.jams,.txt,_sources/}, 10 s at 16 kHz."""
    sr = 16000
    examples = {
        ("train", 0): [("background", 102, 0.0, 10.0), ("foreground", 101, 2.0, 3.0), ("foreground", 999, 6.0, 2.0)],
        ("train", 1): [("background", 102, 0.0, 10.0), ("foreground", 103, 1.0, 1.5)],  # 102 again: used once
        ("validation", 0): [("background", 104, 0.0, 10.0), ("foreground", 105, 3.0, 2.0)],  # 105: corrupt
        ("eval", 0): [("background", 202, 0.0, 10.0), ("foreground", 201, 5.0, 4.0)],
    }
    for (split, n), events in examples.items():
        base = root / "ssdata" / split / f"example{n:05d}"
        mix = np.zeros(10 * sr, np.float32)
        counts: dict[str, int] = {}
        for role, fid, t, d in events:
            k = counts.get(role, 0)
            counts[role] = k + 1
            x = np.zeros(10 * sr, np.float32)
            x[int(t * sr):int((t + d) * sr)] = tone(d, sr, 100 + fid)[: int(d * sr)]
            path = Path(f"{base}_sources") / f"{role}{k}_sound.wav"
            corrupt(path) if fid == 105 else write(path, x, sr)
            mix += x
        write(Path(f"{base}.wav"), mix, sr)
        Path(f"{base}.jams").write_text(json.dumps(jams_doc(events)))
        Path(f"{base}.txt").write_text("".join(f"{t:.3f}\t{t + d:.3f}\tsound\n" for _, _, t, d in events))


def fuss_fsd_data(root: Path) -> None:
    """fsd_data/{train,validation,eval}/sound/<freesound id>.wav, 16 kHz."""
    sr = 16000
    write(root / "fsd_data" / "train" / "sound" / "101.wav", tone(5.0, sr, 300), sr)
    write(root / "fsd_data" / "train" / "sound" / "102.wav", tone(12.0, sr, 400), sr)
    write(root / "fsd_data" / "validation" / "sound" / "104.wav", tone(4.0, sr, 500), sr)
    write(root / "fsd_data" / "eval" / "sound" / "201.wav", tone(5.0, sr, 600), sr)


def start_music(tmp: Path) -> Run:
    path_env, log = fake_tools(tmp)
    raw, out = tmp / "raw", tmp / "music"
    write(raw / "acoustic_guitar" / "gtrA.wav", tone(3.5, 44100, 330, channels=2), 44100)  # already downloaded
    corrupt(raw / "cello" / "celB.wav")                                                     # a broken download
    return Run("prepare_music.py", ["--index", music_index(tmp), "--raw", raw, "--out", out, "--clip-seconds", 1,
                                    "--no-network-check"], out, path_env, {"FAKE_YTDLP_LOG": str(log)}, log=log)


def start_music_no_tools(tmp: Path) -> Run:
    out = tmp / "music"
    return Run("prepare_music.py", ["--index", music_index(tmp), "--raw", tmp / "raw", "--out", out], out,
               empty_path(tmp))


def start_vggsound(tmp: Path) -> Run:
    path_env, log = fake_tools(tmp)
    csv_path, raw, out = tmp / "vggsound.csv", tmp / "raw", tmp / "vgg"
    csv_path.write_text(VGG_CSV)
    write(raw / "vidA2_000000.wav", tone(10.0, 16000, 500), 16000)  # already downloaded
    corrupt(raw / "vidB4_000040.wav")                               # a broken download
    return Run("prepare_vggsound.py", ["--csv", csv_path, "--raw", raw, "--out", out, "--clip-seconds", 1,
                                       "--classes", "dog barking", "people_eating_crunching", "--no-network-check"],
               out, path_env, {"FAKE_YTDLP_LOG": str(log)}, log=log)


def start_vggsound_no_tools(tmp: Path) -> Run:
    csv_path, out = tmp / "vggsound.csv", tmp / "vgg"
    csv_path.write_text(VGG_CSV)
    (tmp / "raw").mkdir()
    return Run("prepare_vggsound.py", ["--csv", csv_path, "--raw", tmp / "raw", "--out", out,
                                       "--classes", "dog barking"], out, empty_path(tmp))


def start_musdb(tmp: Path) -> Run:
    root, out = tmp / "musdb18hq", tmp / "musdb"
    musdb_fixture(root)
    return Run("prepare_musdb.py", ["--root", root, "--out", out, "--clip-seconds", 1], out)


def start_fuss_ssdata(tmp: Path) -> Run:
    root, out = tmp / "fuss", tmp / "fuss_lib"
    fuss_ssdata(root)
    gt = fsd50k_ground_truth(tmp / "FSD50K.ground_truth")
    return Run("prepare_fuss.py", ["--root", root, "--fsd50k-labels", gt, "--out", out, "--clip-seconds", 2], out)


STARTERS = {"music": start_music, "music_no_tools": start_music_no_tools, "vggsound": start_vggsound,
            "vggsound_no_tools": start_vggsound_no_tools, "musdb": start_musdb, "fuss_ssdata": start_fuss_ssdata}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The module's script runs, all started at once: each one spends seconds importing torch and scipy."""
    started: dict[str, Run] = {}
    try:
        for name, start in STARTERS.items():
            started[name] = start(tmp_path_factory.mktemp(name))
        yield started
    finally:
        for run in started.values():
            run.kill()


# ---------------------------------------------------------------------------
# MUSIC


def test_music_end_to_end(runs):
    run = runs["music"]
    proc = run.result()
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    # resumable: files already in RAW are not fetched again; the gone video is only a warning
    assert sorted(run.info["log"].read_text().split()) == sorted(["gtrB", "gtrC", "-celA", "celC", "erhA", "erhGONE"])
    assert "erhGONE" in proc.stderr and "celB.wav" in proc.stderr
    assert all(ln.startswith("warning: ") for ln in proc.stderr.strip().splitlines())

    lib = read_library(run.out, SR)
    assert sorted(lib) == ["acoustic_guitar", "cello", "erhu"]
    assert sorted(lib["acoustic_guitar"]) == [f"{v}_{k}" for v in ("gtrA", "gtrB", "gtrC") for k in range(3)]
    assert sorted(lib["cello"]) == sorted(f"{v}_{k}" for v in ("-celA", "celC") for k in range(3))
    assert sorted(lib["erhu"]) == ["erhA_0", "erhA_1", "erhA_2"]
    assert_groups_in_one_split(lib, lambda name: name.rsplit("_", 1)[0])
    assert set(lib["acoustic_guitar"].values()) == {"train", "val", "test"}  # 3 videos → one per split


def test_music_without_tools_fails_cleanly(runs):
    run = runs["music_no_tools"]
    assert_clean_failure(run.result(), run.out, "yt-dlp", "ffmpeg", "pip install yt-dlp")


def test_music_unreachable_index_url(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", empty_path(tmp_path))
    out = tmp_path / "music"
    rc = common().run_cli(script_main("prepare_music.py"),
                        ["--index-url", "http://127.0.0.1:9/MUSIC_solo_videos.json", "--out", str(out)])
    assert_clean_failure(subprocess.CompletedProcess([], rc, "", capsys.readouterr().err), out, "cannot fetch")


# ---------------------------------------------------------------------------
# VGGSound


def test_vggsound_end_to_end(runs):
    run = runs["vggsound"]
    proc = run.result()
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    fetched = run.info["log"].read_text().split()
    assert "vidA2" not in fetched and "vidB4" not in fetched and "vidC1" not in fetched
    assert "vidGONE" in fetched and "vidB4_000040" in proc.stderr and "vidSIL1" in proc.stderr

    lib = read_library(run.out, SR)
    assert sorted(lib) == ["dog_barking", "people_eating_crunching"]
    assert sorted(lib["dog_barking"]) == ["vidA1_000030", "vidA1_000060", "vidA2_000000", "vidA3_000010",
                                          "vidA4_000020"]
    assert sorted(lib["people_eating_crunching"]) == ["vidB1_000005", "vidB2_000015", "vidB3_000000"]
    assert lib["dog_barking"]["vidA4_000020"] == "test" and lib["people_eating_crunching"]["vidB3_000000"] == "test"
    assert_groups_in_one_split(lib, lambda name: name.rsplit("_", 1)[0])


def test_vggsound_without_tools_fails_cleanly(runs):
    run = runs["vggsound_no_tools"]
    assert_clean_failure(run.result(), run.out, "yt-dlp", "ffmpeg")


# ---------------------------------------------------------------------------
# MUSDB18


def test_musdb_hq_end_to_end(runs):
    run = runs["musdb"]
    proc = run.result()
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "other.wav" in proc.stderr  # the corrupt stem: a warning
    lib = read_library(run.out, SR)
    assert sorted(lib) == ["bass", "drums", "other", "vocals"]  # no "mixture" class
    counts = {c: len(v) for c, v in lib.items()}
    # 3.2 s → 3 clips per stem; silent bass: 0; vocals silent for 2 s: 1; corrupt other: 0
    assert counts == {"vocals": 3 + 3 + 1 + 3, "drums": 12, "bass": 3 + 0 + 3 + 3, "other": 3 + 3 + 3 + 0}
    assert "ANiMAL_-_Clinic_A_2" in lib["vocals"] and "ANiMAL_-_Clinic_A_0" not in lib["vocals"]
    assert not any(n.startswith("A_Classic_Education") for n in lib["bass"])
    track = lambda name: name.rsplit("_", 1)[0]  # noqa: E731
    assert_groups_in_one_split(lib, track)
    splits = {track(n): s for clips in lib.values() for n, s in clips.items()}
    assert splits == {"Actions_-_One_Minute_Smile": "val", "A_Classic_Education_-_NightOwl": "train",
                      "ANiMAL_-_Clinic_A": "train", "Al_James_-_Schoolboy_Facination": "test"}


def test_musdb_stem_mp4_needs_ffmpeg(tmp_path, monkeypatch, capsys):
    root, out = tmp_path / "musdb18", tmp_path / "musdb"
    corrupt(root / "train" / "Some Artist - Some Song.stem.mp4")
    monkeypatch.setenv("PATH", empty_path(tmp_path))
    rc = common().run_cli(script_main("prepare_musdb.py"), ["--root", str(root), "--out", str(out)])
    assert_clean_failure(subprocess.CompletedProcess([], rc, "", capsys.readouterr().err), out, "ffmpeg", ".stem.mp4")


# ---------------------------------------------------------------------------
# FUSS


def test_fuss_ssdata_end_to_end(runs):
    run = runs["fuss_ssdata"]
    proc = run.result()
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "foreground0_sound.wav" in proc.stderr  # corrupt 105 skipped
    lib = read_library(run.out, 2 * SR)
    assert sorted(lib) == ["dog", "rain", "speech"]
    # 10-s backgrounds → 5 clips; dog 101: 3 s active → 1 clip + a padded 1-s tail; speech 103: 1.5 s → padded
    assert sorted(lib["rain"]) == [f"{i}_{k}" for i in (102, 202) for k in range(5)]
    assert sorted(lib["dog"]) == ["101_0", "101_1", "201_0", "201_1"]
    assert sorted(lib["speech"]) == ["103_0"] + [f"104_{k}" for k in range(5)]
    fsd_id = lambda name: name.split("_")[0]  # noqa: E731
    assert_groups_in_one_split(lib, fsd_id)
    splits = {fsd_id(n): s for clips in lib.values() for n, s in clips.items()}
    assert splits == {"101": "train", "102": "train", "103": "train", "104": "val", "201": "test", "202": "test"}


def test_fuss_fsd_data_with_classes_and_cap(tmp_path, capsys):
    # the package function in-process (the script itself is covered by the ssdata run above)
    from sgn_teach.data.external.fuss import prepare_fuss

    root, out = tmp_path / "fuss", tmp_path / "fuss_lib"
    fuss_fsd_data(root)
    gt = fsd50k_ground_truth(tmp_path / "FSD50K.ground_truth")
    result = prepare_fuss(out, root, gt, classes=["Dog", "rain"], max_clips_per_class=3, clip_seconds=2.0)
    lib = read_library(out, 2 * SR)
    assert sorted(lib) == ["dog", "rain"]  # speech not asked for
    assert {c: len(v) for c, v in lib.items()} == {"dog": 3, "rain": 3} == result["classes"]
    assert set(lib["dog"].values()) == {"train", "test"}  # the cap spreads over both dog recordings
    assert "reading FUSS fsd_data" in capsys.readouterr().out  # fsd_data is preferred when present


def test_fuss_without_labels_fails_cleanly(tmp_path, capsys):
    root, out = tmp_path / "fuss", tmp_path / "fuss_lib"
    fuss_fsd_data(root)
    rc = common().run_cli(script_main("prepare_fuss.py"), ["--root", str(root), "--out", str(out)])
    assert_clean_failure(subprocess.CompletedProcess([], rc, "", capsys.readouterr().err), out, "FSD50K")


# ---------------------------------------------------------------------------
# common pieces (in-process)


def test_safe_names_and_group_splits():
    assert common().safe_name("acoustic guitar") == "acoustic_guitar"
    assert common().safe_name("people eating, crunching") == "people_eating_crunching"
    assert common().safe_name("Electric_guitar") == "electric_guitar"
    splits = common().assign_group_splits([f"v{i}" for i in range(20)], 0.1, 0.1, seed=3)
    assert sorted(splits.values()).count("test") == 2 and sorted(splits.values()).count("val") == 2
    assert splits == common().assign_group_splits([f"v{i}" for i in reversed(range(20))], 0.1, 0.1, seed=3)
    assert common().assign_group_splits(["a"], 0.1, 0.1) == {"a": "train"}


def test_network_check_fails_fast():
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DataError, match="no network"):
        common().check_network("127.0.0.1", port, timeout=2.0)


def test_builder_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "lib"
    with pytest.raises(RuntimeError):
        with builder().LibraryBuilder(out):
            raise RuntimeError("boom")
    with pytest.raises(DataError, match="no clips"):
        with builder().LibraryBuilder(out) as lib:
            lib.commit()
    assert not out.exists() and not list(tmp_path.glob("lib.tmp-*"))
    out.mkdir()
    (out / "x").write_text("keep")
    with pytest.raises(DataError, match="--overwrite"):
        builder().check_out(out, overwrite=False)
