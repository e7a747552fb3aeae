"""Training every model kind through one loop.

loop.py     train(): the one loop — checks, run folder and lock, resume, graceful interrupts,
            NaN losses, several processes (torchrun), progress, history, checkpoints
recipes/    what differs between model kinds: mask models (SoP, SGN and its ablations), the
            diffusion model, the text-conditioned separator, the audio–text embedding
checks.py   settings in range; a checkpoint that fits the config it is resumed with
common.py   the run folder's file names, the resumable step sampler, the optimiser
rundir.py   the run folder: one training at a time (a lock), what a finished run holds

``from sgn_teach.training import train`` is what notebooks and scripts call.
"""

from .loop import train

__all__ = ["train"]
