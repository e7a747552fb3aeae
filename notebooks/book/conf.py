"""Sphinx configuration of the published course (`make book`): the notebooks, executed, as a static site.

Sphinx + MyST-NB + the Sphinx Book Theme (what Jupyter Book 1.x is made of). `build.py` beside this file
stages the notebooks, a copy of the README and a generated API page next to this file and runs Sphinx;
read it first. Everything the pages load is served from the site itself (MathJax from Debian's
libjs-mathjax), so the book reads offline and its browser test sees no network error.
"""

from __future__ import annotations

import os
import re

from sgn_teach import __version__
from sgn_teach.course import BRANCH, REPO_URL

project = "sgn-teach"
author = "the sgn-teach authors"
copyright = "the sgn-teach authors, MIT licence"
release = version = __version__

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "conf.py", "build.py"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type", "misc.highlighting_failure"]

# Execution: every notebook top to bottom on a fresh kernel; SGN_FAST (from the environment) picks the settings.
nb_execution_mode = os.environ.get("SGN_BOOK_EXECUTE", "force")
nb_execution_timeout = -1               # full mode trains models: no per-cell limit
nb_execution_raise_on_error = True      # a failing cell fails the build
nb_execution_show_tb = True
nb_merge_streams = True
# Widgets need a live kernel: the book shows the static figures and players the notebooks draw next to them,
# and loads no widget JavaScript from a CDN.
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None),
                              ("html", "application/vnd.jupyter.widget-state+json", None)]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = True

html_theme = "sphinx_book_theme"
html_title = "sgn-teach: the Semantic Grouping Network, taught"
html_static_path = ["_static"]
html_theme_options = {
    "repository_url": REPO_URL,
    "repository_branch": BRANCH,
    "path_to_docs": "notebooks",
    "use_repository_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "show_toc_level": 2,
}
html_show_sourcelink = False
html_favicon = "_static/favicon.png"      # drawn by build.py; without one the browser asks for /favicon.ico
html_context = {"default_mode": "light"}

# MathJax 2 from the site itself (copied into _static/mathjax by build.py), SVG output: no web fonts to fetch.
if os.path.isfile(os.path.join(os.path.dirname(__file__), "_static", "mathjax", "MathJax.js")):
    mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_SVG"
    mathjax2_config = {"tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                                   "processRefs": False, "processEnvironments": False},
                       "messageStyle": "none", "showMathMenu": False}


def _plain_docstrings(app, what, name, obj, options, lines):
    """The package's docstrings are plain text, not reStructuredText: |X| is a magnitude, not a substitution."""
    for i, line in enumerate(lines):
        line = line.replace("|", "\\|")
        lines[i] = re.sub(r"(?<![*\w\\])\*(?=[.\w])(?![^*]*\*)", r"\\*", line)  # a lone * (as in *.sf2)


def setup(app):
    app.connect("autodoc-process-docstring", _plain_docstrings)
