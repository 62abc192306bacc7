"""knit: run Python and Dask on Hadoop YARN, from Python."""
from ._version import __version__
from .exceptions import (ApplicationMasterLostError, ApplicationStateError, ClusterCapacityError, ConfigurationError,
                         EnvironmentBuildError, InvalidArgumentError, JavaNotFoundError,
                         KerberosError, KnitException, KnitTimeoutError, MiniClusterError, MissingFileError,
                         MissingJarsError, PermissionDeniedError,
                         UnknownQueueError)
from .application import Application
from .cluster_client import ClusterClient
from .core import Knit, connect
from .env import create_env
from .messages import ApplicationReport, Container
from .minicluster import MiniCluster
from .spec import ApplicationSpec, RoleSpec


__all__ = ["__version__", "Knit", "ClusterClient", "Application", "ApplicationSpec", "RoleSpec", "connect", "create_env", "MiniCluster",
           "ApplicationReport", "Container", "KnitException", "ApplicationMasterLostError",
           "ApplicationStateError",
           "ClusterCapacityError", "ConfigurationError", "EnvironmentBuildError",
           "InvalidArgumentError", "JavaNotFoundError", "KerberosError", "KnitTimeoutError",
           "MiniClusterError", "PermissionDeniedError",
           "MissingFileError", "MissingJarsError",
           "UnknownQueueError"]
