# The two commands of the README. Each creates .venv and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres
# `make serve PORT=8080 HOST=0.0.0.0`
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test test-stock lint schema release-schema bench clean admin screenshots

# constraints.txt pins the libraries whose internals the fast paths use (and the tools).
$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The admin client (admin/) and the bundled GraphiQL, built into the package's static
# folder. The stamp is the built index.html: `make serve` rebuilds when a source changed.
ADMIN_OUT := chrgraph/http/static/admin/index.html
ADMIN_SOURCES := $(shell find admin -path admin/node_modules -prune -o -path admin/src/gql -prune -o -type f ! -name "*.md" -print 2>/dev/null) schema.graphql

admin:
	cd admin && npm ci --no-audit --no-fund && npm run build

$(ADMIN_OUT): $(ADMIN_SOURCES)
	$(MAKE) admin

# The local demo server lets webhooks reach this machine (the README tour's receiver);
# `chrgraph serve` alone sends only to public https addresses.
serve: $(STAMP) $(ADMIN_OUT)
	$(BIN)/chrgraph migrate
	$(BIN)/chrgraph demo
	CHRGRAPH_WEBHOOK_ALLOWED_HOSTS=$${CHRGRAPH_WEBHOOK_ALLOWED_HOSTS:-127.0.0.1} $(BIN)/chrgraph serve --host $(HOST) --port $(PORT)

# SQLite always (everything), then the GraphQL tests again with the fast paths off;
# PostgreSQL too when it answers (CHRGRAPH_TEST_PG_URL names the server), without the
# CLI, browser and docs tests, which run once, on SQLite.
test: $(STAMP) $(ADMIN_OUT)
	$(BIN)/ruff check .
	$(BIN)/mypy chrgraph
	$(BIN)/lint-imports
	$(BIN)/pytest -q
	cd admin && (test -d node_modules || npm ci --no-audit --no-fund) && npx vitest run
	$(MAKE) test-stock
	@if $(BIN)/python -m tests.pg_available; then \
		echo "== PostgreSQL run =="; \
		CHRGRAPH_TEST_DB=postgres $(BIN)/pytest -q -m "not cli and not browser and not docs"; \
	else echo "PostgreSQL not reachable: SQLite run only"; fi

# The stock paths of strawberry, graphql-core, Tortoise and OpenTelemetry answer as the
# fast paths do: the GraphQL tests once more, on SQLite, with CHRGRAPH_FAST_PATHS=off
# (CLI, multi-process, browser and docs tests run once, in the first pass).
test-stock: $(STAMP)
	CHRGRAPH_FAST_PATHS=off $(BIN)/pytest -q -m "not slow and not cli and not browser and not docs"

# The admin guide's pictures, taken by the browser tests themselves (docs/admin-guide.md).
screenshots: $(STAMP) $(ADMIN_OUT)
	CHRGRAPH_SCREENSHOTS=docs/admin-guide $(BIN)/pytest -q -m browser tests/browser

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

schema: $(STAMP)
	$(BIN)/python -m chrgraph.schema.export > schema.graphql

# At release time: the SDL of this version (chrgraph.__version__), committed under
# docs/schema/ as the baseline that later schemas must not break without a deprecation.
release-schema: $(STAMP)
	$(BIN)/python -m chrgraph.schema.export --release docs/schema

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) chrgraph.db chrgraph.db-*
