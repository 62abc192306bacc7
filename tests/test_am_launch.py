"""knit-am.sh, the AM's launch script, run with a stand-in `java` that records its calls:
which JVM options it passes on each Java, where the class-data archive goes, its modes.

The real JVMs and archives are in test_compat.py (Java 11 and 17).
"""
from __future__ import annotations

import os
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from helpers import require_java
from knit import java

MAIN = "knit.am.ApplicationMasterMain"
# Records its arguments; `-Xshare:dump` writes the archive the way a JVM does.
FAKE_JAVA = """#!/bin/bash
printf '%s\\n' "$*" >> "$CALLS"
printf '%s\\n' "$CLASSPATH" >> "${CALLS%/*}/classpath"
for a in "$@"; do
  case $a in
    -XX:DumpLoadedClassList=*) echo java/lang/Object > "${a#*=}" ;;
    -XX:SharedArchiveFile=*) archive=${a#*=} ;;
    -Xshare:dump) dump=1 ;;
  esac
done
if [ -n "${dump:-}" ]; then echo archive > "$archive"; fi
exit "${FAKE_STATUS:-0}"
"""


@pytest.fixture
def node(tmp_path):
    """A NodeManager's layout for one container of user u, and a fake Java home."""
    require_java()
    with zipfile.ZipFile(java.knit_jar()) as jar:
        script = jar.read("knit/am-launch.sh")
    cache_jar = tmp_path / "local/usercache/u/filecache/10/knit.jar"
    container = tmp_path / "local/usercache/u/appcache/application_1_0001/container_1_0001_01_000001"
    logs = tmp_path / "logs/application_1_0001/container_1_0001_01_000001"
    for d in (cache_jar.parent, container / "tmp", logs):
        d.mkdir(parents=True)
    cache_jar.write_bytes(b"jar")
    (container / "knit.jar").symlink_to(cache_jar)
    (container / "knit-am.sh").write_bytes(script)
    java_home = tmp_path / "jdk"
    (java_home / "bin").mkdir(parents=True)
    (java_home / "bin/java").write_text(FAKE_JAVA)
    (java_home / "bin/java").chmod(0o755)
    return {"container": container, "java_home": java_home, "logs": logs, "cache_jar": cache_jar,
            "archive_dir": tmp_path / "local/usercache/u/knit-cds", "calls": tmp_path / "calls"}


def launch(node, java_version: str, status: int = 0, **forced_env: str) -> list[str]:
    """Runs knit-am.sh as the NodeManager would; returns the stand-in java's calls."""
    (node["java_home"] / "release").write_text(f'JAVA_VERSION="{java_version}"\n')
    node["calls"].unlink(missing_ok=True)
    (node["calls"].parent / "classpath").unlink(missing_ok=True)
    c = node["container"]
    env = {"PATH": os.environ["PATH"], "JAVA_HOME": str(node["java_home"]),
           "CLASSPATH": f"{c}/knit.jar:/etc/hadoop/conf:/opt/hadoop/common/*:/opt/x.jar",
           "LOCAL_DIRS": f"{c.parent.parent}/application_1_0001",
           "LOG_DIRS": str(node["logs"]), "CALLS": str(node["calls"]),
           "FAKE_STATUS": str(status), **forced_env}
    run = subprocess.run(["/bin/bash", "knit-am.sh", MAIN, f"{node['java_home']}/bin/java",
                          "-Xmx128m"], cwd=c, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == status, run.stderr
    return node["calls"].read_text().splitlines()


@pytest.mark.parametrize("version", ["1.8.0_392", "11.0.13"])
def test_java_8_and_11_run_the_am_without_an_archive(node, version):
    assert launch(node, version) == [f"-Xmx128m {MAIN}"]
    assert launch(node, version) == [f"-Xmx128m {MAIN}"]  # and write none
    assert not node["archive_dir"].exists()


def test_the_first_am_writes_an_archive_the_next_ones_map(node):
    first = launch(node, "17.0.15")
    assert len(first) == 2
    assert first[0].startswith("-Xmx128m -XX:DumpLoadedClassList=") and first[0].endswith(MAIN)
    assert "-Xshare:dump" in first[1] and "-XX:SharedClassListFile=" in first[1]
    (archive,) = node["archive_dir"].glob("am-*.jsa")
    assert stat.S_IMODE(node["archive_dir"].stat().st_mode) == 0o700
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert (node["logs"] / "knit-am-cds.log").exists()

    second = launch(node, "17.0.15")
    assert second == [f"-Xmx128m -XX:SharedArchiveFile={archive} -Xshare:auto "
                      f"-Dknit.cds.archive={archive} {MAIN}"]


@pytest.mark.parametrize("value", ["off", "on:off"])
def test_an_administrator_turns_archives_off_in_the_forced_environment(node, value):
    # yarn.nodemanager.admin-env=KNIT_AM_CLASS_ARCHIVE=off; YARN appends to a value set before.
    assert launch(node, "17.0.15", KNIT_AM_CLASS_ARCHIVE=value) == [f"-Xmx128m {MAIN}"]
    assert not node["archive_dir"].exists()
    assert len(launch(node, "17.0.15", KNIT_AM_CLASS_ARCHIVE="on")) == 2  # only "off" does


def test_the_archive_records_the_jar_by_its_cached_path_and_directories_last(node):
    # The JVM compares the archive's paths as written; a non-empty directory before a jar in
    # use stops a dump.
    launch(node, "17.0.15")
    assert (node["calls"].parent / "classpath").read_text().splitlines() == [
        f"{node['cache_jar']}:/opt/hadoop/common/*:/opt/x.jar:/etc/hadoop/conf"] * 2


def test_a_failed_am_writes_no_archive(node):
    calls = launch(node, "17.0.15", status=1)
    assert len(calls) == 1
    assert not list(node["archive_dir"].glob("am-*"))


def test_an_archive_that_cannot_be_written_is_not_tried_again(node):
    node["archive_dir"].mkdir(mode=0o700)
    # A dump that fails: the stand-in exits 1 only for -Xshare:dump.
    fake = node["java_home"] / "bin/java"
    fake.write_text(FAKE_JAVA.replace('if [ -n "${dump:-}" ]; then echo archive > "$archive"; fi',
                                      'if [ -n "${dump:-}" ]; then exit 1; fi'))
    assert len(launch(node, "17.0.15")) == 2
    (refused,) = node["archive_dir"].glob("am-*.jsa.refused")
    assert not list(node["archive_dir"].glob("*.partial"))
    assert launch(node, "17.0.15") == [f"-Xmx128m {MAIN}"]
    assert refused.exists()


def test_an_archive_dir_of_another_owner_is_not_used(node):
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    launch(node, "17.0.15")
    os.chown(node["archive_dir"], 4242, 4242)
    assert launch(node, "17.0.15") == [f"-Xmx128m {MAIN}"]


def _lock_for_the_archive_to_be(node) -> Path:
    """The `.writing` lock of the archive the next launch would write (its name from a run)."""
    launch(node, "17.0.15", status=1)  # a failed AM: no archive, the same classpath
    node["archive_dir"].mkdir(mode=0o700, exist_ok=True)
    # The archive's name: am-<key>.jsa, the key as the script computes it.
    key = subprocess.run(["bash", "-c", 'printf "%s\\n" "$0" "$1" | cksum | cut -d " " -f 1',
                          str(node["java_home"]), node_classpath(node)],
                         capture_output=True, text=True, check=True).stdout.strip()
    return node["archive_dir"] / f"am-{key}.jsa.writing"


def node_classpath(node) -> str:
    return (node["calls"].parent / "classpath").read_text().splitlines()[0]


def test_an_am_ending_while_another_writes_the_archive_writes_none(node):
    lock = _lock_for_the_archive_to_be(node)
    lock.mkdir()
    calls = launch(node, "17.0.15")
    assert len(calls) == 1 and "-Xshare:dump" not in calls[0]
    assert lock.is_dir() and not list(node["archive_dir"].glob("am-*.jsa"))


def test_a_lock_a_killed_writer_left_is_taken_over(node):
    lock = _lock_for_the_archive_to_be(node)
    lock.mkdir()
    old = lock.stat().st_mtime - 11 * 60
    os.utime(lock, (old, old))
    calls = launch(node, "17.0.15")
    assert len(calls) == 2 and "-Xshare:dump" in calls[1]
    assert (node["archive_dir"] / lock.name.removesuffix(".writing")).is_file()
    assert not lock.exists()


def test_the_writer_leaves_no_lock(node):
    launch(node, "17.0.15")
    assert list(node["archive_dir"].glob("am-*.jsa")) and not list(node["archive_dir"].glob("*.writing"))
