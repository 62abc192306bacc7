"""The build's own checks: a machine without Java or Maven gets told what to install."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import ON_CI

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.unit
def test_setup_names_missing_java_and_maven(tmp_path):
    # A PATH with this Python only: no java, no mvn.
    (tmp_path / "python").symlink_to(sys.executable)
    run = subprocess.run([str(tmp_path / "python"), "setup.py", "build_py"], cwd=ROOT,
                         env=dict(os.environ, PATH=str(tmp_path)), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode != 0
    assert "knit needs java and mvn" in run.stderr
    assert "openjdk-17-jdk maven" in run.stderr


def class_versions(jar: Path) -> dict[str, int]:
    """Class file major version of every class in a jar (52 = Java 8, 61 = Java 17)."""
    import struct
    import zipfile
    with zipfile.ZipFile(jar) as z:
        return {n: struct.unpack(">H", z.read(n)[6:8])[0]
                for n in z.namelist() if n.endswith(".class")}


def test_what_runs_on_the_cluster_is_java_8_bytecode():
    from helpers import require_java
    from knit import java
    require_java()
    versions = class_versions(java.knit_jar())
    cluster_side = {n: v for n, v in versions.items()
                    if n.startswith(("knit/am/", "knit/container/"))}
    assert len(cluster_side) > 20
    assert {v for v in cluster_side.values()} == {52}
    # Nothing in the jar (knit's classes and the shaded libraries) needs more than Java 8.
    newer = {n: v for n, v in versions.items() if v > 52}
    assert newer == {}


def test_knits_own_dependencies_are_relocated():
    """scala-library, py4j and upickle (with ujson, upack and geny) live under knit/shaded/,
    so a cluster's own versions cannot clash with them."""
    import zipfile
    from helpers import require_java
    from knit import java
    require_java()
    with zipfile.ZipFile(java.knit_jar()) as z:
        tops = {n.split("/")[0] for n in z.namelist() if n.endswith(".class")}
        names = z.namelist()
    assert tops == {"knit"}
    for lib in ("scala", "py4j", "upickle", "ujson", "upack", "geny"):
        assert any(n.startswith(f"knit/shaded/{lib}/") for n in names), lib


def test_the_unit_tests_run_in_seconds_without_java_or_maven(tmp_path):
    """`pytest -m unit` is the quick loop: Java's and Maven's homes hidden under empty
    mounts (`unshare -m`), every unit test passes, none skips, in well under a minute."""
    if shutil.which("unshare") is None:
        (pytest.fail if ON_CI else pytest.skip)("needs unshare (util-linux)")
    hide = " && ".join(f"mount -t tmpfs none {d}" for d in ("/usr/lib/jvm", "/usr/share/maven")
                       if Path(d).is_dir())
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "CI")}
    started_at = time.monotonic()
    run = subprocess.run(
        ["unshare", "-m", "bash", "-c",
         f"{hide or 'true'} && ! command -v java && ! command -v mvn && exec \"$@\"", "_",
         sys.executable, "-m", "pytest", "-m", "unit", "-q", "-p", "no:cacheprovider",
         "-o", "addopts=--strict-markers", f"--junitxml={tmp_path / 'unit.xml'}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    took = time.monotonic() - started_at
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary = run.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary, summary
    assert took < 60, f"pytest -m unit took {took:.0f} s"
