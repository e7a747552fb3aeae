"""The course as a learner installs it: one repository URL, a complete wheel, a clear renderer message.

The slow test builds the wheel from the package's own files, installs it into a fresh virtual
environment outside the repository and runs `python -m sgn_teach demo` and notebook 01 (fast mode)
from an unrelated folder: 221 s and 362 s in two runs on this project's 2-core CPU while other jobs loaded it
(`pytest -m slow tests/test_course_install.py`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import tomllib

from sgn_teach import course
from sgn_teach.core.errors import CheckpointError
from sgn_teach.hub.build import load_checkpoint
from sgn_teach.hub.checkpoint import training_history
from sgn_teach.hub.shipped import SHIPPED_NAMES, shipped_checkpoint

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _cells(nb_path: Path) -> list[dict]:
    return json.loads(nb_path.read_text(encoding="utf-8"))["cells"]


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_badge_and_install_cell_derive_from_repo_url(nb_path):
    cells = _cells(nb_path)
    fix = f"run `python -m sgn_teach.course sync {nb_path.relative_to(ROOT)}`"
    first_md = "".join(next(c for c in cells if c["cell_type"] == "markdown")["source"])
    assert course.colab_badge(nb_path.name) in first_md.split("\n"), f"{nb_path.name}: badge is not from REPO_URL; {fix}"
    first_code = next(c for c in cells if c["cell_type"] == "code")
    assert "".join(first_code["source"]) == course.install_cell_source(), f"{nb_path.name}: install cell differs; {fix}"
    assert "install" in first_code.get("metadata", {}).get("tags", [])
    others = [c for c in cells if c is not first_code and c["cell_type"] == "code"]
    assert not any("github.com" in "".join(c["source"]) for c in others), f"{nb_path.name}: a second hard-coded URL"


def test_install_cell_installs_render_extra_and_updates_apt_first():
    src = course.install_cell_source()
    assert f"git+{course.REPO_URL}" in src and "sgn-teach[render]" in src
    apt = next(line for line in src.splitlines() if "apt-get install" in line)
    assert apt.index("apt-get update") < apt.index("apt-get install")
    for pkg in ("fluidsynth", "fluid-soundfont-gm", "timgm6mb-soundfont", "csound-soundfont"):
        assert pkg in apt
    compile(src, "install-cell", "exec")  # it is valid Python


def test_repo_url_is_the_only_one():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["urls"]["Homepage"] == course.REPO_URL
    assert course.colab_url("01_x.ipynb").endswith(course.REPO_URL.removeprefix("https://github.com/")
                                                   + "/blob/main/notebooks/01_x.ipynb")


def test_sync_notebook_rewrites_a_stale_header(tmp_path):
    nb_path = tmp_path / NOTEBOOKS[0].name
    nb = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    md = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    md["source"] = ["# title\n", "\n", "[![Open In Colab](badge.svg)](https://colab.example/old)\n", "text"]
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["source"] = ["pip install something-else"]
    nb_path.write_text(json.dumps(nb), encoding="utf-8")
    assert course.sync_notebook(nb_path) is True
    assert course.sync_notebook(nb_path) is False  # idempotent
    cells = _cells(nb_path)
    assert course.colab_badge(nb_path.name) in "".join(cells[0]["source"]) and "".join(cells[0]["source"]).endswith("text")
    assert "".join(next(c for c in cells if c["cell_type"] == "code")["source"]) == course.install_cell_source()


def test_renderer_problem_names_what_is_missing(monkeypatch):
    import ctypes.util
    import importlib.util

    real_find_spec = importlib.util.find_spec

    def no_binding(name, *a, **k):
        return None if name == "fluidsynth" else real_find_spec(name, *a, **k)

    # FluidSynth installed, pyfluidsynth missing: the message must ask for the binding, not for FluidSynth
    monkeypatch.setattr(importlib.util, "find_spec", no_binding)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: "libfluidsynth.so.3")
    msg = course.renderer_problem()
    assert "Python binding" in msg and "pip install pyfluidsynth" in msg and "apt-get" not in msg
    # neither: both steps
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    msg = course.renderer_problem()
    assert "not installed" in msg and "apt-get install fluidsynth" in msg and "pyfluidsynth" in msg


def test_shipped_checkpoints_are_inside_the_package_and_load():
    pkg = ROOT / "sgn_teach"
    for name in SHIPPED_NAMES:
        path = shipped_checkpoint(name)
        assert path.is_relative_to(pkg) and path == shipped_checkpoint(name + ".pt")
        model, cfg, classes, step, state = load_checkpoint(path)
        assert len(classes) == cfg.model.n_classes and step > 0
        history = training_history(state, path)  # inside the checkpoint, or (older files) beside it
        assert history is not None and len(history["train"]) == step
    with pytest.raises(CheckpointError, match="ships"):
        shipped_checkpoint("paper_sgn")
    assert not (ROOT / "checkpoints").exists(), "the top-level checkpoints/ folder moved into sgn_teach/checkpoints"


def test_training_history_reads_the_checkpoint_first(tmp_path):
    inside = {"extra": json.dumps({"history": {"train": [{"step": 1}], "val": []}})}
    assert training_history(inside)["train"] == [{"step": 1}]
    old = tmp_path / "m.pt"
    (tmp_path / "m.history.json").write_text(json.dumps({"train": [{"step": 1}, {"step": 2}]}))
    assert len(training_history({"extra": "{}"}, old)["train"]) == 2
    assert training_history({"extra": "{}"}, tmp_path / "none.pt") is None


def _venv_site_packages(venv: Path) -> Path:
    found = list((venv / "lib").glob("python3*/site-packages"))
    assert len(found) == 1, found
    return found[0]


@pytest.mark.slow
def test_wheel_installs_outside_the_repo_and_runs_demo_and_notebook_01(tmp_path):
    """Build the wheel from the package's own files, install it into a fresh venv, run the course from elsewhere.

    Honest about the dependencies: torch & co. are not downloaded again (4.6 GB); the fresh venv sees the
    test's own environment's site-packages through a .pth file *after* its own, so `sgn_teach` itself can only
    come from the wheel — which is the point: the package's own files must be complete.
    """
    # 1. the wheel, from a copy of exactly what the package is built from
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "sgn_teach", src / "sgn_teach", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(src)], check=True)
    (wheel,) = wheels.glob("sgn_teach-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for ck in SHIPPED_NAMES:
        assert f"sgn_teach/checkpoints/{ck}.pt" in names, f"{ck}.pt is not package data"
    assert all(n.startswith(("sgn_teach/", "sgn_teach-")) for n in names), "the wheel carries files outside the package"

    # 2. a fresh venv outside the repository; dependencies visible after its own site-packages
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = _venv_site_packages(venv)
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_shared_dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", str(wheel)],
                   check=True)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "SGN_FAST")}
    env.update(SGN_CACHE=str(tmp_path / "cache"), MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               JUPYTER_DATA_DIR=str(tmp_path / "jupyter"), JUPYTER_PATH="", JUPYTER_CONFIG_DIR=str(tmp_path / "jcfg"),
               IPYTHONDIR=str(tmp_path / "ipython"))

    def run(*args, extra_env=None, timeout=900):
        return subprocess.run([str(py), *args], cwd=elsewhere, env={**env, **(extra_env or {})}, text=True,
                              capture_output=True, timeout=timeout)

    where = run("-c", "import sgn_teach, sgn_teach.hub.shipped as c; print(sgn_teach.__file__); "
                      "print(c.shipped_checkpoint('sgn_small'))")
    assert where.returncode == 0, where.stderr
    pkg_file, ck_file = where.stdout.split()
    assert Path(pkg_file).is_relative_to(site) and Path(ck_file).is_relative_to(site), where.stdout
    # every run-time requirement of the wheel is importable there (metadata checked, not assumed)
    reqs = run("-c", "import importlib.metadata as m\n"
                     "from packaging.requirements import Requirement\n"
                     "for r in m.requires('sgn-teach'):\n"
                     "    q = Requirement(r)\n"
                     "    if q.marker is None or q.marker.evaluate({'extra': 'render'}):\n"
                     "        assert q.specifier.contains(m.version(q.name), prereleases=True), r\n"
                     "print('ok')")
    assert reqs.returncode == 0 and "ok" in reqs.stdout, reqs.stderr

    # 3. the demo, small: a 3-clip-per-class library, 2 mixtures
    demo = run("-m", "sgn_teach", "demo", "--out", "demo", "--n-mixtures", "2", "--clips-per-class", "3",
               "--device", "cpu")
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-3000:]
    assert "| sgn |" in demo.stdout and "| sop |" in demo.stdout
    assert str(site) in demo.stdout  # the models came from the installed package
    assert (elsewhere / "demo" / "report.json").is_file() and (elsewhere / "demo" / "demo.png").is_file()

    # 4. notebook 01 in fast mode, from a copy in the unrelated folder
    nb = json.loads((ROOT / "notebooks" / "01_waveform_to_masks.ipynb").read_text(encoding="utf-8"))
    nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "whereami", "metadata": {}, "outputs": [],
                        "source": ["import sgn_teach; print('SGN_TEACH_FROM', sgn_teach.__file__)"]})
    (elsewhere / "01.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    ran = run("-m", "nbconvert", "--to", "notebook", "--execute", "--output", "01_run.ipynb",
              "--ExecutePreprocessor.timeout=900", "01.ipynb", extra_env={"SGN_FAST": "1"})
    assert ran.returncode == 0, ran.stderr[-4000:]
    out = json.loads((elsewhere / "01_run.ipynb").read_text(encoding="utf-8"))
    last = "".join("".join(o.get("text", "")) for o in out["cells"][-1]["outputs"])
    assert "SGN_TEACH_FROM" in last and str(site) in last, last
