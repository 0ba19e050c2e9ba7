# The commands a person types. `make run` and `make test` create what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint fmt schema bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed | $(BIN)/promtool
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# promtool checks deploy/prometheus/ in the tests; fetched once from Debian's package, then kept.
$(BIN)/promtool: | $(BIN)/python
	scripts/install-promtool.sh $@

## run: the whole service (web, worker, beat, flower) on the embedded default
run: $(VENV)/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/run.sh

## test: the whole suite against the real PostgreSQL, RabbitMQ and Redis
test: $(VENV)/.installed-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/test.sh $(ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: the benchmarks of docs/benchmarks.md on the real PostgreSQL, RabbitMQ and Redis (ARGS="create --quick" …)
bench: $(VENV)/.installed-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench $(or $(ARGS),all)

## schema: regenerate the committed OpenAPI document
schema: $(VENV)/.installed
	NOTIFY_EMBEDDED=true $(BIN)/python manage.py spectacular --file docs/openapi.yaml --validate

clean:
	rm -rf var/
