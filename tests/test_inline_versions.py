"""Notebooks build some components inline to teach them, then switch to the package.

Cells tagged `inline` hold those teaching versions; cells tagged `inline-check`
compare them with the package on a fixed input (with asserts). This test runs
exactly those cells — plus cells tagged `imports` — in a fresh namespace, so the
inline code and the package cannot drift apart even if nobody reruns the notebook.
"""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def _cells(nb_path: Path, tag: str) -> list[str]:
    nb = json.loads(nb_path.read_text())
    return ["".join(c["source"]) for c in nb["cells"]
            if c["cell_type"] == "code" and tag in c.get("metadata", {}).get("tags", [])]


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_inline_versions_match_package(nb_path):
    inline, checks = _cells(nb_path, "inline"), _cells(nb_path, "inline-check")
    if not inline:
        pytest.skip(f"{nb_path.name} builds nothing inline")
    assert checks, f"{nb_path.name} has inline cells but no inline-check cell"
    ns: dict = {}
    for src in _cells(nb_path, "imports") + inline + checks:
        exec(compile(src, f"{nb_path.name}", "exec"), ns)
