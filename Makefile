# The two commands of the README. Each creates .venv and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres
# `make serve PORT=8080 HOST=0.0.0.0`
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test lint schema bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/chrgraph migrate
	$(BIN)/chrgraph demo
	$(BIN)/chrgraph serve --host $(HOST) --port $(PORT)

# SQLite always; PostgreSQL too when it answers (CHRGRAPH_TEST_PG_URL names the server).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy chrgraph
	$(BIN)/pytest -q
	@if $(BIN)/python -m tests.pg_available; then \
		echo "== PostgreSQL run =="; \
		CHRGRAPH_TEST_DB=postgres $(BIN)/pytest -q; \
	else echo "PostgreSQL not reachable: SQLite run only"; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

schema: $(STAMP)
	$(BIN)/python -m chrgraph.schema.export > schema.graphql

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) chrgraph.db chrgraph.db-*
