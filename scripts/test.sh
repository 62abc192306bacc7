#!/usr/bin/env bash
# The whole test suite: lint (ruff, configured in pyproject.toml), Scala unit tests, then
# pytest against the embedded cluster.
source "$(dirname "$0")/bootstrap.sh"
.venv/bin/python -m ruff check knit tests benchmarks examples setup.py
mvn -q -B test
exec .venv/bin/python -m pytest "$@"
