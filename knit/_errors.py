"""The one boundary where errors of knit's JVMs become knit's exceptions.

Every call on the client JVM (knit.client_jvm.ClientJVM.call) and on an ApplicationMaster
(knit.am_gateway.AMGateway) goes through :func:`translate`: a Java exception is mapped by
its class to the KnitException family, and py4j's own errors (a JVM gone, a broken
connection) to KnitException, so no py4j error reaches a user.
"""
from __future__ import annotations

import re

from py4j.protocol import Py4JError, Py4JJavaError, Py4JNetworkError

from .exceptions import (ApplicationStateError, ClusterCapacityError, InvalidArgumentError,
                         KerberosError, KnitException, KnitTimeoutError, MissingFileError,
                         PermissionDeniedError)

#: Java exception classes (and their subclasses' own names) to knit's exceptions. The
#: first match of the class or one of its superclasses wins.
JAVA_TO_KNIT: dict[str, type[KnitException]] = {
    "java.lang.IllegalArgumentException": InvalidArgumentError,
    "knit.client.KerberosLoginException": KerberosError,
    "knit.client.CapacityException": ClusterCapacityError,
    "java.io.FileNotFoundException": MissingFileError,
    "java.util.concurrent.TimeoutException": KnitTimeoutError,
    "org.apache.hadoop.security.AccessControlException": PermissionDeniedError,
    "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException": ApplicationStateError,
    "java.lang.IllegalStateException": ApplicationStateError,
}


#: Hadoop's wording of a refused or timed-out connection (NetUtils.wrapException).
_UNREACHABLE = re.compile(r"Call From \S+ to (?P<address>\S+) failed on (?:connection|socket "
                          r"timeout) exception: [\w.]+: (?P<why>[^;]+)")


def java_class_chain(error: Py4JJavaError) -> list[str]:
    """The Java exception's class and its superclasses, by name (empty if the JVM is gone)."""
    names = []
    try:
        cls = error.java_exception.getClass()
        while cls is not None:
            names.append(str(cls.getName()))
            cls = cls.getSuperclass()
    except Exception:  # the gateway may be gone
        pass
    return names


def java_message(error: Py4JJavaError) -> str:
    """The Java exception's class and message, without the Py4J wrapping."""
    try:
        return str(error.java_exception.toString())
    except Exception:  # the gateway may be gone
        return str(error)


def connection_lost(error: Py4JError) -> bool:
    """Whether the call failed because the JVM stopped answering, not in Java.

    Besides Py4JNetworkError, py4j answers a call whose connection failed even on its one
    retry (the JVM died mid-call) with a bare Py4JError: no Java exception, no trace."""
    if isinstance(error, Py4JNetworkError):
        return True
    return not isinstance(error, Py4JJavaError) and "Trace:" not in str(error) and \
        str(error).startswith("An error occurred while calling")


def translate(error: Py4JError, what: str) -> KnitException:
    """The KnitException for a failed JVM call trying to `what` ("submit the
    application"); raise it `from` the py4j error."""
    if isinstance(error, Py4JJavaError):
        chain = java_class_chain(error)
        kind = next((JAVA_TO_KNIT[c] for c in chain if c in JAVA_TO_KNIT), KnitException)
        # A remote exception's message carries the server's stack: not for users.
        message = java_message(error).split("\n\tat ", 1)[0].strip()
        # The class name is noise for the errors whose kind says it all.
        if kind is not KnitException and ": " in message:
            message = message.split(": ", 1)[1]
        unreachable = _UNREACHABLE.search(message)
        if unreachable:  # Hadoop's NetUtils wording, with a wiki link: say it plainly
            message = f"nothing answers at {unreachable['address']} ({unreachable['why']})"
        return kind(f"Cannot {what}: {message}")
    if connection_lost(error):
        return KnitException(f"Cannot {what}: the JVM does not answer ({error})")
    return KnitException(f"Cannot {what}: {error}")
