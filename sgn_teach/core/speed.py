"""GPU speed options of the training loop, each one switchable, none of them changing the maths.

- bf16 autocast: :func:`sgn_teach.core.device.resolve_precision` (``--precision``).
- channels_last (``--channels-last``): 4-D activations stored as (B, F, T, C) in
  memory, the layout that the GPU's tensor-core convolutions read without a
  transpose. Same values, another memory order.
- ``torch.compile`` (``--compile``, off by default): fuses the element-wise work
  between the big kernels. It needs a working compiler tool-chain (Triton on a
  GPU, a C++ compiler on a CPU); where compilation fails, training goes on
  without it and says so (:class:`CompiledOrEager`).
- pinned host memory for the data loader on CUDA (:func:`loader_options`), so the
  copies to the GPU are asynchronous.
- no host–device synchronisation per step: the loss parts stay on the device and
  are read every ``--log-every`` steps (see sgn_teach.training.train).
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import torch
from torch import nn


def to_channels_last(model: nn.Module) -> nn.Module:
    """Store the 4-D parameters (conv weights) of `model` in channels_last order, in place; returns `model`."""
    return model.to(memory_format=torch.channels_last)


def channels_last_input(x: torch.Tensor) -> torch.Tensor:
    """(B, C, F, T) with channels_last strides (same shape and values; a copy unless already so)."""
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x


class CompiledOrEager:
    """Call ``torch.compile(module)``; if compiling fails, say so once and call `module` itself from then on.

    torch.compile compiles lazily, at the first call, so that is where a missing
    tool-chain shows up: the first call is tried compiled and, on any error,
    repeated eagerly. `backend` and `mode` go to torch.compile.
    """

    def __init__(self, module: nn.Module | Callable, backend: Any = "inductor", mode: str | None = None,
                 log: Callable[[str], None] | None = None) -> None:
        self.module = module
        self.log = log or (lambda msg: print(msg, file=sys.stderr))
        self.compiled: Callable | None
        try:
            self.compiled = torch.compile(module, backend=backend, mode=mode)
        except Exception as exc:  # e.g. an unsupported Python version
            self._give_up(exc)
        self._tried = False

    def _give_up(self, exc: BaseException) -> None:
        root = getattr(exc, "inner_exception", None) or exc  # dynamo wraps the backend's own error
        while root.__cause__ is not None:
            root = root.__cause__
        first = (str(root).strip().splitlines() or [""])[0][:200]
        self.log(f"torch.compile is not available here ({type(root).__name__}: {first}); "
                 "training continues without it (same results, eager speed)")
        self.compiled = None

    @property
    def active(self) -> bool:
        """True while the compiled version is the one being called."""
        return self.compiled is not None

    def __call__(self, *args, **kwargs):
        if self.compiled is None:
            return self.module(*args, **kwargs)
        if self._tried:
            return self.compiled(*args, **kwargs)
        try:
            out = self.compiled(*args, **kwargs)
        except Exception as exc:
            self._give_up(exc)
            return self.module(*args, **kwargs)
        self._tried = True
        return out


def maybe_compile(module: nn.Module, enabled: bool, log: Callable[[str], None] | None = None) -> Callable:
    """`module` itself, or a :class:`CompiledOrEager` around it when `enabled`."""
    return CompiledOrEager(module, log=log) if enabled else module


def loader_options(device: torch.device, num_workers: int) -> dict[str, Any]:
    """DataLoader keyword arguments: pinned memory on CUDA, persistent workers when there are workers."""
    return {"num_workers": num_workers, "pin_memory": device.type == "cuda",
            "persistent_workers": num_workers > 0}
