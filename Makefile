# sgn-teach: `make demo` and `make test` do the whole set-up on a fresh machine, then run.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup system-deps demo test test-fast test-notebooks lab bench constraints clean

# Python environment: a venv with the pinned versions (constraints.txt) and the package in editable mode.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[all]"
	@touch $@

# FluidSynth + a GM SoundFont through apt where possible; otherwise a message and the synth fallback.
system-deps:
	@bash .ci/system_deps.sh

setup: $(STAMP) system-deps

demo: setup
	$(PY) -m sgn_teach demo

test: setup
	$(PY) -m pytest -q tests
	SGN_FAST=1 $(PY) -m pytest -q --nbval-lax -p no:cacheprovider notebooks

test-fast: setup
	$(PY) -m pytest -q tests -x

test-notebooks: setup
	SGN_FAST=1 $(PY) -m pytest -q --nbval-lax -p no:cacheprovider notebooks

lab: setup
	$(VENV)/bin/jupyter lab notebooks

bench: setup
	$(PY) benchmarks/bench_render.py
	$(PY) benchmarks/bench_models.py
	$(PY) benchmarks/bench_eval.py

constraints: $(STAMP)
	@echo "# Versions CI and \`make\` install; regenerate with \`make constraints\`." > constraints.txt
	$(PY) -m pip freeze | grep -v -E "^(-e|sgn.teach)" | grep -v "@ file" >> constraints.txt

clean:
	rm -rf $(VENV) outputs .pytest_cache
