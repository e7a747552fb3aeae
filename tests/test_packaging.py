"""The set-up files agree with each other, and notebooks are stored clean."""

import json
import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    """Normalised distribution name of a requirement string ('mir_eval>=0.7,<0.9' → 'mir-eval')."""
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _spec(req: str) -> str:
    return req.strip()[len(_name(req)):].replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra, items in meta["optional-dependencies"].items():
        reqs += [r for r in items if not r.startswith("sgn-teach")]
    return {_name(r): _spec(r) for r in reqs}


def _environment_pip_requirements() -> dict[str, str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    reqs = []
    for line in lines[start + 1:]:
        m = re.match(r"\s+- (.+)$", line)
        if not m:
            break
        if not m.group(1).startswith("-e"):
            reqs.append(m.group(1))
    return {_name(r): _spec(r) for r in reqs}


def test_environment_yml_and_pyproject_agree():
    py, env = _pyproject_requirements(), _environment_pip_requirements()
    assert set(py) == set(env), f"only in pyproject: {set(py) - set(env)}; only in environment.yml: {set(env) - set(py)}"
    for name in py:
        assert py[name] == env[name], f"{name}: pyproject says {py[name]!r}, environment.yml says {env[name]!r}"


def test_constraints_pin_every_dependency_and_the_torch_pair():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower().replace("_", "-")] = version
    assert pins["torch"] == "2.11.0" and pins["torchaudio"] == "2.11.0"
    missing = set(_pyproject_requirements()) - set(pins)
    assert not missing, f"constraints.txt does not pin {missing}"
    assert pins["mir-eval"].startswith("0.") and int(pins["mir-eval"].split(".")[1]) < 9


def test_notebooks_are_stored_without_outputs():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebooks found"
    for nb_path in notebooks:
        nb = json.loads(nb_path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs"), f"{nb_path.name} has stored outputs"
                assert cell.get("execution_count") is None, f"{nb_path.name} has execution counts"
        ids = [cell.get("id") for cell in nb["cells"]]  # nbformat 4.5: every cell has a unique id
        assert all(ids) and len(set(ids)) == len(ids), f"{nb_path.name}: a cell without an id, or an id twice"


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
