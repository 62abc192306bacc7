"""The exception family of knit: everything a user can cause raises one of these."""


class KnitException(Exception):
    """Base class of the errors knit raises for things a user can cause or fix."""


class JavaNotFoundError(KnitException):
    """No usable ``java`` executable, or knit's JVM half was never built."""


class MiniClusterError(KnitException):
    """The embedded cluster could not be started."""
