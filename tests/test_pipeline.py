"""Training, resuming, checkpoints, evaluation, separation and the command line, end to end on tiny data."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import run_cli

from sgn_teach.core.config import get_preset
from sgn_teach.data import SoloLibrary, synth_library
from sgn_teach.evaluation.evaluate import evaluate
from sgn_teach.hub.build import build_model, load_checkpoint
from sgn_teach.hub.checkpoint import save_checkpoint
from sgn_teach.inference.separate import separate_wave
from sgn_teach.signal.metrics import si_sdr
from sgn_teach.training import train

ROOT = Path(__file__).resolve().parents[1]



def _cli(*args):
    return run_cli(*args)  # in-process: the command line's whole path without a second Python start


def _tiny(variant="sgn", steps=6):
    return get_preset("tiny", variant=variant, train__steps=steps, train__batch_size=2, train__ckpt_every=3,
                      train__val_every=1000)


@pytest.mark.parametrize("variant", ["sgn", "sop"])
def test_resume_continues_to_the_same_weights(lib_root, tmp_path, variant):
    straight = train(_tiny(variant, 6), lib_root, tmp_path / "a", device="cpu", progress=False, validate_during=False)
    train(_tiny(variant, 3), lib_root, tmp_path / "b", device="cpu", progress=False, validate_during=False)
    resumed = train(_tiny(variant, 6), lib_root, tmp_path / "b", device="cpu", resume=True, progress=False,
                    validate_during=False)
    a = torch.load(tmp_path / "a" / "model.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "model.pt", weights_only=True)["model"]
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-6), k
    assert [r["total"] for r in straight["train"]] == pytest.approx([r["total"] for r in resumed["train"]], abs=1e-5)
    assert (tmp_path / "b" / "history.json").exists() and (tmp_path / "b" / "curves.png").exists()


def test_a_planned_pause_resumes_to_the_straight_run_with_a_cosine_schedule(lib_root, tmp_path):
    """train(stop_at=k) pauses inside the run's own schedule (past the warm-up, where the cosine depends on the
    run's steps): resumed, it ends with the straight run's weights and losses. A shorter run resumed with more steps
    would not (that is a warm restart: tests/test_training_recipe.py)."""
    from sgn_teach.core.errors import ConfigError

    cfg = get_preset("tiny", "sgn", train__steps=8, train__batch_size=2, train__warmup_steps=1, train__ckpt_every=100,
                     train__val_every=1000, train__schedule="cosine")
    straight = train(cfg, lib_root, tmp_path / "a", device="cpu", progress=False, validate_during=False)
    paused = train(cfg, lib_root, tmp_path / "b", device="cpu", progress=False, validate_during=False, stop_at=4)
    assert [r["step"] for r in paused["train"]] == [1, 2, 3, 4]
    assert not (tmp_path / "b" / "model.pt").exists()
    assert torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)["step"] == 4
    again = train(cfg, lib_root, tmp_path / "b", device="cpu", progress=False, validate_during=False, resume=True,
                  stop_at=3)   # already past step 3: nothing trained
    assert len(again["train"]) == 4
    resumed = train(cfg, lib_root, tmp_path / "b", device="cpu", resume=True, progress=False, validate_during=False)
    a = torch.load(tmp_path / "a" / "model.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "model.pt", weights_only=True)["model"]
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-6), k
    assert [r["lr"] for r in resumed["train"]] == [r["lr"] for r in straight["train"]]
    assert [r["total"] for r in straight["train"]] == pytest.approx([r["total"] for r in resumed["train"]], abs=1e-5)
    for bad in (0, 9, 2.5):
        with pytest.raises(ConfigError, match="stop_at must be a step from 1 to 8"):
            train(cfg, lib_root, tmp_path / "c", device="cpu", progress=False, stop_at=bad)
    assert not (tmp_path / "c").exists()


def test_checkpoint_roundtrip_and_bad_files(tmp_path):
    cfg = get_preset("tiny")
    model = build_model(cfg.model, cfg.audio)
    p = save_checkpoint(tmp_path / "m.pt", model, cfg, [f"c{i}" for i in range(11)], step=7)
    state = torch.load(p, weights_only=True)  # no pickled code needed
    assert state["step"] == 7 and json.loads(state["config"])["preset"] == "tiny"
    model2, cfg2, classes, step, _ = load_checkpoint(p)
    x = torch.randn(1, 1, cfg.audio.n_freq_warped, cfg.audio.n_frames)
    model.eval()
    assert torch.allclose(model(x)["mask_logits"], model2(x)["mask_logits"])
    assert [f.name for f in tmp_path.iterdir()] == ["m.pt"]  # no temp files left behind
    (tmp_path / "junk.pt").write_bytes(b"\x00garbage")
    from sgn_teach.core.errors import CheckpointError

    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def test_evaluate_rows_are_ordered_as_expected(lib_root):
    cfg = get_preset("tiny")
    model = build_model(cfg.model, cfg.audio).eval()
    test = SoloLibrary(lib_root, split="all")
    report = evaluate({"sgn": model}, test, cfg.audio, n_mixtures=6, seed=1, progress=False)
    rows = report["rows"]
    assert set(rows) == {"sgn", "mixture", "oracle_ibm", "oracle_irm", "nmf"}
    assert all(r["n"] + r["n_silent_ref"] + r["n_silent_est"] >= 12 for r in rows.values())
    assert rows["oracle_ibm"]["sdr"] > rows["mixture"]["sdr"] + 5
    assert rows["oracle_irm"]["sdr"] > rows["mixture"]["sdr"] + 5
    assert rows["nmf"]["sdr"] > rows["mixture"]["sdr"]
    again = evaluate({"sgn": model}, test, cfg.audio, n_mixtures=6, seed=1, rows=("mixture",), progress=False)
    assert again["rows"]["mixture"]["sdr"] == pytest.approx(rows["mixture"]["sdr"])  # seeded: same mixtures


def test_fast_backend_matches_mir_eval(lib_root):
    cfg = get_preset("tiny")
    test = SoloLibrary(lib_root, split="all")
    fast = evaluate({}, test, cfg.audio, n_mixtures=3, seed=2, rows=("oracle_irm",), backend="fast", progress=False)
    ref = evaluate({}, test, cfg.audio, n_mixtures=3, seed=2, rows=("oracle_irm",), backend="mir_eval", progress=False)
    for key in ("sdr", "sir", "sar"):
        assert fast["rows"]["oracle_irm"][key] == pytest.approx(ref["rows"]["oracle_irm"][key], abs=0.01)


class _PassThrough(torch.nn.Module):
    """A 'model' whose masks are all ones: separation must give back the input exactly."""

    class_conditioned, generative, has_presence_head, takes_prompts = True, False, True, False  # a Separator
    presence_thresholds = torch.full((11,), 0.5)

    def forward(self, log_mag, classes=None):
        B, _, F, T = log_mag.shape
        K = 11 if classes is None else classes.shape[1]
        return {"mask_logits": torch.full((B, K, F, T), 30.0), "presence_logits": torch.full((B, 11), 5.0)}

    def presence_logits(self, log_mag):
        return self.forward(log_mag)["presence_logits"]


def test_windowed_separation_stitches_without_seams():
    cfg = get_preset("tiny").audio
    rng = np.random.default_rng(0)
    t = np.arange(int(cfg.n_samples * 3.7)) / cfg.sample_rate
    wave = (0.3 * np.sin(2 * np.pi * 330 * t) + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
    est, presence = separate_wave(_PassThrough(), wave, cfg, [f"c{i}" for i in range(11)], classes=["c2"])
    assert list(est) == ["c2"] and est["c2"].shape == wave.shape
    assert si_sdr(est["c2"], wave) > 30
    assert np.abs(est["c2"] - wave).max() < 0.05  # no click at any seam


def test_cli_train_evaluate_separate(lib_root, tmp_path):
    run = tmp_path / "run"
    r = _cli("train", "--data", lib_root, "--out", run, "--preset", "tiny", "--steps", 4, "--batch-size", 2,
             "--device", "cpu", "--no-val")
    assert r.returncode == 0, r.stderr
    ck = run / "model.pt"
    r = _cli("evaluate", "--checkpoint", ck, "--data", lib_root, "--split", "all", "--n-mixtures", 4,
             "--json", tmp_path / "report.json", "--device", "cpu", "--no-nmf")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert {"sgn", "mixture", "oracle_ibm", "oracle_irm"} <= set(report["rows"])
    mean, low, high = report["differences"]["sgn-mixture"]  # the model against the unprocessed mixture, paired
    assert low <= mean <= high and "sgn − mixture" in r.stdout and "sgn-nmf" not in report["differences"]  # --no-nmf
    for row in report["rows"].values():
        assert {"sdr", "sir", "sar", "si_sdr", "sdr_median", "n"} <= set(row)
    # separate a stereo 22.05 kHz file longer than one clip
    sr = 22050
    x = np.random.default_rng(0).standard_normal((int(sr * 2.5), 2)).astype(np.float32) * 0.1
    sf.write(tmp_path / "in.wav", x, sr)
    r = _cli("separate", tmp_path / "in.wav", "--checkpoint", ck, "--out", tmp_path / "sep",
             "--classes", "cello,flute", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    for name in ("in_cello.wav", "in_flute.wav"):
        data, out_sr = sf.read(tmp_path / "sep" / name)
        assert out_sr == sr and len(data) == len(x)
    assert (tmp_path / "sep" / "in_separation.png").exists()


def test_cli_bad_input_one_line_no_partial_output(lib_root, tmp_path):
    run = tmp_path / "run"
    assert _cli("train", "--data", lib_root, "--out", run, "--preset", "tiny", "--steps", 2, "--batch-size", 2,
                "--device", "cpu", "--no-val").returncode == 0
    ck = run / "model.pt"
    (tmp_path / "notaudio.wav").write_text("hello")
    sf.write(tmp_path / "silent.wav", np.zeros(20000, np.float32), 11025)
    (tmp_path / "bad.pt").write_bytes(b"nope")
    other = tmp_path / "other"
    synth_library(other, clips_per_class=3, seed=0, duration=1.0, classes=("cello", "flute", "tuba"), progress=False)
    cases = [
        ("separate", tmp_path / "notaudio.wav", "--checkpoint", ck, "--out", tmp_path / "o1"),
        ("separate", tmp_path / "silent.wav", "--checkpoint", ck, "--out", tmp_path / "o2"),
        ("separate", tmp_path / "silent.wav", "--checkpoint", tmp_path / "bad.pt", "--out", tmp_path / "o3"),
        ("separate", tmp_path / "missing.wav", "--checkpoint", ck, "--out", tmp_path / "o4"),
        ("evaluate", "--checkpoint", tmp_path / "bad.pt", "--data", lib_root, "--json", tmp_path / "r1.json"),
        ("evaluate", "--checkpoint", ck, "--data", other, "--split", "all", "--json", tmp_path / "r2.json"),
        ("evaluate", "--checkpoint", ck, "--data", tmp_path / "nowhere", "--json", tmp_path / "r3.json"),
        ("train", "--data", tmp_path / "nowhere", "--out", tmp_path / "r4"),
    ]
    for args in cases:
        r = _cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
        assert r.stderr.startswith("error: ")
    leftovers = {"o1", "o2", "o3", "o4", "r1.json", "r2.json", "r3.json"} & {p.name for p in tmp_path.iterdir()}
    assert not leftovers, leftovers
