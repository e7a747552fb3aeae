"""The one device helper: every module and notebook asks here, nothing hard-codes `cuda`."""

from __future__ import annotations

import random

import numpy as np
import torch


def get_device(preference: str = "auto", verbose: bool = False) -> torch.device:
    """Pick the compute device.

    Args:
        preference: "auto" (CUDA if available, else Apple MPS, else CPU), "cpu",
            "cuda" or "mps".
        verbose: print which device was chosen and, on a CPU, how to get a GPU.
    """
    if preference not in ("auto", "cpu", "cuda", "mps"):
        raise ValueError(f"device must be auto, cpu, cuda or mps, not {preference!r}")
    if preference == "auto":
        if torch.cuda.is_available():
            dev = torch.device("cuda")
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            dev = torch.device("mps")
        else:
            dev = torch.device("cpu")
    else:
        if preference == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("--device cuda was asked for but no CUDA GPU is visible; use --device auto or cpu")
        dev = torch.device(preference)
    if verbose:
        if dev.type == "cpu":
            print("Running on the CPU. For a GPU in Colab: Runtime → Change runtime type → T4 GPU.")
        else:
            print(f"Running on {dev} ({torch.cuda.get_device_name() if dev.type == 'cuda' else dev.type}).")
    return dev


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so results can be compared."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
