"""The build's own checks: a machine without Java or Maven gets told what to install."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_setup_names_missing_java_and_maven(tmp_path):
    # A PATH with this Python only: no java, no mvn.
    (tmp_path / "python").symlink_to(sys.executable)
    run = subprocess.run([str(tmp_path / "python"), "setup.py", "build_py"], cwd=ROOT,
                         env=dict(os.environ, PATH=str(tmp_path)), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode != 0
    assert "knit needs java and mvn" in run.stderr
    assert "openjdk-17-jdk maven" in run.stderr
