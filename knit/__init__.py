"""knit: run Python and Dask on Hadoop YARN, from Python."""
from .exceptions import JavaNotFoundError, KnitException, MiniClusterError
from .core import Knit
from .env import create_env
from .minicluster import MiniCluster

__version__ = "0.1.0"

__all__ = ["Knit", "create_env", "KnitException", "JavaNotFoundError", "MiniClusterError", "MiniCluster"]
