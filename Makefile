# Two commands set everything up on a fresh machine:
#   make demo   the main job: sandbox + `meltano run tap-callrecords target-jsonl`, counts per stream
#   make test   lint, type check and the whole test suite (Meltano end to end included,
#               into target-jsonl, and into target-postgres (a throwaway PostgreSQL server)
#               and target-csv, each plain, flattened and with BATCH messages)
PYTHON ?= python3
VENV := .venv
MELTANO_VENV := .venv-meltano

.PHONY: setup postgres test demo bench lint clean

setup: $(VENV)/.installed $(MELTANO_VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $@

$(MELTANO_VENV)/.installed:
	$(PYTHON) -m venv $(MELTANO_VENV)
	$(MELTANO_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MELTANO_VENV)/bin/python -m pip install --quiet 'meltano>=4,<5'
	touch $@

# PostgreSQL's server binaries for tests/test_postgres.py: Debian's postgresql package when
# none is found under /usr/lib/postgresql/*/bin (DRY_RUN=1 prints what it would run).
postgres:
	bash scripts/ensure-postgres.sh

lint: setup
	$(VENV)/bin/ruff check tap_callrecords tests bench scripts
	$(VENV)/bin/mypy tap_callrecords

# Four workers on two cores: most of a test is waiting (sandbox latency, Retry-After, a
# subprocess starting), so the waits overlap. The modules that install into, or run Meltano
# in, this checkout's own Meltano project (.meltano/) run afterwards, one test at a time.
TEST_WORKERS ?= 4
CHECKOUT_MELTANO_TESTS := tests/test_meltano.py tests/test_postgres.py tests/test_targets.py

test: lint postgres
	MELTANO=$(CURDIR)/$(MELTANO_VENV)/bin/meltano $(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) \
		$(foreach t,$(CHECKOUT_MELTANO_TESTS),--ignore=$(t))
	MELTANO=$(CURDIR)/$(MELTANO_VENV)/bin/meltano $(VENV)/bin/python -m pytest -q $(CHECKOUT_MELTANO_TESTS)

demo: setup
	MELTANO=$(CURDIR)/$(MELTANO_VENV)/bin/meltano $(VENV)/bin/python scripts/demo.py

bench: setup
	$(VENV)/bin/python bench/benchmark.py --records 1000000 --baseline-records 200000 --call-records-records 300000 --repeat 5 --latency-table

clean:
	rm -rf $(VENV) $(MELTANO_VENV) .meltano output
