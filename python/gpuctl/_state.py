"""The interpreter's shared gpuctl handle and its latest snapshot.

Device and process methods read "now" the way nvitop's do, but one NVML and
/proc pass serves every call made within ``max_age`` seconds of it (default
0.1 s): listing 8 GPUs and their processes costs one pass, not hundreds.
:func:`refresh` forces a new pass; :func:`set_snapshot_max_age` (0: every
call reads anew) changes the window.  Thread-safe: the handle is used under
its lock and a snapshot, once taken, is immutable.
"""

from __future__ import annotations

import threading
import time
from typing import Optional

from ._lib import TAKE_CMDLINE, TAKE_PROCESSES, TAKE_USER, Handle, Snapshot

# what the Device and GpuProcess methods can show (no containers)
WHAT = TAKE_PROCESSES | TAKE_USER | TAKE_CMDLINE

_lock = threading.Lock()
_handle: Optional[Handle] = None
_latest: Optional[Snapshot] = None
_max_age = 0.1


def handle() -> Handle:
    global _handle
    with _lock:
        if _handle is None:
            _handle = Handle()
        return _handle


def snapshot(max_age: Optional[float] = None) -> Snapshot:
    """The latest snapshot if younger than max_age seconds, else a new one."""
    global _latest
    age = _max_age if max_age is None else max_age
    latest = _latest
    if latest is not None and time.monotonic() - latest.taken <= age:
        return latest
    snap = handle().snapshot(WHAT)
    _latest = snap
    return snap


def refresh() -> Snapshot:
    """Takes a new snapshot now and makes it the latest."""
    return snapshot(max_age=-1.0)


def set_snapshot_max_age(seconds: float) -> None:
    """How old (in seconds) a snapshot may be for a method call to reuse it."""
    global _max_age
    if seconds < 0:
        raise ValueError(f"snapshot max age {seconds}: must be 0 or more")
    _max_age = float(seconds)
