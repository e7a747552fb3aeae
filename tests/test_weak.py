"""Notebook 08's pieces: captions, the text-conditioned separator, the audio–text embedding, the weak
losses and their training step, the command line, and the bootstrap intervals — on tiny data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import run_cli
from torch.utils.data import default_collate

from sgn_teach.core.config import get_preset
from sgn_teach.core.errors import CheckpointError
from sgn_teach.data import MixDataset, SoloLibrary, synth_library
from sgn_teach.data.captioned import CaptionedPairs, split_pairs
from sgn_teach.data.captions import entity_prompt, make_caption, parse_entities, vocabulary
from sgn_teach.data.classes import MUSIC11_NAMES
from sgn_teach.hub.audio_text import freeze, load_audio_text, save_audio_text, shipped_path
from sgn_teach.hub.build import build_model
from sgn_teach.losses import weighted_bce
from sgn_teach.losses.text import (
    bimodal_contrastive_loss,
    bimodal_loss,
    consistency_loss,
    consistency_union_loss,
    contrastive_loss,
    mix_of_mixtures_loss,
    supervised_loss,
)
from sgn_teach.models.audio_text import CourseAudioText
from sgn_teach.signal.spectral import SpectralFrontEnd
from sgn_teach.signal.stats import bootstrap_ci, paired_bootstrap_ci, paired_bootstrap_ratio_ci, per_mixture
from sgn_teach.training import train
from sgn_teach.training.recipes import TextRecipe
from sgn_teach.training.recipes.text import weak_step

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lib_root(tmp_path_factory):
    """A synthesized MUSIC-11 library with train / val / test clips of every class."""
    root = tmp_path_factory.mktemp("weaklib") / "music11"
    synth_library(root, clips_per_class=10, seed=5, duration=2.0, progress=False)
    return root


@pytest.fixture(scope="module")
def embedding():
    """An untrained course embedding on the tiny preset's front-end (seeded), frozen as training uses it."""
    torch.manual_seed(0)
    return freeze(CourseAudioText(vocabulary(), get_preset("tiny").audio, dim=16, width=4))


def _tiny_text(steps=4, **weak):
    cfg = get_preset("tiny", "text", train__steps=steps, train__batch_size=2, train__ckpt_every=2, train__val_every=1000)
    for k, v in weak.items():
        setattr(cfg.weak, k, v)
    return cfg


# --------------------------------------------------------------------------- captions

@pytest.mark.parametrize("text, expected", [
    ("cello and flute", ["cello", "flute"]),
    ("A Cello, two VIOLINS and a tuba!", ["cello", "violin", "tuba"]),
    ("chinese fiddle with a fiddle", ["erhu", "violin"]),        # longest synonym first
    ("acoustic_guitar", ["acoustic_guitar"]),
    ("an alto sax and saxophones", ["saxophone"]),               # each class once
    ("someone playing the violoncello", ["cello"]),
    ("a piano and drums", []),                                   # not in the vocabulary
    ("", []),
])
def test_parse_entities(text, expected):
    assert parse_entities(text) == expected


def test_parse_entities_respects_the_class_list():
    assert parse_entities("cello and flute", ["flute", "tuba"]) == ["flute"]


def test_captions_round_trip_through_the_parser():
    rng = np.random.default_rng(0)
    for _ in range(300):
        k = int(rng.integers(1, 5))
        classes = list(rng.choice(MUSIC11_NAMES, size=k, replace=False))
        caption = make_caption(classes, rng)
        assert sorted(parse_entities(caption)) == sorted(classes), caption


def test_entity_prompt_and_vocabulary():
    assert entity_prompt("acoustic_guitar") == "the sound of a acoustic guitar"
    vocab = vocabulary()
    assert vocab == sorted(set(vocab)) and {"cello", "fiddle", "and", "sound"} <= set(vocab)


# --------------------------------------------------------------------------- the separator

def test_text_separator_shapes_and_class_path():
    torch.manual_seed(0)
    cfg = get_preset("tiny", "text", model__text_dim=8)
    model = build_model(cfg.model, cfg.audio).eval()
    F_, T = cfg.audio.n_freq_warped, cfg.audio.n_frames
    model.set_entity_text(torch.randn(11, 8))
    x = torch.randn(3, 1, F_, T)
    assert model(x)["mask_logits"].shape == (3, 11, F_, T)            # every class
    classes = torch.tensor([[1, 4], [0, 2], [7, 3]])
    out = model(x, classes=classes)
    assert out["mask_logits"].shape == (3, 2, F_, T) and torch.equal(out["mask_classes"], classes)
    via_cond = model(x, cond=model.entity_text[classes])["mask_logits"]
    torch.testing.assert_close(out["mask_logits"], via_cond)
    with pytest.raises(ValueError, match="entity embeddings"):
        model.set_entity_text(torch.zeros(11, 9))


def test_each_prompt_gets_its_own_decoder_pass():
    """K prompts at once give the masks of K single-prompt calls (the repeat/reshape keeps mixtures and prompts apart)."""
    torch.manual_seed(1)
    cfg = get_preset("tiny", "text", model__text_dim=8)
    model = build_model(cfg.model, cfg.audio)
    for film in model.film:  # leave the zero init so that prompts matter
        torch.nn.init.normal_(film.proj.weight, std=0.5)
    model.eval()
    x = torch.randn(2, 1, cfg.audio.n_freq_warped, cfg.audio.n_frames)
    cond = torch.randn(2, 3, 8)
    joint = model(x, cond=cond)["mask_logits"]
    for b in range(2):
        for k in range(3):
            single = model(x[b:b + 1], cond=cond[b:b + 1, k:k + 1])["mask_logits"][0, 0]
            torch.testing.assert_close(joint[b, k], single, atol=1e-5, rtol=1e-5)
    assert (joint[:, 0] - joint[:, 1]).abs().max() > 1e-3  # different prompts, different masks


def test_film_starts_as_identity():
    """Zero-initialised FiLM: an untrained separator gives the same mask for every prompt."""
    cfg = get_preset("tiny", "text", model__text_dim=8)
    model = build_model(cfg.model, cfg.audio).eval()
    out = model(torch.randn(1, 1, cfg.audio.n_freq_warped, cfg.audio.n_frames), cond=torch.randn(1, 2, 8))
    torch.testing.assert_close(out["mask_logits"][:, 0], out["mask_logits"][:, 1])


# --------------------------------------------------------------------------- losses

def test_the_union_form_is_the_bce_of_the_union_of_a_captions_entity_masks():
    torch.manual_seed(0)
    logits = torch.randn(2, 2, 3, 4, 5)                      # (B, caption, entity, F, T)
    target = (torch.rand(2, 2, 4, 5) > 0.5).float()
    w = torch.rand(2, 1, 4, 5) + 0.1
    union = 1 - (1 - torch.sigmoid(logits)).prod(2)          # (B, caption, F, T)
    expected = (w * torch.nn.functional.binary_cross_entropy(union, target, reduction="none")).mean()
    torch.testing.assert_close(consistency_union_loss(logits, target, w), expected, rtol=1e-4, atol=1e-6)


def test_the_union_form_rewards_masks_that_rebuild_their_own_mixture_and_stays_finite():
    target = torch.zeros(1, 2, 4, 6)
    target[:, 0, :, :3] = 1                                   # mixture 1 owns the first 3 frames, mixture 2 the rest
    target[:, 1] = 1 - target[:, 0]
    w = torch.ones(1, 1, 4, 6)
    tiled = torch.full((1, 2, 2, 4, 6), -30.0)                # each caption's first entity takes its mixture's frames
    tiled[:, 0, 0, :, :3] = 30
    tiled[:, 1, 0, :, 3:] = 30
    swapped = tiled.flip(1)                                   # caption 1's entities take mixture 2's frames
    good, bad = consistency_union_loss(tiled, target, w), consistency_union_loss(swapped, target, w)
    assert torch.isfinite(good) and torch.isfinite(bad)
    assert good < 1e-6 < 1.0 < bad


def _two_captions():
    """|X| of a mixture of mixtures whose first 3 frames are caption 1's mixture and the rest caption 2's."""
    mix = torch.rand(1, 1, 4, 6) + 0.5                        # (B, 1, F, T)
    part = torch.zeros(1, 2, 4, 6)
    part[:, 0, :, :3], part[:, 1, :, 3:] = mix[:, 0, :, :3], mix[:, 0, :, 3:]
    return mix, part


def test_consistency_asks_the_entities_to_split_their_mixture_not_to_copy_it():
    """The authors' sum: two entities that each take all of x_i cost (the union form scored that 2e-9);
    entities that share x_i's bins between them cost nothing. Bins where x_i is silent weigh log1p(0) = 0:
    keeping the other mixture out is left to the other losses (unsup's mask of x_i in the mixture of mixtures)."""
    mix, part = _two_captions()
    split = torch.full((1, 2, 2, 4, 6), -30.0)                # (B, caption, entity, F, T)
    split[:, 0, 0, :2, :3] = split[:, 0, 1, 2:, :3] = 30      # caption 1's entities share its frames' bins
    split[:, 1, 0, :2, 3:] = split[:, 1, 1, 2:, 3:] = 30
    copied = split.clone()
    copied[:, 0, :, :, :3] = 30                               # both entities of caption 1 take all of x_1
    leaky = split.clone()
    leaky[:, 0, 0, :, 3:] = 30                                # caption 1's first entity also takes x_2's bins
    assert float(consistency_loss(split, mix, part)) < 1e-6
    assert float(consistency_loss(copied, mix, part)) > 0.1
    assert float(consistency_loss(leaky, mix, part)) < 1e-6    # weighted by log1p|X_1| = 0 there
    target = (part > 0).float()
    assert float(consistency_union_loss(copied, target, torch.ones(1, 1, 4, 6))) < 1e-6  # what the union form missed


def test_the_contrastive_bimodal_loss_picks_each_estimates_entity_among_the_batchs():
    text = torch.nn.functional.normalize(torch.randn(5, 8), dim=-1)
    labels = torch.tensor([0, 3, 4, 3])                       # two prompts of class 3: both positives
    right, acc_right = bimodal_contrastive_loss(text[labels], text[labels], labels, logit_scale=20.0)
    wrong, acc_wrong = bimodal_contrastive_loss(text[torch.tensor([3, 0, 0, 4])], text[labels], labels, 20.0)
    assert right < wrong and acc_right == 1.0 and acc_wrong == 0.0


def test_bimodal_loss_prefers_the_right_entity():
    text = torch.nn.functional.normalize(torch.randn(5, 8), dim=-1)
    labels = torch.tensor([0, 3, 4])
    right, acc_right = bimodal_loss(text[labels], text, labels)
    wrong, acc_wrong = bimodal_loss(text[torch.tensor([1, 2, 0])], text, labels)
    assert right < wrong and acc_right == 1.0 and acc_wrong == 0.0


def test_supervised_and_mix_of_mixtures_losses():
    logits, target, w = torch.randn(3, 2, 4, 4), torch.rand(3, 2, 4, 4).round(), torch.rand(3, 1, 4, 4)
    rows = torch.tensor([False, True, False])
    torch.testing.assert_close(supervised_loss(logits, target, w, rows), weighted_bce(logits[1:2], target[1:2], w[1:2]))
    assert supervised_loss(logits, target, w, torch.zeros(3, dtype=torch.bool)) == 0
    torch.testing.assert_close(mix_of_mixtures_loss(logits, target, w), weighted_bce(logits, target, w))


# --------------------------------------------------------------------------- data and the training step

def test_captioned_pairs(lib_root):
    lib = SoloLibrary(lib_root, split="train")
    audio = get_preset("tiny").audio
    ds = CaptionedPairs(MixDataset(lib, audio, n_sources=4, n_mixtures=8, seed=0), sup_fraction=0.25)
    item = ds[3]
    names = [lib.classes[int(c)] for c in item["class_idx"]]
    assert sorted(parse_entities(item["caption_1"])) == sorted(names[:2])
    assert sorted(parse_entities(item["caption_2"])) == sorted(names[2:])
    assert ds[3]["caption_1"] == item["caption_1"]                     # seeded
    x1, x2, mix = split_pairs(item["sources"][None])
    torch.testing.assert_close(mix[0], item["sources"].sum(0))
    raw = 4 * item["sources"]                                           # undo MixDataset's ÷4
    torch.testing.assert_close(x1[0], (raw[0] + raw[1]) / 2)            # a 2-source mixture at the ÷2 level
    torch.testing.assert_close(x2[0], (raw[2] + raw[3]) / 2)
    share = np.mean([ds.labelled(i) for i in range(4000)])
    assert 0.22 < share < 0.28
    with pytest.raises(ValueError, match="4 sources"):
        CaptionedPairs(MixDataset(lib, audio, n_sources=2, n_mixtures=2))


def train_text(cfg, data, out, embedding=None, **kw):
    """The one loop with the text recipe (holding the test's embedding, when given)."""
    return train(cfg, data, out, recipe=TextRecipe(embedding), **kw)


@pytest.fixture(scope="module")
def weak_batch(lib_root):
    lib = SoloLibrary(lib_root, split="train")
    cfg = _tiny_text()
    ds = CaptionedPairs(MixDataset(lib, cfg.audio, n_sources=4, n_mixtures=4, seed=0), sup_fraction=1.0)
    return default_collate([ds[i] for i in range(3)]), lib.classes


@pytest.mark.parametrize("switches, parts_on", [
    (dict(unsup=True, bimodal=False, consistency=False, sup_fraction=0.0), {"unsup"}),
    (dict(unsup=False, bimodal=True, consistency=False, sup_fraction=0.0), {"bimodal"}),
    (dict(unsup=False, bimodal=False, consistency=True, sup_fraction=0.0), {"consistency"}),
    (dict(unsup=False, bimodal=False, consistency=False, sup_fraction=1.0), {"sup"}),
    (dict(unsup=True, bimodal=True, consistency=True, sup_fraction=1.0), {"unsup", "bimodal", "consistency", "sup"}),
])
def test_each_loss_is_switchable(weak_batch, embedding, switches, parts_on):
    batch, classes = weak_batch
    cfg = _tiny_text(**switches)
    cfg.model.text_dim = embedding.dim
    torch.manual_seed(0)
    model = build_model(cfg.model, cfg.audio)
    class_text = embedding.text_features([entity_prompt(c) for c in classes])
    model.set_entity_text(class_text)
    loss, parts = weak_step(model, embedding, batch, SpectralFrontEnd(cfg.audio), cfg, classes, class_text)
    assert {k for k in ("unsup", "bimodal", "consistency", "sup") if parts[k] != 0} == parts_on
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None and p.grad.abs().sum() > 0]
    assert grads, "no gradient reached the separator"
    assert all(p.grad is None for p in embedding.parameters())        # the embedding stays frozen


def test_bimodal_gradient_reaches_the_prompt_conditioning(weak_batch, embedding):
    """Only the bi-modal loss on: its gradient flows through the embedding's audio tower into FiLM."""
    batch, classes = weak_batch
    cfg = _tiny_text(unsup=False, bimodal=True, consistency=False)
    cfg.model.text_dim = embedding.dim
    model = build_model(cfg.model, cfg.audio)
    class_text = embedding.text_features([entity_prompt(c) for c in classes])
    model.set_entity_text(class_text)
    loss, _ = weak_step(model, embedding, batch, SpectralFrontEnd(cfg.audio), cfg, classes, class_text)
    loss.backward()
    assert model.film[0].proj.weight.grad.abs().sum() > 0


def test_weak_losses_hear_the_mixture_of_mixtures_in_one_pass(weak_batch, embedding):
    """unsup + bimodal + consistency: one separator call on the B mixtures of mixtures, prompted with the 2 captions
    and the 2·2 entities; the entity estimates it scores are cut from the mixture of mixtures, not from x1 or x2."""
    batch, classes = weak_batch
    cfg = _tiny_text(unsup=True, bimodal=True, consistency=True, sup_fraction=0.0)
    cfg.model.text_dim = embedding.dim
    model = build_model(cfg.model, cfg.audio)
    class_text = embedding.text_features([entity_prompt(c) for c in classes])
    model.set_entity_text(class_text)
    calls = []
    original = model.forward

    def recording(log_mag, classes=None, cond=None):
        calls.append((log_mag, cond))
        return original(log_mag, classes, cond)

    model.forward = recording
    frontend = SpectralFrontEnd(cfg.audio)
    weak_step(model, embedding, batch, frontend, cfg, classes, class_text)
    assert len(calls) == 1
    log_mag, cond = calls[0]
    B = batch["sources"].shape[0]
    assert cond.shape == (B, 2 + 4, embedding.dim)
    torch.testing.assert_close(log_mag, frontend.analyse(split_pairs(batch["sources"])[2])["log_mag"])
    ent1 = [classes.index(c) for c in parse_entities(batch["caption_1"][0], classes)]
    torch.testing.assert_close(cond[0, 2:4], class_text[ent1])          # caption 1's entities follow the captions


def test_train_text_resumes_to_the_same_weights(lib_root, tmp_path, embedding):
    kw = dict(device="cpu", progress=False, validate_during=False, embedding=embedding)
    straight = train_text(_tiny_text(4, sup_fraction=0.5), lib_root, tmp_path / "a", **kw)
    train_text(_tiny_text(2, sup_fraction=0.5), lib_root, tmp_path / "b", **kw)
    resumed = train_text(_tiny_text(4, sup_fraction=0.5), lib_root, tmp_path / "b", resume=True, **kw)
    a = torch.load(tmp_path / "a" / "model.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "model.pt", weights_only=True)["model"]
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-6), k
    assert [r["total"] for r in straight["train"]] == pytest.approx([r["total"] for r in resumed["train"]], abs=1e-5)
    with pytest.raises(CheckpointError, match="another model or loss"):
        train_text(_tiny_text(4, bimodal=False), lib_root, tmp_path / "b", resume=True, **kw)


def test_text_model_evaluates_and_separates(lib_root, tmp_path, embedding):
    from sgn_teach.evaluation.evaluate import evaluate
    from sgn_teach.hub.build import load_checkpoint
    from sgn_teach.inference.separate import separate_wave

    train_text(_tiny_text(2), lib_root, tmp_path / "r", device="cpu", progress=False, validate_during=False,
               embedding=embedding)
    model, cfg, classes, _, _ = load_checkpoint(tmp_path / "r" / "model.pt")
    assert torch.allclose(model.entity_text, embedding.text_features([entity_prompt(c) for c in classes]))
    rep = evaluate({"text": model}, SoloLibrary(lib_root, split="test"), cfg.audio, n_sources=3, n_mixtures=2,
                   rows=("mixture",), progress=False)
    assert rep["rows"]["text"]["n"] == 6 and np.isfinite(rep["rows"]["text"]["sdr"])
    wave = np.random.default_rng(0).standard_normal(30000).astype(np.float32) * 0.1
    est, presence = separate_wave(model, wave, cfg.audio, classes, ["violin", "cello"])
    assert list(est) == ["violin", "cello"] and est["violin"].shape == wave.shape and presence == {}


# --------------------------------------------------------------------------- the course embedding

def test_course_embedding_is_level_invariant_and_unit(embedding):
    wave = torch.randn(2, 16383) * 0.1
    a = embedding.audio_features(wave)
    torch.testing.assert_close(a.norm(dim=-1), torch.ones(2))
    torch.testing.assert_close(embedding.audio_features(wave * 7.0), a, atol=1e-4, rtol=1e-4)
    t = embedding.text_features(["a cello", "a cello qwertyuiop", "a flute"])  # unknown words are ignored
    torch.testing.assert_close(t[0], t[1])
    assert not torch.allclose(t[0], t[2])


def test_contrastive_loss_prefers_aligned_pairs():
    text = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    scale = torch.tensor(np.log(10.0))
    assert contrastive_loss(text[labels], text, labels, scale) < contrastive_loss(text[labels.flip(0)], text, labels,
                                                                                 scale)


def test_audio_text_embedding_trains_through_the_one_loop_and_resumes_exactly(lib_root, tmp_path):
    """`--model audio_text` is a recipe of the one loop: an interrupted-and-resumed run ends at the weights of a
    straight one, validates with the same-class accuracy, and its model.pt loads as a course embedding."""
    def cfg(steps):
        return get_preset("tiny", "audio_text", train__steps=steps, train__batch_size=4, train__ckpt_every=2,
                          train__val_every=2, train__warmup_steps=5)  # in warm-up the lr does not depend on `steps`
    kw = dict(device="cpu", progress=False, soundfonts=None)
    given = cfg(4)
    before = given.to_dict()
    straight = train(given, lib_root, tmp_path / "a", **kw)
    assert given.to_dict() == before                               # the caller's config is never changed
    train(cfg(2), lib_root, tmp_path / "b", **kw)
    resumed = train(cfg(4), lib_root, tmp_path / "b", resume=True, **kw)
    a = torch.load(tmp_path / "a" / "model.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "model.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["total"] for r in straight["train"]] == [r["total"] for r in resumed["train"]]
    assert [v["step"] for v in straight["val"]] == [2, 4] and 0.0 <= straight["val"][-1]["prompt_acc"] <= 1.0
    loaded = load_audio_text(tmp_path / "a" / "model.pt")
    assert loaded.dim == 16 and set(loaded.card["zero_shot_val"]) == {"all"}
    assert loaded.audio_features(torch.randn(1, 8000)).shape == (1, 16)


def test_the_teachers_training_clips_are_disjoint_from_the_separators_test_clips(lib_root, tmp_path):
    """Issue 24: the audio–text teacher trains on labelled solo clips of the 11 classes — its `train` split, of its
    own SoundFont(s) — so no clip the separator is tested on ever reached it. Checked on a library whose clips are
    assigned to two SoundFonts, as the course's are (teacher: "a", separator: "b")."""
    import csv
    import os

    from sgn_teach.training.recipes.audio_text import AudioTextRecipe

    root = tmp_path / "two_fonts"
    root.mkdir()
    for d in sorted(p for p in lib_root.iterdir() if p.is_dir()):
        os.symlink(d, root / d.name)
    split_of = SoloLibrary(lib_root, split="all").split_table                      # {relative path: split}
    with open(root / "splits.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "split", "soundfont"])
        for k, (rel, split) in enumerate(sorted(split_of.items())):
            w.writerow([rel, split, "ab"[k % 2]])
    cfg = get_preset("tiny", "audio_text", train__steps=2, train__batch_size=4)
    prep = AudioTextRecipe().prepare(cfg, root, ["a"], False, torch.device("cpu"))
    assert prep.train_lib.split == "train" and prep.train_lib.soundfonts == ["a"]
    assert AudioTextRecipe().dataset(prep).mixes.library is prep.train_lib           # every crop comes from it
    heard = set(prep.clips)
    for fonts in (["b"], None):                                                      # the course's setting; any font
        tested = {c.path for c in SoloLibrary(root, split="test", soundfonts=fonts).clips}
        assert tested and heard and not heard & tested
    assert {c.rel for c in prep.train_lib.clips} <= {r for r, s in split_of.items() if s == "train"}


def test_the_shipped_teacher_and_table_use_different_soundfonts():
    """The shipped embedding's card says what it heard (csound clips); the shipped table's separators train and are
    tested on fluidr3 clips: no timbre, and so no clip, is shared."""
    from sgn_teach.experiments.text_table import load_shipped_table

    card = load_audio_text(shipped_path()).card
    table = load_shipped_table()
    assert card["soundfonts"] == ["csound"] and table["setup"]["soundfonts"] == ["fluidr3"]
    assert set(card["zero_shot_val"]) == {"csound", "fluidr3", "timgm6mb"}            # the 11-class prompt accuracies


def test_course_embedding_checkpoint_roundtrip(tmp_path, embedding):
    save_audio_text(tmp_path / "e.pt", embedding, step=3)
    loaded = load_audio_text(tmp_path / "e.pt")
    wave = torch.randn(1, 16383)
    torch.testing.assert_close(loaded.audio_features(wave), embedding.audio_features(wave))
    assert not any(p.requires_grad for p in loaded.parameters())
    cfg = get_preset("tiny")
    from sgn_teach.hub.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "sgn.pt", build_model(cfg.model, cfg.audio), cfg, list(MUSIC11_NAMES), 1)
    with pytest.raises(CheckpointError, match="not a course audio–text embedding"):
        load_audio_text(tmp_path / "sgn.pt")


def test_shipped_embedding_loads():
    model = load_audio_text(shipped_path())
    assert model.text_features([entity_prompt(c) for c in MUSIC11_NAMES]).shape == (11, model.dim)


# --------------------------------------------------------------------------- statistics

def test_bootstrap_intervals():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 3, 200)
    better = base + 1.0 + rng.normal(0, 0.5, 200)
    d, lo, hi = paired_bootstrap_ci(better, base)
    assert 0.8 < d < 1.2 and 0 < lo < d < hi
    d0, lo0, hi0 = paired_bootstrap_ci(base + rng.normal(0, 0.5, 200), base)
    assert lo0 < 0 < hi0
    assert paired_bootstrap_ci(better, base) == (d, lo, hi)                    # seeded
    m, lo, hi = bootstrap_ci(base)
    assert lo < m < hi and abs(m - base.mean()) < 1e-12
    r, lo, hi = paired_bootstrap_ratio_ci(base + 10, base + 20)
    assert lo < r < hi and abs(r - (base.mean() + 10) / (base.mean() + 20)) < 1e-12
    with pytest.raises(ValueError, match="same shape"):
        paired_bootstrap_ci([1, 2], [1, 2, 3])


def test_per_mixture_means():
    assert per_mixture([1, 3, 5, np.nan, np.nan, np.nan], 2).tolist()[:2] == [2.0, 5.0]
    assert np.isnan(per_mixture([1, 3, 5, np.nan, np.nan, np.nan], 2)[2])
    with pytest.raises(ValueError, match="whole number"):
        per_mixture([1, 2, 3], 2)


def test_build_table_compares_paired_rows():
    from sgn_teach.experiments.text_table import build_table, format_weak_table, paper_comparison

    rng = np.random.default_rng(1)
    n_mix, N = 40, 2
    base = rng.normal(2, 2, n_mix * N)
    scores = {"unsup": base, "unsup+bimodal+consistency": base + 3, "supervised": base + 4, "semi (5 %)": base + 5,
              "mixture": base - 2}
    rep = {"scores": {k: {"sdr": v.tolist()} for k, v in scores.items()},
           "rows": {k: {"sir": 0.0, "sar": 0.0, "si_sdr": 0.0} for k in scores}}
    table = build_table({2: rep}, ["unsup", "unsup+bimodal+consistency", "supervised", "semi (5 %)"], {}, n_boot=200)
    weak = table["results"]["2"]["unsup+bimodal+consistency"]
    assert weak["vs_unsup"]["diff"] == pytest.approx(3.0) and weak["vs_unsup"]["ci"] == pytest.approx([3.0, 3.0])
    assert weak["share_of_supervised"]["ratio"] == pytest.approx((base.mean() + 3) / (base.mean() + 4))
    assert "semi (5 %)" in format_weak_table(table) and "| yes | yes" in paper_comparison(table)


def test_no_percent_of_a_baseline_at_or_below_zero_db():
    """Issue 24: a % gain over an `unsup` SDR below 0 dB flips sign and explodes near 0 — the table gives the dB
    difference alone there (and ignores the 100·diff/|unsup| older tables stored)."""
    from sgn_teach.experiments.text_table import build_table, format_weak_table, paper_comparison, relative_gain

    rng = np.random.default_rng(2)
    base = rng.normal(-1.0, 0.5, 40)
    scores = {"unsup": base, "unsup+bimodal+consistency": base + 2, "supervised": base + 0.5, "mixture": base - 2}
    rep = {"scores": {k: {"sdr": v.tolist()} for k, v in scores.items()},
           "rows": {k: {"sir": 0.0, "sar": 0.0, "si_sdr": 0.0} for k in scores}}
    table = build_table({2: rep}, ["unsup", "unsup+bimodal+consistency", "supervised"], {}, n_boot=100)
    weak = table["results"]["2"]["unsup+bimodal+consistency"]["vs_unsup"]
    assert weak["gain_pct"] is None and relative_gain(weak) is None and weak["diff"] == pytest.approx(2.0)
    assert relative_gain({**weak, "gain_pct": 200.0}) is None                       # an older table's stored %
    assert "% n/a" in format_weak_table(table) and "+2.00" in format_weak_table(table)
    assert "no % (unsup at" in paper_comparison(table) and "share of the supervised" not in paper_comparison(table)


def test_loss_forms_are_read_from_the_saved_config(tmp_path):
    """A checkpoint records its loss forms; one saved before the options existed (no forms in its config: union +
    closed set) reads as those — the loaded config would show today's defaults for both. The shipped weak model
    and the shipped table agree on the forms they were trained with."""
    from sgn_teach.experiments.text_table import checkpoint_loss_forms, load_shipped_table, loss_forms_of
    from sgn_teach.hub.checkpoint import save_checkpoint
    from sgn_teach.hub.shipped import shipped_checkpoint

    shipped = checkpoint_loss_forms(shipped_checkpoint("text_weak_small"))
    assert shipped == loss_forms_of(load_shipped_table()["setup"])
    cfg = get_preset("tiny", "text")
    cfg.weak.bimodal_form = "classes"
    save_checkpoint(tmp_path / "t.pt", build_model(cfg.model, cfg.audio), cfg, list(MUSIC11_NAMES), 1)
    assert checkpoint_loss_forms(tmp_path / "t.pt") == {"consistency_form": "sum", "bimodal_form": "classes"}
    ck = torch.load(tmp_path / "t.pt", map_location="cpu", weights_only=True)
    config = json.loads(ck["config"])
    for key in ("consistency_form", "bimodal_form"):
        del config["weak"][key]                      # as written by the code before the options
    ck["config"] = json.dumps(config)
    torch.save(ck, tmp_path / "old.pt")
    assert checkpoint_loss_forms(tmp_path / "old.pt") == {"consistency_form": "union", "bimodal_form": "classes"}


# --------------------------------------------------------------------------- command line

def _cli(*args):
    return run_cli(*args)  # in-process: the command line's whole path without a second Python start


def test_cli_train_text_and_separate_with_a_prompt(lib_root, tmp_path):
    run = tmp_path / "run"
    r = _cli("train", "--data", lib_root, "--out", run, "--model", "text", "--preset", "tiny", "--steps", "2",
             "--batch-size", "2", "--no-val", "--device", "cpu", "--losses", "unsup,consistency", "--sup-fraction", "0.05")
    assert r.returncode == 0, r.stderr[-2000:]
    cfg = json.loads(torch.load(run / "model.pt", weights_only=True)["config"])
    assert cfg["model"]["variant"] == "text" and cfg["weak"]["bimodal"] is False and cfg["weak"]["sup_fraction"] == 0.05
    wav = tmp_path / "in.wav"
    sf.write(wav, np.random.default_rng(0).standard_normal(20000).astype(np.float32) * 0.1, 16000)
    r = _cli("separate", wav, "--checkpoint", run / "model.pt", "--out", tmp_path / "sep", "--prompt",
             "a Violin and a chinese fiddle")
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "sep").glob("*.wav")) == ["in_erhu.wav", "in_violin.wav"]
    r = _cli("separate", wav, "--checkpoint", run / "model.pt", "--out", tmp_path / "none", "--prompt", "a piano")
    assert r.returncode == 2 and r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "none").exists()
    r = _cli("train", "--data", lib_root, "--out", tmp_path / "bad", "--model", "text", "--losses", "mixit")
    assert r.returncode == 2 and "unknown loss mixit" in r.stderr and not (tmp_path / "bad").exists()


def test_weak_modules_do_not_import_transformers():
    code = ("import sys, sgn_teach.training.recipes.text, sgn_teach.experiments.text_table, sgn_teach.hub.clap, "
            "sgn_teach.cli.main; print('transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.stdout.strip() == "False", out.stderr[-1000:]


def test_readme_quotes_the_shipped_weak_table():
    """README's notebook-08 figures are the shipped table's (bench_weak.py --ship), not a number typed by hand."""
    from sgn_teach.experiments.text_table import SHIPPED_TABLE, WEAK

    table = json.loads(SHIPPED_TABLE.read_text())
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    vs = table["results"]["2"][WEAK]["vs_unsup"]
    share = table["results"]["2"][WEAK]["share_of_supervised"]
    assert f"{vs['diff']:+.2f} dB [{vs['ci'][0]:+.2f}, {vs['ci'][1]:+.2f}]" in readme
    assert f"{100 * share['ratio']:.1f} % [{100 * share['ci'][0]:.1f}, {100 * share['ci'][1]:.1f}]" in readme
    for name, row in table["results"]["2"].items():
        assert f"| {name} | {row['sdr']:.2f} [" in readme, f"README's weak table lacks the shipped {name} row"


def test_a_notebook_scratch_run_of_older_settings_is_cleared_and_a_current_one_kept(tmp_path):
    """Notebook 08 re-run after a default changed (the loss weights did): its scratch run is retrained, not refused;
    a run of the current settings — finished or only checkpointed — stays."""
    from sgn_teach.experiments.runner import clear_stale_run
    from sgn_teach.hub.checkpoint import save_checkpoint

    cfg = get_preset("tiny", "text")
    for name in ("model.pt", "checkpoint.pt"):
        run = tmp_path / name.split(".")[0]
        run.mkdir()
        save_checkpoint(run / name, build_model(cfg.model, cfg.audio), cfg, list(MUSIC11_NAMES), 1)
        assert clear_stale_run(run, cfg) == [] and (run / name).exists()
        newer = get_preset("tiny", "text")
        newer.weak.w_bimodal = cfg.weak.w_bimodal * 2
        diffs = clear_stale_run(run, newer)
        assert any("w_bimodal" in d for d in diffs) and not run.exists()
    assert clear_stale_run(tmp_path / "never_made", cfg) == []
