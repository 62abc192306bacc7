#!/usr/bin/env bash
# The whole test suite: Scala unit tests, then pytest against the embedded cluster.
source "$(dirname "$0")/bootstrap.sh"
mvn -q -B test
exec .venv/bin/python -m pytest "$@"
