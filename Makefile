# Two commands on a fresh machine: `make run` (install, build the index, start the app) and
# `make test` (install, run the tests). Everything installs into .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501
KB_MODE ?= staff
ADDRESS ?= 127.0.0.1

.PHONY: install index run serve test lint eval coverage bench train tune ci clean

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

# Staff mode on localhost by default (writers' view, ticket helpers). For customers:
# `make run KB_MODE=public ADDRESS=0.0.0.0` (set KB_STAFF_TOKEN to let staff unlock their tools).
# Other Streamlit settings come from .streamlit/config.toml.
run: index
	KB_MODE=$(KB_MODE) $(BIN)/streamlit run app.py --server.port $(PORT) \
		--server.address $(ADDRESS)

# The HTTP API and widget (`/docs`, `/demo`): `make serve API_PORT=8000 WORKERS=2`.
API_PORT ?= 8000
WORKERS ?= 1
serve: index
	$(BIN)/kb serve --host $(ADDRESS) --port $(API_PORT) --workers $(WORKERS)

test: install
	HF_HUB_OFFLINE=1 $(BIN)/pytest

lint: install
	$(BIN)/ruff check kb app.py tests benchmarks
	$(BIN)/kb lint --strict articles/

coverage: install
	$(BIN)/kb coverage --check

# Floors per language, a little under the measured figures (BENCHMARKS.md): the real test split
# (never trained on), the authored held-out split, and out-of-scope texts.
eval: index
	$(BIN)/kb eval eval/real.jsonl --split test --min-hit1 0.80 --min-hit3 0.94 \
		--min-confident 0.70 --min-right-when-confident 0.88 \
		--no-match eval/no_match.txt --no-match eval/out_of_scope.jsonl --max-out-of-scope 0.1
	$(BIN)/kb eval eval/queries.jsonl --split heldout --min-hit1 0.8 --min-hit3 0.9

bench: index
	$(BIN)/kb bench --queries eval/real.jsonl --synthetic 100000 --reuse-vectors > BENCHMARKS.generated.md

# Refit the learned ranker after changing articles, encoders or the training data.
train: index
	$(BIN)/kb train

# Re-tune e5's query side (models/e5-query.npz, ~20 min on 2 cores), then rebuild and refit:
# the index and the ranker record the tuning file's digest.
tune: index
	$(BIN)/kb tune
	$(BIN)/kb build
	$(BIN)/kb train

ci: test lint coverage eval

clean:
	rm -rf .kb-index .pytest_cache
