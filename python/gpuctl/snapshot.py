"""``take_snapshots``: every value of the devices and GPU processes at one
instant, as plain attributes (nvitop's ``DeviceSnapshot`` and
``GpuProcessSnapshot``), from one NVML and /proc pass.
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional, Sequence

from . import _state
from .device import Device

DEVICE_ATTRS = ("index", "name", "uuid", "bus_id", "vendor", "driver_version",
                "cuda_driver_version", "memory_total", "memory_used", "memory_free",
                "memory_percent", "gpu_utilization", "memory_utilization",
                "encoder_utilization", "decoder_utilization", "temperature", "fan_speed",
                "power_usage", "power_limit", "graphics_clock", "sm_clock", "memory_clock",
                "performance_state", "compute_mode", "persistence_mode", "display_active",
                "mig_mode", "status")
PROCESS_ATTRS = ("pid", "name", "username", "command", "status", "type", "gpu_memory",
                 "gpu_memory_percent", "gpu_sm_utilization", "gpu_memory_utilization",
                 "gpu_instance_id", "compute_instance_id", "cpu_percent", "host_memory",
                 "memory_percent", "create_time", "elapsed_time")


class Snapshot:
    """Values as attributes (``snap.memory_used``); ``real`` is the live object."""

    def __init__(self, real, attrs: Sequence[str]):
        self.real = real
        for name in attrs:
            v = getattr(real, name)
            setattr(self, name, v() if callable(v) else v)

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "real")
        return f"{type(self).__name__}({body})"


class DeviceSnapshot(Snapshot):
    pass


class GpuProcessSnapshot(Snapshot):
    pass


class SnapshotResult(NamedTuple):
    devices: List[DeviceSnapshot]
    gpu_processes: List[GpuProcessSnapshot]


def take_snapshots(devices: Optional[Sequence[Device]] = None, *,
                   gpu_processes: bool = True) -> SnapshotResult:
    """Snapshots of devices (default: every GPU) and of their GPU processes,
    all from one new pass."""
    snap = _state.refresh()
    if devices is None:
        devices = [Device._at(snap, p, pinned=True) for p in range(snap.device_count)]
    else:
        places = [snap.device_place(d.index) for d in devices]
        devices = [Device._at(snap, p, pinned=True) for p in places if p is not None]
    devs = [DeviceSnapshot(d, DEVICE_ATTRS) for d in devices]
    procs = []
    if gpu_processes:
        for d in devices:
            procs.extend(GpuProcessSnapshot(p, PROCESS_ATTRS) for p in d.processes().values())
    return SnapshotResult(devs, procs)


__all__ = ["take_snapshots", "SnapshotResult", "DeviceSnapshot", "GpuProcessSnapshot"]
