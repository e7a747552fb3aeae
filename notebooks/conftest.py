"""nbval runs every notebook top to bottom (``make test``); with ``SGN_SAVE_EXECUTED=DIR`` it also keeps them.

Each notebook whose every code cell ran without an error is written to DIR with the outputs
nbval collected, so the published course can be built from that one execution
(``notebooks/book/build.py --executed DIR``, what ``tests/test_book.py`` does under ``make test``)
instead of executing every notebook a second time.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_NOTEBOOKS: dict[Path, object] = {}   # notebook file → nbval's parsed notebook, its cells filled as they run
_RAN: dict[Path, set[int]] = {}       # … and the code cells that ran without an error


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when != "call" or not hasattr(item, "cell_num") or not os.environ.get("SGN_SAVE_EXECUTED"):
        return
    path = Path(str(item.fspath))
    _NOTEBOOKS[path] = item.parent.nb
    item.cell.outputs = list(item.test_outputs or [])  # item.cell is a cell of item.parent.nb
    item.cell.execution_count = item.cell_num + 1
    for out in item.cell.outputs:
        if out.get("output_type") == "execute_result":
            out["execution_count"] = item.cell_num + 1
    if outcome.get_result().passed:
        _RAN.setdefault(path, set()).add(item.cell_num)


def pytest_sessionfinish(session, exitstatus):
    target = os.environ.get("SGN_SAVE_EXECUTED")
    if not target:
        return
    import nbformat

    out = Path(target)
    out.mkdir(parents=True, exist_ok=True)
    for path, nb in _NOTEBOOKS.items():
        n_code = sum(cell.cell_type == "code" for cell in nb.cells)
        if len(_RAN.get(path, ())) != n_code:
            continue  # a cell failed (or did not run): the book executes this notebook itself
        tmp = out / f".tmp-{path.name}"
        nbformat.write(nb, str(tmp))
        tmp.replace(out / path.name)
