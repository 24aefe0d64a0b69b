# Two commands do everything on a fresh machine with Python 3.11 and make:
#   make run    the daily DAG once (airflow dags test) on the sample posts, then a report
#   make test   the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON      ?= python3.11
VENV        := .venv
PY          := $(VENV)/bin/python
NEWS_ETL    := $(VENV)/bin/news-etl
ROOT        := $(abspath .)
export AIRFLOW_HOME                          ?= $(ROOT)/airflow_home
export AIRFLOW__CORE__DAGS_FOLDER            := $(ROOT)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER         := $(ROOT)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES          := False
export AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX  := regexp
export PYTHONWARNINGS                        ?= ignore:GitWildMatchPattern:DeprecationWarning
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN   ?= sqlite:///$(AIRFLOW_HOME)/airflow.db
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := False
export AIRFLOW_CONN_NEWS_WAREHOUSE           ?= {"conn_type": "duckdb", "host": "$(ROOT)/data/warehouse.duckdb"}
export NEWS_ETL_PUBLISHED                    ?= $(ROOT)/data/published/warehouse.duckdb
export NEWS_ETL_STAGING                      ?= $(ROOT)/data/staging
export GX_ANALYTICS_ENABLED                  := False
export NO_ALBUMENTATIONS_UPDATE              := 1

# The site day (Asia/Shanghai) the one-off run loads, yesterday by default: its run starts at 00:30
# site time the next day, as the scheduled run of that day does (FROM/TO of make backfill name days so too).
DAY ?= $(shell TZ=Asia/Shanghai date -d yesterday +%Y-%m-%d)
RUN_AT = $(shell date -d "$(DAY) + 1 day" +%Y-%m-%d)T00:30:00+08:00

.PHONY: help run test lint selftest bench bench-dlt-venv airflow-init venv lock clean report sql airflow airflow-stop backfill
help:
	@echo "make run [DAY=2026-11-25]   run the daily DAG once for a site day (yesterday) on the sample posts into data/warehouse.duckdb, then print a report"
	@echo "make test   run the whole test suite"
	@echo "make lint   ruff (check and format), mypy and the floor plan: the gates CI runs before the tests"
	@echo "make bench  benchmark on synthetic sites of 10,000 and 100,000 posts (POSTS=, BIG=, DAYS=30 daily runs; HUGE=1000000 adds a run for RSS growth)"
	@echo "make selftest  the fault and hostile-input suites, with a table of what was tried"
	@echo "make lock   re-pin requirements.lock from requirements.in"
	@echo "make airflow       local Airflow (api-server, scheduler, dag-processor, triggerer; SQLite) on http://127.0.0.1:\$$AIRFLOW_PORT (8080); Ctrl-C stops it"
	@echo "make airflow-stop  stop a local Airflow started by make airflow"
	@echo "make backfill FROM=2026-11-21 TO=2026-11-25 [DRY_RUN=1]   one run per site day (Asia/Shanghai), in turn, by make airflow's scheduler"
	@echo "make report NAME=<report> [PARAMS='start=2026-11-23 end=2026-11-25']   print a report of the published snapshot (no NAME: list them)"
	@echo "make sql    the DuckDB CLI on the published snapshot (read-only; echo 'SELECT 1;' | make sql works too)"

# The pinned set, then this project itself, editable: the console script news-etl, no PYTHONPATH.
$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

venv: $(VENV)/.installed

# An Airflow home inside the project: SQLite metadata, no examples, the writer pool.
$(AIRFLOW_HOME)/.initialised: $(VENV)/.installed
	@mkdir -p $(AIRFLOW_HOME)
	$(VENV)/bin/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || (cat $(AIRFLOW_HOME)/db-migrate.log; exit 1)
	$(VENV)/bin/airflow pools set duckdb_writer 1 "DuckDB allows one writing process: loads and publishes run one at a time" > /dev/null
	@touch $@

airflow-init: $(AIRFLOW_HOME)/.initialised

# (no deadline alert in a one-off test run: Airflow 3.3's dags test fails on one, apache/airflow#73428)
run: airflow-init
	@echo "make run: site day $(DAY) (Asia/Shanghai), the run of $(RUN_AT)"
	NEWS_ETL_RUN_DEADLINE_MINUTES=0 $(VENV)/bin/airflow dags test news_etl_daily $(RUN_AT)
	$(NEWS_ETL) summary --warehouse $(NEWS_ETL_PUBLISHED)

test: venv
	$(PY) -m pytest

# The gates CI runs before the tests: ruff (lint and format) on everything, mypy on the package,
# and the floor plan (packages along the data flow, no import cycle or upstream import: docs/design.md).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff check --select AIR --preview .   # Airflow 3's own rules (public APIs, TaskFlow idioms)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m devtools.floor_plan
	@# no function above cyclomatic complexity 20 (radon's D and worse)
	@! $(VENV)/bin/radon cc --min D --show-complexity plugins dags scripts devtools | grep . || { echo 'make lint: the functions above lie above complexity 20'; exit 1; }

# Local Airflow: its parts as child processes (scripts/airflow_local.py); Ctrl-C or make airflow-stop ends them all.
airflow: venv
	$(PY) scripts/airflow_local.py up

airflow-stop:
	$(PY) scripts/airflow_local.py stop

# Site days FROM..TO (YYYY-MM-DD, Asia/Shanghai): one run each, oldest first, one at a time
# (--max-active-runs 1); the scheduler of make airflow runs them. DRY_RUN=1 lists them.
FROM ?=
TO   ?=
backfill: venv
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make backfill FROM=2026-11-21 TO=2026-11-25 [DRY_RUN=1]"; exit 2; }
	$(PY) scripts/airflow_local.py backfill $(FROM) $(TO) $(if $(DRY_RUN),--dry-run)

POSTS ?= 10000
BIG   ?= 100000
HUGE  ?=
DAYS  ?= 3
# dlt does not share Airflow's pins: it gets a virtualenv of its own, for the load comparison only.
.venv-dlt/.installed:
	$(PYTHON) -m venv .venv-dlt
	.venv-dlt/bin/pip install --quiet "dlt[duckdb]==1.31.0" "pyarrow==26.0.1"
	@touch $@

bench-dlt-venv: .venv-dlt/.installed

bench: airflow-init bench-dlt-venv
	NEWS_ETL_RUN_DEADLINE_MINUTES=0 $(PY) -m devtools.bench --posts $(POSTS) --big $(BIG) --days $(DAYS) $(if $(HUGE),--huge $(HUGE)) --dag --json docs/bench.json

# The fault and hostile-input suites, with a table of what was tried (docs/reliability.md).
selftest: venv
	$(PY) -m devtools.selftest

# The lock is compiled by a real resolver (uv, in a throwaway virtualenv) from requirements.in, for
# every Python 3.11.x: each package pinned, with what pulled it in; versions already locked are kept
# unless requirements.in asks for others. Review the diff, then make test.
UV_VERSION := 0.13.8
lock:
	rm -rf /tmp/news-etl-lock && $(PYTHON) -m venv /tmp/news-etl-lock
	/tmp/news-etl-lock/bin/pip install --quiet uv==$(UV_VERSION)
	/tmp/news-etl-lock/bin/uv pip compile requirements.in --python-version 3.11 --quiet \
	  --custom-compile-command "make lock" -o requirements.lock

# Reports and the SQL shell read the published snapshot (never the writer's file).
NAME   ?=
PARAMS ?=
report: venv
	$(NEWS_ETL) report $(NAME) --warehouse $(NEWS_ETL_PUBLISHED) $(foreach p,$(PARAMS),--param $(p))

# The official DuckDB CLI (duckdb-cli, pinned) on the snapshot, which is written in the 1.4 storage
# format 1.x clients read; sessions start in Asia/Shanghai (sql/client/init.sql). SQL on stdin runs too.
sql: venv
	@$(VENV)/bin/duckdb -readonly -init sql/client/init.sql $(NEWS_ETL_PUBLISHED)

clean:
	rm -rf $(AIRFLOW_HOME) data/warehouse.duckdb* data/published data/staging
