"""Dask on YARN: :class:`YarnCluster`, whose scheduler asks knit for worker containers."""
from .cluster import WorkersCannotConnectError, YarnCluster

__all__ = ["YarnCluster", "WorkersCannotConnectError"]
