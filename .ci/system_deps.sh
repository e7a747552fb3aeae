#!/usr/bin/env bash
# Install FluidSynth and a General MIDI SoundFont where apt is available and we are root.
# Everywhere else: say so and carry on — the course falls back to the procedural synthesizer.
set -u
sf2_present() { ls /usr/share/sounds/sf2/*.sf2 /usr/share/soundfonts/*.sf2 >/dev/null 2>&1 || [ -n "${SGN_SOUNDFONT:-}" ]; }
if command -v fluidsynth >/dev/null 2>&1 && sf2_present; then
  echo "system deps: FluidSynth and a GM SoundFont are installed."
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "system deps: installing fluidsynth and fluid-soundfont-gm with apt-get (about a minute)…"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq fluidsynth fluid-soundfont-gm >/dev/null 2>&1; then
    echo "system deps: FluidSynth installed; SoundFont at /usr/share/sounds/sf2/FluidR3_GM.sf2."
    exit 0
  fi
  echo "system deps: apt-get could not install fluidsynth; falling back to the procedural synthesizer."
  exit 0
fi
echo "system deps: FluidSynth not installed (needs apt-get and root: 'sudo apt-get install fluidsynth fluid-soundfont-gm')."
echo "system deps: the course data will come from the procedural synthesizer instead of sampled instruments."
exit 0
