"""User-facing errors.

Anything a user can get wrong (a file that is not audio, a silent clip, a
corrupt checkpoint, a library that does not match a model) raises a subclass of
:class:`SGNError`. The command line catches exactly these and prints one line,
with a non-zero exit status, instead of a traceback from deep inside.
"""


class SGNError(Exception):
    """Base class of the errors that the command line reports in one line."""


class AudioError(SGNError):
    """An audio file that cannot be used (not audio, empty, silent, NaN/inf)."""


class DataError(SGNError):
    """A solo-clip library or dataset that cannot be used."""


class CheckpointError(SGNError):
    """A checkpoint that is missing, corrupt, or does not fit the data."""


class ConfigError(SGNError, ValueError):
    """A setting or argument out of its range (``--steps 0``, ``--device gpu``, a tensor of the wrong shape)."""


class DeviceError(SGNError, RuntimeError):
    """A device that was asked for but is not there (``--device cuda`` without a GPU)."""


class OutputError(SGNError):
    """A place the result cannot be written to (a file where a folder is needed, no permission, /proc)."""
