#!/usr/bin/env bash
# The whole test suite: lint (ruff, configured in pyproject.toml), the docs site (warnings
# as errors), Scala unit tests, then pytest against the embedded cluster.
source "$(dirname "$0")/bootstrap.sh"
.venv/bin/python -m ruff check knit tests benchmarks examples setup.py
bash scripts/docs.sh      # the docs site, warnings as errors
mvn -q -B test
exec .venv/bin/python -m pytest "$@"
