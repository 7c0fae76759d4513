# The README's commands. `make serve` starts the decision API; `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install serve test test-stress typecheck bench bench-api bench-sim bench-retention clean

$(STAMP): pyproject.toml editors/vscode/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@# the TextMate engine VS Code runs, for tests/engine/test_tmgrammar.py (node is optional)
	command -v npm >/dev/null && npm ci --prefix editors/vscode --no-audit --no-fund --silent \
		|| echo "warning: npm missing or failed: the editor grammar test will be skipped"
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/lexgate serve

test: $(STAMP)
	$(BIN)/ruff check engine api client tests bench
	$(BIN)/ruff format --check engine api client tests bench
	$(BIN)/mypy --strict engine client
	$(BIN)/lexgate check policies
	$(BIN)/lexgate fmt --check policies
	$(BIN)/lexgate test policies
	$(BIN)/pytest -q -n auto

# The kill -9 and reload-under-load tests, 5 times each, with every core kept busy (minutes).
test-stress: $(STAMP)
	LEXGATE_STRESS=1 $(BIN)/pytest -q tests/adversarial/test_under_stress.py

typecheck: $(STAMP)
	$(BIN)/mypy engine api

bench: $(STAMP)
	$(BIN)/python bench/gdpr_mini.py
	$(BIN)/python bench/full_bundle.py

bench-api: $(STAMP)
	$(BIN)/python bench/api_load.py

bench-sim: $(STAMP)
	$(BIN)/python bench/simulate_bench.py

bench-retention: $(STAMP)
	$(BIN)/python bench/retention_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
