# The two commands of the README: `make demo` and `make test`. Every target creates what it needs itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_HOME ?= var/demo

.PHONY: demo test test-sqlite test-pg bench-scale system-deps install install-dev lint typecheck check score clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

VENDOR := corridor/web/static/vendor/.stamp

# The dashboard's browser libraries (Leaflet, marker clustering) from the npm registry, pinned and checksummed.
$(VENDOR): scripts/vendor.sh
	bash scripts/vendor.sh

install: $(VENV)/.installed $(VENDOR)
install-dev: $(VENV)/.installed-dev $(VENDOR)

DEMO_SERVE ?= 1

# The main job on the bundled data, then (in an interactive terminal) the dashboard on http://127.0.0.1:8765
# until Ctrl-C. `make demo DEMO_SERVE=0`, or no terminal, stops after the job.
demo: install
	rm -rf $(DEMO_HOME)
	CORRIDOR_HOME=$(DEMO_HOME) $(BIN)/corridor demo
	@if [ -t 0 ] && [ "$(DEMO_SERVE)" = "1" ]; then \
		echo "serving the dashboard on http://127.0.0.1:8765 (Ctrl-C stops it)"; \
		CORRIDOR_HOME=$(DEMO_HOME) $(BIN)/corridor serve --port 8765; \
	else \
		echo "dashboard: CORRIDOR_HOME=$(DEMO_HOME) $(BIN)/corridor serve  ->  http://127.0.0.1:8765"; \
	fi

system-deps:
	bash scripts/system-deps.sh
	bash scripts/pg-deps.sh

PYTEST := $(BIN)/python -m pytest -q
NO_TESTS_OK := rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

# The suite twice: on SQLite, then on a throwaway PostgreSQL 15 + PostGIS cluster (scripts/pg-test-cluster.sh
# starts it and removes it; every test gets a database of its own; the browser tests run on SQLite only).
test: install-dev system-deps
	$(BIN)/ruff check corridor tests bench
	$(BIN)/mypy
	@echo "== the suite on SQLite"
	$(PYTEST); $(NO_TESTS_OK)
	@echo "== the suite on PostgreSQL + PostGIS"
	bash scripts/pg-test-cluster.sh $(PYTEST) --ignore=tests/ui; $(NO_TESTS_OK)

test-sqlite: install-dev system-deps
	$(PYTEST); $(NO_TESTS_OK)

test-pg: install-dev system-deps
	bash scripts/pg-test-cluster.sh $(PYTEST) --ignore=tests/ui; $(NO_TESTS_OK)

# The scale figures of docs/scale.md (slow: tens of minutes; not part of make test): back-fill, queue and the API
# under wrk, on a throwaway PostgreSQL cluster. BENCH_ARGS=... picks a section and sizes (bench/scale.py --help).
BENCH_ARGS ?= all
bench-scale: install-dev system-deps
	bash scripts/bench-deps.sh
	bash scripts/pg-test-cluster.sh $(BIN)/python bench/scale.py $(BENCH_ARGS)

lint: install-dev
	$(BIN)/ruff check corridor tests bench
	$(BIN)/ruff format --check corridor tests bench

typecheck: install-dev
	$(BIN)/mypy

check: lint typecheck test

score: install
	$(BIN)/python ../shared/tools/score_extraction.py --seeds ../shared/seeds --cmd "$(BIN)/corridor extract"

clean:
	rm -rf $(VENV) var build *.egg-info
