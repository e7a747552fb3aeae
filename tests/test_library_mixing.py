"""Solo-clip libraries (splits, errors, loading) and mix-and-separate mixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from sgn_teach.core.errors import AudioError, DataError
from sgn_teach.data import MixDataset, SoloLibrary, mix_batch, mix_features, split_of, stratified_splits
from sgn_teach.signal.audio import save_audio
from sgn_teach.signal.spectral import SpectralFrontEnd

SR = 11025


def tone(seconds: float = 1.0, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def make_library(root: Path, layout: dict[str, int], seconds: float = 1.0) -> Path:
    """ROOT/<class>/<class>_<k>.wav with layout[class] clips of a tone each."""
    for ci, (name, n) in enumerate(layout.items()):
        for k in range(n):
            save_audio(root / name / f"{name}_{k}.wav", tone(seconds, 200.0 + 50 * ci + 7 * k), SR)
    return root


# ---------------------------------------------------------------- splits

def test_split_of_is_roughly_80_10_10():
    names = [f"class_{i % 11}/clip_{i:05d}.wav" for i in range(5000)]
    splits = [split_of(n) for n in names]
    assert set(splits) == {"train", "val", "test"}
    for split, share in (("train", 0.8), ("val", 0.1), ("test", 0.1)):
        assert abs(splits.count(split) / len(names) - share) < 0.02, split
    assert [split_of(n) for n in names] == splits


def test_library_splits_partition_all(synth_library):
    libs = {s: SoloLibrary(synth_library, s) for s in ("train", "val", "test", "all")}
    parts = [set(c.rel for c in libs[s].clips) for s in ("train", "val", "test")]
    assert set.union(*parts) == {c.rel for c in libs["all"].clips}
    assert sum(len(p) for p in parts) == len(libs["all"]) == 66
    assert libs["all"].classes == sorted(p.name for p in synth_library.iterdir() if p.is_dir())
    for lib in libs.values():
        for ci, clips in lib.by_class.items():
            assert clips and all(c.class_index == ci and c.class_name == lib.classes[ci] for c in clips)
        assert all(lib.split_table[c.rel] == lib.split for c in lib.clips) or lib.split == "all"
    # stratified: every class has 6 clips → 4 train, 1 val, 1 test
    for split, k in (("train", 4), ("val", 1), ("test", 1)):
        assert all(len(clips) == k for clips in libs[split].by_class.values()), split
        assert len(libs[split].by_class) == 11


def test_stratified_splits_are_proportional_per_group_and_stable():
    groups = {c: [f"c{c}/clip_{i:03d}.wav" for i in range(n)] for c, n in enumerate((2, 3, 10, 25, 60))}
    table = stratified_splits(groups)
    for c, rels in groups.items():
        got = [table[r] for r in rels]
        n = len(rels)
        expect_test = max(round(0.1 * n), 1 if n >= 3 else 0)
        assert got.count("test") == expect_test and got.count("val") == expect_test, (n, got)
    assert stratified_splits(groups) == table  # a function of the paths alone
    shuffled = {c: list(reversed(r)) for c, r in groups.items()}
    assert stratified_splits(shuffled) == table  # not of their order


def test_soundfont_column_filters_clips(tmp_path):
    root = make_library(tmp_path / "lib", {"a": 6, "b": 6})
    rows = ["path,split,soundfont"] + [f"{c}/{c}_{k}.wav,{'test' if k == 0 else 'train'},{'x' if k % 2 else 'y'}"
                                       for c in "ab" for k in range(6)]
    (root / "splits.csv").write_text("\n".join(rows) + "\n")
    lib = SoloLibrary(root, "all", soundfonts=["x"])
    assert len(lib) == 6 and {c.soundfont for c in lib.clips} == {"x"}
    assert SoloLibrary(root, "all").soundfonts == ["x", "y"]
    assert {c.rel for c in SoloLibrary(root, "test", soundfonts=["y"]).clips} == {"a/a_0.wav", "b/b_0.wav"}
    with pytest.raises(DataError, match="no clips of SoundFont.*z.*it has x, y"):
        SoloLibrary(root, "all", soundfonts=["z"])


def test_splits_csv_overrides(tmp_path):
    root = make_library(tmp_path / "lib", {"a": 4, "b": 4})
    (root / "splits.csv").write_text("path,split\na/a_0.wav,test\nb/b_1.wav,val\n./b/b_2.wav,val\n")
    test = SoloLibrary(root, "test")
    assert "a/a_0.wav" in {c.rel for c in test.clips}
    assert {c.rel for c in SoloLibrary(root, "val").clips} >= {"b/b_1.wav", "b/b_2.wav"}
    assigned = {}
    for split in ("train", "val", "test"):
        try:
            assigned.update({c.rel: split for c in SoloLibrary(root, split).clips})
        except DataError:  # an empty split
            pass
    listed = {"a/a_0.wav": "test", "b/b_1.wav": "val", "b/b_2.wav": "val"}
    unlisted = stratified_splits({c: [f"{c}/{c}_{k}.wav" for k in range(4) if f"{c}/{c}_{k}.wav" not in listed]
                                  for c in "ab"})
    assert assigned == {rel: listed.get(rel, unlisted.get(rel)) for rel in assigned}  # unlisted: stratified
    assert len(assigned) == 8
    (root / "splits.csv").write_text("path,split\na/a_0.wav,holdout\n")
    with pytest.raises(DataError, match="split must be train, val or test, not 'holdout'"):
        SoloLibrary(root, "all")
    (root / "splits.csv").write_text("file,part\na/a_0.wav,test\n")
    with pytest.raises(DataError, match="needs the columns path,split"):
        SoloLibrary(root, "all")


def test_library_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        SoloLibrary(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="has no class folders"):
        SoloLibrary(tmp_path / "empty")
    root = make_library(tmp_path / "lib", {"cello": 1, "flute": 1})
    with pytest.raises(DataError, match="no folder for class.*tuba.*it has cello, flute"):
        SoloLibrary(root, "all", classes=["cello", "tuba"])
    with pytest.raises(DataError, match="split 'test' of .* is empty"):  # one clip per class: all train
        SoloLibrary(root, "test")
    with pytest.raises(DataError, match="split must be"):
        SoloLibrary(root, "training")
    lib = SoloLibrary(root, "all", classes=["flute", "cello"])  # the given order sets the class indices
    assert lib.classes == ["flute", "cello"] and lib.by_class[0][0].class_name == "flute"
    (root / "cello" / "notes.txt").write_text("not audio")
    (root / "cello" / ".tmp-half.wav").write_bytes(b"")
    assert len(SoloLibrary(root, "all")) == 2  # other files and hidden temp files are ignored


def test_load_caches_and_names_bad_files(tmp_path):
    root = make_library(tmp_path / "lib", {"a": 1})
    lib = SoloLibrary(root, "all")
    wave = lib.load(lib.clips[0])
    assert wave.shape == (SR,) and wave.dtype == np.float32
    wave[:] = 0  # the caller's copy: the cache is untouched
    assert len(lib._cache) == 1 and np.abs(lib.load(lib.clips[0])).max() > 0.4
    assert lib.load(lib.clips[0], sample_rate=8000).shape == (8000,)
    (root / "a" / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    save_audio(root / "a" / "silent.wav", np.zeros(SR, np.float32), SR)
    lib = SoloLibrary(root, "all")
    for name, why in (("broken.wav", "not a readable audio file"), ("silent.wav", "silent")):
        clip = next(c for c in lib.clips if c.path.name == name)
        with pytest.raises(AudioError, match=f"{name}.*{why}"):
            lib.load(clip)


# ---------------------------------------------------------------- mixtures

def digest(item: dict[str, torch.Tensor]) -> list:
    return [item["class_idx"].tolist(), round(float(item["mixture"].double().abs().sum()), 6),
            round(float(item["sources"].double().pow(2).sum()), 6)]


def test_mixtures_are_consistent(synth_library, tiny_audio):
    lib = SoloLibrary(synth_library, "train")
    ds = MixDataset(lib, tiny_audio, n_sources=3, n_mixtures=20, seed=1)
    n = tiny_audio.n_samples
    for i in range(len(ds)):
        it = ds[i]
        assert it["mixture"].shape == (n,) and it["sources"].shape == (3, n)
        assert it["mixture"].dtype == torch.float32 and it["class_idx"].dtype == torch.long
        assert len(set(it["class_idx"].tolist())) == 3, "distinct classes"
        assert torch.allclose(it["mixture"], it["sources"].sum(0), atol=1e-6)
        assert it["sources"].abs().max() <= 1.0 / 3 + 1e-6  # each source ÷ N (clips peak at 0.9)
        assert torch.all(it["sources"].pow(2).mean(-1).sqrt() > 1e-3), "no silent crop"
        labels = torch.zeros(len(lib.classes))
        labels[it["class_idx"]] = 1
        assert torch.equal(it["labels"], labels)
    with pytest.raises(IndexError):
        ds[20]


def test_mixture_i_depends_only_on_seed_and_i(synth_library, tiny_audio):
    ds = MixDataset(SoloLibrary(synth_library, "train"), tiny_audio, n_sources=2, n_mixtures=8, seed=5)
    forward = [digest(ds[i]) for i in range(8)]
    fresh = MixDataset(SoloLibrary(synth_library, "train"), tiny_audio, n_sources=2, n_mixtures=8, seed=5)
    assert [digest(fresh[i]) for i in reversed(range(8))] == forward[::-1]
    other = MixDataset(SoloLibrary(synth_library, "train"), tiny_audio, n_sources=2, n_mixtures=8, seed=6)
    assert [digest(other[i]) for i in range(8)] != forward


def test_split_of_is_stable_across_runs():
    """md5, not Python's per-process salted hash(): these never change."""
    known = {"cello/cello_0000.wav": "val", "violin/violin_0007.wav": "train", "tuba/x.flac": "test",
             "a/b/c.wav": "train"}
    assert {name: split_of(name) for name in known} == known


def test_dataloader_workers_give_the_same_batches(synth_library, tiny_audio):
    ds = MixDataset(SoloLibrary(synth_library, "train"), tiny_audio, n_sources=2, n_mixtures=8, seed=2)
    serial = list(DataLoader(ds, batch_size=4, num_workers=0))
    parallel = list(DataLoader(ds, batch_size=4, num_workers=2))
    for a, b in zip(serial, parallel):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    batch = mix_batch(SoloLibrary(synth_library, "train"), tiny_audio, range(4), n_sources=2, seed=2)
    assert all(torch.equal(batch[k], serial[0][k]) for k in batch)


def test_too_few_classes(tmp_path, tiny_audio):
    root = make_library(tmp_path / "lib", {"a": 2, "b": 2})
    with pytest.raises(DataError, match="3 distinct classes need 3 classes with clips.*only 2"):
        MixDataset(SoloLibrary(root, "all"), tiny_audio, n_sources=3)


def test_short_clips_are_zero_padded(tmp_path, tiny_audio):
    root = make_library(tmp_path / "lib", {"a": 1, "b": 1}, seconds=0.5)
    it = MixDataset(SoloLibrary(root, "all"), tiny_audio, n_sources=2, n_mixtures=1)[0]
    half = int(0.5 * SR)
    assert torch.all(it["sources"][:, half:] == 0) and torch.all(it["sources"][:, :half].abs().amax(-1) > 0.2)


@pytest.mark.parametrize("mask", ["binary", "ratio"])
def test_spectral_fields(synth_library, tiny_audio, mask):
    ds = MixDataset(SoloLibrary(synth_library, "val"), tiny_audio, n_sources=2, n_mixtures=3, seed=0,
                    spectra=True, mask=mask)
    it = ds[0]
    F_lin, T, F = tiny_audio.n_freq_linear, tiny_audio.n_frames, tiny_audio.n_freq_warped
    assert (F_lin, T, F) == (512, 64, 64)
    shapes = {"stft": (F_lin, T), "mag": (1, F_lin, T), "mag_warped": (1, F, T), "log_mag": (1, F, T),
              "weight": (1, F, T), "source_mag_warped": (2, F, T), "target": (2, F, T),
              "target_binary": (2, F, T), "target_ratio": (2, F, T)}
    assert {k: tuple(it[k].shape) for k in shapes} == shapes
    assert it["stft"].is_complex()
    assert set(it["target_binary"].unique().tolist()) <= {0.0, 1.0}
    assert it["target_ratio"].min() >= 0 and it["target_ratio"].max() <= 1
    assert torch.equal(it["target"], it[f"target_{mask}"])
    assert it["weight"].min() >= 1e-3 and it["weight"].max() <= 10
    # batched features on the DataLoader's batch equal the per-item ones
    batch = next(iter(DataLoader(MixDataset(ds.library, tiny_audio, 2, 3, seed=0), batch_size=3)))
    feats = mix_features(batch["mixture"], batch["sources"], SpectralFrontEnd(tiny_audio), mask=mask)
    assert torch.allclose(feats["log_mag"][0], it["log_mag"], atol=1e-4)
    assert torch.equal(feats["target_binary"][0], it["target_binary"]) or \
        (feats["target_binary"][0] != it["target_binary"]).float().mean() < 1e-3
    with pytest.raises(ValueError, match="mask"):
        mix_features(batch["mixture"], batch["sources"], SpectralFrontEnd(tiny_audio), mask="soft")
