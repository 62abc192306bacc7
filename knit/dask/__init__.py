"""Dask on YARN: :class:`YarnCluster`, whose scheduler asks knit for worker containers."""
from .cluster import YarnCluster

__all__ = ["YarnCluster"]
