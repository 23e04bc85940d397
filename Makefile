# Vínculo: `make run` starts a demo on http://$(HOST):$(PORT); `make test` runs the whole suite.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# pip's notes about this machine's extra package indexes are noise, not news.
PIP_QUIET := 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
HOST ?= 127.0.0.1
PORT ?= 8000
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_CONTACTS ?= 2000

# Pick the first interpreter that really runs and is >= 3.12. pyenv shims exist but fail
# unless their version is selected, so each candidate is executed, not just looked up.
define find_python
for c in "$(PYTHON)" python3.13 python3.12 python3; do \
  [ -n "$$c" ] || continue; \
  if "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then echo "$$c"; exit 0; fi; \
done; \
if command -v pyenv >/dev/null 2>&1; then \
  for v in $$(ls "$$(pyenv root)/versions" 2>/dev/null | sort -rV); do \
    p="$$(pyenv root)/versions/$$v/bin/python3"; \
    if [ -x "$$p" ] && "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then echo "$$p"; exit 0; fi; \
  done; \
fi; \
echo "no Python >= 3.12 found; set PYTHON=/path/to/python3.12" >&2; exit 1
endef

.PHONY: run test venv assets lint typecheck clean-venv

$(BIN)/python:
	@py="$$($(find_python))" && echo "Creating $(VENV) with $$py" && "$$py" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip $(PIP_QUIET)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e . $(PIP_QUIET)
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]' $(PIP_QUIET)
	@touch $@

venv: $(VENV)/.installed

# Front-end assets come from npm (package-lock.json) and are copied into the package's
# static folder; nothing is fetched at run time.
assets: src/vinculo/web/static/vendor/.built

src/vinculo/web/static/vendor/.built: package.json package-lock.json scripts/build_assets.mjs
	npm ci --no-audit --no-fund --loglevel=error
	node scripts/build_assets.mjs
	@touch $@

run: venv assets
	$(BIN)/vinculo migrate
	$(BIN)/vinculo demo --workspace demo --contacts $(DEMO_CONTACTS) --seed 1 --if-absent
	HOST=$(HOST) PORT=$(PORT) $(BIN)/vinculo serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test assets
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -n 2 -p no:cacheprovider
	@if [ "$$CI" = "true" ] || [ -n "$$VINCULO_TEST_POSTGRES" ]; then \
	  echo "== PostgreSQL run =="; \
	  VINCULO_TEST_DB=postgres $(BIN)/pytest -n 2 -p no:cacheprovider -m "not browser"; \
	fi

lint:
	$(BIN)/ruff check src tests bench && $(BIN)/ruff format --check src tests bench

typecheck:
	$(BIN)/mypy

clean-venv:
	rm -rf $(VENV)
