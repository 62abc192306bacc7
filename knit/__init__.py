"""knit: run Python and Dask on Hadoop YARN, from Python."""
from ._version import __version__
from .exceptions import (ApplicationMasterLostError, ApplicationStateError, ClusterCapacityError, ConfigurationError,
                         EnvironmentBuildError, InvalidArgumentError, JavaNotFoundError,
                         KerberosError, KnitException, KnitTimeoutError, MiniClusterError, MissingFileError,
                         MissingJarsError, PermissionDeniedError,
                         UnknownQueueError)
from .core import Knit
from .env import create_env
from .minicluster import MiniCluster


__all__ = ["Knit", "create_env", "MiniCluster", "KnitException", "ApplicationMasterLostError",
           "ApplicationStateError",
           "ClusterCapacityError", "ConfigurationError", "EnvironmentBuildError",
           "InvalidArgumentError", "JavaNotFoundError", "KerberosError", "KnitTimeoutError",
           "MiniClusterError", "PermissionDeniedError",
           "MissingFileError", "MissingJarsError",
           "UnknownQueueError"]
