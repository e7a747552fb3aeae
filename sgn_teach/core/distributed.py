"""Data-parallel training over several processes (PyTorch's DistributedDataParallel), started by torchrun.

    torchrun --standalone --nproc_per_node K -m sgn_teach train --data DIR --out RUN --preset paper

torchrun starts K copies of `python -m sgn_teach train …` and gives each one the
environment variables RANK, LOCAL_RANK and WORLD_SIZE; :func:`setup` reads them.
With WORLD_SIZE 1 (a plain `python -m sgn_teach train`) nothing here does anything.

What makes K processes compute *the same training* as one process with the same
global batch B (B must be a multiple of K):

- **Data.** Step s trains on mixtures s·B … s·B+B−1 of the seeded MixDataset, as
  in one process. Rank r takes the contiguous share s·B + r·B/K … s·B + (r+1)·B/K − 1
  (:func:`shard_indices`), so the K shards, in rank order, are exactly the
  one-process batch.
- **Loss and gradients.** Every loss is a mean over equally sized per-sample
  terms, so each rank's loss is the mean over its B/K mixtures; DDP averages the
  gradients over the K ranks (sum ÷ K), which is the gradient of the mean over
  all B. The logged loss parts are averaged the same way (:func:`mean_over_ranks`).
- **BatchNorm.** Synchronised (:func:`convert_sync_batchnorm`): each BN layer
  normalises with the mean and variance of the whole global batch, so the
  forward pass, the gradients and the running statistics equal the one-process
  run. Unsynchronised BN would normalise each shard by its own statistics — a
  different function of the data, and at B/K = 20 per GPU noticeably noisier.
  The price is one small all-reduce per BN layer per forward (the U-Net has 13).
  On CUDA this is PyTorch's SyncBatchNorm; on the CPU (gloo), where PyTorch's
  refuses to run, it is :class:`CPUSyncBatchNorm` below — the same formulas.
- **Randomness.** Every rank seeds torch with the same seed, so the initial
  weights agree (DDP also copies rank 0's) and the generator states stay equal;
  the state saved by rank 0 resumes every rank. (Noise drawn inside the model —
  dropout, hard Gumbel assignment, both off by default — is therefore the same
  for the j-th mixture of every shard.)

Rank 0 alone writes checkpoints, history, curves and progress bars and runs the
validation (the others wait at a barrier). Every rank reads the checkpoint on
``--resume``, so the run folder must be visible to all of them (one machine, or a
shared file system). Backend: nccl on CUDA, gloo on the CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from .errors import SGNError


@dataclass
class DistContext:
    """Where this process stands: rank r of world_size, on `device`.

    `owns_group`: this context started the process group (and :func:`teardown` ends it).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    owns_group: bool = False

    @property
    def enabled(self) -> bool:
        """True with more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes files and prints."""
        return self.rank == 0


def env_world() -> tuple[int, int, int]:
    """(rank, local_rank, world_size) from torchrun's environment; (0, 0, 1) outside torchrun."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0)),
            int(os.environ.get("WORLD_SIZE", 1)))


def setup(device_preference: str = "auto") -> DistContext:
    """Read torchrun's environment, pick this rank's device and join the process group.

    The device comes from the one device helper, :func:`sgn_teach.core.device.get_device`,
    with this process's LOCAL_RANK (GPU LOCAL_RANK on a multi-GPU machine).
    """
    from .device import get_device

    rank, local_rank, world = env_world()
    device = get_device(device_preference, local_rank=local_rank if world > 1 else None)
    ctx = DistContext(rank=rank, world_size=world, local_rank=local_rank, device=device)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        kwargs = {"device_id": device} if device.type == "cuda" else {}
        dist.init_process_group(backend=backend, **kwargs)
        ctx.owns_group = True
    elif world > 1 and dist.get_world_size() != world:
        raise RuntimeError(f"WORLD_SIZE is {world} but the process group has {dist.get_world_size()} processes")
    return ctx


def teardown(ctx: DistContext) -> None:
    """Leave the process group if :func:`setup` started it."""
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()
        ctx.owns_group = False


def barrier(ctx: DistContext) -> None:
    """Wait until every rank gets here (a no-op in one process)."""
    if ctx.enabled:
        if ctx.device.type == "cuda":
            dist.barrier(device_ids=[ctx.device.index])
        else:
            dist.barrier()


def check_batch(batch_size: int, ctx: DistContext) -> int:
    """The per-rank batch B/K; SGNError (exit 2) if B does not split evenly over the K processes."""
    if batch_size % ctx.world_size:
        raise SGNError(f"the global batch {batch_size} does not split evenly over {ctx.world_size} processes; "
                       f"use a --batch-size that is a multiple of {ctx.world_size}")
    return batch_size // ctx.world_size


def shard_indices(step: int, batch_size: int, rank: int, world_size: int) -> range:
    """The mixtures of step `step` that rank `rank` trains on: a contiguous B/K share of s·B … s·B+B−1."""
    per_rank = batch_size // world_size
    start = step * batch_size + rank * per_rank
    return range(start, start + per_rank)


def wrap_model(model: nn.Module, ctx: DistContext) -> nn.Module:
    """BatchNorm → synchronised BN, then DistributedDataParallel; `model` itself is returned in one process.

    `model` must already be on `ctx.device`. The returned wrapper shares its
    parameters with `model`: save ``model.state_dict()``, not the wrapper's.
    """
    if not ctx.enabled:
        return model
    convert_sync_batchnorm(model, ctx.device)
    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    # every parameter of every variant gets a gradient each step, so no unused-parameter search is needed
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids, find_unused_parameters=False)


def mean_over_ranks(x: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """The mean of `x` over all ranks (a copy; `x` itself in one process)."""
    if not ctx.enabled:
        return x
    y = x.detach().clone()
    dist.all_reduce(y, op=dist.ReduceOp.SUM)
    return y / ctx.world_size


def cat_over_ranks(x: torch.Tensor, ctx: DistContext, dim: int = 0) -> torch.Tensor:
    """Every rank's `x` (equal shapes), concatenated along `dim` in rank order."""
    if not ctx.enabled:
        return x
    parts = [torch.empty_like(x) for _ in range(ctx.world_size)]
    dist.all_gather(parts, x.detach().contiguous())
    return torch.cat(parts, dim=dim)


# ---------------------------------------------------------------------------
# Synchronised BatchNorm
# ---------------------------------------------------------------------------


class CPUSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics are those of the batch of *all* ranks; runs on gloo (CPU).

    PyTorch's SyncBatchNorm refuses CPU tensors; this is the same computation
    written with differentiable all-reduces (``torch.distributed.nn``), so the
    gradient flows through the other ranks' statistics too. Two passes (mean,
    then the mean squared deviation) rather than E[x²] − E[x]², which loses
    digits in float32. In eval mode, or in one process, it is plain BatchNorm.

    Input (B, C, ...) → output of the same shape; statistics over every axis but C.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        dims = [0, *range(2, x.dim())]                    # every axis but the channels
        shape = [1, -1] + [1] * (x.dim() - 2)             # (C,) → (1, C, 1, …) to broadcast over x
        xf = x.float()
        count = all_reduce(torch.tensor([xf.numel() / xf.shape[1]], dtype=torch.float64, device=x.device))
        n = count[0]
        mean = all_reduce(xf.sum(dims)) / n.float()                                  # (C,)
        var = all_reduce((xf - mean.reshape(shape)).square().sum(dims)) / n.float()  # (C,), biased
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                unbiased = var * (n / (n - 1)).float()
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * unbiased)
        y = (xf - mean.reshape(shape)) * torch.rsqrt(var + self.eps).reshape(shape)
        if self.affine:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y.to(x.dtype)


def convert_sync_batchnorm(module: nn.Module, device: torch.device | str) -> nn.Module:
    """Replace every BatchNorm layer of `module`, in place, by a synchronised one (same weights and buffers).

    CUDA: ``torch.nn.SyncBatchNorm``; CPU: :class:`CPUSyncBatchNorm`. Returns `module`.
    """
    device = torch.device(device)
    for name, child in list(module.named_children()):
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and not isinstance(
                child, (nn.SyncBatchNorm, CPUSyncBatchNorm)):
            kind = nn.SyncBatchNorm if device.type == "cuda" else CPUSyncBatchNorm
            new = kind(child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats)
            new.load_state_dict(child.state_dict())
            new.to(device=child.running_mean.device if child.running_mean is not None else device)
            new.train(child.training)
            setattr(module, name, new)
        else:
            convert_sync_batchnorm(child, device)
    return module
