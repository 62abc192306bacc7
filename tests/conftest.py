"""Shared fixtures: one real embedded cluster for the session.

Under CI=true a missing Java, missing build or a cluster that will not start fails the
tests that need it; elsewhere they are skipped with the reason.
"""
from __future__ import annotations


import pytest

from helpers import PROXY_USERS, started
from knit import MiniCluster

@pytest.fixture(scope="session")
def minicluster():
    """One 2-NodeManager MiniCluster shared by the tests of a session (its user may act as
    alice and bob: the proxy-user and gateway tests)."""
    cluster = started(MiniCluster(nodemanagers=2, proxy_users=PROXY_USERS))
    yield cluster
    cluster.stop()


# ---------------------------------------------------------------- diagnostics
_AM_LOG_TAIL_LINES = 120
_AM_LOG_FILES = ("stderr", "stdout", "prelaunch.err")


def _am_logs_since(work_dir: str, since: float) -> str:
    """The tails of the ApplicationMaster logs (container ..._000001 of every attempt) that
    changed since `since`, under a MiniCluster's work dir: what a failed test's AM did.
    (Its log files alone: the same container's dir under the NodeManager's local dirs
    holds its jar and launch script.)"""
    from pathlib import Path
    parts = []
    for am_dir in sorted(Path(work_dir).glob("**/application_*/container_*_000001")):
        for f in sorted(am_dir.iterdir()):
            try:
                if f.name not in _AM_LOG_FILES or not f.is_file() or f.stat().st_mtime < since:
                    continue
                lines = f.read_text(errors="replace").splitlines()[-_AM_LOG_TAIL_LINES:]
            except OSError:
                continue
            parts.append(f"==> {am_dir.name}/{f.name} <==\n" + "\n".join(lines))
    return "\n".join(parts)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test on an embedded cluster reports its AMs' logs (the cluster, and with it
    the logs, is gone when a CI run ends)."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, MiniCluster) and value.work_dir:
            logs = _am_logs_since(value.work_dir, call.start)
            if logs:
                report.sections.append(("ApplicationMaster logs", logs))


def pytest_collection_modifyitems(config, items):
    """A module named ``*_unit.py`` holds unit tests only (the name promises what
    ``pytest -m unit`` picks)."""
    wrong = [item.nodeid for item in items
             if item.path.stem.endswith("_unit") and item.get_closest_marker("unit") is None]
    if wrong:
        raise pytest.UsageError(f"tests in *_unit.py modules must be marked unit: {wrong}")
