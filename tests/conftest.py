"""Shared fixtures: one real embedded cluster for the session.

Under CI=true a missing Java, missing build or a cluster that will not start fails the
tests that need it; elsewhere they are skipped with the reason.
"""
from __future__ import annotations

import os

import pytest

from knit import KnitException, MiniCluster
from knit import java

ON_CI = os.environ.get("CI", "").lower() == "true"


def require_java() -> None:
    """Fail (CI) or skip (elsewhere) unless Java and knit's built jars are there."""
    try:
        java.find_java()
        java.knit_jar()
        java.cluster_classpath()
    except KnitException as e:
        (pytest.fail if ON_CI else pytest.skip)(f"needs Java and the JVM build: {e}")


@pytest.fixture(scope="session")
def minicluster():
    """One 2-NodeManager MiniCluster shared by the tests of a session."""
    require_java()
    cluster = MiniCluster(nodemanagers=2)
    try:
        cluster.start()
    except KnitException as e:
        (pytest.fail if ON_CI else pytest.skip)(f"the embedded cluster did not start: {e}")
    yield cluster
    cluster.stop()
