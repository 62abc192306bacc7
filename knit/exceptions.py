"""The exception family of knit: everything a user can cause raises one of these.

Catch :class:`KnitException` for all of them; the subclasses say what kind of thing went
wrong, so a caller can react to one kind (say, a missing file) and let others through.
"""
from __future__ import annotations


class KnitException(Exception):
    """Base class of the errors knit raises for things a user can cause or fix."""

    #: The YARN id of the application a failed ``start()`` had submitted (and then ended),
    #: so that its status and logs can still be read; None for other errors.
    app_id: str | None = None


class InvalidArgumentError(KnitException, ValueError):
    """An argument has the wrong type or value; the message says which and what is allowed."""


class MissingFileError(KnitException, FileNotFoundError):
    """A file or environment archive to ship does not exist."""


class ClusterCapacityError(KnitException):
    """The cluster can never run the request: no active node, or containers bigger than
    any node or than the scheduler's maximum."""


class UnknownQueueError(KnitException):
    """The YARN queue does not exist on this cluster."""


class ConfigurationError(KnitException):
    """No usable Hadoop configuration, or the cluster it names cannot be reached."""


class KnitTimeoutError(KnitException, TimeoutError):
    """Something did not happen in the time allowed (an application that does not end, an
    ApplicationMaster that does not register)."""


class PermissionDeniedError(KnitException, PermissionError):
    """HDFS or YARN refused the user (an ACL, a directory's mode)."""


class ApplicationStateError(KnitException):
    """The call does not fit the application's state: none started, one already
    running, or it has ended."""


class ApplicationMasterLostError(ApplicationStateError):
    """The ApplicationMaster stopped answering and no new attempt of it took over."""


class EnvironmentBuildError(KnitException):
    """create_env could not build or pack the environment (a tool or package missing)."""


class JavaNotFoundError(KnitException):
    """No usable ``java`` executable, or knit's JVM half was never built."""


class MissingJarsError(JavaNotFoundError):
    """Jars knit needs are not on this machine and cannot be fetched (offline, say): the
    message names them and how to get them."""


class MiniClusterError(KnitException):
    """The embedded cluster could not be started."""


class KerberosError(KnitException):
    """The cluster uses Kerberos and no usable credentials were found: run ``kinit`` or
    pass ``Knit(principal=..., keytab=...)``."""
