"""Properties of the audio I/O and SoP's spectral front-end."""

import numpy as np
import pytest
import soundfile as sf
import torch

from sgn_teach.core.config import AudioConfig, get_preset
from sgn_teach.core.errors import AudioError
from sgn_teach.losses import binary_mask_target, ratio_mask_target
from sgn_teach.signal.audio import fit_length, load_audio, save_audio
from sgn_teach.signal.metrics import bss_eval, si_sdr
from sgn_teach.signal.spectral import SpectralFrontEnd, unwarp, warp, warp_grid


def _tone(freqs, sr=11025, n=65535, seed=0):
    """A harmonic tone with a little noise: (n,) float32."""
    t = np.arange(n) / sr
    rng = np.random.default_rng(seed)
    x = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) / (k + 1) for k, f in enumerate(freqs))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def test_sop_shapes():
    cfg = AudioConfig()
    fe = SpectralFrontEnd(cfg)
    out = fe.analyse(torch.randn(3, cfg.n_samples))
    assert out["stft"].shape == (3, 512, 256)
    assert out["mag_warped"].shape == (3, 1, 256, 256)
    assert out["log_mag"].shape == (3, 1, 256, 256)
    assert (cfg.n_freq_linear, cfg.n_frames) == (512, 256)


@pytest.mark.parametrize("preset", ["paper", "small", "tiny"])
def test_stft_istft_reconstructs(preset):
    cfg = get_preset(preset).audio
    fe = SpectralFrontEnd(cfg)
    x = torch.from_numpy(_tone([220, 440, 660], n=cfg.n_samples))[None] + 0.01 * torch.randn(1, cfg.n_samples)
    y = fe.istft(fe.stft(x))
    assert si_sdr(y, x).item() > 60


def test_unwarp_of_warp_is_close_on_smooth_spectra():
    f = torch.linspace(0, 1, 512)[:, None]
    t = torch.linspace(0, 1, 256)[None, :]
    smooth = (torch.exp(-4 * f) * (1 + 0.5 * torch.sin(3 * f + t))).expand(512, 256)[None, None]
    back = unwarp(warp(smooth, 256), 512)
    rel = (back - smooth).abs().max() / smooth.abs().max()
    assert rel < 1e-3


def test_warp_gives_low_frequencies_more_rows():
    y_src = warp_grid(256, 4)[0, :, 0, 1]  # source row read by each output row, in [-1, 1]
    assert torch.all(torch.diff(y_src) > 0)
    assert y_src[0] == pytest.approx(-1) and y_src[-1] == pytest.approx(1)
    # the lower half of the output reads much less than half of the linear axis
    assert y_src[128] < -0.5


def test_oracle_binary_mask_separates_two_instruments():
    cfg = AudioConfig()
    fe = SpectralFrontEnd(cfg)
    s1 = _tone([196, 392, 588, 784], seed=1)
    s2 = _tone([1318, 2637], seed=2)
    sources = torch.from_numpy(np.stack([s1, s2]) / 2)[None]  # (1, 2, L), ÷N as in mix-and-separate
    mix = sources.sum(1)  # (1, L)
    a = fe.analyse(mix)
    src_w = fe.warped_magnitude(sources)  # (1, 2, F, T)
    for target in (binary_mask_target(src_w, a["mag_warped"]), ratio_mask_target(src_w, a["mag_warped"])):
        est = fe.apply_masks(target, a["stft"])[0].numpy()  # (2, L)
        ref = sources[0].numpy()
        sep = bss_eval(ref, est)
        unmixed = bss_eval(ref, np.stack([mix[0].numpy()] * 2))
        assert np.nanmean(sep.sdr) > np.nanmean(unmixed.sdr) + 15


def test_load_resamples_and_mixes_down(tmp_path):
    sr = 22050
    x = _tone([440], sr=sr, n=sr)
    sf.write(tmp_path / "a.wav", np.stack([x, x], 1), sr)
    wave, out_sr = load_audio(tmp_path / "a.wav")
    assert out_sr == 11025 and wave.dtype == np.float32 and wave.ndim == 1
    assert abs(len(wave) - 11025) <= 1
    spec = np.abs(np.fft.rfft(wave))
    assert abs(np.argmax(spec) * 11025 / len(wave) - 440) < 3


@pytest.mark.parametrize("ext", ["flac", "ogg"])
def test_load_other_formats(tmp_path, ext):
    x = _tone([330], n=11025)
    sf.write(tmp_path / f"a.{ext}", x, 11025)
    wave, _ = load_audio(tmp_path / f"a.{ext}")
    assert si_sdr(wave, x) > 10


def test_bad_audio_errors(tmp_path):
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(AudioError, match="not a readable audio file"):
        load_audio(tmp_path / "text.wav")
    sf.write(tmp_path / "silent.wav", np.zeros(1000, np.float32), 11025)
    with pytest.raises(AudioError, match="silent"):
        load_audio(tmp_path / "silent.wav")
    assert load_audio(tmp_path / "silent.wav", allow_silence=True)[0].shape == (1000,)
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 11025)
    with pytest.raises(AudioError, match="empty"):
        load_audio(tmp_path / "empty.wav")
    bad = np.ones(100, np.float32)
    bad[5] = np.nan
    sf.write(tmp_path / "nan.wav", bad, 11025, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        load_audio(tmp_path / "nan.wav")
    with pytest.raises(AudioError, match="no such file"):
        load_audio(tmp_path / "missing.wav")


def test_save_is_atomic_and_roundtrips(tmp_path):
    x = _tone([440], n=5000)
    p = save_audio(tmp_path / "sub" / "x.wav", x, 11025)
    y, _ = load_audio(p)
    assert np.abs(x - y).max() < 1e-3
    assert [f.name for f in p.parent.iterdir()] == ["x.wav"]  # no temp file left


def test_fit_length():
    assert fit_length(np.ones(10), 4, offset=3).shape == (4,)
    assert fit_length(np.ones(3), 5).tolist() == [1, 1, 1, 0, 0]
