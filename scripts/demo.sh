#!/usr/bin/env bash
# The main job end to end on the embedded cluster (see README.md).
source "$(dirname "$0")/bootstrap.sh"
exec .venv/bin/knit demo "$@"
