"""gpuctl: GPUs, GPU processes and host figures of this machine, from Python.

nvitop's API (``Device``, ``GpuProcess``, ``HostProcess``, ``take_snapshots``,
``select_devices``, ``ResourceMetricCollector``) over libgpuctl through
ctypes; see docs/python.md for the mapping.  Unknown values are ``None``,
never 0.  Signals go through a pidfd bound to (pid, start time), so a reused
pid is never hit.
"""

from ._lib import (AccessDenied, GpuctlError, NoSuchProcess, StaleProcess, TimeoutExpired,
                   version)
from ._state import refresh, set_snapshot_max_age
from .collector import ResourceMetricCollector
from .device import Device, MigDevice
from .process import GpuProcess, HostProcess
from .select import parse_size, select_devices
from .snapshot import DeviceSnapshot, GpuProcessSnapshot, SnapshotResult, take_snapshots

__version__ = version()


def snapshot_json(details: bool = True, containers: bool = False) -> str:
    """The snapshot document of a new pass: the JSON ``gpuctl list --output json``
    prints for the same state."""
    from ._lib import JSON_CONTAINERS, JSON_DETAILS
    from ._state import handle
    flags = (JSON_DETAILS if details else 0) | (JSON_CONTAINERS if containers else 0)
    return handle().snapshot().json(flags)


__all__ = ["Device", "MigDevice", "GpuProcess", "HostProcess", "take_snapshots",
           "select_devices", "parse_size", "ResourceMetricCollector", "SnapshotResult",
           "DeviceSnapshot", "GpuProcessSnapshot", "GpuctlError", "NoSuchProcess",
           "StaleProcess", "AccessDenied", "TimeoutExpired", "refresh", "set_snapshot_max_age",
           "snapshot_json", "version"]
