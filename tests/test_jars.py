"""The jars knit pins (knit/_jarlock.py): taken from its cache, a local Maven repository or
a Maven repository over HTTP, always checked against the pinned sha256."""
from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import threading
from pathlib import Path

import pytest

from helpers import require_java
from knit import _jarlock, java

#: Two small jars every cluster lock pins.
WANTED = ("junit/junit/", "org/hamcrest/hamcrest-core/")


@pytest.fixture
def small_lock(tmp_path, monkeypatch) -> tuple[Path, list[dict], Path]:
    """A lock of two jars, a local Maven repository holding them, and an empty cache."""
    require_java()
    jars = [j for j in _jarlock.read_lock(java.JAVA_LIBS / "cluster-3.5.0.lock.json")
            if j["path"].startswith(WANTED)]
    assert len(jars) == 2
    repo = tmp_path / "repo"
    for jar in jars:  # the real jars, from knit's cache (fetched or linked there already)
        source = next(Path(p) for p in java.cluster_classpath() if p.endswith(jar["path"]))
        (repo / jar["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, repo / jar["path"])
    lock = tmp_path / "small.lock.json"
    lock.write_text(json.dumps({"jars": jars}))
    monkeypatch.setenv("KNIT_JAR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KNIT_MAVEN_LOCAL_REPO", str(tmp_path / "no-local-repo"))
    return lock, jars, repo


@pytest.fixture
def serve(tmp_path):
    """Serves a directory over HTTP, like a Maven repository; yields a function that
    starts it and returns its URL."""
    servers = []

    def start(root: Path) -> str:
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass
        handler = functools.partial(Quiet, directory=str(root))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_jars_are_fetched_checked_and_cached(small_lock, serve, monkeypatch):
    lock, jars, repo = small_lock
    monkeypatch.setenv("KNIT_MAVEN_REPOSITORY", serve(repo))
    paths = _jarlock.resolve(lock, "two test jars")
    for path, jar in zip(paths, jars):
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == jar["sha256"]
        assert path.startswith(str(_jarlock.cache_dir()))
    # Cached: with the repository gone, they are still there.
    monkeypatch.setenv("KNIT_MAVEN_REPOSITORY", "http://127.0.0.1:9")
    assert _jarlock.resolve(lock, "two test jars") == paths


def test_a_jar_whose_checksum_differs_is_refused(small_lock, serve, monkeypatch):
    lock, jars, repo = small_lock
    tampered = repo / jars[0]["path"]
    tampered.write_bytes(tampered.read_bytes() + b"\0")
    monkeypatch.setenv("KNIT_MAVEN_REPOSITORY", serve(repo))
    with pytest.raises(_jarlock.FetchError, match="does not have the checksum"):
        _jarlock.resolve(lock, "two test jars")
    assert not (_jarlock.cache_dir() / jars[0]["path"]).exists()  # nothing half-trusted


def test_offline_the_error_names_what_is_missing_and_how_to_get_it(small_lock, monkeypatch):
    lock, jars, _ = small_lock
    monkeypatch.setenv("KNIT_MAVEN_REPOSITORY", "http://127.0.0.1:9")  # nothing listens
    with pytest.raises(_jarlock.FetchError) as caught:
        _jarlock.resolve(lock, "two test jars")
    message = str(caught.value)
    assert "knit needs two test jars: 2 jars" in message and jars[0]["path"] in message
    assert "KNIT_MAVEN_REPOSITORY" in message and "knit fetch-jars" in message


def test_a_local_maven_repository_that_holds_them_is_used(small_lock, monkeypatch):
    lock, jars, repo = small_lock
    monkeypatch.setenv("KNIT_MAVEN_LOCAL_REPO", str(repo))
    monkeypatch.setenv("KNIT_MAVEN_REPOSITORY", "http://127.0.0.1:9")  # never asked
    paths = _jarlock.resolve(lock, "two test jars")
    assert all(Path(p).is_file() for p in paths)


def test_knit_fetch_jars_fills_the_cache(tmp_path):
    """`knit fetch-jars`, to prepare a machine that will be offline (here from the local
    Maven repository, which holds them)."""
    import os
    import subprocess
    import sys
    require_java()
    env = dict(os.environ, KNIT_JAR_CACHE=str(tmp_path / "cache"),
               KNIT_MAVEN_REPOSITORY="http://127.0.0.1:9")
    run = subprocess.run([sys.executable, "-m", "knit", "fetch-jars", "--hadoop", "3.4.2"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    wanted = {j["path"] for name in ("client", "cluster-3.4.2")
              for j in _jarlock.read_lock(java.JAVA_LIBS / f"{name}.lock.json")}
    assert run.stdout.strip() == f"{len(wanted)} jars in {tmp_path / 'cache'}"
    assert all((tmp_path / "cache" / p).is_file() for p in wanted)
