# sgn-teach: `make demo` and `make test` do the whole set-up on a fresh machine, then run.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup system-deps demo test test-fast test-notebooks lab bench book book-fast constraints clean

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

# The notebooks run once, through nbval (fast mode); the book test then builds the course from that execution
# (notebooks/conftest.py keeps it in build/executed) instead of executing every notebook a second time.
test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	rm -rf build/executed
	SGN_FAST=1 SGN_SAVE_EXECUTED=build/executed $(PY) -m pytest -q --nbval-lax -p no:cacheprovider notebooks
	SGN_EXECUTED_NOTEBOOKS=build/executed $(PY) -m pytest -q --durations=25 tests

test-fast: setup
	$(PY) -m pytest -q tests -x

test-notebooks: setup
	SGN_FAST=1 $(PY) -m pytest -q --nbval-lax -p no:cacheprovider notebooks

# The published course: every notebook executed with the full settings (long: it trains models), as a static
# site in build/book/html. `make book-fast` builds it with CI's settings (SGN_FAST=1) in minutes; `make test`
# builds that too and opens every page in headless Chromium (tests/test_book.py).
book: setup
	$(PY) notebooks/book/build.py --out build/book

book-fast: setup
	SGN_FAST=1 $(PY) notebooks/book/build.py --out build/book-fast

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
	rm -rf $(VENV) outputs build .pytest_cache
