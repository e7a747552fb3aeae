#!/usr/bin/env bash
# System packages, installed through apt where it is available and we are root:
#   - FluidSynth and the course's three General MIDI SoundFonts (the sampled instruments of the course data);
#   - for the published course (`make book` and its test): Chromium and its WebDriver (the book test opens the
#     site in a real headless browser) and MathJax (the book's formulas, served from the site itself).
# Everywhere else: say what is missing and carry on — the course falls back to the procedural synthesizer,
# and the book's browser test skips with a message.
set -u
COURSE_PKGS="fluidsynth fluid-soundfont-gm timgm6mb-soundfont csound-soundfont"
BOOK_PKGS="chromium chromium-driver libjs-mathjax"
missing=""
for pkg in $COURSE_PKGS $BOOK_PKGS; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -z "$missing" ]; then
  echo "system deps: FluidSynth, the three GM SoundFonts, Chromium, chromedriver and MathJax are installed."
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "system deps: installing$missing with apt-get (a minute or two)…"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $missing >/dev/null 2>&1; then
    echo "system deps: installed$missing."
    exit 0
  fi
  echo "system deps: apt-get could not install$missing; the course falls back to the procedural synthesizer"
  echo "system deps: where FluidSynth is missing, and the book's browser test skips without Chromium."
  exit 0
fi
echo "system deps: missing$missing (needs apt-get and root: 'sudo apt-get install$missing')."
echo "system deps: the course data will come from the procedural synthesizer where FluidSynth is missing."
exit 0
