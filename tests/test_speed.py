"""GPU speed options change speed, not results: channels_last, log_every, torch.compile's fallback; bench_gpu's code path."""

import importlib.util
from pathlib import Path

import pytest
import torch

from sgn_teach.core.config import get_preset
from sgn_teach.core.speed import CompiledOrEager, loader_options
from sgn_teach.training import train

ROOT = Path(__file__).resolve().parents[1]



def test_compile_failure_falls_back_to_eager_with_one_message():
    def broken_backend(gm, example_inputs):
        raise RuntimeError("no C++ compiler found")

    layer = torch.nn.Linear(3, 2)
    messages = []
    fn = CompiledOrEager(layer, backend=broken_backend, log=messages.append)
    x = torch.randn(4, 3)
    assert torch.equal(fn(x), layer(x)) and torch.equal(fn(x), layer(x))
    assert not fn.active and len(messages) == 1
    assert "torch.compile is not available here" in messages[0] and "no C++ compiler" in messages[0]


def test_pinned_memory_only_on_cuda():
    assert loader_options(torch.device("cpu"), 0) == {"num_workers": 0, "pin_memory": False,
                                                      "persistent_workers": False}
    assert loader_options(torch.device("cuda"), 4)["pin_memory"] is True


def test_speed_options_train_the_same_weights(lib_root, tmp_path, monkeypatch, capsys):
    """channels_last + log every 3 steps + a torch.compile that fails = the plain run (and says so once)."""
    def cfg(**kw):
        # SGD: Adam divides by √v, which turns the float noise in exactly-zero gradients (attention key
        # biases, to which softmax is invariant) into ±lr steps of parameters that do not change the output
        return get_preset("tiny", train__steps=6, train__batch_size=2, train__optimizer="sgd", **kw)

    plain = train(cfg(), lib_root, tmp_path / "plain", device="cpu", progress=False, validate_during=False)

    def failing_compile(module, **kwargs):
        def compiled(*a, **k):
            raise RuntimeError("inductor needs a C++ compiler")
        return compiled

    monkeypatch.setattr(torch, "compile", failing_compile)
    fast = train(cfg(train__channels_last=True, train__log_every=4, train__compile=True), lib_root,
                 tmp_path / "fast", device="cpu", progress=False, validate_during=False)
    assert capsys.readouterr().out.count("torch.compile is not available here") == 1
    a = torch.load(tmp_path / "plain" / "model.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "fast" / "model.pt", weights_only=True)["model"]
    diff = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    assert diff < 1e-5, diff  # measured 1.0e-7 (channels_last sums in another order)
    # one history row per step whatever log_every is (rows 1–3 read back at step 4, rows 5–6 at the end)
    drop = ("seconds",)
    assert [r["step"] for r in fast["train"]] == list(range(1, 7))
    for x, y in zip(plain["train"], fast["train"], strict=True):
        assert {k: v for k, v in x.items() if k not in drop} == pytest.approx(
            {k: v for k, v in y.items() if k not in drop}, abs=2e-5)


def test_bench_gpu_dry_run_prints_its_figures(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_gpu", ROOT / "benchmarks" / "bench_gpu.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--dry-run", "--device", "cpu", "--layouts", "default", "channels_last",
                       "--json", str(tmp_path / "b.json")]) == 0
    out = capsys.readouterr().out
    assert "DRY RUN" in out and "GFLOP per mixture" in out and "host data loader" in out
    assert "end to end" in out and "projected wall time" in out
    import json

    report = json.loads((tmp_path / "b.json").read_text())
    assert set(report["settings"]) == {"fp32", "fp32 + channels_last", "bf16", "bf16 + channels_last"}
    assert all(s["mixtures_per_s"] > 0 and s["finite"] for s in report["settings"].values())
    assert report["end_to_end"]["mixtures_per_s"] > 0 and report["gflop_per_mixture"] > 0
