"""Notebook plumbing shared by every lesson: where the course lives, fast mode, the cached course data.

notebooks.py    REPO_URL, the Colab badges and install cells derived from it, and
                ``python -m sgn_teach.course sync NOTEBOOK…`` that rewrites them
environment.py  fast mode (``SGN_FAST=1``: pick(full, fast)) and the cache folder
data.py         course_data(): MUSIC-11 rendered (or synthesized) once and cached

Every public name is re-exported here: ``from sgn_teach.course import course_data, fast_mode, pick``.
"""

from .data import course_data, renderer_problem
from .environment import cache_dir, fast_mode, pick
from .notebooks import APT_PACKAGES, BRANCH, PIP_SPEC, REPO_URL, colab_badge, colab_url, install_cell_source, sync_notebook

__all__ = ["APT_PACKAGES", "BRANCH", "PIP_SPEC", "REPO_URL", "cache_dir", "colab_badge", "colab_url", "course_data",
           "fast_mode", "install_cell_source", "pick", "renderer_problem", "sync_notebook"]
