"""Render the MUSIC-11 instruments from a General MIDI SoundFont with FluidSynth.

This is the default course data: random phrases (`phrases.py`) played by real
sampled instruments. FluidSynth is a software synthesizer; a SoundFont (.sf2)
holds recorded samples of each General MIDI instrument. We drive it directly
from Python (pyfluidsynth) without an audio device: send MIDI note-on/off
messages, then ask for the next n samples, rendered straight at 11025 Hz.

Install (Debian/Ubuntu/Colab)::

    apt-get install fluidsynth fluid-soundfont-gm && pip install pyfluidsynth

Loading a 140 MB SoundFont takes about a second, so it is loaded once per
process and per sample rate (the module-level :data:`_ENGINES` cache), and the
synthesizer is reset between clips so that nothing of one clip (a held note, a
reverb tail) leaks into the next: a clip depends only on its own notes, and two
renders of a library are identical, sample for sample.
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

import numpy as np

from ..core.config import SAMPLE_RATE
from ..core.errors import DataError
from ..signal.audio import save_audio
from .classes import MUSIC11_NAMES, InstrumentClass, check_classes, get_class
from .phrases import Note, clip_rng, random_phrase

RENDER_NOTE = (
    "Rendered with FluidSynth from a General MIDI SoundFont (FluidR3_GM by default). "
    "GM has no erhu: it is played by GM program 110 'Fiddle' (a bowed string, like the erhu) in the erhu's "
    "range D4-E6, with slides into notes (pitch bend) and deep vibrato (modulation wheel). "
    "The other classes use their own GM patches: accordion 21, acoustic_guitar 25 (steel), cello 42, "
    "clarinet 71, flute 73, saxophone 65 (alto), trumpet 56, tuba 58, violin 40, xylophone 13."
)

SOUNDFONT_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts", "/usr/local/share/soundfonts",
                  "/opt/homebrew/share/soundfonts")
INSTALL_HINT = ("install one with `apt-get install fluidsynth fluid-soundfont-gm` (Debian/Ubuntu/Colab), "
                "or pass --soundfont / set $SGN_SOUNDFONT to a General MIDI .sf2 file")
PEAK = 0.9          # clips are peak-normalised to this
BLOCK = 64          # FluidSynth renders in blocks of 64 samples
FLUSH = 256         # after a reset, render and discard chunks of this size until one is silent ...
MAX_FLUSH = 10 * SAMPLE_RATE  # ... but at most this many samples
CHANNEL = 0
BEND_RANGE = 8      # semitones of pitch bend (set with MIDI RPN 0) for the erhu's slides
SLIDE_STEPS, SLIDE_TIME = 8, 0.06   # a slide: 8 bend steps over 60 ms, exponential approach


def find_soundfont(path: str | os.PathLike | None = None) -> Path:
    """Locate a General MIDI SoundFont.

    Order: `path` if given, else $SGN_SOUNDFONT, else FluidR3_GM.sf2 in one of
    :data:`SOUNDFONT_DIRS`, else any *.sf2 there. Raises DataError with install
    instructions when there is none.
    """
    for given, what in ((path, "the SoundFont"), (os.environ.get("SGN_SOUNDFONT") or None, "$SGN_SOUNDFONT")):
        if given is not None:
            p = Path(given).expanduser()
            if not p.is_file():
                raise DataError(f"{what} {p} does not exist; {INSTALL_HINT}")
            return p
    dirs = [Path(d) for d in SOUNDFONT_DIRS if Path(d).is_dir()]
    for d in dirs:
        if (d / "FluidR3_GM.sf2").is_file():
            return d / "FluidR3_GM.sf2"
    for d in dirs:
        found = sorted(p for p in d.glob("*.sf2") if p.is_file())
        if found:
            return found[0]
    raise DataError(f"no SoundFont (.sf2) found in {', '.join(SOUNDFONT_DIRS)}; {INSTALL_HINT}")


def _import_fluidsynth():
    """Import pyfluidsynth (which loads libfluidsynth); DataError says what is missing."""
    try:
        import fluidsynth
    except (ImportError, OSError) as exc:
        raise DataError(f"FluidSynth is not usable ({exc}); `pip install pyfluidsynth` and "
                        "`apt-get install fluidsynth` (or use the procedural synthesizer)") from None
    if not hasattr(fluidsynth, "Synth") or not hasattr(fluidsynth, "_fl"):
        raise DataError("the installed `fluidsynth` module is not pyfluidsynth; `pip install pyfluidsynth`")
    return fluidsynth


def fluidsynth_problem(soundfont: str | os.PathLike | None = None) -> str | None:
    """Why the renderer cannot run here, in one line (None when it can).

    Checks that pyfluidsynth imports, libfluidsynth loads and a SoundFont is
    found (`soundfont` if given, else as :func:`find_soundfont` searches).
    """
    try:
        fs = _import_fluidsynth()
        if not hasattr(fs._fl, "fluid_synth_write_float"):
            return "libfluidsynth lacks fluid_synth_write_float (FluidSynth too old)"
        find_soundfont(soundfont)
    except DataError as exc:
        return str(exc)
    return None


def fluidsynth_available(soundfont: str | os.PathLike | None = None) -> bool:
    """True when pyfluidsynth imports, libfluidsynth loads and a SoundFont is found."""
    return fluidsynth_problem(soundfont) is None


class _Engine:
    """One FluidSynth synthesizer with one SoundFont loaded (shared by all renderers of a path and rate)."""

    def __init__(self, soundfont: Path, sample_rate: int) -> None:
        with open(soundfont, "rb") as fh:
            head = fh.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"sfbk":
            raise DataError(f"{soundfont}: not a SoundFont (.sf2) file")
        fs = _import_fluidsynth()
        lib = fs._fl
        log = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
        set_log = log(("fluid_set_log_function", lib))
        for level in (1, 2, 3, 4):  # FLUID_ERR, _WARN, _INFO, _DBG: a NULL handler silences them; we check
            set_log(level, None, None)  # the return values ourselves and raise DataError with a clear message
        self.synth = fs.Synth(gain=0.5, samplerate=float(sample_rate), **{
            "synth.chorus.active": 0,  # chorus would thicken every instrument alike
            "synth.reverb.active": 0,  # dry: a reset does not clear the reverb's tail (FluidSynth 2.3)
            "synth.cpu-cores": 1,
        })
        self.sfid = self.synth.sfload(str(soundfont))
        if self.sfid < 0:
            self.synth.delete()
            raise DataError(f"{soundfont}: FluidSynth could not load this SoundFont (not an .sf2 file?)")
        # float output, no dither: fluid_synth_write_float(synth, n, left, loff, lincr, right, roff, rincr)
        self._write_float = ctypes.CFUNCTYPE(
            ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
            ctypes.c_void_p, ctypes.c_int, ctypes.c_int)(("fluid_synth_write_float", lib))
        self.soundfont = soundfont
        self.sample_rate = sample_rate
        self.n_rendered = 0
        self.lock = threading.Lock()

    def write(self, n: int) -> np.ndarray:
        """Render the next n samples: (n,) float32 mono (the average of left and right)."""
        buf = np.zeros(2 * n, dtype=np.float32)  # interleaved stereo L R L R …
        if n > 0:
            ptr = buf.ctypes.data
            self._write_float(self.synth.synth, n, ptr, 0, 2, ptr, 1, 2)
            self.n_rendered += n
        return 0.5 * (buf[0::2] + buf[1::2])  # interleaved (2n,) → (n,): the mean of left and right

    def reset(self) -> None:
        """Silence everything (notes, controllers) and start the next clip from a clean state.

        `system_reset` restores the controllers (and would let sounding voices
        ring out); `all_sounds_off` after it cuts every voice within one block.
        We render and discard audio until a whole chunk is exactly zero (all
        voices freed), then pad so that the total rendered is a multiple of the
        64-sample block: every clip starts from the same state.
        """
        self.synth.system_reset()
        self.synth.all_sounds_off(CHANNEL)
        for _ in range(MAX_FLUSH // FLUSH):
            if not np.any(self.write(FLUSH)):
                break
        self.write((-self.n_rendered) % BLOCK)


_ENGINES: dict[tuple[str, int], _Engine] = {}
_ENGINES_LOCK = threading.Lock()


class SoundFontRenderer:
    """Play note lists with the GM instruments of a SoundFont.

    Args:
        soundfont: .sf2 path; None finds one (:func:`find_soundfont`).
        sample_rate: output rate in Hz (FluidSynth renders at it directly).

    The SoundFont is loaded once per process and rate: renderers created for the
    same file share one synthesizer.
    """

    def __init__(self, soundfont: str | os.PathLike | None = None, sample_rate: int = SAMPLE_RATE) -> None:
        if not 8000 <= sample_rate <= 96000:
            raise DataError(f"FluidSynth renders at 8000–96000 Hz, not {sample_rate}; resample afterwards")
        self.soundfont = find_soundfont(soundfont).resolve()
        self.sample_rate = int(sample_rate)
        key = (str(self.soundfont), self.sample_rate)
        with _ENGINES_LOCK:
            if key not in _ENGINES:
                _ENGINES[key] = _Engine(self.soundfont, self.sample_rate)
            self._engine = _ENGINES[key]

    def _events(self, cls: InstrumentClass, notes: list[Note], n_total: int) -> list[tuple[int, int, int]]:
        """MIDI events (sample, kind, value) sorted in time; at a tie the kind orders them.

        kind 0 note-off (value = pitch), 1 pitch bend (value -8192..8191), 2 note-on (value = index into
        notes): a note ending where the next starts is released first, and a slide's bend precedes its note.
        """
        sr = self.sample_rate
        events: list[tuple[int, int, int]] = []
        prev: int | None = None
        for i, note in enumerate(notes):
            on, off = int(round(note.start * sr)), int(round(note.end * sr))
            if on >= n_total:
                continue
            events.append((on, 2, i))
            events.append((max(off, on + 1), 0, note.pitch))
            if cls.name == "erhu":  # slide from the previous note: start bent toward it, glide to pitch
                jump = (prev - note.pitch) if prev is not None and 0 < abs(prev - note.pitch) <= 7 else 0
                for s in range(SLIDE_STEPS + 1):
                    left = jump * float(np.exp(-4.0 * s / SLIDE_STEPS))  # semitones still to go
                    value = int(round(8191 * left / BEND_RANGE)) if s < SLIDE_STEPS else 0
                    events.append((on + int(s * SLIDE_TIME * sr / SLIDE_STEPS), 1, value))
            prev = note.pitch
        return sorted(events)

    def _play(self, cls: InstrumentClass, notes: list[Note], n_total: int, program: int | None = None) -> np.ndarray:
        """Reset, select the program, send the events between rendered chunks: (n_total,) float32, unscaled."""
        eng, synth = self._engine, self._engine.synth
        eng.reset()
        program = cls.gm_program if program is None else program
        if synth.program_select(CHANNEL, eng.sfid, 0, program) != 0:
            raise DataError(f"{self.soundfont.name} has no GM program {program} for "
                            f"{cls.name}: use a General MIDI SoundFont such as FluidR3_GM.sf2")
        if cls.name == "erhu":
            for ctrl, val in ((101, 0), (100, 0), (6, BEND_RANGE), (38, 0), (101, 127), (100, 127)):
                synth.cc(CHANNEL, ctrl, val)  # RPN 0 = pitch-bend range in semitones, then RPN null
            synth.cc(CHANNEL, 1, 60)  # modulation wheel: vibrato
        chunks, pos = [], 0
        for t, kind, value in self._events(cls, notes, n_total):
            if t >= n_total:
                break
            if t > pos:
                chunks.append(eng.write(t - pos))
                pos = t
            if kind == 2:
                synth.noteon(CHANNEL, notes[value].pitch, int(np.clip(notes[value].velocity, 1, 127)))
            elif kind == 1:
                synth.pitch_bend(CHANNEL, value)
            else:
                synth.noteoff(CHANNEL, value)
        chunks.append(eng.write(n_total - pos))
        return np.concatenate(chunks)

    def render(self, cls_or_name: InstrumentClass | str, notes: list[Note], duration: float,
               program: int | None = None) -> np.ndarray:
        """Play `notes` on the class's GM program (or `program`): (L,) float32, L = round(duration·sample_rate), peak 0.9.

        The clip is played twice and the first take discarded. FluidSynth fades
        each voice's output gain, during its first 64-sample block, from the
        value that voice's previous note left behind — so a first take depends
        on the clips rendered before it. The second take starts from the state
        the first take of *this* clip left, which makes every clip a function of
        its own notes only.
        """
        cls = get_class(cls_or_name)
        n_total = int(round(duration * self.sample_rate))
        with self._engine.lock:
            self._play(cls, notes, n_total, program)          # priming take, discarded
            wave = self._play(cls, notes, n_total, program)
        peak = float(np.abs(wave).max(initial=0.0))
        if not np.isfinite(peak) or peak < 1e-6:
            used = cls.gm_program if program is None else program
            raise DataError(f"{self.soundfont.name}: GM program {used} rendered silence "
                            f"for {cls.name}; is it a General MIDI SoundFont?")
        return wave * np.float32(PEAK / peak)


COURSE_SOUNDFONTS: dict[str, tuple[str, str, str]] = {
    # key: (file name, Debian/Ubuntu package, what it is)
    "fluidr3": ("FluidR3_GM.sf2", "fluid-soundfont-gm", "FluidR3 GM by Frank Wen (141 MB, sampled instruments)"),
    "timgm6mb": ("TimGM6mb.sf2", "timgm6mb-soundfont", "TimGM6mb by Tim Brechbill (6 MB, compact samples)"),
    "csound": ("sf_GMbank.sf2", "csound-soundfont", "the csound General MIDI bank sf_GMbank (4 MB)"),
}
"""The three General MIDI SoundFonts the course renders every instrument from: three timbres per class."""

COURSE_INSTALL = "apt-get install fluidsynth " + " ".join(pkg for _, pkg, _ in COURSE_SOUNDFONTS.values())


def find_course_soundfonts() -> dict[str, Path]:
    """The course SoundFonts installed here: {key: path}, in the order of :data:`COURSE_SOUNDFONTS`."""
    found = {}
    for key, (fname, _, _) in COURSE_SOUNDFONTS.items():
        for d in SOUNDFONT_DIRS:
            if (Path(d) / fname).is_file():
                found[key] = Path(d) / fname
                break
    return found


def resolve_soundfonts(given: list[str] | tuple[str, ...] | None) -> dict[str, Path]:
    """SoundFonts to render from: {key: path}.

    `given` holds course keys (fluidr3, timgm6mb, csound) or .sf2 paths (their key
    is the lower-cased file stem). None: every course SoundFont installed here, or
    ($SGN_SOUNDFONT / any GM .sf2) when none of them is. DataError when nothing is found.
    """
    if not given:
        found = find_course_soundfonts()
        if found:
            return found
        path = find_soundfont(None)
        return {path.stem.lower(): path}
    out: dict[str, Path] = {}
    installed = find_course_soundfonts()
    for item in given:
        if item in COURSE_SOUNDFONTS:
            if item not in installed:
                fname, pkg, _ = COURSE_SOUNDFONTS[item]
                raise DataError(f"SoundFont {item!r} ({fname}) is not installed: apt-get install {pkg}")
            out[item] = installed[item]
        else:
            path = find_soundfont(item)
            out[path.stem.lower()] = path
    return out


def render_library(out_dir: str | os.PathLike, soundfont: str | os.PathLike | None = None,
                   clips_per_class: int = 20, seed: int = 0, duration: float = 6.0, sample_rate: int = SAMPLE_RATE,
                   classes: tuple[str, ...] | list[str] = MUSIC11_NAMES, progress: bool = True,
                   soundfonts: list[str] | tuple[str, ...] | None = None, force: bool = False) -> Path:
    """Write a solo-clip library rendered from one or several SoundFonts, with splits.csv.

    One SoundFont (`soundfont` given, or `soundfonts` naming one): files are
    OUT/<class>/<class>_<k:04d>.wav, and clip k plays the same phrase as the
    synthesized library of the same seed (:func:`clip_rng`).

    Several SoundFonts (`soundfonts` with more than one, or neither argument and
    more than one course SoundFont installed): OUT/<class>/<class>_<key>_<k:04d>.wav,
    `clips_per_class` per class *and* SoundFont, each SoundFont playing its own
    phrases (so no phrase is heard in two timbres).

    Either way OUT/splits.csv records each clip's split (stratified 80/10/10 per
    class and SoundFont) and its `soundfont`. Files are written atomically and
    are identical across runs. A non-empty `out_dir` is refused unless it holds
    the same library (then missing clips are added: a killed render is completed)
    or `force` (see :mod:`sgn_teach.data.manifest`). Returns the library root.
    """
    from tqdm.auto import tqdm

    from ..core.atomic import atomic_path
    from ..core.checks import require_int, require_positive
    from .library import stratified_splits
    from .manifest import prepare_library_dir

    names = check_classes(classes)
    require_int("--clips-per-class", clips_per_class)
    require_positive("--duration", duration)
    require_int("sample_rate", sample_rate)
    fonts = {Path(soundfont).stem.lower(): find_soundfont(soundfont)} if soundfont is not None \
        else resolve_soundfonts(soundfonts)
    multi = len(fonts) > 1
    root = Path(out_dir)
    renderers = {key: SoundFontRenderer(path, sample_rate) for key, path in fonts.items()}
    completing = prepare_library_dir(root, {"generator": "render", "seed": seed, "duration": float(duration),
                                            "sample_rate": sample_rate, "classes": list(names),
                                            "soundfonts": sorted(fonts), "clips_per_class": clips_per_class},
                                     force=force)
    jobs = [(key, name, k) for key in fonts for name in names for k in range(clips_per_class)]
    rels: dict[tuple[str, str], list[str]] = {}
    for key, name, k in tqdm(jobs, desc=f"rendering ({', '.join(fonts)})", unit="clip", disable=not progress):
        rel = f"{name}/{name}_{key}_{k:04d}.wav" if multi else f"{name}/{name}_{k:04d}.wav"
        rels.setdefault((name, key), []).append(rel)
        if completing and (root / rel).is_file():
            continue  # written by the run being completed: clip k is the same
        rng = clip_rng(seed, name, k, stream=key if multi else None)
        notes = random_phrase(name, rng, duration)
        save_audio(root / rel, renderers[key].render(name, notes, duration), sample_rate)
    table = stratified_splits(rels)
    with atomic_path(root / "splits.csv", ".csv") as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write("path,split,soundfont\n")
        for (name, key), group in sorted(rels.items()):
            for rel in group:
                fh.write(f"{rel},{table[rel]},{key}\n")
    return root
