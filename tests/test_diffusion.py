"""The generative separator (notebook 07): DDPM maths, the Separation U-Net, training and the model kind."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

from sgn_teach.cli.main import main
from sgn_teach.core.config import Config, get_preset
from sgn_teach.data import SoloLibrary, mix_batch, mix_features
from sgn_teach.evaluation.evaluate import evaluate
from sgn_teach.hub.build import build_model, load_checkpoint
from sgn_teach.hub.checkpoint import save_checkpoint
from sgn_teach.models import count_parameters, ddpm
from sgn_teach.models.diffusion import AxialAttention, ResBlock, SeparationUNet, TimeFrequencyAttention
from sgn_teach.models.diffusion_separator import DiffusionSeparator
from sgn_teach.signal.spectral import SpectralFrontEnd
from sgn_teach.training import train

# --------------------------------------------------------------------------- DDPM maths


def test_cosine_schedule():
    a = ddpm.cosine_alpha_bar(1000)
    assert a.shape == (1000,) and a.dtype == torch.float64
    assert torch.all(a[1:] < a[:-1])                      # signal only ever decreases
    assert a[0] > 0.999 and 0 < a[-1] < 1e-3               # clean at the start, (almost) pure noise at the end
    snr_db = 10 * torch.log10(a / (1 - a))
    assert abs(int(torch.argmin(snr_db.abs())) - 496) <= 2  # 0 dB half-way: (t/T + s)/(1 + s) = 1/2


def test_forward_process_and_v_identities():
    torch.manual_seed(0)
    a = ddpm.cosine_alpha_bar(1000)
    x0, eps = torch.rand(6, 1, 8, 8) * 2 - 1, torch.randn(6, 1, 8, 8)
    t = torch.tensor([0, 1, 250, 500, 900, 999])
    x_t = ddpm.q_sample(x0, t, eps, a)
    v = ddpm.v_target(x0, eps, t, a)
    torch.testing.assert_close(ddpm.x0_from_v(x_t, v, t, a), x0, atol=1e-5, rtol=0)
    torch.testing.assert_close(ddpm.eps_from_x0(x_t, x0, t, a), eps, atol=1e-3, rtol=0)
    # from ε, x_0 is recoverable too — except near the last step, where it divides by √ᾱ ≈ 0
    torch.testing.assert_close(ddpm.predict_x0(eps[:5], x_t[:5], t[:5], a, "eps"), x0[:5], atol=1e-3, rtol=0)
    # at the last step x_t is nearly pure noise
    assert torch.corrcoef(torch.stack([x_t[-1].flatten(), eps[-1].flatten()]))[0, 1] > 0.999


@pytest.mark.parametrize("steps", [1, 3, 10])
@pytest.mark.parametrize("prediction", ["v", "eps"])
def test_ddim_with_an_oracle_denoiser_recovers_x0(steps, prediction):
    """A denoiser that knows x_0 makes DDIM land exactly on x_0, with any number of steps."""
    a = ddpm.cosine_alpha_bar(1000)
    x0 = torch.linspace(-0.9, 0.9, 2 * 16).reshape(2, 1, 4, 4)

    def oracle(x_t, t):
        eps = ddpm.eps_from_x0(x_t, x0, t, a)
        return ddpm.v_target(x0, eps, t, a) if prediction == "v" else eps

    out, traj = ddpm.ddim_sample(oracle, x0.shape, a, steps, prediction=prediction,
                                 generator=torch.Generator().manual_seed(0), trajectory=True)
    torch.testing.assert_close(out, x0, atol=1e-3 if prediction == "eps" else 1e-5, rtol=0)
    assert [int(s["t"]) for s in traj] == ddpm.ddim_timesteps(1000, steps)
    assert ddpm.ddim_timesteps(1000, steps)[0] == 999  # starts from the noisiest step


def test_ddim_is_deterministic_given_the_seed():
    a = ddpm.cosine_alpha_bar(100)

    def net(x_t, t):
        return 0.5 * x_t

    def run(seed):
        return ddpm.ddim_sample(net, (1, 1, 4, 4), a, 5, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))
    with pytest.raises(ValueError):
        ddpm.ddim_timesteps(100, 0)


# --------------------------------------------------------------------------- the denoiser


def test_axial_attention_mixes_along_one_axis_only():
    torch.manual_seed(0)
    x = torch.randn(1, 8, 6, 5)
    for axis in ("time", "freq"):
        att = AxialAttention(8, 2, axis)
        torch.nn.init.normal_(att.out.weight)  # not the identity it starts as
        y = att(x)
        x2 = x.clone()
        x2[0, :, 2, 3] += torch.randn(8)  # poke one bin (f=2, t=3)
        changed = (att(x2) - y).abs().sum(1)[0] > 1e-6  # (F, T): which bins moved
        if axis == "time":
            assert changed[2].all() and not changed[[0, 1, 3, 4, 5]].any()  # only its frequency row
        else:
            assert changed[:, 3].all() and not changed[:, [0, 1, 2, 4]].any()  # only its frame
    tf = TimeFrequencyAttention(8, 2)
    for att in (tf.time, tf.freq):
        torch.nn.init.normal_(att.out.weight)
    x2 = x.clone()
    x2[0, :, 2, 3] += torch.randn(8)
    assert ((tf(x2) - tf(x)).abs().sum(1) > 1e-6).all()  # after both passes every bin has heard it


def test_separation_unet_shapes_and_what_it_listens_to():
    torch.manual_seed(0)
    net = SeparationUNet(cond_dim=12, channels=8, levels=3, attention_levels=2, emb_dim=16, cond_channels=4, heads=2)
    for p in net.parameters():  # leave the zero-initialised start, so every input can matter
        if p.dim() > 1 and p.abs().sum() == 0:
            torch.nn.init.normal_(p, std=0.1)
    x, mix, c = torch.randn(2, 1, 32, 32), torch.randn(2, 1, 32, 32), torch.randn(2, 12)
    t = torch.tensor([10, 900])
    out = net(x, t, mix, c)
    assert out.shape == (2, 1, 32, 32)
    assert not torch.allclose(out, net(x, t.flip(0), mix, c))        # the step matters
    assert not torch.allclose(out, net(x, t, mix, c.flip(0)))        # the condition matters
    assert not torch.allclose(out, net(x, t, mix.flip(0), c))        # the mixture matters
    blocks = [m for m in net.modules() if isinstance(m, ResBlock)]
    assert len(blocks) == 2 * 3 + 1 and all(b.emb_proj.in_features == 16 for b in blocks)  # emb in every block
    with pytest.raises(ValueError, match="divisible"):
        net.check_grid(36, 32)


def test_zero_initialised_denoiser_predicts_zero():
    net = SeparationUNet(cond_dim=4, channels=8, levels=2, attention_levels=1, emb_dim=8, cond_channels=4, heads=2)
    out = net(torch.randn(1, 1, 16, 16), torch.tensor([3]), torch.randn(1, 1, 16, 16), torch.randn(1, 4))
    assert torch.count_nonzero(out) == 0


# --------------------------------------------------------------------------- the model kind


def _tiny(condition="class", **over):
    cfg = get_preset("tiny", "diffusion", diffusion__condition=condition, **over)
    return cfg, build_model(cfg.model, cfg.audio, diffusion=cfg.diffusion)


def test_representation_round_trip():
    _, model = _tiny()
    mag = torch.tensor([0.0, 1e-3, 0.1, 1.0, 50.0, 199.0, 1e4])
    x = model.to_repr(mag)
    assert x.min() >= -1 and x.max() <= 1 and x[0] == -1 and x[-1] == 1
    assert torch.all(x[1:] >= x[:-1])
    torch.testing.assert_close(model.from_repr(x)[:-1], mag[:-1], rtol=1e-4, atol=1e-6)
    log_mag = torch.log(torch.tensor([0.0, 0.5, 20.0]) + 1e-10)
    torch.testing.assert_close(model.mixture_magnitude(log_mag), torch.tensor([0.0, 0.5, 20.0]), rtol=1e-5, atol=1e-7)


def test_tiny_model_overfits_one_batch(synth_library, tiny_audio):
    """The DDPM loss falls on a fixed batch: the objective, the target and the gradients fit together."""
    torch.manual_seed(0)
    cfg, model = _tiny(diffusion__channels=8)
    lib = SoloLibrary(synth_library, split="train")
    batch = mix_batch(lib, tiny_audio, range(4), n_sources=2, seed=0)
    feats = mix_features(batch["mixture"], batch["sources"], SpectralFrontEnd(tiny_audio))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        torch.manual_seed(1)  # the same t and noise every step: a fixed objective
        loss, parts = model.training_loss(feats, batch["class_idx"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert set(parts) == {"rec", "ce", "presence", "total"} and parts["ce"] == 0
    assert losses[-1] < 0.5 * losses[0], losses[::10]


def test_sampling_shapes_masks_and_seed(synth_library, tiny_audio):
    torch.manual_seed(0)
    _, model = _tiny()
    model.eval()
    lib = SoloLibrary(synth_library, split="train")
    batch = mix_batch(lib, tiny_audio, range(2), n_sources=2, seed=0)
    feats = mix_features(batch["mixture"], batch["sources"], SpectralFrontEnd(tiny_audio))
    cls = batch["class_idx"]
    x0, presence, traj = model.sample(feats["log_mag"], cls, steps=3, trajectory=True)
    assert x0.shape == (2, 2, 64, 64) and presence is None and len(traj) == 3
    assert traj[0]["x0_hat"].shape == (2, 2, 64, 64)
    masks, info = model.separation_masks(feats["log_mag"], cls)
    assert masks.shape == (2, 2, 64, 64) and masks.min() >= 0 and masks.max() <= model.dcfg.max_ratio
    torch.testing.assert_close(masks, model.separation_masks(feats["log_mag"], cls)[0])  # seeded: reproducible
    out = model(feats["log_mag"][:1])
    assert out["masks"].shape == (1, model.cfg.n_classes, 64, 64)


def test_sample_mean_averages_seeded_samples(synth_library, tiny_audio):
    """n_samples > 1 averages the samples of seeds seed … seed+n−1 (notebook 07's K-sample row); 1 is `sample`."""
    torch.manual_seed(0)
    _, model = _tiny()
    model.eval()
    lib = SoloLibrary(synth_library, split="train")
    batch = mix_batch(lib, tiny_audio, range(2), n_sources=2, seed=0)
    feats = mix_features(batch["mixture"], batch["sources"], SpectralFrontEnd(tiny_audio))
    log_mag, cls = feats["log_mag"], batch["class_idx"]
    one, _ = model.sample(log_mag, cls, steps=2)
    torch.testing.assert_close(model.sample_mean(log_mag, cls, steps=2)[0], one)
    draws = [model.sample(log_mag, cls, steps=2, generator=torch.Generator().manual_seed(k))[0] for k in range(3)]
    mean3, _ = model.sample_mean(log_mag, cls, steps=2, n_samples=3)
    torch.testing.assert_close(mean3, torch.stack(draws).mean(0))
    assert not torch.allclose(mean3, one)  # the seeds' samples differ, so their mean is not the first one
    model.n_samples = 3  # separation_masks (what evaluate and separate call) scores the mean
    masks, _ = model.separation_masks(log_mag, cls, steps=2)
    torch.testing.assert_close(masks, model.masks_from_sample(mean3, log_mag))
    model.n_samples = -1
    with pytest.raises(ValueError):
        model.sample_mean(log_mag, cls, steps=2)


def test_diffusion_preset_and_config_round_trip():
    cfg = get_preset("small", "diffusion", diffusion__sampling_steps=5)
    assert cfg.diffusion.sampling_steps == 5 and cfg.diffusion.prediction == "v"
    back = Config.from_dict(json.loads(cfg.to_json()))
    assert back.diffusion == cfg.diffusion
    assert Config.from_dict(json.loads(get_preset("small").to_json())).diffusion is None  # mask models have none
    with pytest.raises(ValueError):
        get_preset("tiny", "diffusion").diffusion.__class__(condition="video")


def test_small_model_fits_the_cpu_budget():
    """The shipped size: a few million parameters, on the `small` 128×128 grid."""
    cfg = get_preset("small", "diffusion", diffusion__condition="class")
    model = build_model(cfg.model, cfg.audio, diffusion=cfg.diffusion)
    n = count_parameters(model)
    assert 1e6 < n < 4e6, n


# --------------------------------------------------------------------------- training, evaluate, separate, CLI


@pytest.fixture(scope="module")
def sgn_tiny_ckpt(synth_library, tmp_path_factory):
    """An (untrained) tiny SGN checkpoint with the synthetic library's classes: the frozen condition."""
    cfg = get_preset("tiny", "sgn")
    torch.manual_seed(0)
    model = build_model(cfg.model, cfg.audio)
    classes = SoloLibrary(synth_library, split="train").classes
    return save_checkpoint(tmp_path_factory.mktemp("sgn") / "sgn_tiny.pt", model, cfg, classes, step=0)


def test_resume_continues_to_the_same_weights(synth_library, tmp_path):
    def cfg(steps):
        return get_preset("tiny", "diffusion", diffusion__condition="class", train__steps=steps, train__batch_size=2)

    train(cfg(4), synth_library, tmp_path / "straight", device="cpu", progress=False, validate_during=False)
    train(cfg(2), synth_library, tmp_path / "split", device="cpu", progress=False, validate_during=False)
    train(cfg(4), synth_library, tmp_path / "split", device="cpu", resume=True, progress=False, validate_during=False)
    a = load_checkpoint(tmp_path / "straight" / "model.pt")[0].state_dict()
    b = load_checkpoint(tmp_path / "split" / "model.pt")[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_sgn_condition_is_frozen_and_travels_with_the_checkpoint(synth_library, sgn_tiny_ckpt, tmp_path):
    cfg = get_preset("tiny", "diffusion", diffusion__condition_checkpoint=str(sgn_tiny_ckpt), train__steps=2,
                     train__batch_size=2)
    train(cfg, synth_library, tmp_path / "run", device="cpu", progress=False, validate_during=False)
    sgn_weights = load_checkpoint(sgn_tiny_ckpt)[0].state_dict()
    moved = tmp_path / "elsewhere.pt"
    shutil.move(sgn_tiny_ckpt, moved)  # the diffusion checkpoint must not need the SGN file any more
    try:
        model, cfg2, *_ = load_checkpoint(tmp_path / "run" / "model.pt")
    finally:
        shutil.move(moved, sgn_tiny_ckpt)
    assert cfg2.diffusion.condition == "sgn" and cfg2.diffusion.sgn_model["variant"] == "sgn"
    for k, v in model.sgn.state_dict().items():
        assert torch.equal(v, sgn_weights[k]), k  # trained alongside, yet unchanged
    assert not any(p.requires_grad for p in model.sgn.parameters())
    model.train()
    assert not model.sgn.training  # stays in eval mode while the denoiser trains


def test_cli_train_evaluate_separate(synth_library, sgn_tiny_ckpt, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--data", str(synth_library), "--out", str(run), "--model", "diffusion", "--preset", "tiny",
                 "--steps", "2", "--batch-size", "2", "--condition-checkpoint", str(sgn_tiny_ckpt),
                 "--sampling-steps", "3", "--no-val", "--device", "cpu"]) == 0
    ck = run / "model.pt"
    assert load_checkpoint(ck)[1].diffusion.sampling_steps == 3
    report = tmp_path / "report.json"
    assert main(["evaluate", "--checkpoint", str(ck), "--data", str(synth_library), "--split", "all",
                 "--n-mixtures", "2", "--no-nmf", "--sampling-steps", "2", "--json", str(report)]) == 0
    rows = json.loads(report.read_text())["rows"]
    assert set(rows) == {"diffusion", "mixture", "oracle_ibm", "oracle_irm"} and rows["diffusion"]["n"] == 4
    rng = np.random.default_rng(0)
    wav = tmp_path / "in.wav"
    sf.write(wav, rng.standard_normal(3 * 22050).astype(np.float32) * 0.1, 22050)
    out = tmp_path / "sep"
    assert main(["separate", str(wav), "--checkpoint", str(ck), "--out", str(out), "--classes", "cello,flute",
                 "--sampling-steps", "2"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["in_cello.wav", "in_flute.wav", "in_separation.png"]
    est, sr = sf.read(out / "in_cello.wav")
    assert sr == 22050 and len(est) == 3 * 22050 and np.isfinite(est).all()
    # --classes auto: the frozen SGN's presence head picks them
    assert main(["separate", str(wav), "--checkpoint", str(ck), "--out", str(tmp_path / "auto"),
                 "--sampling-steps", "1"]) == 0
    assert any(p.suffix == ".wav" for p in (tmp_path / "auto").iterdir())


@pytest.mark.parametrize("case", ["not_a_checkpoint", "wrong_grid", "sop", "flag_on_sgn", "steps_on_sgn", "auto_class"])
def test_cli_bad_input(case, synth_library, sgn_tiny_ckpt, tmp_path, capsys):
    out = tmp_path / "out"
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    base = ["train", "--data", str(synth_library), "--out", str(out), "--model", "diffusion", "--steps", "1",
            "--no-val", "--device", "cpu"]
    if case == "not_a_checkpoint":
        argv = base + ["--preset", "tiny", "--condition-checkpoint", str(junk)]
    elif case == "wrong_grid":  # a tiny SGN cannot guide a small diffusion model
        argv = base + ["--preset", "small", "--condition-checkpoint", str(sgn_tiny_ckpt)]
    elif case == "sop":
        cfg = get_preset("tiny", "sop")
        sop = save_checkpoint(tmp_path / "sop.pt", build_model(cfg.model, cfg.audio), cfg,
                              SoloLibrary(synth_library, split="train").classes, step=0)
        argv = base + ["--preset", "tiny", "--condition-checkpoint", str(sop)]
    elif case == "flag_on_sgn":
        argv = ["train", "--data", str(synth_library), "--out", str(out), "--model", "sgn", "--condition", "class"]
    elif case == "steps_on_sgn":
        argv = ["evaluate", "--checkpoint", str(sgn_tiny_ckpt), "--data", str(synth_library), "--sampling-steps", "4"]
    else:  # a class-embedding model has no presence head: --classes auto must name the classes
        run = tmp_path / "run"
        train(get_preset("tiny", "diffusion", diffusion__condition="class", train__steps=1, train__batch_size=2),
              synth_library, run, device="cpu", progress=False, validate_during=False)
        wav = tmp_path / "in.wav"
        sf.write(wav, np.random.default_rng(0).standard_normal(11025).astype(np.float32) * 0.1, 11025)
        argv = ["separate", str(wav), "--checkpoint", str(run / "model.pt"), "--out", str(out)]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert not out.exists()  # nothing partial


def test_evaluate_is_reproducible(synth_library, tiny_audio):
    torch.manual_seed(0)
    _, model = _tiny()
    lib = SoloLibrary(synth_library, split="all")
    r1 = evaluate({"d": model}, lib, tiny_audio, n_mixtures=2, rows=(), progress=False)
    r2 = evaluate({"d": model}, lib, tiny_audio, n_mixtures=2, rows=(), progress=False)
    assert r1["scores"]["d"] == r2["scores"]["d"]
    assert isinstance(model, DiffusionSeparator)


def test_set_sampling_steps(synth_library, tmp_path):
    from sgn_teach.hub.diffusion import set_sampling_steps

    run = tmp_path / "run"
    train(get_preset("tiny", "diffusion", diffusion__condition="class", train__steps=1, train__batch_size=2),
          synth_library, run, device="cpu", progress=False, validate_during=False)
    before = load_checkpoint(run / "model.pt")[0].state_dict()
    set_sampling_steps(run / "model.pt", 7)
    model, cfg, *_ = load_checkpoint(run / "model.pt")
    assert cfg.diffusion.sampling_steps == 7 and model.sampling_steps == 7
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    with pytest.raises(ValueError):
        set_sampling_steps(run / "model.pt", 0)
