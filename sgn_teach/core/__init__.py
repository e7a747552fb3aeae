"""The lowest layer: what every other layer may use, and that uses nothing else of the package.

config.py       the presets and every setting, as dataclasses (JSON round trip)
errors.py       SGNError and its kinds: the one-line errors the command line prints
atomic.py       atomic files and folders (temp, then rename), JSON writing
device.py       device choice, seeding, precision (bf16 where the hardware has it)
interrupt.py    SIGINT/SIGTERM at step boundaries (TrainingInterrupted)
distributed.py  several processes under torchrun (sharding, synchronised BatchNorm)
speed.py        loader options, channels_last, torch.compile with an eager fallback
checks.py       settings in range, places that can be written: checks made before a long job
"""
