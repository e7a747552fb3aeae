"""Named outputs (issue 22): 1–3-source training mixtures, the `film` trunk, calibrated presence,
scoring that counts misses and false positives, and SoP's slots named by a classifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from sgn_teach.core.config import ModelConfig, get_preset
from sgn_teach.data import SoloLibrary, finish_batch
from sgn_teach.data.mixing import MixedCountMixDataset
from sgn_teach.evaluation.evaluate import evaluate
from sgn_teach.evaluation.naming import calibrate_presence, name_slots, named_estimates
from sgn_teach.hub.build import build_model, load_checkpoint
from sgn_teach.losses import sgn_loss, weighted_bce
from sgn_teach.signal.metrics import MISSED_DB, best_slots
from sgn_teach.training import train

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- 1, 2 or 3 sources in every batch

def test_mixture_counts_vary_within_a_batch_and_padding_is_silent(lib_root, tiny_audio):
    lib = SoloLibrary(lib_root, split="train")
    ds = MixedCountMixDataset(lib, tiny_audio, (1, 2, 2, 3), n_mixtures=64, seed=4)
    items = [ds[i] for i in range(64)]
    counts = [int(it["n"]) for it in items]
    assert set(counts) == {1, 2, 3} and 0.35 < counts.count(2) / 64 < 0.65      # repeats weight the draw
    for it in items:
        n = int(it["n"])
        assert it["sources"].shape[0] == 3 and (it["class_idx"][n:] == -1).all() and (it["class_idx"][:n] >= 0).all()
        assert torch.all(it["sources"][n:] == 0)                                    # padding sources are silence
        torch.testing.assert_close(it["sources"].sum(0), it["mixture"])
        assert it["labels"].sum() == n                                             # presence: the real classes only
    assert items[5]["n"] == ds[5]["n"] and torch.equal(items[5]["sources"], ds[5]["sources"])  # a function of (seed, i)


def test_deferred_augmentation_divides_each_mixture_by_its_own_count(lib_root, tiny_audio):
    from sgn_teach.core.config import augment_level

    lib = SoloLibrary(lib_root, split="train")
    ds = MixedCountMixDataset(lib, tiny_audio, (1, 3), n_mixtures=8, seed=1, augment=augment_level("gain"),
                              defer_augment=True)
    batch = default_collate([ds[i] for i in range(8)])
    sources, mixture = finish_batch(batch, ds, "cpu")                               # (B, 3, L), (B, L)
    for b in range(8):
        n = int(batch["n"][b])
        raw = ds.finish(batch["raw"][b:b + 1], {k: v[b:b + 1] for k, v in batch["aug"].items()})[0]
        torch.testing.assert_close(sources[b, :n], raw[:n] / n)
        assert torch.all(sources[b, n:] == 0)


def test_the_loss_skips_padding_sources():
    torch.manual_seed(0)
    logits, target, weight = torch.randn(2, 3, 4, 5), (torch.rand(2, 3, 4, 5) > 0.5).float(), torch.rand(2, 1, 4, 5)
    valid = torch.tensor([[True, True, False], [True, False, False]])
    expected = torch.cat([weighted_bce(logits[:1, :2], target[:1, :2], weight[:1]).reshape(1) * 2,
                          weighted_bce(logits[1:, :1], target[1:, :1], weight[1:]).reshape(1)]).sum() / 3
    torch.testing.assert_close(weighted_bce(logits, target, weight, valid=valid), expected)
    out = {"mask_logits": logits, "mask_classes": torch.tensor([[4, 7, 0], [2, 0, 0]]), "token_logits": None,
           "presence_logits": torch.zeros(2, 11)}
    loss, parts = sgn_loss(out, target, weight, torch.tensor([[4, 7, -1], [2, -1, -1]]), None, "sgn")
    torch.testing.assert_close(parts["rec"], expected)
    assert float(parts["presence"]) == pytest.approx(float(torch.nn.functional.binary_cross_entropy_with_logits(
        torch.zeros(2, 11), torch.tensor([[0.0] * 4 + [1] + [0] * 2 + [1] + [0] * 3, [0.0] * 2 + [1] + [0] * 8]))))


def test_sop_with_spare_slots_trains_them_to_silence_and_is_scored_on_its_best_slots():
    out = {"mask_logits": torch.full((1, 3, 4, 5), -30.0), "token_logits": None, "presence_logits": None}
    out["mask_logits"][0, 1] = 30.0                                                  # slot 1: everything; 0, 2: silence
    target = torch.ones(1, 1, 4, 5)                                                  # one source: the whole mixture
    loss, _ = sgn_loss(out, target, torch.ones(1, 1, 4, 5), None, None, "sop")
    assert float(loss) < 1e-6
    ref = np.random.default_rng(0).standard_normal((2, 500))
    est = np.stack([np.zeros(500), ref[1] + 0.01, ref[0] + 0.01])
    assert best_slots(ref, est).tolist() == [2, 1]


def test_sop_gets_one_slot_per_source_of_its_largest_training_mixture():
    """The rule lives in get_preset (so a config compares equal to what training stores) and a given width wins."""
    assert get_preset("small", "sop").model.n_sources == 2
    assert get_preset("small", "sop", train__n_sources_mix=(1, 2, 2, 3)).model.n_sources == 3
    assert get_preset("tiny", "sop", train__n_sources=3).model.n_sources == 3
    assert get_preset("tiny", "sop", train__n_sources_mix=(1, 2), model__n_sources=4).model.n_sources == 4
    assert get_preset("tiny", "sgn", train__n_sources_mix=(1, 2, 3)).train.largest_mixture == 3


def test_a_sop_with_spare_slots_hears_two_sources_in_the_analysis_tools(lib_root, tiny_audio):
    """Figure 3's mask-pooled features pair a 3-slot SoP's slots with 2 references (PIT over 2 of 3 slots)."""
    from sgn_teach.evaluation.analysis import source_features

    cfg = get_preset("tiny", "sop", model__n_sources=3)
    torch.manual_seed(0)
    sop = build_model(cfg.model, tiny_audio)
    lib = SoloLibrary(lib_root, split="test")
    feats = source_features(sop, lib, tiny_audio, n_mixtures=3, seed=0, batch_size=3)
    assert feats["pooled"].shape[0] == feats["labels"].shape[0] == 6 and np.isfinite(feats["pooled"]).all()


# --------------------------------------------------------------------------- the class-aware trunk

def test_the_film_trunk_starts_as_the_papers_sgn_and_learns_from_the_class_features(tiny_audio):
    cfg = get_preset("tiny", "sgn", model__trunk="film")
    film = build_model(cfg.model, cfg.audio).eval()
    paper = build_model(get_preset("tiny", "sgn").model, cfg.audio).eval()
    paper.load_state_dict({k: v for k, v in film.state_dict().items() if not k.startswith("film")})
    x, classes = torch.randn(2, 1, 64, 64), torch.tensor([[1, 2], [3, 9]])
    torch.testing.assert_close(film(x, classes)["mask_logits"], paper(x, classes)["mask_logits"])
    film.train()
    film(x, classes)["mask_logits"].square().mean().backward()
    assert film.film[0].proj.weight.grad.abs().sum() > 0                          # FiLM learns from g_i


# --------------------------------------------------------------------------- presence: calibrated, scored

class _Oracle(torch.nn.Module):
    """Presence from a fixed per-class score: present classes get 0.8 (class 3: 0.35), absent ones 0.3."""

    class_conditioned, generative, has_presence_head, takes_prompts = True, False, True, False

    def __init__(self, lib):
        super().__init__()
        self.lib, self.presence_thresholds = lib, torch.full((len(lib.classes),), 0.5)
        self.truth: torch.Tensor | None = None

    def presence_logits(self, log_mag):
        p = torch.where(self.truth > 0, torch.full_like(self.truth, 0.8), torch.full_like(self.truth, 0.3))
        p[:, 3] = torch.where(self.truth[:, 3] > 0, torch.tensor(0.35), torch.tensor(0.3))
        return torch.logit(p)


def test_f1_at_each_threshold():
    from sgn_teach.evaluation.naming import f1_at_thresholds

    score = np.array([0.9, 0.8, 0.6, 0.4, 0.2])
    truth = np.array([True, False, True, True, False])
    f1 = f1_at_thresholds(score, truth, np.array([0.0, 0.5, 0.85, 0.95]))
    # t=0: all 5 found (tp 3, fp 2) → 6/8; t=0.5: 0.9 0.8 0.6 (tp 2, fp 1, fn 1) → 4/6; t=0.85: tp 1, fn 2 → 2/4
    np.testing.assert_allclose(f1, [0.75, 4 / 6, 0.5, 0.0])


def test_calibration_finds_each_classs_own_threshold(lib_root, tiny_audio, monkeypatch):
    import sgn_teach.evaluation.naming as naming

    lib = SoloLibrary(lib_root, split="val")
    model = _Oracle(lib)
    orig_loader = torch.utils.data.DataLoader

    def loader(ds, batch_size):  # hand the fake head each batch's true classes, which it scores as above
        for batch in orig_loader(ds, batch_size=batch_size):
            model.truth = batch["labels"]
            yield batch

    monkeypatch.setattr(naming.torch.utils.data, "DataLoader", loader)
    t = calibrate_presence(model, lib, tiny_audio, counts=(1, 2), n_mixtures=40)
    assert len(t) == 11 and 0.3 <= t[3] < 0.35 and all(0.3 <= t[c] < 0.8 for c in range(11))
    assert t[0] == 0.5  # a wide margin: the tie-break keeps the threshold nearest 0.5


class _NamesTwo(torch.nn.Module):
    """Masks 0.5 for every class; the presence head names classes 0 and 1 only."""

    class_conditioned, generative, has_presence_head, takes_prompts = True, False, True, False

    def __init__(self, n):
        super().__init__()
        self.n, self.bias = n, torch.nn.Parameter(torch.zeros(1))
        self.presence_thresholds = torch.full((n,), 0.5)

    def forward(self, log_mag, classes=None):
        B, _, F, T = log_mag.shape
        presence = torch.full((B, self.n), -5.0)
        presence[:, :2] = 5.0
        return {"mask_logits": torch.zeros(B, classes.shape[1], F, T) + self.bias, "presence_logits": presence}


def test_named_scoring_counts_misses_and_false_positives(lib_root, tiny_audio):
    lib = SoloLibrary(lib_root, split="test")
    rep = evaluate({"m": _NamesTwo(11)}, lib, tiny_audio, n_sources=2, n_mixtures=6, seed=0, rows=(), classes="auto",
                   progress=False)
    p = rep["presence"]["m"]
    from sgn_teach.data import MixDataset

    mixes = MixDataset(lib, tiny_audio, n_sources=2, n_mixtures=6, seed=0)
    truth = [set(mixes[i]["class_idx"].tolist()) for i in range(6)]
    assert p["false_positives"] == sum(len({0, 1} - t) for t in truth)
    assert p["misses"] == sum(len(t - {0, 1}) for t in truth) and p["mixtures"] == 6
    sdr = np.asarray(rep["scores"]["m"]["sdr"]).reshape(6, 2)
    for i in range(6):
        for j, c in enumerate(mixes[i]["class_idx"].tolist()):
            assert (sdr[i, j] == MISSED_DB) == (c not in (0, 1))                  # a miss scores as silence


def test_sop_slots_are_named_by_the_classifier():
    class Fixed(torch.nn.Module):  # slot waves carry their class in their first sample
        def forward(self, wave):
            return torch.nn.functional.one_hot(wave[:, 0].round().long().clamp(0, 10), 11).float() * 10

    mix = torch.ones(1, 100)
    est = torch.stack([torch.full((100,), 3.0), torch.full((100,), 3.0) * 1.01, torch.full((100,), 1e-4)])[None]
    est[0, 1, 0] = 3.0                                                                # slots 0 and 1 both say class 3
    cls = name_slots(Fixed(), est, mix)
    assert cls.tolist() == [[3, -1, -1]]                                              # one slot per class; silence: −1
    named = named_estimates(cls, est, torch.tensor([[3, 5]]))
    torch.testing.assert_close(named[0, 0], est[0, 0])
    assert torch.all(named[0, 1] == 0)                                                # class 5 was not named: silence


# --------------------------------------------------------------------------- training stores the thresholds

def test_training_calibrates_and_stores_presence_thresholds(lib_root, tmp_path):
    cfg = get_preset("tiny", "sgn", train__steps=2, train__n_sources_mix=(1, 2, 3), train__val_every=2)
    train(cfg, lib_root, tmp_path / "run", device="cpu", progress=False)
    model, _, classes, _, state = load_checkpoint(tmp_path / "run" / "model.pt")
    history = json.loads(state["extra"])["history"]
    stored = [history["presence_thresholds"][c] for c in classes]
    torch.testing.assert_close(model.presence_thresholds, torch.tensor(stored))
    assert all(0.05 <= t <= 0.95 for t in stored)


def test_evaluate_user_view_scores_sgn_beside_sop_with_a_classifier(lib_root, tmp_path, capsys):
    from sgn_teach.cli.main import main

    common = ["--data", str(lib_root), "--preset", "tiny", "--steps", "1", "--device", "cpu", "--no-val"]
    assert main(["train", "--out", str(tmp_path / "sgn"), "--n-sources-mix", "1,2,3", *common]) == 0
    assert main(["train", "--out", str(tmp_path / "sop"), "--model", "sop", "--n-sources-mix", "1,2,3", *common]) == 0
    assert main(["train", "--out", str(tmp_path / "clf"), "--model", "classifier", *common]) == 0
    capsys.readouterr()
    rc = main(["evaluate", "--checkpoint", str(tmp_path / "sgn" / "model.pt"), "--data", str(lib_root),
               "--compare", str(tmp_path / "sop" / "model.pt"), "--classifier", str(tmp_path / "clf" / "model.pt"),
               "--user-view", "--n-mixtures", "3", "--device", "cpu", "--json", str(tmp_path / "uv.json")])
    out = capsys.readouterr().out
    assert rc == 0, out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "setting" not in line]
    assert [r.split("|")[1].strip() for r in rows] == ["labels given, 2 sources", "named by the model, 2 sources",
                                                      "labels given, 3 sources", "named by the model, 3 sources"]
    assert all("—" not in r for r in rows) and "FP/mix" in rows[1]  # SoP (3 slots, named by the classifier) in all four
    saved = json.loads((tmp_path / "uv.json").read_text())
    assert saved["named by the model, 2 sources"]["presence"]["sop"]["mixtures"] == 3


@pytest.mark.parametrize("kind", ["sgn", "sop"])
def test_the_model_cards_command_gives_the_shipped_models_settings(kind):
    """README's model cards say how sgn_small and sop_small were trained (the named recipe on the variety library;
    SGN with presence from the trunk and the FiLM trunk): SHIPPED_RECIPES must rebuild exactly the config stored in
    each checkpoint (its steps reached in the stages of SHIPPED_STAGES), and the cards' flags must spell the same
    recipe, stage by stage."""
    import dataclasses

    from sgn_teach.core.config import NAMED_RECIPE, SHIPPED_RECIPES, SHIPPED_STAGES, Config
    from sgn_teach.hub.checkpoint import read_checkpoint, training_history
    from sgn_teach.hub.shipped import shipped_checkpoint

    shipped = Config.from_dict(json.loads(read_checkpoint(shipped_checkpoint(f"{kind}_small"))["config"]))
    assert dataclasses.asdict(get_preset("small", kind, **SHIPPED_RECIPES[kind])) == dataclasses.asdict(shipped)
    assert (shipped.train.n_sources_mix, shipped.train.steps) == ((1, 2, 2, 3), SHIPPED_STAGES[kind][-1])
    history = training_history(read_checkpoint(shipped_checkpoint(f"{kind}_small")))
    lrs = {r["step"]: r["lr"] for r in history["train"]}
    first = dataclasses.replace(shipped.train, steps=SHIPPED_STAGES[kind][0])
    for step in (1, SHIPPED_STAGES[kind][0], SHIPPED_STAGES[kind][0] + 1, shipped.train.steps):  # the stages' schedules
        sched = first if step <= SHIPPED_STAGES[kind][0] else shipped.train
        assert lrs[step] == pytest.approx(sched.lr_at(step - 1), rel=1e-3), step
    assert shipped.model.presence == ("trunk" if kind == "sgn" else "tokens")
    assert shipped.model.trunk == ("film" if kind == "sgn" else "paper")
    assert {k: SHIPPED_RECIPES[kind][k] for k in NAMED_RECIPE if k != "train__steps"} == {
        k: v for k, v in NAMED_RECIPE.items() if k != "train__steps"}
    card = next(line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
                if line.startswith(f"| `sgn_teach/checkpoints/{kind}_small.pt`"))
    assert "--data data/variety" in card and "--n-sources-mix 1,2,2,3 --steps 8000" in card
    assert f"--steps {SHIPPED_STAGES[kind][-1]} --resume" in card
    assert ("--presence trunk" in card) == (kind == "sgn")
    assert ("--trunk film" in card) == (kind == "sgn")


# --------------------------------------------------------------------------- presence from the trunk

def test_the_unet_decodes_what_it_encoded():
    from sgn_teach.models.unet import UNet

    unet = UNet(in_channels=1, out_channels=8, ngf=4, levels=3).eval()
    x = torch.randn(2, 1, 32, 32)
    skips = unet.encode(x)
    torch.testing.assert_close(unet.decode(skips), unet(x))
    torch.testing.assert_close(unet.decode(skips, stop_before_last_conv=True), unet.last_hidden(x))
    assert [name for name, _ in unet.shape_trace(x)][:3] == ["input", "input_norm", "down_0"]


def test_the_trunk_presence_head_reads_the_encoder_and_teaches_it(tiny_audio):
    from sgn_teach.losses import presence_bce

    cfg = get_preset("tiny", "sgn", model__presence="trunk")
    model = build_model(cfg.model, cfg.audio).eval()
    paper = build_model(get_preset("tiny", "sgn").model, cfg.audio).eval()
    assert model.has_presence_head and model.presence_head is None
    # the same masks as the paper's SGN with the same weights: only where presence comes from differs
    paper.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("trunk_presence")},
                          strict=False)
    x, classes = torch.randn(2, 1, 64, 64), torch.tensor([[1, 2], [3, 9]])
    out = model(x, classes)
    torch.testing.assert_close(out["mask_logits"], paper(x, classes)["mask_logits"])
    assert out["presence_logits"].shape == (2, 11)
    torch.testing.assert_close(model.presence_logits(x), out["presence_logits"])  # the branch alone agrees
    # its logits follow the mixture, not the class tokens: changing the input changes them
    assert not torch.allclose(model.presence_logits(x), model.presence_logits(torch.randn(2, 1, 64, 64)))
    model.train()
    presence_bce(model(x, classes)["presence_logits"], torch.zeros(2, 11)).backward()
    assert model.unet.down[0][0].weight.grad.abs().sum() > 0      # the presence loss reaches the encoder ...
    assert all(p.grad is None or not p.grad.any() for p in model.transformer.parameters())  # ... not the tokens


def test_trunk_presence_needs_a_model_with_a_presence_head(synth_library, tmp_path, capsys):
    import sgn_teach.cli.main as cli

    for variant in ("baseline", "sop"):
        cfg = get_preset("tiny", variant, model__presence="trunk")
        with pytest.raises(ValueError, match="presence 'trunk' needs an SGN variant with a presence head"):
            build_model(cfg.model, cfg.audio)
    with pytest.raises(ValueError, match="presence must be one of tokens, trunk"):
        ModelConfig(presence="mask")
    out = tmp_path / "run"
    assert cli.main(["train", "--data", str(synth_library), "--out", str(out), "--model", "sop", "--preset", "tiny",
                     "--presence", "trunk", "--steps", "2", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "needs an SGN variant with a presence head" in err and len(err.strip().splitlines()) == 1
    assert not (out / "model.pt").exists()


def _report(sdr: list[float], seed: int = 3) -> dict:
    """A user-view setting's report for one model `SGN` on two 2-source mixtures (the shape evaluate() returns)."""
    row = {"sdr": float(np.mean(sdr)), "sir": 0.0, "sar": 0.0, "si_sdr": 0.0, "sdr_median": 0.0, "n": len(sdr),
           "n_silent_ref": 0, "n_silent_est": 0}
    setup = {"root": "lib", "split": "test", "n_sources": 2, "n_mixtures": 2, "seed": seed, "classes": "gt",
             "soundfonts": [], "setting": "labels given, 2 sources"}
    return {"rows": {"SGN": row, "mixture": {**row, "sdr": 0.0}}, "per_class": {"SGN": {}}, "presence": {},
            "scores": {"SGN": {"sdr": sdr}, "mixture": {"sdr": [0.0] * len(sdr)}}, "setup": setup}


def test_two_runs_of_the_same_mixtures_merge_into_one_paired_table():
    from sgn_teach.evaluation.user_view import format_user_view, merge_user_views

    label = "labels given, 2 sources"
    new, old = {label: _report([9.0, 11.0, 8.0, 12.0])}, {label: _report([8.0, 10.0, 7.0, 11.0])}
    merged = merge_user_views(new, old, {"SGN": "SGN (shipped)"})
    assert set(merged[label]["rows"]) == {"SGN", "SGN (shipped)", "mixture"} and set(new[label]["rows"]) == {"SGN",
                                                                                                           "mixture"}
    row = format_user_view(merged, ["SGN", "SGN (shipped)"]).splitlines()[-1]
    assert row.startswith(f"| {label} | 10.00 | 9.00 |") and "+1.00 [+1.00, +1.00]" in row   # the same +1 dB everywhere
    with pytest.raises(ValueError, match="differ in seed"):
        merge_user_views(new, {label: _report([8.0, 10.0, 7.0, 11.0], seed=4)}, {"SGN": "SGN (shipped)"})
    with pytest.raises(ValueError, match="named 'SGN' is there already"):
        merge_user_views(new, old, {"SGN": "SGN"})


def test_the_issue_targets_read_the_user_view_the_way_bench_named_and_bench_loso_print_them(monkeypatch):
    """benchmarks/bench_named.py's issue_targets (bench_loso.py prints the same list): each target can fail."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_named import issue_targets

    def rep(sgn: float, sop: float | None, f1: float = 0.9, per_class=None) -> dict:
        rows = {"SGN": {"sdr": sgn}, "mixture": {"sdr": 0.0}} | ({"SoP": {"sdr": sop}} if sop is not None else {})
        return {"rows": rows, "presence": {"SGN": {"f1": f1}}, "per_class": {"SGN": per_class or {"cello": 5.0}}}

    results = {"labels given, 2 sources": rep(10.5, 10.0, per_class={"cello": 2.9, "flute": 8.0}),
               "named by the model, 2 sources": rep(9.1, 9.3, f1=0.96),
               "labels given, 3 sources": rep(5.9, 4.0), "named by the model, 3 sources": rep(3.0, None)}
    met = {label: ok for label, ok, _ in issue_targets(results)}
    assert met == {"named outputs, 2 sources ≥ 9 dB": True, "presence F1 ≥ 0.95 (2 sources)": True,
                   "3 sources, labels given ≥ 6 dB": False, "2 sources, labels given ≥ 10.4 dB": True,
                   "SGN named ≥ SoP + classifier, 2 sources": False}  # no SoP row with 3 sources: no target
    loso = {label: (ok, value) for label, ok, value in issue_targets(results, loso=True)}
    assert loso["LOSO: SGN ≥ SoP, labels given, 2 sources"][0] and loso["LOSO: named-output F1 ≥ 0.85"][0]
    assert loso["LOSO: no class below 3 dB"] == (False, "lowest cello 2.90 dB")
    results["labels given, 3 sources"] = rep(5.998, 4.0)  # a miss that two decimals would round onto the bound
    value = {label: (ok, v) for label, ok, v in issue_targets(results)}["3 sources, labels given ≥ 6 dB"]
    assert value == (False, "5.998 dB")
