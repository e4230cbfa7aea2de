"""``select_devices``: nvitop's nvisel as a function, over ``gpuctl_select``.

The rules are `gpuctl select`'s (docs/select.md): NVIDIA GPUs, or the MIG
devices of a GPU in MIG mode, checked against the constraints loosened by
the tolerance, best first, cut to the counts.
"""

from __future__ import annotations

import ctypes
import re
from typing import Iterable, Optional, Sequence, Union

from . import _state
from ._lib import SCOPE_DEVICE, SCOPE_MIG, SelectOptions, errbuf, error, lib

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1000, "kib": 1 << 10, "m": 1 << 20, "mb": 10 ** 6,
          "mib": 1 << 20, "g": 1 << 30, "gb": 10 ** 9, "gib": 1 << 30, "t": 1 << 40,
          "tb": 10 ** 12, "tib": 1 << 40}


def parse_size(value: Union[int, float, str]) -> int:
    """Bytes from 1073741824, "1GiB", "1.5 GB", "512MiB" (nvisel's spellings)."""
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"memory size {value}: must be 0 or more")
        return int(value)
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([a-zA-Z]*)\s*", value)
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"memory size {value!r}: expected a number of bytes or one with a "
                         "unit such as 10GiB")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _pct(name: str, value: Optional[float]) -> int:
    if value is None:
        return -1
    if not 0 <= value <= 100:
        raise ValueError(f"{name} {value}: must be a percentage from 0 to 100")
    return int(value)


def select_devices(devices: Optional[Sequence] = None, *, format: str = "index",
                   min_count: int = 0, max_count: Optional[int] = None,
                   min_free_memory: Union[int, str, None] = None,
                   min_total_memory: Union[int, str, None] = None,
                   max_gpu_utilization: Optional[float] = None,
                   max_memory_utilization: Optional[float] = None,
                   tolerance: int = 0, free_accounts: Optional[Iterable[str]] = None,
                   inherit: bool = False,
                   cuda_visible_devices: Optional[str] = None) -> list:
    """Chooses GPUs for a job, best first, with nvisel's semantics.

    devices: Device or MigDevice objects to choose among (default: every
    GPU; a MIG device stands for its GPU's instances).  format: "index"
    (gpuctl indices; a MIG device as its UUID, since CUDA cannot number
    it), "uuid" or "device" (Device / MigDevice objects).  Memory sizes take
    bytes or strings such as "10GiB".  free_accounts: users whose GPU memory
    counts as free.  inherit: only the devices ``cuda_visible_devices`` (or,
    when None, the environment's CUDA_VISIBLE_DEVICES) names.  Returns fewer
    than min_count devices (an empty list) when not enough qualify.
    """
    import os
    from .device import MigDevice

    if format not in ("index", "uuid", "device"):
        raise ValueError(f"format {format!r}: expected 'index', 'uuid' or 'device'")
    if min_count < 0 or (max_count is not None and max_count < max(min_count, 1)):
        raise ValueError(f"min_count {min_count} / max_count {max_count}: need "
                         "0 <= min_count <= max_count and max_count >= 1")
    o = SelectOptions()
    lib.gpuctl_select_options_init(ctypes.byref(o))
    o.min_count = min_count
    o.max_count = max_count or 0
    if min_free_memory is not None:
        o.min_free_bytes = parse_size(min_free_memory)
    if min_total_memory is not None:
        o.min_total_bytes = parse_size(min_total_memory)
    o.max_gpu_util_pct = _pct("max_gpu_utilization", max_gpu_utilization)
    o.max_mem_util_pct = _pct("max_memory_utilization", max_memory_utilization)
    o.tolerance_pct = _pct("tolerance", tolerance)
    visible = None
    if devices is not None:
        # the candidates are named the way CUDA_VISIBLE_DEVICES names them
        uuids = []
        for d in devices:
            gpu = d.parent() if isinstance(d, MigDevice) else d
            if gpu.uuid() is None:
                raise ValueError(f"{d!r}: a device without a known UUID cannot be chosen")
            if gpu.uuid() not in uuids:
                uuids.append(gpu.uuid())
        visible = ",".join(uuids)
        if not visible:
            return []
    elif inherit:
        visible = (cuda_visible_devices if cuda_visible_devices is not None
                   else os.environ.get("CUDA_VISIBLE_DEVICES"))
    o.inherit = 1 if (devices is not None or inherit) else 0
    keep = visible.encode() if visible is not None else None
    o.cuda_visible_devices = keep
    users = [u.encode() for u in (free_accounts or [])]
    arr = (ctypes.c_char_p * max(len(users), 1))(*users)
    o.free_users = arr
    o.free_user_count = len(users)

    snap = _state.snapshot()
    sel, err = ctypes.c_void_p(), errbuf()
    rc = lib.gpuctl_select(snap.ptr, ctypes.byref(o), ctypes.byref(sel), err, len(err))
    if rc:
        raise error(rc, err)
    try:
        if not lib.gpuctl_selection_enough(sel):
            return []
        out = []
        place, mig = ctypes.c_size_t(), ctypes.c_long()
        for i in range(lib.gpuctl_selection_count(sel)):
            lib.gpuctl_selection_item(sel, i, ctypes.byref(place), ctypes.byref(mig))
            out.append(_identify(snap, place.value, mig.value, format))
        return out
    finally:
        lib.gpuctl_selection_free(sel)


def _identify(snap, place: int, mig: int, format: str):
    from .device import Device
    if format == "device":
        gpu = Device._at(snap, place)
        if mig < 0:
            return gpu
        gi = snap.num(SCOPE_MIG, mig, "gpu_instance_id")
        ci = snap.num(SCOPE_MIG, mig, "compute_instance_id")
        return next(m for m in gpu.mig_devices()
                    if m.gpu_instance_id() == gi and m.compute_instance_id() == ci)
    if mig >= 0:
        return snap.text(SCOPE_MIG, mig, "uuid")
    if format == "uuid":
        return snap.text(SCOPE_DEVICE, place, "uuid")
    return int(snap.num(SCOPE_DEVICE, place, "gpu_index"))


__all__ = ["select_devices", "parse_size"]
