"""Competing masks (sgn_teach.signal.sharing): the rule itself, and where evaluate and separate apply it."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import run_cli

from sgn_teach.core.config import get_preset
from sgn_teach.core.device import seed_everything
from sgn_teach.data import MixDataset, SoloLibrary, mix_features
from sgn_teach.evaluation.evaluate import evaluate, model_masks
from sgn_teach.hub.build import build_model
from sgn_teach.models.interface import masks_for
from sgn_teach.signal.sharing import compete_masks, share_masks
from sgn_teach.signal.spectral import SpectralFrontEnd


def _masks(b=2, n=3, f=8, t=5, seed=0):
    return torch.rand(b, n, f, t, generator=torch.Generator().manual_seed(seed))  # (B, N, F, T) in [0, 1)


def test_competing_masks_share_at_most_what_the_independent_masks_took_and_never_more_than_the_bin():
    m = _masks()
    c = compete_masks(m)
    assert torch.allclose(c.sum(1), m.sum(1).clamp(max=1.0), atol=1e-5)  # the same total, capped at the mixture
    assert float(c.min()) >= 0.0 and float(c.sum(1).max()) <= 1.0 + 1e-5
    order_in, order_out = m.argsort(1), c.argsort(1)
    assert torch.equal(order_in, order_out)  # a more confident class never gets the smaller share
    sharper = compete_masks(m, power=4.0)
    top = m.argmax(1, keepdim=True)  # (B, 1, F, T): the most confident class in each bin
    assert bool((sharper.gather(1, top) >= compete_masks(m, power=1.0).gather(1, top) - 1e-6).all())


def test_one_class_keeps_its_mask_and_a_class_not_named_stays_silent():
    m = _masks(n=1)
    assert torch.allclose(compete_masks(m), m, atol=1e-6)
    m = _masks(n=3)
    m[:, 1] = 0.0  # a class the presence head did not name
    c = compete_masks(m)
    assert float(c[:, 1].abs().max()) == 0.0
    assert torch.allclose(c[:, [0, 2]], compete_masks(m[:, [0, 2]]), atol=1e-6)  # as if it had not been asked for


def test_the_rules_are_checked():
    m = _masks()
    assert share_masks(m, "independent") is m
    with pytest.raises(ValueError, match="independent, compete"):
        share_masks(m, "softmax")
    with pytest.raises(ValueError, match="positive"):
        compete_masks(m, power=0)


@pytest.fixture(scope="module")
def tiny(lib_root):
    seed_everything(0)
    cfg = get_preset("tiny", "sgn")
    model = build_model(cfg.model, cfg.audio).eval()
    lib = SoloLibrary(lib_root, split="all")
    batch = [MixDataset(lib, cfg.audio, n_sources=2, n_mixtures=3, seed=0)[i] for i in range(3)]
    fe = SpectralFrontEnd(cfg.audio)
    feats = mix_features(torch.stack([b["mixture"] for b in batch]), torch.stack([b["sources"] for b in batch]), fe)
    return cfg, model, lib, feats, torch.stack([b["class_idx"] for b in batch])  # class_idx (B, 2)


def test_model_masks_with_labels_given_share_among_the_given_classes(tiny):
    cfg, model, _, feats, cidx = tiny
    with torch.no_grad():
        plain, _ = model_masks(model, feats, cidx)
        shared, _ = model_masks(model, feats, cidx, sharing="compete")
    assert torch.allclose(shared, compete_masks(plain), atol=1e-6)
    assert not torch.allclose(shared, plain)


def test_named_classes_compete_with_the_false_positives_too(tiny):
    """--classes auto: every class the model names takes its share, as in `separate`, then each reference reads
    its own class's mask — so naming every class (all thresholds at 0) leaves less to the true ones."""
    cfg, model, _, feats, cidx = tiny
    model.presence_thresholds.fill_(0.0)  # every class named
    try:
        with torch.no_grad():
            shared, info = model_masks(model, feats, cidx, classes="auto", sharing="compete")
            every = masks_for(model, feats["log_mag"]).masks  # (B, C, F, T)
        assert bool(info["detected"].all())
        expected = compete_masks(every).gather(1, cidx[:, :, None, None].expand(-1, -1, *every.shape[2:]))
        assert torch.allclose(shared, expected, atol=1e-6)
        only_true, _ = model_masks(model, feats, cidx, sharing="compete")  # the same two classes, alone
        assert float(shared.sum()) < float(only_true.sum())
    finally:
        model.presence_thresholds.fill_(0.5)


def test_evaluate_records_the_rule_and_sop_slots_compete_too(tiny):
    cfg, model, lib, _, _ = tiny
    sop_cfg = get_preset("tiny", "sop")
    sop = build_model(sop_cfg.model, sop_cfg.audio).eval()
    reports = {rule: evaluate({"sgn": model, "sop": sop}, lib, cfg.audio, n_mixtures=4, rows=(), progress=False,
                              sharing=rule) for rule in ("independent", "compete")}
    assert reports["compete"]["setup"]["sharing"] == "compete"
    for name in ("sgn", "sop"):
        assert reports["compete"]["scores"][name]["sdr"] != reports["independent"]["scores"][name]["sdr"]


def test_separate_takes_the_rule_from_the_command_line(lib_root, tmp_path):
    run = tmp_path / "run"
    assert run_cli("train", "--data", lib_root, "--out", run, "--preset", "tiny", "--steps", 2, "--batch-size", 2,
                   "--device", "cpu", "--no-val").returncode == 0
    x = np.random.default_rng(0).standard_normal(30000).astype(np.float32) * 0.1
    sf.write(tmp_path / "in.wav", x, 11025)
    out = {}
    for rule in ("independent", "compete"):
        r = run_cli("separate", tmp_path / "in.wav", "--checkpoint", run / "model.pt", "--out", tmp_path / rule,
                    "--classes", "cello,flute,tuba", "--masks", rule, "--no-figure", "--device", "cpu")
        assert r.returncode == 0, r.stderr
        out[rule] = sum(sf.read(tmp_path / rule / f"in_{c}.wav")[0] for c in ("cello", "flute", "tuba"))
    # the three estimates together hold no more of the input than the input itself when they compete
    assert np.sum(out["compete"] ** 2) <= np.sum(x.astype(np.float64) ** 2) * 1.05
    assert not np.allclose(out["compete"], out["independent"])
    r = run_cli("separate", tmp_path / "in.wav", "--checkpoint", run / "model.pt", "--out", tmp_path / "bad",
                "--masks", "softmax")
    assert r.returncode == 2 and "Traceback" not in r.stderr and not (tmp_path / "bad").exists()
