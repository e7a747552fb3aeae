"""The training recipe's parts: precision choice, learning-rate schedule, loss weights, config round trips."""

from __future__ import annotations

import math

import pytest
import torch

from sgn_teach.core import device as device_module
from sgn_teach.core.config import Config, TrainConfig, get_preset
from sgn_teach.core.device import bf16_supported, resolve_precision
from sgn_teach.losses import sgn_loss


def test_precision_auto_follows_the_hardware(monkeypatch):
    monkeypatch.setattr(device_module, "cpu_has_bf16", lambda: False)
    assert not bf16_supported("cpu") and resolve_precision("auto", "cpu") == "fp32"
    monkeypatch.setattr(device_module, "cpu_has_bf16", lambda: True)
    assert bf16_supported("cpu") and resolve_precision("auto", "cpu") == "bf16"
    assert resolve_precision("fp32", "cpu") == "fp32"
    monkeypatch.setattr(device_module, "cpu_has_bf16", lambda: False)
    with pytest.warns(UserWarning, match="no native bf16"):
        assert resolve_precision("bf16", "cpu") == "bf16"
    with pytest.raises(ValueError, match="precision must be"):
        resolve_precision("fp16", "cpu")


def test_cpu_flags_are_read_from_cpuinfo(tmp_path, monkeypatch):
    fake = tmp_path / "cpuinfo"
    real_open = open

    def fake_open(path, *a, **k):
        return real_open(fake if path == "/proc/cpuinfo" else path, *a, **k)

    monkeypatch.setattr("builtins.open", fake_open)
    fake.write_text("processor : 0\nflags : fpu sse avx2 fma\n")
    assert device_module.cpu_has_bf16() is False
    fake.write_text("processor : 0\nflags : fpu avx512f avx512_bf16 amx_tile\n")
    assert device_module.cpu_has_bf16() is True


def test_cosine_schedule_warms_up_then_decays():
    t = TrainConfig(steps=100, lr=2e-3, schedule="cosine", warmup_steps=10, min_lr_ratio=0.05)
    lrs = [t.lr_at(s) for s in range(100)]
    assert lrs[0] == pytest.approx(2e-4) and lrs[9] == pytest.approx(2e-3)
    assert all(a < b for a, b in zip(lrs[:10], lrs[1:10]))            # warm-up rises
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))            # then only falls
    assert lrs[-1] == pytest.approx(2e-3 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * 89 / 90))))
    assert TrainConfig(lr=1e-3).lr_at(12345) == 1e-3                  # constant
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="step")


def test_loss_weights_scale_the_parts():
    torch.manual_seed(0)
    out = {"mask_logits": torch.randn(2, 11, 8, 8), "token_logits": torch.randn(2, 11, 11),
           "presence_logits": torch.randn(2, 11)}
    target, weight = torch.rand(2, 2, 8, 8).round(), torch.rand(2, 1, 8, 8)
    cls = torch.tensor([[0, 1], [2, 3]])
    base, parts = sgn_loss(out, target, weight, cls, None, "sgn")
    weighted, _ = sgn_loss(out, target, weight, cls, None, "sgn", weights=(2.0, 0.0, 0.5))
    assert weighted.item() == pytest.approx(2 * parts["rec"].item() + 0.5 * parts["presence"].item(), rel=1e-6)
    assert base.item() == pytest.approx(sum(parts[k].item() for k in ("rec", "ce", "presence")), rel=1e-6)


def test_config_round_trip_tolerates_old_and_new_fields():
    cfg = get_preset("small", variant="sgn")
    cfg.augment.enabled, cfg.augment.gain = True, (0.7, 1.3)
    back = Config.from_dict(cfg.to_dict())
    assert back == cfg
    old = cfg.to_dict()
    old["train"].pop("precision")
    old["train"]["amp"] = False                     # a checkpoint from before --precision
    old["train"]["some_future_field"] = 3           # and one from a newer version
    old["model"].pop("logit_scale")                 # before the 1/√D scale
    old.pop("augment")
    back = Config.from_dict(old)
    assert back.train.precision == "fp32" and back.model.logit_scale is False and back.augment.enabled is False


def test_a_staged_run_resumes_each_stage_with_the_larger_budget(tmp_path, monkeypatch):
    """staged_run (how the shipped models were trained, SHIPPED_STAGES): stage 2 continues stage 1's run folder
    with the longer cosine schedule (a warm restart), a finished run is reused, and what does not fit is refused."""
    import json

    import sgn_teach.experiments.runner as runner
    from sgn_teach.core.errors import CheckpointError
    from sgn_teach.data import synth_library

    classes = ("cello", "flute", "trumpet", "xylophone")
    lib = synth_library(tmp_path / "lib", clips_per_class=4, seed=0, duration=1.6, classes=classes, progress=False)

    def stage(steps: int, **over) -> Config:
        cfg = get_preset("tiny", "sgn", train__steps=steps, train__batch_size=2, train__warmup_steps=0,
                         train__schedule="cosine", **over)
        cfg.model.n_classes = len(classes)
        return cfg

    run = tmp_path / "run"
    path = runner.staged_run([stage(3), stage(6)], lib, run, device="cpu", progress=False, validate_during=False)
    assert path == run / "model.pt" and torch.load(run / "checkpoint.pt", weights_only=True)["step"] == 6
    lrs = [r["lr"] for r in json.loads((run / "history.json").read_text())["train"]]
    assert len(lrs) == 6
    assert lrs[:3] == pytest.approx([stage(3).train.lr_at(s) for s in range(3)], rel=1e-3)   # stage 1's schedule
    assert lrs[3:] == pytest.approx([stage(6).train.lr_at(s) for s in range(3, 6)], rel=1e-3)  # then stage 2's
    assert lrs[3] > lrs[2]   # the warm restart

    def no_training(*a, **k):
        raise AssertionError("a finished staged run must be reused")

    monkeypatch.setattr(runner, "train", no_training)
    assert runner.staged_run([stage(3), stage(6)], lib, run, device="cpu", progress=False) == path
    with pytest.raises(CheckpointError, match="more than the last stage"):
        runner.staged_run([stage(2), stage(4)], lib, run, device="cpu", progress=False)
    with pytest.raises(CheckpointError, match="another config"):
        runner.staged_run([stage(3, train__lr=0.5), stage(6, train__lr=0.5)], lib, run, device="cpu", progress=False)
    with pytest.raises(ValueError, match="increasing"):
        runner.staged_run([stage(6), stage(3)], lib, run, device="cpu", progress=False)
