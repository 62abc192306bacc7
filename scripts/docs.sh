#!/usr/bin/env bash
# The docs site: installs docs/requirements.txt into .venv, then builds docs/ (markdown
# pages, API reference from the docstrings, CLI reference from click) into build/docs/
# with warnings as errors. Open build/docs/index.html.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The API reference imports knit and knit.dask: it needs the venv setup.sh makes.
[ -x .venv/bin/python ] || source scripts/setup.sh
.venv/bin/python -m pip install -q -r docs/requirements.txt
out=build/docs
# A full build each time: an incremental one would not re-read docstrings that changed,
# nor repeat the warnings of pages it skips.
rm -rf "$out"
.venv/bin/python -m sphinx -W --keep-going -q -b html docs "$out"
echo "docs site: $out/index.html"
