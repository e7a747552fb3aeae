"""Streaming separation: the same result in any pieces, buffers that do not grow, files equal to the in-memory path."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from sgn_teach.audio import load_audio, resample
from sgn_teach.checkpoint import save_checkpoint
from sgn_teach.config import get_preset
from sgn_teach.models import build_model
from sgn_teach.separate import TRAIN_RMS, separate_file, separate_wave
from sgn_teach.streaming import StreamResampler, WindowSeparator

CLASSES = ["cello", "flute", "trumpet", "xylophone"]


def _pieces(x: np.ndarray, rng: np.random.Generator, most: int = 20000):
    i = 0
    while i < len(x):
        k = int(rng.integers(1, most))
        yield x[i: i + k]
        i += k


@pytest.mark.parametrize("orig, new", [(44100, 11025), (48000, 11025), (11025, 44100), (8000, 11025), (11025, 11025)])
def test_stream_resampler_equals_whole_signal(orig, new):
    rng = np.random.default_rng(orig + new)
    x = rng.standard_normal(orig * 2 + 17).astype(np.float32)
    r = StreamResampler(orig, new)
    y = np.concatenate([*(r.push(p) for p in _pieces(x, rng)), r.flush()])
    ref = resample(x, orig, new)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, atol=1e-4)  # float32 rounding of the convolution, nothing more


def _model(variant: str) -> torch.nn.Module:
    cfg = get_preset("tiny", variant=variant)
    cfg.model.n_classes = len(CLASSES)
    torch.manual_seed(1)
    return build_model(cfg.model, cfg.audio).eval(), cfg


@pytest.mark.parametrize("variant, indices", [("sgn", [0, 2]), ("sop", None)])
def test_separator_gives_the_same_output_in_any_pieces(variant, indices):
    model, cfg = _model(variant)
    rng = np.random.default_rng(0)
    x = 0.1 * rng.standard_normal(int(cfg.audio.n_samples * 4.3)).astype(np.float32)
    whole = WindowSeparator(model, cfg.audio, indices, batch_size=3)
    a = np.concatenate([whole.push(x), whole.flush()], axis=1)
    pieces = WindowSeparator(model, cfg.audio, indices, batch_size=3)
    parts = [pieces.push(p) for p in _pieces(x, rng, 7000)] + [pieces.flush()]
    b = np.concatenate([p for p in parts if p.shape[1]], axis=1)
    assert a.shape == b.shape == (2, len(x))
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_separator_buffers_do_not_grow_with_length():
    model, cfg = _model("sgn")
    size, block = cfg.audio.n_samples, 4096
    rng = np.random.default_rng(0)
    peaks = []
    for seconds in (10, 40):
        sep = WindowSeparator(model, cfg.audio, [1], batch_size=4)
        most = 0
        for _ in range(seconds * cfg.audio.sample_rate // block):
            sep.push(0.1 * rng.standard_normal(block).astype(np.float32))
            held = len(sep.windower.buf) + sep.queue.size + (sep.ola.acc.size if sep.ola is not None else 0)
            most = max(most, held)
        peaks.append(most)
    assert abs(peaks[1] - peaks[0]) < block and peaks[1] < 8 * size  # a few windows' worth, whatever the length


def test_file_separation_equals_the_in_memory_path(tmp_path):
    model, cfg = _model("sgn")
    ck = save_checkpoint(tmp_path / "m.pt", model, cfg, CLASSES, 0)
    sr = 22050
    x = 0.2 * np.random.default_rng(3).standard_normal((int(sr * 3.3), 2)).astype(np.float32)
    sf.write(tmp_path / "in.wav", x, sr, subtype="FLOAT")
    written = separate_file(tmp_path / "in.wav", ck, tmp_path / "out", classes=["flute", "cello"], device="cpu",
                            figure=False)
    assert [p.name for p in written] == ["in_flute.wav", "in_cello.wav"]
    wave, _ = load_audio(tmp_path / "in.wav", sample_rate=cfg.audio.sample_rate)
    ref, _ = separate_wave(model, wave, cfg.audio, CLASSES, ["flute", "cello"], target_rms=TRAIN_RMS)
    for name, path in zip(("flute", "cello"), written):
        got, got_sr = sf.read(path, dtype="float32")
        want = resample(ref[name], cfg.audio.sample_rate, sr)[: len(x)]
        assert got_sr == sr and got.shape == (len(x),)
        np.testing.assert_allclose(got, want, atol=2e-4)  # 16-bit PCM steps are 3e-5


def test_auto_decodes_the_input_once_and_matches_the_in_memory_path(tmp_path, monkeypatch):
    """`--classes auto` decides during the one read of the input (no second decode and resampling)."""
    model, cfg = _model("sgn")
    ck = save_checkpoint(tmp_path / "m.pt", model, cfg, CLASSES, 0)
    sr = 44100
    x = 0.2 * np.random.default_rng(5).standard_normal((int(sr * 2.7), 2)).astype(np.float32)
    sf.write(tmp_path / "in.wav", x, sr, subtype="FLOAT")
    decodes = []
    blocks = sf.SoundFile.blocks

    def counting_blocks(self, *args, **kwargs):
        if self.name == str(tmp_path / "in.wav"):
            decodes.append(self.name)
        return blocks(self, *args, **kwargs)

    monkeypatch.setattr(sf.SoundFile, "blocks", counting_blocks)
    written = separate_file(tmp_path / "in.wav", ck, tmp_path / "out", classes="auto", device="cpu", figure=False)
    assert len(decodes) == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in written)  # no stream file
    wave, _ = load_audio(tmp_path / "in.wav", sample_rate=cfg.audio.sample_rate)
    ref, _ = separate_wave(model, wave, cfg.audio, CLASSES, "auto", target_rms=TRAIN_RMS)
    assert [p.name for p in written] == [f"in_{name}.wav" for name in ref]
    for name, path in zip(ref, written):
        got, _ = sf.read(path, dtype="float32")
        np.testing.assert_allclose(got, resample(ref[name], cfg.audio.sample_rate, sr)[: len(x)], atol=2e-4)


def test_bad_samples_found_midway_leave_nothing(tmp_path):
    """The samples are checked as the first pass reads them: NaN after many good blocks still leaves no output."""
    from sgn_teach.errors import AudioError
    from sgn_teach.separate import BLOCK

    model, cfg = _model("sgn")
    ck = save_checkpoint(tmp_path / "m.pt", model, cfg, CLASSES, 0)
    x = 0.2 * np.random.default_rng(6).standard_normal(3 * BLOCK + 100).astype(np.float32)
    x[-50] = np.nan
    sf.write(tmp_path / "in.wav", x, 22050, subtype="FLOAT")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(AudioError, match="NaN"):
        separate_file(tmp_path / "in.wav", ck, tmp_path / "out", classes="auto", device="cpu", figure=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no OUT, no temp folder
