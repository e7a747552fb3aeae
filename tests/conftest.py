"""Shared fixtures: a small synthesized solo-clip library, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgn_teach.core.config import AudioConfig, get_preset
from sgn_teach.data import synth_library as make_synth_library

SYNTH_CLIPS_PER_CLASS = 6
SYNTH_DURATION = 3.0  # seconds: longer than the tiny (1.5 s) and small (3.0 s) presets' crops


@pytest.fixture(scope="session")
def synth_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROOT of a synthesized MUSIC-11 library: 11 classes × 6 clips of 3 s at 11025 Hz (seed 0).

    With hash splits every split has clips of several classes. Treat it as read-only.
    """
    root = tmp_path_factory.mktemp("synth_library")
    return make_synth_library(root, clips_per_class=SYNTH_CLIPS_PER_CLASS, seed=0, duration=SYNTH_DURATION,
                              progress=False)


@pytest.fixture(scope="session")
def lib_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROOT of a synthesized MUSIC-11 library of 11 classes × 12 clips of 2 s (seed 3): every class has train,
    val and test clips, so training, validation and evaluation all run on it. Treat it as read-only."""
    root = tmp_path_factory.mktemp("lib") / "music11"
    make_synth_library(root, clips_per_class=12, seed=3, duration=2.0, progress=False)
    return root


@pytest.fixture(scope="session")
def tiny_audio() -> AudioConfig:
    """The tiny preset's audio front-end: 16383 samples, 512 linear bins × 64 frames → 64×64 warped."""
    return get_preset("tiny").audio


def run_cli(*args):
    """`python -m sgn_teach ARGS` in this process (no second torch import): an object with `returncode`,
    `stdout` and `stderr`, like subprocess.run's. (The wheel and demo tests run the real command.)"""
    import contextlib
    import io
    import subprocess

    from sgn_teach.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return subprocess.CompletedProcess(["python", "-m", "sgn_teach", *map(str, args)], code, out.getvalue(),
                                       err.getvalue())
