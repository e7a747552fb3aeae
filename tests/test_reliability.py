"""The newer surfaces hold up (issue 25): every model kind through the one loop, damaged checkpoints,
NaN outputs, full disks, stale temp files. One `error:` line, the right exit code, nothing lost or partial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

import sgn_teach.hub.checkpoint as ckmod
from sgn_teach.cli.main import main
from sgn_teach.core.config import get_preset
from sgn_teach.data import synth_library
from sgn_teach.hub.build import build_model
from sgn_teach.hub.checkpoint import save_checkpoint

CLASSES = ("cello", "flute", "trumpet", "tuba", "violin")  # sorted, as a library lists them
KIND_FLAGS = {"sgn": [], "text": ["--model", "text"], "audio_text": ["--model", "audio_text"],
              "classifier": ["--model", "classifier"], "diffusion": ["--model", "diffusion", "--condition", "class"]}


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    return synth_library(tmp_path_factory.mktemp("rel") / "lib", clips_per_class=5, seed=2, duration=1.6,
                         classes=CLASSES, progress=False)


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("wav") / "in.wav"
    sf.write(path, 0.2 * np.random.default_rng(0).standard_normal(24000).astype(np.float32), 16000)
    return path


def _train(lib, out, kind, *extra):
    return ["train", "--data", str(lib), "--out", str(out), "--preset", "tiny", "--batch-size", "2", "--device", "cpu",
            "--no-val", *KIND_FLAGS[kind], *map(str, extra)]


def _tree(root):
    return {str(p): (None if p.is_dir() else p.read_bytes()) for p in [root, *root.rglob("*")]} if root.exists() else {}


def _one_line(capsys, rc, expect, code=2):
    err = capsys.readouterr().err
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip() and "it/s" not in ln and "%|" not in ln]
    assert rc == code, err
    assert "Traceback" not in err and len(lines) == 1 and expect in lines[0], err
    return lines[0]


# --------------------------------------------------------------------------- every kind through the one loop

@pytest.mark.parametrize("kind", list(KIND_FLAGS))
def test_a_run_of_another_kind_is_never_replaced_and_a_live_one_is_never_shared(kind, lib, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(_train(lib, run, "sgn", "--steps", 2)) == 0
    before = _tree(run)
    capsys.readouterr()
    _one_line(capsys, main(_train(lib, run, kind, "--steps", 2)), "already holds a training run")
    if kind != "sgn":
        _one_line(capsys, main(_train(lib, run, kind, "--steps", 2, "--resume")), "another model config")
    assert _tree(run) == before
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / ".train.lock").write_text(f"{os.getpid()} {os.uname().nodename}\n")  # a live training holds it
    _one_line(capsys, main(_train(lib, busy, kind, "--steps", 2)), "in use by training process")


def _interrupt_after_step(monkeypatch, at: int) -> None:
    """SIGTERM this process right after optimiser step `at` (between opt.step() and the step counter)."""
    import sgn_teach.training.loop as loop

    real = loop.make_optimizer
    count = {"n": 0}

    def make(model, cfg):
        opt = real(model, cfg)
        step = opt.step

        def stepped(*a, **k):
            out = step(*a, **k)
            count["n"] += 1
            if count["n"] == at:
                os.kill(os.getpid(), signal.SIGTERM)
            return out

        opt.step = stepped
        return opt

    monkeypatch.setattr(loop, "make_optimizer", make)


@pytest.mark.parametrize("kind", list(KIND_FLAGS))
def test_every_kind_stops_at_a_step_boundary_and_resumes_exactly(kind, lib, tmp_path, monkeypatch, capsys):
    extra = ["--steps", 4, "--warmup-steps", 5]  # in warm-up the learning rate does not depend on --steps
    assert main(_train(lib, tmp_path / "straight", kind, *extra)) == 0
    _interrupt_after_step(monkeypatch, at=2)
    rc = main(_train(lib, tmp_path / "cut", kind, *extra))
    err = capsys.readouterr().err
    assert rc == 143 and "interrupted at step 2" in err and "--resume" in err, err
    assert not (tmp_path / "cut" / "model.pt").exists()
    monkeypatch.undo()
    assert main(_train(lib, tmp_path / "cut", kind, *extra, "--resume")) == 0
    a = torch.load(tmp_path / "straight" / "model.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "cut" / "model.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:3]
    capsys.readouterr()
    # a finished run asked to resume to fewer steps: refused, model.pt untouched
    weights = (tmp_path / "cut" / "model.pt").read_bytes()
    _one_line(capsys, main(_train(lib, tmp_path / "cut", kind, "--steps", 2, "--warmup-steps", 5, "--resume")),
              "past --steps 2")
    assert (tmp_path / "cut" / "model.pt").read_bytes() == weights


@pytest.mark.parametrize("flags, expect", [
    (["--steps", 0], "--steps must be"), (["--batch-size", 0], "--batch-size must be"),
    (["--lr", "nan"], "--lr must be"), (["--lr", -1], "--lr must be"), (["--lr", 0], "--lr must be"),
    (["--num-workers", -1], "--num-workers must be"), (["--warmup-steps", -5], "--warmup-steps must be"),
    (["--val-every", 0], "--val-every must be"), (["--w-consistency", -1], "--w-consistency must be"),
    (["--sup-fraction", 2], "sup_fraction must be in [0, 1]"),
])
def test_text_training_checks_its_settings_before_any_work(flags, expect, lib, tmp_path, capsys):
    _one_line(capsys, main(_train(lib, tmp_path / "run", "text", *flags)), expect)
    assert not (tmp_path / "run").exists()


def test_a_bad_clip_or_an_unwritable_out_fails_before_the_first_step(lib, tmp_path, capsys):
    import shutil

    bad = tmp_path / "lib"
    shutil.copytree(lib, bad)
    clip = next((bad / "cello").glob("*.wav"))
    clip.write_bytes(clip.read_bytes()[:100])  # truncated
    _one_line(capsys, main(_train(bad, tmp_path / "run", "text", "--steps", 2)), "cannot be used")
    assert not (tmp_path / "run").exists()
    _one_line(capsys, main(_train(lib, "/proc/run", "text", "--steps", 2)), "cannot write")


def test_a_checkpoint_that_is_a_copy_of_model_pt_is_not_resumed(lib, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(_train(lib, run, "text", "--steps", 2)) == 0
    (run / "checkpoint.pt").write_bytes((run / "model.pt").read_bytes())
    capsys.readouterr()
    _one_line(capsys, main(_train(lib, run, "text", "--steps", 4, "--resume")), "no optimiser state")


# --------------------------------------------------------------------------- damaged checkpoints

def _saved(tmp_path, kind="sgn", edit=None, name="ck.pt"):
    """A tiny untrained checkpoint of the library's classes; `edit(state)` changes it (then unsealed, as a
    hand-made file would be, so the check of what was edited speaks rather than the seal)."""
    cfg = get_preset("tiny", kind, **({"diffusion__condition": "class"} if kind == "diffusion" else {}))
    cfg.model.n_classes = len(CLASSES)
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / name, build_model(cfg.model, cfg.audio, diffusion=cfg.diffusion), cfg,
                           list(CLASSES), 0)
    if edit is not None:
        state = torch.load(path, weights_only=True)
        edit(state)
        state.pop("sha256", None)
        torch.save(state, path)
    return path


def _config_edit(section, key, value):
    def edit(state):
        cfg = json.loads(state["config"])
        cfg[section][key] = value
        state["config"] = json.dumps(cfg)
    return edit


def _extra_edit(key, value):
    def edit(state):
        extra = json.loads(state["extra"])
        extra[key] = value
        state["extra"] = json.dumps(extra)
    return edit


@pytest.mark.parametrize("kind, edit, expect", [
    ("diffusion", _config_edit("diffusion", "mag_ref", 0), "diffusion.mag_ref = 0"),
    ("sgn", _config_edit("audio", "n_fft", 0), "audio.n_fft = 0"),
    ("sgn", _config_edit("audio", "n_samples", -5), "audio.n_samples = -5"),
    ("sgn", _config_edit("audio", "sample_rate", 0), "audio.sample_rate = 0"),
    ("sgn", _extra_edit("train_mix_rms", "abc"), "train_mix_rms = 'abc'"),
])
def test_a_tampered_config_is_one_line_that_blames_the_checkpoint(kind, edit, expect, tmp_path, wav, capsys):
    ck = _saved(tmp_path, kind, edit)
    line = _one_line(capsys, main(["separate", str(wav), "--checkpoint", str(ck), "--out", str(tmp_path / "o"),
                                   "--classes", "cello,flute"]), expect)
    assert str(wav) not in line and not (tmp_path / "o").exists()


def test_flipped_bytes_in_the_weights_are_caught_by_the_seal(tmp_path, wav, capsys):
    ck = _saved(tmp_path)
    state = torch.load(ck, weights_only=True)
    w = state["model"]["mask_bias"]
    w += 1e-3  # what a flipped byte does to a weight: torch.load still reads the file
    torch.save(state, ck)  # keeps the old seal
    _one_line(capsys, main(["separate", str(wav), "--checkpoint", str(ck), "--out", str(tmp_path / "o")]),
              "SHA-256 mismatch")
    assert not (tmp_path / "o").exists()


def test_a_model_that_outputs_nan_writes_nothing_and_scores_nothing(lib, tmp_path, wav, capsys):
    cfg = get_preset("tiny")
    cfg.model.n_classes = len(CLASSES)
    model = build_model(cfg.model, cfg.audio)
    with torch.no_grad():
        model.mask_bias.fill_(float("nan"))
    ck = save_checkpoint(tmp_path / "nan.pt", model, cfg, list(CLASSES), 0)  # sealed: the file is intact
    _one_line(capsys, main(["separate", str(wav), "--checkpoint", str(ck), "--out", str(tmp_path / "o"),
                            "--classes", "cello,flute"]), "not finite")
    assert not (tmp_path / "o").exists()
    _one_line(capsys, main(["evaluate", "--checkpoint", str(ck), "--data", str(lib), "--split", "all",
                            "--n-mixtures", "2", "--no-nmf", "--device", "cpu"]), "not finite")


# --------------------------------------------------------------------------- full disks, killed runs

def test_a_full_disk_while_saving_a_checkpoint_is_one_line_and_leaves_nothing_partial(lib, tmp_path, monkeypatch,
                                                                                      capsys):
    def full(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"half")
        raise RuntimeError("[enforce fail at inline_container.cc:603] . PytorchStreamWriter failed writing file "
                           "data/3: file write failed")

    monkeypatch.setattr(ckmod.torch, "save", full)
    run = tmp_path / "run"
    line = _one_line(capsys, main(_train(lib, run, "sgn", "--steps", 2)), "No space left")
    assert "checkpoint.pt" in line
    assert not list(run.glob("*.pt")) and not list(run.glob(".tmp-*"))


def test_a_killed_separate_leaves_a_staging_folder_that_the_next_run_clears(tmp_path, wav, capsys):
    ck = _saved(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".tmp-out-{int(dead.stdout)}-abc123"
    stale.mkdir()
    (stale / ".input-model-rate.f32").write_bytes(b"\0" * 4096)
    alive = tmp_path / f".tmp-out-{os.getpid() + 0}-live"  # our own: never touched
    alive.mkdir()
    assert main(["separate", str(wav), "--checkpoint", str(ck), "--out", str(tmp_path / "out"),
                 "--classes", "cello,flute", "--no-figure"]) == 0
    assert not stale.exists() and alive.exists()
