"""The one device helper: every module and notebook asks here, nothing hard-codes `cuda`."""

from __future__ import annotations

import random

import numpy as np
import torch

from .errors import ConfigError, DeviceError


def get_device(preference: str = "auto", verbose: bool = False, local_rank: int | None = None) -> torch.device:
    """Pick the compute device.

    Args:
        preference: "auto" (CUDA if available, else Apple MPS, else CPU), "cpu",
            "cuda" or "mps".
        verbose: print which device was chosen and, on a CPU, how to get a GPU.
        local_rank: in a multi-process run (torchrun's LOCAL_RANK), process r of a
            machine gets GPU r (modulo the GPUs visible), made the current CUDA device.
    """
    if preference not in ("auto", "cpu", "cuda", "mps"):
        raise ConfigError(f"device must be auto, cpu, cuda or mps, not {preference!r}")
    if preference == "auto":
        if torch.cuda.is_available():
            dev = torch.device("cuda")
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            dev = torch.device("mps")
        else:
            dev = torch.device("cpu")
    else:
        if preference == "cuda" and not torch.cuda.is_available():
            raise DeviceError("--device cuda was asked for but no CUDA GPU is visible; use --device auto or cpu")
        if preference == "mps" and not (getattr(torch.backends, "mps", None) is not None
                                        and torch.backends.mps.is_available()):
            raise DeviceError("--device mps was asked for but no Apple GPU is available; use --device auto or cpu")
        dev = torch.device(preference)
    if dev.type == "cuda" and local_rank is not None:
        dev = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(dev)
    if verbose:
        if dev.type == "cpu":
            print("Running on the CPU. For a GPU in Colab: Runtime → Change runtime type → T4 GPU.")
        else:
            print(f"Running on {dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else dev.type}).")
    return dev


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so results can be compared."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def cpu_has_bf16() -> bool:
    """True when this CPU computes bf16 matrix products natively (Intel AMX or AVX512-BF16).

    Elsewhere (AVX2-only x86, most laptops, Apple silicon) PyTorch emulates bf16
    and autocast makes training *slower* — measured 18× slower on an AVX2 AMD EPYC.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"amx_bf16", "avx512_bf16"})
    except OSError:
        pass
    return False


def bf16_supported(device: torch.device | str) -> bool:
    """Does `device` run bf16 autocast faster than fp32? CUDA compute capability ≥ 8, or a CPU with AMX/AVX512-BF16."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.get_device_capability(device)[0] >= 8
    if device.type == "cpu":
        return cpu_has_bf16()
    return False


def resolve_precision(preference: str, device: torch.device | str) -> str:
    """"auto" → "bf16" where :func:`bf16_supported`, else "fp32"; "fp32"/"bf16" are kept as asked.

    Asking for bf16 where the hardware lacks it is allowed (results are the
    same up to rounding) but prints a warning, because it is slow.
    """
    if preference not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision must be auto, fp32 or bf16, not {preference!r}")
    supported = bf16_supported(device)
    if preference == "auto":
        return "bf16" if supported else "fp32"
    if preference == "bf16" and not supported:
        import warnings

        warnings.warn(f"bf16 was asked for, but {torch.device(device)} has no native bf16 "
                      "(CUDA ≥ 8.0, or a CPU with AMX / AVX512-BF16): it will run, slowly", stacklevel=2)
    return preference
