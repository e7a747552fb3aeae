"""The one check at the top of every model's `forward`: is this the log-magnitude it was built for?

Without it a wrong input fails deep inside — BatchNorm complains about channels,
the positional embedding about a patch count — and the message says nothing
about what the caller should have passed.
"""

from __future__ import annotations

import torch

from ..core.errors import ConfigError


def check_log_mag(log_mag: object, grid: tuple[int, int] | None, dtype: torch.dtype | None) -> None:
    """Raise ConfigError unless `log_mag` is a (B, 1, F, T) floating tensor on `grid` (F, T) of `dtype`.

    Args:
        grid: the model's (F, T); None accepts any size.
        dtype: the model's parameter dtype (float32 unless converted); None accepts any floating dtype.
    """
    F, T = grid if grid is not None else ("F", "T")
    want = f"log-magnitude (B, 1, {F}, {T})"
    if not isinstance(log_mag, torch.Tensor):
        raise ConfigError(f"expected {want} as a torch.Tensor, got {type(log_mag).__name__}")
    shape = tuple(log_mag.shape)
    if log_mag.dim() != 4 or shape[1] != 1 or shape[0] < 1 or (grid is not None and shape[2:] != tuple(grid)):
        raise ConfigError(f"expected {want}, got {shape}")
    if not log_mag.is_floating_point():
        raise ConfigError(f"expected {want} of a floating dtype, got {log_mag.dtype}")
    if dtype is not None and log_mag.dtype != dtype and not torch.is_autocast_enabled(log_mag.device.type):
        raise ConfigError(f"expected {want} of dtype {dtype} (the model's weights), got {log_mag.dtype}")


def check_classes(classes: object, batch: int, n_classes: int) -> None:
    """Raise ConfigError unless `classes` is a (batch, K) integer tensor of indices in [0, n_classes)."""
    if not isinstance(classes, torch.Tensor) or classes.dim() != 2 or classes.shape[0] != batch:
        shape = tuple(classes.shape) if isinstance(classes, torch.Tensor) else type(classes).__name__
        raise ConfigError(f"expected classes (B, K) = ({batch}, K) class indices, got {shape}")
    if classes.is_floating_point() or classes.is_complex() or classes.dtype == torch.bool:
        raise ConfigError(f"expected integer class indices, got {classes.dtype}")
    if classes.numel() and (int(classes.min()) < 0 or int(classes.max()) >= n_classes):
        raise ConfigError(f"class indices must be in 0..{n_classes - 1}, got {int(classes.min())}..{int(classes.max())}")
