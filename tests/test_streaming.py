"""Streaming separation: the same result in any pieces, buffers that do not grow, files equal to the in-memory path."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from sgn_teach.core.config import TRAIN_RMS, get_preset
from sgn_teach.hub.build import build_model
from sgn_teach.hub.checkpoint import save_checkpoint
from sgn_teach.inference.separate import separate_file, separate_wave
from sgn_teach.inference.streaming import StreamResampler, WindowSeparator
from sgn_teach.signal.audio import load_audio, resample

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
    from sgn_teach.core.errors import AudioError
    from sgn_teach.inference.reader import BLOCK

    model, cfg = _model("sgn")
    ck = save_checkpoint(tmp_path / "m.pt", model, cfg, CLASSES, 0)
    x = 0.2 * np.random.default_rng(6).standard_normal(3 * BLOCK + 100).astype(np.float32)
    x[-50] = np.nan
    sf.write(tmp_path / "in.wav", x, 22050, subtype="FLOAT")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(AudioError, match="NaN"):
        separate_file(tmp_path / "in.wav", ck, tmp_path / "out", classes="auto", device="cpu", figure=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no OUT, no temp folder


def test_presence_mean_uses_the_non_overlapping_windows_in_any_pieces():
    """`--classes auto` averages presence over windows 0, 2, 4, … (they tile the signal), however the stream is cut."""
    from sgn_teach.inference.presence import presence_mean
    from sgn_teach.inference.streaming import Windower

    model, cfg = _model("sgn")
    rng = np.random.default_rng(7)
    x = 0.1 * rng.standard_normal(int(cfg.audio.n_samples * 5.3)).astype(np.float32)
    sep = WindowSeparator(model, cfg.audio, None, batch_size=3)
    w = Windower(cfg.audio.n_samples)
    windows = np.concatenate([w.push(x), w.flush()])  # (W, size), overlapping by half
    tiles = windows[0::2]
    starts = 2 * w.hop * np.arange(len(tiles))  # padded sample where each kept window starts
    assert np.all(starts[1:] <= starts[:-1] + w.size)  # no gap between kept windows (odd sizes overlap by 1 sample)
    assert starts[-1] + w.size >= w.hop + len(x)  # and the last reaches the end: every sample is heard
    want = sep.presence(tiles).mean(0)
    np.testing.assert_allclose(presence_mean(sep, iter([x])), want, atol=1e-6)
    np.testing.assert_allclose(presence_mean(sep, _pieces(x, rng)), want, atol=1e-6)


def test_outputs_are_16_bit_unless_they_exceed_full_scale(tmp_path):
    """An output that goes above full scale switches to float (nothing clipped); the others stay 16-bit PCM."""
    from sgn_teach.inference.writer import OutputWriter

    rate, n = 8000, 30000
    rng = np.random.default_rng(8)
    quiet = 0.5 * np.tanh(rng.standard_normal((2, n))).astype(np.float32)  # (N, n) within full scale
    loud = quiet.copy()
    loud[1, 20000:] *= 3.0                                                  # output 1 exceeds it late
    outs = OutputWriter(tmp_path, ["a", "b"], rate, rate, n, keep=0)
    for i in range(0, n, 7000):
        outs.add(loud[:, i: i + 7000], final=i + 7000 >= n)
    outs.finish([tmp_path / "a.wav", tmp_path / "b.wav"])
    assert sf.info(tmp_path / "a.wav").subtype == "PCM_16" and sf.info(tmp_path / "b.wav").subtype == "FLOAT"
    a, _ = sf.read(tmp_path / "a.wav", dtype="float32")
    b, _ = sf.read(tmp_path / "b.wav", dtype="float32")
    np.testing.assert_allclose(a, loud[0], atol=1 / 32767)          # 16-bit steps
    np.testing.assert_allclose(b[:14000], loud[1, :14000], atol=1 / 32767)  # written before the switch: 16-bit
    np.testing.assert_array_equal(b[14000:], loud[1, 14000:])        # from the switch on: exact float, above 1 kept
    assert b.max() > 1 and sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "b.wav"]
