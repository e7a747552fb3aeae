"""Every bad input gives one `error:` line, exit 2, no traceback and writes nothing; interrupts are honest and exact.

Most cases call ``sgn_teach.cli.main.main([...])`` in-process (fast); the signal tests
that need a real process (a signal sent from outside) use a subprocess. Issue 11.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from sgn_teach.cli.main import main
from sgn_teach.core.atomic import AtomicDir, write_json
from sgn_teach.core.config import get_preset
from sgn_teach.core.errors import ConfigError
from sgn_teach.data import SoloLibrary, synth_library
from sgn_teach.hub.build import build_model
from sgn_teach.hub.checkpoint import FORMAT, save_checkpoint

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("cello", "flute", "trumpet", "xylophone")
STEPS = 6
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A 4-class tiny library, untrained checkpoints (sgn, sop, baseline) and a finished straight run."""
    base = tmp_path_factory.mktemp("bad_input")
    lib = synth_library(base / "lib", clips_per_class=4, seed=0, duration=1.6, classes=CLASSES, progress=False)
    cfg = get_preset("tiny")
    cfg.model.n_classes = len(CLASSES)
    paths = {}
    for variant in ("sgn", "sop", "baseline"):
        c = get_preset("tiny", variant=variant)
        c.model.n_classes = len(CLASSES)
        torch.manual_seed(0)
        paths[variant] = save_checkpoint(base / f"{variant}.pt", build_model(c.model, c.audio), c, list(CLASSES), 0)
    straight = base / "straight"
    assert main(_train_args(lib, straight)) == 0
    sr = 22050
    wave = 0.2 * np.random.default_rng(0).standard_normal((int(sr * 2.2), 2)).astype(np.float32)
    sf.write(base / "in.wav", wave, sr)
    return {"base": base, "lib": lib, "straight": straight, "wav": base / "in.wav", **paths}


def _train_args(lib, out, *extra):
    return ["train", "--data", str(lib), "--out", str(out), "--preset", "tiny", "--steps", str(STEPS),
            "--batch-size", "2", "--device", "cpu", "--no-val", *map(str, extra)]


def _tree(*roots) -> dict[str, bytes | None]:
    """Every path under `roots` with its bytes (None for folders): a snapshot to compare."""
    snap = {}
    for r in roots:
        r = Path(r)
        if not r.exists():
            continue
        for p in [r, *r.rglob("*")]:
            if p.is_fifo():
                snap[str(p)] = b"fifo"
            else:
                snap[str(p)] = None if p.is_dir() else p.read_bytes()
    return snap


def _one_error_line(capsys, rc, expect: str) -> str:
    out = capsys.readouterr()
    lines = [ln for ln in out.err.replace("\r", "\n").splitlines() if ln.strip()]
    assert rc == 2, (rc, out.err)
    assert "Traceback" not in out.err and "Traceback" not in out.out
    assert len(lines) == 1 and lines[0].startswith("error: "), out.err
    assert expect in lines[0], (expect, lines[0])
    return lines[0]


# ---------------------------------------------------------------- command-line cases

def _wav(path, wave, sr=11025, subtype=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wave, sr, subtype=subtype)
    return path


def _val_split_of_one_class(env, w):
    lib = w / "lib_val1"
    shutil.copytree(env["lib"], lib)
    rows = ["path,split"]
    for i, c in enumerate(sorted(p for p in lib.rglob("*.wav"))):
        rel = c.relative_to(lib).as_posix()
        rows.append(f"{rel},{'val' if rel.startswith('cello/') and i % 4 == 0 else 'train'}")
    (lib / "splits.csv").write_text("\n".join(rows) + "\n")
    return lib


def _corrupt_train_clip(env, w):
    lib = w / "lib_bad"
    shutil.copytree(env["lib"], lib)
    SoloLibrary(lib, split="train").clips[0].path.write_bytes(b"RIFF not really a wav")
    return lib


def _busy_run(w):
    run = w / "busy"
    run.mkdir()
    (run / ".train.lock").write_text(f"{os.getppid()} {os.uname().nodename}\n")  # a live process
    return run


def _unsealed(path):
    """A checkpoint's state without its SHA-256 seal: as a file written by hand, or before seals, would be."""
    state = torch.load(path, weights_only=True)
    state.pop("sha256", None)
    return state


def _ck_missing_classes(w):
    state = _unsealed(_ck_valid(w))
    del state["classes"]
    torch.save(state, w / "noclasses.pt")
    return w / "noclasses.pt"


def _ck_short_classes(w):
    state = _unsealed(_ck_valid(w))
    state["classes"] = state["classes"][:2]
    torch.save(state, w / "short.pt")
    return w / "short.pt"


def _ck_valid(w):
    c = get_preset("tiny")
    c.model.n_classes = len(CLASSES)
    return save_checkpoint(w / "valid.pt", build_model(c.model, c.audio), c, list(CLASSES), 0)


def _ck_raw_pickle(w):
    with open(w / "raw.pt", "wb") as fh:
        pickle.dump({"format": FORMAT, "classes": list(CLASSES)}, fh, protocol=4)
    return w / "raw.pt"


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _ck_evil(w):
    torch.save({"format": FORMAT, "x": _Evil()}, w / "evil.pt")
    return w / "evil.pt"


def _ck_truncated(w):
    (w / "trunc.pt").write_bytes(_ck_valid(w).read_bytes()[:500])
    return w / "trunc.pt"


def _ck_zero(w):
    (w / "zero.pt").write_bytes(b"")
    return w / "zero.pt"


def _ck_mismatch(w):
    state = _unsealed(_ck_valid(w))
    cfg = json.loads(state["config"])
    cfg["model"]["dim"] = 48
    state["config"] = json.dumps(cfg)
    torch.save(state, w / "mismatch.pt")
    return w / "mismatch.pt"


def _fifo(w):
    os.mkfifo(w / "pipe.wav")
    return w / "pipe.wav"


def _readonly_dir(w):
    d = w / "ro"
    d.mkdir()
    d.chmod(0o555)
    return d


CASES = {
    # train
    "train-steps-0": (lambda e, w: _train_args(e["lib"], w / "r", "--steps", 0), "--steps must be"),
    "train-steps-negative": (lambda e, w: _train_args(e["lib"], w / "r", "--steps", -5), "--steps must be"),
    "train-batch-0": (lambda e, w: _train_args(e["lib"], w / "r", "--batch-size", 0), "--batch-size must be"),
    "train-lr-0": (lambda e, w: _train_args(e["lib"], w / "r", "--lr", 0), "--lr must be"),
    "train-lr-nan": (lambda e, w: _train_args(e["lib"], w / "r", "--lr", "nan"), "--lr must be"),
    "train-steps-not-int": (lambda e, w: _train_args(e["lib"], w / "r", "--steps", "ten"), "invalid int"),
    "train-n-sources-too-many": (lambda e, w: _train_args(e["lib"], w / "r", "--n-sources", 5), "4 classes"),
    "train-data-missing": (lambda e, w: _train_args(w / "nowhere", w / "r"), "nowhere"),
    "train-data-is-file": (lambda e, w: _train_args(e["wav"], w / "r"), "in.wav"),
    "train-out-is-file": (lambda e, w: _train_args(e["lib"], e["wav"]), "not a folder"),
    "train-out-under-proc": (lambda e, w: _train_args(e["lib"], "/proc/sgn-teach-run"), "cannot write"),
    "train-val-split-lacks-classes": (lambda e, w: _train_args(_val_split_of_one_class(e, w), w / "r")[:-1],
                                      "val split has clips of 1 classes"),
    "train-corrupt-clip": (lambda e, w: _train_args(_corrupt_train_clip(e, w), w / "r"), "1 of"),
    "train-finished-run-without-resume": (lambda e, w: _train_args(e["lib"], e["straight"]), "--resume"),
    "train-resume-past-steps": (lambda e, w: _train_args(e["lib"], e["straight"], "--resume", "--steps", 2),
                                "past --steps 2"),
    "train-resume-other-model": (lambda e, w: _train_args(e["lib"], e["straight"], "--resume", "--steps", 9,
                                                          "--depth", 2), "another model config"),
    "train-locked-by-live-process": (lambda e, w: _train_args(e["lib"], _busy_run(w)), "in use by training process"),
    "train-device-gpu": (lambda e, w: _train_args(e["lib"], w / "r", "--device", "gpu"), "invalid choice"),
    # checkpoints (through separate and evaluate)
    "ckpt-zero-bytes": (lambda e, w: ["separate", e["wav"], "--checkpoint", _ck_zero(w), "--out", w / "o"], "empty"),
    "ckpt-missing-classes": (lambda e, w: ["separate", e["wav"], "--checkpoint", _ck_missing_classes(w), "--out",
                                           w / "o"], "missing classes"),
    "ckpt-short-class-list": (lambda e, w: ["separate", e["wav"], "--checkpoint", _ck_short_classes(w), "--out",
                                            w / "o"], "names 2 classes"),
    "ckpt-raw-pickle": (lambda e, w: ["evaluate", "--checkpoint", _ck_raw_pickle(w), "--data", e["lib"]],
                        "not a readable checkpoint"),
    "ckpt-unsafe-pickle": (lambda e, w: ["evaluate", "--checkpoint", _ck_evil(w), "--data", e["lib"]],
                           "never unpickled"),
    "ckpt-truncated": (lambda e, w: ["separate", e["wav"], "--checkpoint", _ck_truncated(w), "--out", w / "o"],
                       "truncated"),
    "ckpt-is-folder": (lambda e, w: ["separate", e["wav"], "--checkpoint", w, "--out", w / "o"], "is a folder"),
    "ckpt-weights-do-not-fit-config": (lambda e, w: ["separate", e["wav"], "--checkpoint", _ck_mismatch(w), "--out",
                                                     w / "o"], "does not match its config"),
    # separate
    "sep-missing-input-non-ascii": (lambda e, w: ["separate", w / "mé lange ♪.wav", "--checkpoint", e["sgn"],
                                                  "--out", w / "o"], "no such file"),
    "sep-input-is-folder": (lambda e, w: ["separate", w, "--checkpoint", e["sgn"], "--out", w / "o"], "is a folder"),
    "sep-input-is-fifo": (lambda e, w: ["separate", _fifo(w), "--checkpoint", e["sgn"], "--out", w / "o"],
                          "not a regular file"),
    "sep-input-not-audio": (lambda e, w: ["separate", _text(w / "t.wav"), "--checkpoint", e["sgn"], "--out", w / "o"],
                            "not a readable audio file"),
    "sep-input-empty": (lambda e, w: ["separate", _wav(w / "e.wav", np.zeros(0, np.float32)), "--checkpoint",
                                      e["sgn"], "--out", w / "o"], "empty"),
    "sep-input-silent": (lambda e, w: ["separate", _wav(w / "s.wav", np.zeros(30000, np.float32)), "--checkpoint",
                                       e["sgn"], "--out", w / "o"], "silent"),
    "sep-input-nan": (lambda e, w: ["separate", _wav(w / "n.wav", np.full(30000, np.nan, np.float32), subtype="FLOAT"),
                                    "--checkpoint", e["sgn"], "--out", w / "o"], "NaN"),
    "sep-input-shorter-than-512": (lambda e, w: ["separate", _wav(w / "short.wav", _noise(300)), "--checkpoint",
                                                 e["sgn"], "--out", w / "o"], "too short"),
    "sep-input-short-at-44k": (lambda e, w: ["separate", _wav(w / "short44.wav", _noise(1800), sr=44100),
                                             "--checkpoint", e["sgn"], "--out", w / "o"], "too short"),
    "sep-out-is-file": (lambda e, w: ["separate", e["wav"], "--checkpoint", e["sgn"], "--out", e["wav"]],
                        "not a folder"),
    "sep-out-under-proc": (lambda e, w: ["separate", e["wav"], "--checkpoint", e["sgn"], "--out", "/proc/sgn-out"],
                           "cannot write"),
    "sep-out-readonly": (lambda e, w: ["separate", e["wav"], "--checkpoint", e["sgn"], "--out",
                                       _readonly_dir(w) / "o"], "cannot write"),
    "sep-classes-comma": (lambda e, w: ["separate", e["wav"], "--checkpoint", e["sgn"], "--out", w / "o",
                                        "--classes", ","], "names no class"),
    "sep-classes-duplicated": (lambda e, w: ["separate", e["wav"], "--checkpoint", e["sgn"], "--out", w / "o",
                                             "--classes", "cello,flute,cello"], "more than once"),
    "sep-classes-unknown": (lambda e, w: ["separate", e["wav"], "--checkpoint", e["sgn"], "--out", w / "o",
                                          "--classes", "banjo"], "unknown class banjo"),
    "sep-classes-for-sop": (lambda e, w: ["separate", e["wav"], "--checkpoint", e["sop"], "--out", w / "o",
                                          "--classes", "cello"], "sop"),
    "sep-auto-without-presence-head": (lambda e, w: ["separate", e["wav"], "--checkpoint", e["baseline"], "--out",
                                                     w / "o"], "presence head"),
    "sep-device-gpu": (lambda e, w: ["separate", e["wav"], "--checkpoint", e["sgn"], "--out", w / "o", "--device",
                                     "gpu"], "invalid choice"),
    "sep-device-cuda-without-gpu": (lambda e, w: ["separate", e["wav"], "--checkpoint", e["sgn"], "--out", w / "o",
                                                  "--device", "cuda"], "no CUDA GPU"),
    # evaluate
    "eval-n-mixtures-0": (lambda e, w: _eval(e, w, "--n-mixtures", 0), "--n-mixtures must be"),
    "eval-n-mixtures-negative": (lambda e, w: _eval(e, w, "--n-mixtures", -3), "--n-mixtures must be"),
    "eval-n-sources-0": (lambda e, w: _eval(e, w, "--n-sources", 0), "--n-sources must be"),
    "eval-n-sources-too-many": (lambda e, w: _eval(e, w, "--n-sources", 5), "only 4 classes"),
    "eval-sop-other-n-sources": (lambda e, w: _eval(e, w, "--n-sources", 3, ckpt=e["sop"]), "has 2 output slots"),
    "eval-auto-without-presence-head": (lambda e, w: _eval(e, w, "--classes", "auto", ckpt=e["baseline"]),
                                        "presence head"),
    "eval-json-is-folder": (lambda e, w: _eval(e, w, "--json", w), "is a folder"),
    "eval-json-under-file": (lambda e, w: _eval(e, w, "--json", Path(e["wav"]) / "r.json"), "is a file, not a folder"),
    "eval-json-under-proc": (lambda e, w: _eval(e, w, "--json", "/proc/sgn-report.json"), "cannot write"),
    "eval-json-readonly": (lambda e, w: _eval(e, w, "--json", _readonly_dir(w) / "r.json"), "cannot write"),
    # data
    "data-clips-0": (lambda e, w: ["data", "synth", "--out", w / "d", "--clips-per-class", 0], "--clips-per-class"),
    "data-clips-negative": (lambda e, w: ["data", "synth", "--out", w / "d", "--clips-per-class", -2],
                            "--clips-per-class"),
    "data-duration-0": (lambda e, w: ["data", "synth", "--out", w / "d", "--duration", 0], "--duration"),
    "data-duration-negative": (lambda e, w: ["data", "synth", "--out", w / "d", "--duration", -1], "--duration"),
    "data-duration-nan": (lambda e, w: ["data", "synth", "--out", w / "d", "--duration", "nan"], "--duration"),
    "data-duration-inf": (lambda e, w: ["data", "synth", "--out", w / "d", "--duration", "inf"], "--duration"),
    "data-out-is-file": (lambda e, w: ["data", "synth", "--out", e["wav"], "--clips-per-class", 1], "not a folder"),
    "data-out-not-empty": (lambda e, w: ["data", "synth", "--out", _text(w / "d" / "notes.txt").parent,
                                         "--clips-per-class", 1], "not empty"),
    "data-out-other-library": (lambda e, w: ["data", "synth", "--out", e["lib"], "--clips-per-class", 1, "--seed", 7],
                               "another library"),
    "data-out-under-proc": (lambda e, w: ["data", "synth", "--out", "/proc/sgn-lib", "--clips-per-class", 1],
                            "cannot write"),
}


def _noise(n):
    return 0.1 * np.random.default_rng(1).standard_normal(n).astype(np.float32)


def _text(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("hello, not audio")
    return path


def _eval(e, w, *extra, ckpt=None):
    return ["evaluate", "--checkpoint", ckpt or e["sgn"], "--data", e["lib"], "--split", "all", "--no-nmf",
            "--n-mixtures", 2, "--device", "cpu", *extra]


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_one_line_exit_2_nothing_written(case, env, tmp_path, capsys, monkeypatch, recwarn):
    if case.endswith("readonly") and IS_ROOT:
        pytest.skip("root ignores permission bits (the immutable and /proc cases cover it)")
    if case == "sep-device-cuda-without-gpu" and torch.cuda.is_available():
        pytest.skip("a GPU is there")
    import sgn_teach.evaluation.evaluate

    def must_not_run(*a, **k):
        raise AssertionError("the evaluation ran before the bad input was noticed")

    monkeypatch.setattr(sgn_teach.evaluation.evaluate, "evaluate", must_not_run)
    build, expect = CASES[case]
    args = [str(a) for a in build(env, tmp_path)]
    before = _tree(tmp_path, env["base"])
    capsys.readouterr()
    rc = main(args)
    line = _one_error_line(capsys, rc, expect)
    assert _tree(tmp_path, env["base"]) == before  # nothing written, nothing left behind
    assert not [w for w in recwarn if "torch" in str(w.filename) or "pickle" in str(w.message)]
    assert "weights_only" not in line and "PyTorch 2.6" not in line  # no unrelated history of torch.load


def test_immutable_output_folder(env, tmp_path, capsys):
    d = tmp_path / "frozen"
    d.mkdir()
    if subprocess.run(["chattr", "+i", str(d)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here (needs root and a file system that supports it)")
    try:
        before = _tree(tmp_path)
        rc = main(["separate", str(env["wav"]), "--checkpoint", str(env["sgn"]), "--out", str(d)])
        _one_error_line(capsys, rc, "cannot write")
        assert _tree(tmp_path) == before
    finally:
        subprocess.run(["chattr", "-i", str(d)], check=True)


# ---------------------------------------------------------------- things that must work

def test_paths_with_spaces_and_non_ascii_names(env, tmp_path, capsys):
    src = tmp_path / "dossier à espaces" / "mé lange ♪.wav"
    src.parent.mkdir()
    shutil.copy(env["wav"], src)
    out = tmp_path / "sortie é"
    rc = main(["separate", str(src), "--checkpoint", str(env["sgn"]), "--out", str(out), "--classes", "cello,flute"])
    assert rc == 0, capsys.readouterr().err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["mé lange ♪_cello.wav", "mé lange ♪_flute.wav", "mé lange ♪_separation.png"]
    info, ref = sf.info(str(out / names[0])), sf.info(str(env["wav"]))
    assert info.samplerate == ref.samplerate and info.frames == ref.frames and info.channels == 1


def test_output_set_is_atomic(env, tmp_path, monkeypatch, capsys):
    """A failure after the wavs are written (here: the figure) leaves OUT as it was."""
    import sgn_teach.inference.figure as figure

    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    (out / "in_cello.wav").write_bytes(b"an older result")

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(figure, "atomic_path", full_disk)
    before = _tree(tmp_path)
    for target in (out, tmp_path / "fresh"):
        rc = main(["separate", str(env["wav"]), "--checkpoint", str(env["sgn"]), "--out", str(target),
                   "--classes", "cello,flute"])
        _one_error_line(capsys, rc, "No space left")
        assert _tree(tmp_path) == before


def test_atomic_dir_undoes_a_half_done_commit(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old a")
    d = AtomicDir(out)
    for name in ("a.txt", "b.txt", "c.txt"):
        (d.tmp / name).write_text("new " + name)
    import sgn_teach.core.atomic as atomic

    real, calls = os.replace, []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 4:  # a.txt → backup, a.txt in, b.txt in, then c.txt fails
            raise OSError(5, "Input/output error")
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", flaky)
    with pytest.raises(OSError):
        d.commit()
    monkeypatch.undo()
    d.abort()
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"] and (out / "a.txt").read_text() == "old a"


def test_sop_separates_without_classes(env, tmp_path, capsys):
    rc = main(["separate", str(env["wav"]), "--checkpoint", str(env["sop"]), "--out", str(tmp_path / "o"),
               "--no-figure"])
    assert rc == 0, capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["in_source_1.wav", "in_source_2.wav"]


def test_json_reports_are_strict_json(env, tmp_path, capsys):
    p = write_json(tmp_path / "r.json", {"a": float("nan"), "b": [float("inf"), np.float32(1.5)], "c": np.int64(3)})

    def refuse(name):
        raise ValueError(f"bare {name} in JSON")

    assert json.loads(p.read_text(), parse_constant=refuse) == {"a": None, "b": [None, 1.5], "c": 3}
    rc = main([str(a) for a in _eval(env, tmp_path, "--json", tmp_path / "eval.json")])
    assert rc == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "eval.json").read_text(), parse_constant=refuse)
    assert report["rows"]["sgn"]["n"] == 4  # 2 mixtures × 2 sources, every one scored


def test_data_completes_the_same_library_and_force_mixes(tmp_path, capsys):
    out = tmp_path / "lib"
    args = ["data", "synth", "--out", str(out), "--duration", "0.5", "--seed", "3"]
    assert main(args + ["--clips-per-class", "1"]) == 0
    first = (out / "cello" / "cello_0000.wav").read_bytes()
    assert main(args + ["--clips-per-class", "2"]) == 0  # the same library, extended
    assert (out / "cello" / "cello_0000.wav").read_bytes() == first
    assert (out / "cello" / "cello_0001.wav").is_file()
    assert json.loads((out / "library.json").read_text())["clips_per_class"] == 2
    capsys.readouterr()
    rc = main(args + ["--clips-per-class", "1"])  # would leave clip 1 behind
    _one_error_line(capsys, rc, "holds 2 clips per class")
    assert main(["data", "synth", "--out", str(out), "--duration", "0.5", "--seed", "4", "--clips-per-class", "1",
                 "--force"]) == 0


@pytest.mark.parametrize("bad", [(1, 64, 64), (2, 2, 64, 64), (2, 1, 32, 64), (2, 1, 64, 64, 1), "int", "float64"])
@pytest.mark.parametrize("variant", ["sgn", "sop"])
def test_forward_checks_its_input(variant, bad):
    cfg = get_preset("tiny", variant=variant)
    model = build_model(cfg.model, cfg.audio).eval()
    x = torch.zeros(2, 1, 64, 64, dtype=torch.long if bad == "int" else torch.float64) if isinstance(bad, str) \
        else torch.zeros(bad)
    with pytest.raises(ConfigError, match=r"expected log-magnitude \(B, 1, 64, 64\)"):
        model(x)
    model(torch.zeros(2, 1, 64, 64))  # the right input passes


# ---------------------------------------------------------------- evaluation that cannot flatter

class _MissesClasses(torch.nn.Module):
    """Masks 0.5 for every class (each estimate is half the mixture); the presence head sees classes 0 and 1 only."""

    class_conditioned, generative, has_presence_head, takes_prompts = True, False, True, False  # a Separator

    def __init__(self, n_classes):
        super().__init__()
        self.presence_thresholds = torch.full((n_classes,), 0.5)
        self.n = n_classes
        self.bias = torch.nn.Parameter(torch.zeros(1))

    def forward(self, log_mag, classes=None):
        B, _, F, T = log_mag.shape
        K = classes.shape[1] if classes is not None else self.n
        presence = torch.full((B, self.n), -5.0)
        presence[:, :2] = 5.0
        return {"mask_logits": torch.zeros(B, K, F, T) + self.bias, "presence_logits": presence}


def test_auto_classes_score_every_reference_and_cannot_beat_gt(env):
    from sgn_teach.evaluation.evaluate import evaluate
    from sgn_teach.signal.metrics import MISSED_DB

    lib = SoloLibrary(env["lib"], split="all")
    audio = get_preset("tiny").audio
    kw = dict(n_sources=2, n_mixtures=8, seed=0, rows=(), progress=False)
    gt = evaluate({"m": _MissesClasses(len(CLASSES))}, lib, audio, classes="gt", **kw)
    auto = evaluate({"m": _MissesClasses(len(CLASSES))}, lib, audio, classes="auto", **kw)
    g, a = gt["rows"]["m"], auto["rows"]["m"]
    assert a["n"] == g["n"] == 16 and a["n_silent_est"] > 0  # every reference counted, the missed ones too
    for key in ("sdr", "sir", "sar", "si_sdr"):
        assert a[key] <= g[key] + 1e-9, key
        ga, aa = np.array(gt["scores"]["m"][key]), np.array(auto["scores"]["m"][key])
        missed = aa == MISSED_DB
        assert missed.sum() == a["n_silent_est"]
        # a source whose class was found scores exactly as with the true classes: against *all* references
        np.testing.assert_allclose(aa[~missed], ga[~missed], atol=1e-3)


# ---------------------------------------------------------------- interrupted training: honest and exact

def _same_run(a: Path, b: Path) -> None:
    """Every tensor of the two runs' final state equal: weights, BatchNorm statistics, optimiser, RNG, step, history."""
    ca = torch.load(a / "checkpoint.pt", weights_only=True)
    cb = torch.load(b / "checkpoint.pt", weights_only=True)
    assert ca["step"] == cb["step"] == STEPS
    for k in ca["model"]:
        assert torch.equal(ca["model"][k], cb["model"][k]), k
    assert torch.equal(ca["rng_cpu"], cb["rng_cpu"])
    for s in ca["optimizer"]["state"]:
        for k, v in ca["optimizer"]["state"][s].items():
            assert torch.equal(v, cb["optimizer"]["state"][s][k]), (s, k)

    def records(path):
        h = json.loads((path / "history.json").read_text())
        return [{k: v for k, v in r.items() if k != "seconds"} for r in h["train"]]

    assert records(a) == records(b)
    ma = torch.load(a / "model.pt", weights_only=True)["model"]
    mb = torch.load(b / "model.pt", weights_only=True)["model"]
    assert all(torch.equal(ma[k], mb[k]) for k in ma)


def _arm(monkeypatch, moment: str, at: int) -> None:
    """Send SIGTERM to this process during step `at`: inside forward, inside backward, or after opt.step()."""
    import sgn_teach.training.loop as T
    import sgn_teach.training.recipes.mask as M

    count = {"n": 0}

    def tick():
        count["n"] += 1
        if count["n"] == at:
            os.kill(os.getpid(), signal.SIGTERM)

    real_build, real_opt = M.build_model, T.make_optimizer

    def build(*a, **k):
        model = real_build(*a, **k)
        if moment == "forward":  # after BatchNorm has already moved its running statistics
            model.unet.input_norm.register_forward_hook(lambda *_: tick())
        elif moment == "backward":
            model.mask_bias.register_hook(lambda grad: tick())
        return model

    def make_opt(model, cfg):
        opt = real_opt(model, cfg)
        if moment == "after_step":
            step = opt.step

            def stepped(*a, **k):
                out = step(*a, **k)
                tick()  # between opt.step() and the step counter
                return out

            opt.step = stepped
        return opt

    monkeypatch.setattr(M, "build_model", build)
    monkeypatch.setattr(T, "make_optimizer", make_opt)


@pytest.mark.parametrize("moment", ["forward", "backward", "after_step"])
def test_sigterm_anywhere_in_a_step_resumes_exactly(moment, env, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    _arm(monkeypatch, moment, at=3)
    rc = main(_train_args(env["lib"], run))
    err = capsys.readouterr().err
    assert rc == 143, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted at step 3") and "--resume" in last and "done" not in err
    assert not (run / "model.pt").exists()
    assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] == 3
    monkeypatch.undo()
    # what a SIGKILL during a save and a dead training leave behind
    (run / ".tmp-killed.pt").write_bytes(b"half a checkpoint")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (run / ".train.lock").write_text(f"{int(dead.stdout)} {os.uname().nodename}\n")
    assert main(_train_args(env["lib"], run, "--resume")) == 0
    assert not (run / ".tmp-killed.pt").exists() and not (run / ".train.lock").exists()
    _same_run(env["straight"], run)


DRIVER = """
import sys
import sgn_teach.training.loop as T
real = T.make_optimizer
def make(model, cfg):
    opt = real(model, cfg)
    step = opt.step
    def stepped(*a, **k):
        out = step(*a, **k)
        print("STEP", flush=True)
        sys.stdin.readline()  # wait for the test: it signals us while we are inside this step
        return out
    opt.step = stepped
    return opt
T.make_optimizer = make
from sgn_teach.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_from_outside_stops_saves_and_resumes(signum, status, env, tmp_path, capsys):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, *_train_args(env["lib"], run)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for k in (1, 2):  # lock-step with the trainer through its pipes: no sleeping, no race
        line = proc.stdout.readline()
        assert line.startswith("STEP"), proc.stderr.read()
        if k == 2:
            proc.send_signal(signum)  # arrives inside step 2, between opt.step() and the step counter
        proc.stdin.write("\n")
        proc.stdin.flush()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == status, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted at step") and "continue with --resume" in last, err
    assert "done" not in out and not (run / "model.pt").exists()
    assert last.startswith("interrupted at step 2 ")
    assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] == 2
    assert main(_train_args(env["lib"], run, "--resume")) == 0
    _same_run(env["straight"], run)


def test_a_benchmark_stopped_by_a_signal_says_in_one_line_how_to_continue(monkeypatch, capsys, tmp_path):
    """benchmarks/*.py resume by running again (trained_run): the message says so, not "--resume"; no traceback."""
    import sgn_teach.experiments.runner as runner
    from sgn_teach.core.interrupt import TrainingInterrupted, script_main

    def stopped(*args, **kwargs):
        raise TrainingInterrupted(7, signal.SIGINT, str(tmp_path / "run" / "checkpoint.pt"))

    monkeypatch.setattr(runner, "train", stopped)
    cfg = get_preset("tiny", "sgn")
    assert script_main(lambda: runner.trained_run(cfg, tmp_path, tmp_path / "run")) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("interrupted at step 7 (SIGINT)"), err
    assert "run it again (the same command or cell)" in err[0] and "--resume" not in err[0]

    def bad() -> int:
        raise ConfigError("--steps must be at least 1")

    assert script_main(bad) == 2
    assert capsys.readouterr().err.strip().splitlines() == ["error: --steps must be at least 1"]
    assert script_main(lambda: None) == 0 and script_main(lambda: 3) == 3
