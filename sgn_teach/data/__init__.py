"""Course data: the MUSIC-11 classes, solo-clip libraries and mix-and-separate.

classes.py   the 11 instruments, their GM programs and pitch ranges
phrases.py   random, playable phrases (shared by both generators)
synth.py     a procedural NumPy synthesizer (no system packages; fast; tests)
render.py    FluidSynth + a General MIDI SoundFont (the default course data)
variety.py   the shipped models' training library: every GM voice of each class + the synthesizer
library.py   reading ROOT/<class>/<clip>.wav with stable train/val/test splits
mixing.py    MixDataset: N solo clips of distinct classes → a mixture and its targets
augment.py   seeded source augmentation for training (gain, pitch, EQ/tilt, reverb)
checks.py    every clip of a library decodes (checked before a training starts)
captions.py  captions of mixtures and the instrument names parsed back out of text (notebook 08)
captioned.py CaptionedPairs: two captioned mixtures and their mixture of mixtures (notebook 08)
external/    real datasets (MUSIC, MUSDB18, VGGSound, FUSS) turned into solo-clip libraries
"""

import importlib

# name -> submodule; loaded on first use, so that `sgn_teach.data.external` and the
# data scripts start without importing torch (≈6 s on a busy 2-core machine)
_EXPORTS = {
    "classes": ["MUSIC11", "MUSIC11_NAMES", "InstrumentClass", "check_classes", "class_index", "get_class"],
    "library": ["SPLITS", "Clip", "SoloLibrary", "split_of", "stratified_splits"],
    "mixing": ["MixDataset", "finish_batch", "mix_batch", "mix_features"],
    "augment": ["apply_augmentation", "draw_params"],
    "phrases": ["Note", "clip_rng", "random_phrase"],
    "render": ["COURSE_SOUNDFONTS", "RENDER_NOTE", "SoundFontRenderer", "find_course_soundfonts", "find_soundfont",
               "fluidsynth_available", "fluidsynth_problem", "render_library", "resolve_soundfonts"],
    "synth": ["synth_clip", "synth_library", "synth_phrase"],
    "variety": ["EXTRA_PROGRAMS", "render_variety_library"],
}
_WHERE = {name: mod for mod, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value  # cache: the next access is a plain attribute
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
