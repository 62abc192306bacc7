#!/usr/bin/env bash
# The main job end to end on the embedded cluster (see README.md).
source "$(dirname "$0")/setup.sh"  # knit and what the demo needs, nothing for the tests
exec .venv/bin/knit demo "$@"
