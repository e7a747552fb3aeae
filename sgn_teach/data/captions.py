"""Captions and prompts: from words to the course's instrument classes, and back.

The weakly-supervised separator of notebook 08 never sees a solo source: each
training mixture comes with a *caption*, a short sentence such as "a cello and
a flute playing together". This module

* writes captions for a set of classes (:func:`make_caption`, seeded templates
  and synonyms, so a caption is reproducible from its mixture's seed), and
* extracts the *entities* — the instruments a caption or a user's prompt names
  — as class names (:func:`parse_entities`): longest synonym first ("chinese
  fiddle" is an erhu, "fiddle" alone a violin), plurals folded ("two cellos").

It is a small, closed-vocabulary parser over the 11 MUSIC classes and their
usual names, not a language model: negation ("no flute") is not understood, and
words it does not know are ignored.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from .classes import MUSIC11_NAMES

# class name → the names a person may use for it (the first is the canonical English name)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "accordion": ("accordion", "squeezebox", "piano accordion", "button accordion"),
    "acoustic_guitar": ("acoustic guitar", "guitar", "classical guitar", "spanish guitar", "nylon guitar"),
    "cello": ("cello", "violoncello"),
    "clarinet": ("clarinet", "bass clarinet"),
    "erhu": ("erhu", "chinese fiddle", "chinese violin", "huqin"),
    "flute": ("flute", "concert flute", "transverse flute"),
    "saxophone": ("saxophone", "sax", "alto sax", "tenor sax", "alto saxophone", "tenor saxophone"),
    "trumpet": ("trumpet", "cornet"),
    "tuba": ("tuba",),
    "violin": ("violin", "fiddle"),
    "xylophone": ("xylophone",),
}

# the sentence an entity is embedded in to condition the separator (and to score audio against)
ENTITY_TEMPLATE = "the sound of a {}"

# single-instrument descriptions: the text side of the course audio–text embedding's training
TEXT_TEMPLATES = ("{}", "a {}", "the {}", "the sound of a {}", "a {} playing", "someone playing the {}",
                  "a recording of a {}", "a {} solo", "a solo {}", "music played on a {}", "a melody on the {}")

# captions of mixtures: {} is the list of instruments ("a cello and a flute")
CAPTION_TEMPLATES = ("{}", "{} playing together", "the sound of {}", "{} in a small ensemble",
                     "music played by {}", "a piece for {}", "an ensemble of {}")


def display_name(class_name: str) -> str:
    """Class folder name → words: "acoustic_guitar" → "acoustic guitar"."""
    return class_name.replace("_", " ")


def entity_prompt(class_name: str) -> str:
    """The prompt that stands for one class: "the sound of a cello"."""
    return ENTITY_TEMPLATE.format(display_name(class_name))


def _words(text: str) -> list[str]:
    """Lower-case words of `text`; underscores and hyphens separate words, other punctuation is dropped."""
    return re.findall(r"[a-z0-9]+", text.lower().replace("_", " ").replace("-", " "))


@lru_cache(maxsize=None)
def _known_words() -> frozenset[str]:
    return frozenset(w for names in SYNONYMS.values() for n in names for w in n.split())


def normalize_words(text: str) -> list[str]:
    """The words of `text`, plurals of known instrument words folded ("cellos" → "cello", "saxes" → "sax")."""
    known = _known_words()
    out = []
    for w in _words(text):
        if w not in known:
            if w.endswith("es") and w[:-2] in known:
                w = w[:-2]
            elif w.endswith("s") and w[:-1] in known:
                w = w[:-1]
        out.append(w)
    return out


@lru_cache(maxsize=None)
def _phrases(classes: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    """(word sequence, class) for every synonym and class name, longest first."""
    table = []
    for c in classes:
        names = set(SYNONYMS.get(c, ())) | {display_name(c)}
        table += [(tuple(n.split()), c) for n in names]
    return sorted(table, key=lambda p: (-len(p[0]), p[0]))


def parse_entities(text: str, classes: list[str] | tuple[str, ...] = MUSIC11_NAMES) -> list[str]:
    """The classes a caption or prompt names, in order of first mention, each once.

    >>> parse_entities("A cello and two violins")
    ['cello', 'violin']
    >>> parse_entities("chinese fiddle with guitar")
    ['erhu', 'acoustic_guitar']

    Scans the words left to right and takes the longest synonym that starts at
    each position, so multi-word names win over their parts. Unknown words are skipped.
    """
    words = normalize_words(text)
    phrases = _phrases(tuple(classes))
    found: list[str] = []
    i = 0
    while i < len(words):
        for seq, c in phrases:
            if tuple(words[i:i + len(seq)]) == seq:
                if c not in found:
                    found.append(c)
                i += len(seq)
                break
        else:
            i += 1
    return found


def join_names(names: list[str]) -> str:
    """["a cello", "a flute", "a tuba"] → "a cello, a flute and a tuba"."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def make_caption(class_names: list[str], rng: np.random.Generator) -> str:
    """A caption naming every class of a mixture, with random synonyms, article, order and template.

    ``parse_entities(make_caption(c, rng))`` gives back the classes of `c` (tested).
    """
    order = rng.permutation(len(class_names))
    parts = []
    for k in order:
        names = SYNONYMS.get(class_names[k], (display_name(class_names[k]),))
        name = names[int(rng.integers(len(names)))]
        article = ("a ", "an ")[name[0] in "aeiou"] if rng.random() < 0.6 else ""
        parts.append(article + name)
    template = CAPTION_TEMPLATES[int(rng.integers(len(CAPTION_TEMPLATES)))]
    return template.format(join_names(parts))


def describe(class_name: str, rng: np.random.Generator) -> str:
    """A random single-instrument description ("someone playing the fiddle") for embedding training."""
    names = SYNONYMS.get(class_name, (display_name(class_name),))
    template = TEXT_TEMPLATES[int(rng.integers(len(TEXT_TEMPLATES)))]
    return template.format(names[int(rng.integers(len(names)))])


def vocabulary() -> list[str]:
    """Every word of the templates, captions and synonyms, sorted: the course text encoder's vocabulary."""
    words: set[str] = set()
    for names in SYNONYMS.values():
        for n in names:
            words.update(n.split())
    for t in (*TEXT_TEMPLATES, *CAPTION_TEMPLATES, ENTITY_TEMPLATE):
        words.update(_words(t.replace("{}", " ")))
    words.update(("and", "an", "a", "with"))
    return sorted(words)


__all__ = ["SYNONYMS", "ENTITY_TEMPLATE", "TEXT_TEMPLATES", "CAPTION_TEMPLATES", "display_name", "entity_prompt",
           "normalize_words", "parse_entities", "join_names", "make_caption", "describe", "vocabulary"]
