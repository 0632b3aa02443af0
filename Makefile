# Two commands on a fresh machine: `make run` (install, build the index, start the app) and
# `make test` (install, run the tests). Everything installs into .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: install index run test lint eval coverage bench ci clean

$(BIN)/kb: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# Pinned: an unpinned torch (pulled in by sentence-transformers) is the multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/kb

install: $(BIN)/kb

index: install
	$(BIN)/kb build

run: index
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

test: install
	HF_HUB_OFFLINE=1 $(BIN)/pytest

lint: install
	$(BIN)/ruff check kb app.py tests benchmarks
	$(BIN)/kb lint --strict articles/

coverage: install
	$(BIN)/kb coverage --check

eval: index
	$(BIN)/kb eval eval/queries.jsonl --min-hit1 0.85 --min-hit3 0.95

bench: index
	$(BIN)/kb bench > BENCHMARKS.generated.md

ci: test lint coverage eval

clean:
	rm -rf .kb-index .pytest_cache
