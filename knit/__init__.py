"""knit: run Python and Dask on Hadoop YARN, from Python."""
from .exceptions import (ApplicationMasterLostError, ApplicationStateError, ClusterCapacityError, ConfigurationError,
                         EnvironmentBuildError, InvalidArgumentError, JavaNotFoundError,
                         KerberosError, KnitException, MiniClusterError, MissingFileError, UnknownQueueError)
from .core import Knit
from .env import create_env
from .minicluster import MiniCluster

__version__ = "0.1.0"

__all__ = ["Knit", "create_env", "MiniCluster", "KnitException", "ApplicationMasterLostError",
           "ApplicationStateError",
           "ClusterCapacityError", "ConfigurationError", "EnvironmentBuildError",
           "InvalidArgumentError", "JavaNotFoundError", "KerberosError", "MiniClusterError",
           "MissingFileError",
           "UnknownQueueError"]
