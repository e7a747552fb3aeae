"""Data-parallel training: 2 CPU processes (gloo) compute what 1 process computes with the same global batch.

Tolerances, as measured on the tiny preset (6 SGD steps, global batch 4): the
weights of the 2-process run differ from the 1-process run by at most 2.4e-7
(float32 summation order: the gradient all-reduce and the BN statistics add the
two halves separately); we assert < 1e-5. The loss history agrees to its 5
printed decimals.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sgn_teach.core.config import get_preset
from sgn_teach.core.distributed import CPUSyncBatchNorm, DistContext, check_batch, convert_sync_batchnorm, shard_indices
from sgn_teach.core.errors import SGNError
from sgn_teach.training import train
from sgn_teach.training.common import StepSampler

ROOT = Path(__file__).resolve().parents[1]
WEIGHT_TOL = 1e-5



def test_shards_in_rank_order_are_the_one_process_batch():
    B, K = 8, 4
    for step in (0, 3):
        shards = [list(shard_indices(step, B, r, K)) for r in range(K)]
        assert sum(shards, []) == list(range(step * B, step * B + B))
    # the sampler of rank 1 of 2 from step 2 to 4 (batch 4): steps 2 and 3, mixtures 10, 11 and 14, 15
    sampler = StepSampler(2, 4, 4, rank=1, world_size=2)
    assert list(sampler) == [10, 11, 14, 15] and len(sampler) == 4


def test_batch_must_split_evenly():
    assert check_batch(80, DistContext(world_size=4)) == 20
    with pytest.raises(SGNError, match="multiple of 3"):
        check_batch(80, DistContext(world_size=3))


def test_convert_sync_batchnorm_keeps_weights_and_buffers():
    cfg = get_preset("tiny")
    from sgn_teach.hub.build import build_model

    model = build_model(cfg.model, cfg.audio)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    convert_sync_batchnorm(model, "cpu")
    assert any(isinstance(m, CPUSyncBatchNorm) for m in model.modules())
    assert not any(type(m) is torch.nn.BatchNorm2d for m in model.modules())
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def _sync_bn_worker(rank: int, world: int, store: str, out: str) -> None:
    """Rank `rank` normalises its half of a fixed batch with CPUSyncBatchNorm and saves what it computed."""
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(8, 3, 5, 4, generator=g) * 2 + 1       # (B, C, F, T), the whole batch
        grad_out = torch.randn(8, 3, 5, 4, generator=g)
        per = 8 // world
        xs = x[rank * per:(rank + 1) * per].clone().requires_grad_(True)  # this rank's contiguous share
        bn = CPUSyncBatchNorm(3)
        with torch.no_grad():
            bn.weight.copy_(torch.tensor([0.5, 1.0, 2.0]))
            bn.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
        y = bn(xs)
        (y * grad_out[rank * per:(rank + 1) * per]).sum().backward()
        torch.save({"y": y.detach(), "dx": xs.grad, "dw": bn.weight.grad, "db": bn.bias.grad,
                    "rm": bn.running_mean, "rv": bn.running_var}, f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_cpu_sync_batchnorm_equals_batchnorm_over_the_whole_batch(tmp_path):
    # forkserver with torch preloaded: the children import torch once between them, not once each (seconds on a
    # busy CPU), and unlike plain fork they do not inherit this process's autograd threads
    mp.set_forkserver_preload(["torch", "sgn_teach.core.distributed"])
    mp.start_processes(_sync_bn_worker, args=(2, str(tmp_path / "store"), str(tmp_path)), nprocs=2, join=True,
                       start_method="forkserver")
    r = [torch.load(tmp_path / f"rank{i}.pt", weights_only=True) for i in range(2)]
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(8, 3, 5, 4, generator=g) * 2 + 1).requires_grad_(True)
    grad_out = torch.randn(8, 3, 5, 4, generator=g)
    bn = torch.nn.BatchNorm2d(3)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([0.5, 1.0, 2.0]))
        bn.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    y = bn(x)
    (y * grad_out).sum().backward()
    assert torch.allclose(torch.cat([r[0]["y"], r[1]["y"]]), y, atol=1e-5)
    assert torch.allclose(torch.cat([r[0]["dx"], r[1]["dx"]]), x.grad, atol=1e-5)  # gradients through the other half
    assert torch.allclose(r[0]["dw"] + r[1]["dw"], bn.weight.grad, atol=1e-4)      # DDP sums (then averages) these
    assert torch.allclose(r[0]["db"] + r[1]["db"], bn.bias.grad, atol=1e-4)
    for i in range(2):
        assert torch.allclose(r[i]["rm"], bn.running_mean, atol=1e-6)
        assert torch.allclose(r[i]["rv"], bn.running_var, atol=1e-6)
    # unsynchronised BN would normalise each half by its own statistics: visibly different
    half = torch.nn.functional.batch_norm(x[:4].detach(), None, None, bn.weight.detach(), bn.bias.detach(), True)
    assert (half - y[:4].detach()).abs().max() > 1e-2


def _torchrun(*args: str, nproc: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
                           "-m", "sgn_teach", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "model.pt", weights_only=True)["model"]


def test_two_processes_train_like_one_and_resume(lib_root, tmp_path):
    """torchrun -m sgn_teach train with 2 gloo processes × batch 2 = 1 process × batch 4, fresh and resumed."""
    common = ["--data", str(lib_root), "--preset", "tiny", "--batch-size", "4", "--optimizer", "sgd",
              "--device", "cpu", "--no-val"]

    def cfg(steps):
        return get_preset("tiny", train__steps=steps, train__batch_size=4, train__optimizer="sgd")

    one = train(cfg(6), lib_root, tmp_path / "one", device="cpu", progress=False, validate_during=False)
    r = _torchrun("train", "--out", str(tmp_path / "two"), "--steps", "6", *common)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("done:") == 1  # rank 0 alone reports ...
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["checkpoint.pt", "curves.png", "history.json",
                                                                     "model.pt"]  # ... and writes
    a, b = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    diff = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    assert diff < WEIGHT_TOL, diff
    two = json.loads((tmp_path / "two" / "history.json").read_text())
    assert two["world_size"] == 2
    for x, y in zip(one["train"], two["train"], strict=True):
        assert x["total"] == pytest.approx(y["total"], abs=2e-5) and x["mix_rms"] == y["mix_rms"]

    # resume: 3 steps in one process, then 3 more in two processes (every rank loads the checkpoint)
    train(cfg(3), lib_root, tmp_path / "resumed", device="cpu", progress=False, validate_during=False)
    r = _torchrun("train", "--out", str(tmp_path / "resumed"), "--steps", "6", "--resume", *common)
    assert r.returncode == 0, r.stderr[-3000:]
    c = _weights(tmp_path / "resumed")
    diff = max((a[k].float() - c[k].float()).abs().max().item() for k in a)
    assert diff < WEIGHT_TOL, diff
    assert len(json.loads((tmp_path / "resumed" / "history.json").read_text())["train"]) == 6


def test_only_rank_0_prints_errors(lib_root, tmp_path, monkeypatch, capsys):
    """Under torchrun every rank meets the same bad input; rank 0 alone prints the one `error:` line."""
    from sgn_teach.cli.main import main

    args = ["train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r"), "--preset", "tiny"]
    monkeypatch.setenv("RANK", "1")
    assert main(args) == 2 and capsys.readouterr().err == ""
    monkeypatch.setenv("RANK", "0")
    assert main(args) == 2 and capsys.readouterr().err.startswith("error: ")
    assert not (tmp_path / "r").exists()
