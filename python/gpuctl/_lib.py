"""ctypes bindings of libgpuctl (include/gpuctl/gpuctl.h, API version 2).

Loads the library once per interpreter: ``GPUCTL_LIBRARY`` when set, then
the directory ``make install`` put it in (written to ``_paths.py`` at
install time), then the dynamic loader's own search (``LD_LIBRARY_PATH``,
``ldconfig``).  Everything else in the package goes through :data:`lib`
and the helpers here; nothing else touches ctypes.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import math
import os
from typing import Dict, Optional, Tuple

c_size_p = ctypes.POINTER(ctypes.c_size_t)

SCOPE_DEVICE, SCOPE_MIG, SCOPE_GPU_PROCESS, SCOPE_HOST_PROCESS, SCOPE_HOST = range(5)
ENODATA = -61
EGPULIB = -4096
API_VERSION = 2
JSON_DETAILS, JSON_CONTAINERS, JSON_COMPACT = 1, 2, 4
TAKE_PROCESSES, TAKE_USER, TAKE_CMDLINE, TAKE_CONTAINER, TAKE_HOST_CPU = 1, 2, 4, 8, 16
TAKE_ALL = 31


class SelectOptions(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("min_count", ctypes.c_size_t),
        ("max_count", ctypes.c_size_t),
        ("min_free_bytes", ctypes.c_int64),
        ("min_total_bytes", ctypes.c_int64),
        ("max_gpu_util_pct", ctypes.c_int),
        ("max_mem_util_pct", ctypes.c_int),
        ("tolerance_pct", ctypes.c_int),
        ("inherit", ctypes.c_int),
        ("cuda_visible_devices", ctypes.c_char_p),
        ("free_users", ctypes.POINTER(ctypes.c_char_p)),
        ("free_user_count", ctypes.c_size_t),
    ]


def _candidates():
    explicit = os.environ.get("GPUCTL_LIBRARY")
    if explicit:
        yield explicit
        return
    try:
        from . import _paths  # written by `make install`
        yield os.path.join(_paths.LIBDIR, "libgpuctl.so.0")
    except ImportError:
        pass
    yield "libgpuctl.so.0"


def _load() -> ctypes.CDLL:
    errors = []
    for name in _candidates():
        try:
            return ctypes.CDLL(name)
        except OSError as exc:
            errors.append(f"{name}: {exc}")
    raise ImportError("gpuctl: libgpuctl could not be loaded (" + "; ".join(errors) +
                      "); set GPUCTL_LIBRARY or put its folder on LD_LIBRARY_PATH")


def _declare(cdll: ctypes.CDLL) -> None:
    P, S, I, D = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_double
    C, U64, L = ctypes.c_char_p, ctypes.c_uint64, ctypes.c_long
    sigs = {
        "gpuctl_version": (C, []),
        "gpuctl_open": (I, [ctypes.POINTER(P), C, S]),
        "gpuctl_close": (None, [P]),
        "gpuctl_snapshot_take": (I, [P, ctypes.POINTER(P), C, S]),
        "gpuctl_snapshot_free": (None, [P]),
        "gpuctl_device_count": (S, [P]),
        "gpuctl_process_count": (S, [P]),
        "gpuctl_field_count": (S, []),
        "gpuctl_field_find": (I, [I, C]),
        "gpuctl_field_key": (C, [I]),
        "gpuctl_field_unit": (C, [I]),
        "gpuctl_field_help": (C, [I]),
        "gpuctl_field_scope": (I, [I]),
        "gpuctl_field_is_text": (I, [I]),
        "gpuctl_get_double": (I, [P, I, S, I, ctypes.POINTER(D)]),
        "gpuctl_get_string": (C, [P, I, S, I]),
        "gpuctl_snapshot_info": (C, [P, C]),
        "gpuctl_get_doubles": (S, [P, I, I, ctypes.POINTER(D), S]),
        "gpuctl_snapshot_take_with": (I, [P, ctypes.c_uint, ctypes.POINTER(P), C, S]),
        "gpuctl_sampler_take_with": (I, [P, ctypes.c_uint, ctypes.POINTER(P), C, S]),
        "gpuctl_mig_count": (S, [P]),
        "gpuctl_mig_parent": (I, [P, S, c_size_p]),
        "gpuctl_mig_profile": (I, [P, S, C, S]),
        "gpuctl_device_find": (I, [P, C, c_size_p, C, S]),
        "gpuctl_cuda_devices": (I, [P, C, c_size_p, S, c_size_p]),
        "gpuctl_process_host": (I, [P, S, c_size_p]),
        "gpuctl_host_process_count": (S, [P]),
        "gpuctl_host_process_ident": (I, [P, S, ctypes.POINTER(ctypes.c_int),
                                          ctypes.POINTER(U64)]),
        "gpuctl_host_take": (I, [P, ctypes.POINTER(ctypes.c_int), S, ctypes.POINTER(P), C, S]),
        "gpuctl_sampler_open": (I, [P, ctypes.POINTER(P), C, S]),
        "gpuctl_sampler_close": (None, [P]),
        "gpuctl_sampler_take": (I, [P, ctypes.POINTER(P), C, S]),
        "gpuctl_select_options_init": (None, [ctypes.POINTER(SelectOptions)]),
        "gpuctl_select": (I, [P, ctypes.POINTER(SelectOptions), ctypes.POINTER(P), C, S]),
        "gpuctl_selection_free": (None, [P]),
        "gpuctl_selection_count": (S, [P]),
        "gpuctl_selection_item": (I, [P, S, c_size_p, ctypes.POINTER(L)]),
        "gpuctl_selection_enough": (I, [P]),
        "gpuctl_selection_reason": (C, [P]),
        "gpuctl_kill": (I, [ctypes.c_int, U64, I, L, C, S]),
        "gpuctl_snapshot_json": (P, [P, ctypes.c_uint, C, S]),
        "gpuctl_free": (None, [P]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(cdll, name)
        fn.restype = res
        fn.argtypes = args


lib = _load()
try:
    _declare(lib)
except AttributeError as exc:  # an older libgpuctl (API version 1)
    raise ImportError(f"gpuctl: the loaded libgpuctl lacks API version {API_VERSION}: {exc}")


def _field_ids() -> Dict[int, Dict[str, int]]:
    ids: Dict[int, Dict[str, int]] = {s: {} for s in range(5)}
    for i in range(lib.gpuctl_field_count()):
        ids[lib.gpuctl_field_scope(i)][lib.gpuctl_field_key(i).decode()] = i
    return ids


FIELDS = _field_ids()


class GpuctlError(OSError):
    """A libgpuctl call failed; ``errno`` is the positive error number."""


class NoSuchProcess(GpuctlError, ProcessLookupError):
    """The process has exited."""


class StaleProcess(NoSuchProcess):
    """The pid now belongs to another process than the one meant; nothing was signalled."""


class AccessDenied(GpuctlError, PermissionError):
    """The caller may not signal (or read) that process."""


class TimeoutExpired(GpuctlError, TimeoutError):
    """The process was still running when the wait ran out."""


_ERRORS = {errno.ESRCH: NoSuchProcess, errno.ESTALE: StaleProcess, errno.EPERM: AccessDenied,
           errno.ETIMEDOUT: TimeoutExpired}


def error(rc: int, buf: Optional[ctypes.Array] = None, what: str = "") -> GpuctlError:
    code = -rc if rc > -4096 else errno.EIO
    text = buf.value.decode(errors="replace") if buf is not None and buf.value else ""
    if not text:
        text = what + (": " if what else "") + (os.strerror(code) if rc != EGPULIB
                                                 else "no GPU library could be used")
    return _ERRORS.get(code, GpuctlError)(code, text)


def errbuf() -> ctypes.Array:
    return ctypes.create_string_buffer(512)


def version() -> str:
    """libgpuctl's version ("0.1.0")."""
    return lib.gpuctl_version().decode()


@functools.lru_cache(maxsize=64)
def _unknown_row(n: int) -> bytes:
    """n doubles of the library's NaN (unknown), as bytes."""
    return bytes((ctypes.c_double * n)(*([math.nan] * n)))


class Snapshot:
    """An owned gpuctl_snapshot: immutable, readable from any thread."""

    __slots__ = ("ptr", "taken", "_dev_places", "_procs_by_dev", "_host_of", "__weakref__")

    def __init__(self, ptr: int, taken: float):
        self.ptr = ptr
        self.taken = taken
        self._dev_places: Optional[Dict[int, int]] = None
        self._procs_by_dev: Optional[Dict[int, list]] = None
        self._host_of: Dict[int, Optional[int]] = {}

    def __del__(self):
        if self.ptr:
            lib.gpuctl_snapshot_free(self.ptr)
            self.ptr = None

    def num(self, scope: int, item: int, key: str) -> Optional[float]:
        out = ctypes.c_double()
        if lib.gpuctl_get_double(self.ptr, scope, item, FIELDS[scope][key], ctypes.byref(out)):
            return None
        return out.value

    def nums(self, scope: int, key: str, count: int) -> list:
        """key of the first count items of scope, NaN where unknown."""
        arr, n = self._column(scope, key, count)
        return arr[:n]

    def known_nums(self, scope: int, key: str, count: int) -> Optional[list]:
        """nums(), or None when the field is unknown for every item (one
        memcmp against the library's NaNs, before any float is made)."""
        arr, n = self._column(scope, key, count)
        if n and ctypes.string_at(arr, n * ctypes.sizeof(ctypes.c_double)) == _unknown_row(n):
            return None
        return arr[:n]

    def raw_nums(self, scope: int, key: str, count: int) -> bytes:
        """nums() as the C doubles' bytes: two columns compare equal with
        one memcmp, NaNs included (NaN != NaN as floats)."""
        arr, n = self._column(scope, key, count)
        return ctypes.string_at(arr, n * ctypes.sizeof(ctypes.c_double))

    def _column(self, scope: int, key: str, count: int):
        arr = (ctypes.c_double * max(count, 1))()
        return arr, lib.gpuctl_get_doubles(self.ptr, scope, FIELDS[scope][key], arr, count)

    def text(self, scope: int, item: int, key: str) -> Optional[str]:
        v = lib.gpuctl_get_string(self.ptr, scope, item, FIELDS[scope][key])
        return v.decode(errors="replace") if v is not None else None

    def info(self, key: str) -> Optional[str]:
        v = lib.gpuctl_snapshot_info(self.ptr, key.encode())
        return v.decode() if v is not None else None

    @property
    def device_count(self) -> int:
        return lib.gpuctl_device_count(self.ptr)

    @property
    def process_count(self) -> int:
        return lib.gpuctl_process_count(self.ptr)

    @property
    def host_process_count(self) -> int:
        return lib.gpuctl_host_process_count(self.ptr)

    @property
    def mig_count(self) -> int:
        return lib.gpuctl_mig_count(self.ptr)

    def device_place(self, index: int) -> Optional[int]:
        """The place in the snapshot of the device with gpuctl index `index`."""
        if self._dev_places is None:
            self._dev_places = {int(self.num(SCOPE_DEVICE, p, "gpu_index")): p
                                for p in range(self.device_count)}
        return self._dev_places.get(index)

    def processes_on(self, index: int) -> list:
        """(item, pid) of the GPU processes on the device with gpuctl index `index`."""
        if self._procs_by_dev is None:
            groups: Dict[int, list] = {}
            n = self.process_count
            devs = self.nums(SCOPE_GPU_PROCESS, "gpu_index", n)
            pids = self.nums(SCOPE_GPU_PROCESS, "pid", n)
            for i, (dev, pid) in enumerate(zip(devs, pids)):
                groups.setdefault(int(dev), []).append((i, int(pid)))
            self._procs_by_dev = groups
        return self._procs_by_dev.get(index, [])

    def host_idents(self) -> Dict[int, Tuple[int, int]]:
        """pid -> (host item, start ticks) of every host record."""
        pid, start = ctypes.c_int(), ctypes.c_uint64()
        rp, rs = ctypes.byref(pid), ctypes.byref(start)
        ident = lib.gpuctl_host_process_ident
        out = {}
        for item in range(lib.gpuctl_host_process_count(self.ptr)):
            ident(self.ptr, item, rp, rs)
            out[pid.value] = (item, start.value)
        return out

    def host_item(self, process: int) -> Optional[int]:
        if process not in self._host_of:
            out = ctypes.c_size_t()
            rc = lib.gpuctl_process_host(self.ptr, process, ctypes.byref(out))
            self._host_of[process] = out.value if rc == 0 else None
        return self._host_of[process]

    def host_ident(self, item: int) -> Tuple[int, int]:
        pid, start = ctypes.c_int(), ctypes.c_uint64()
        rc = lib.gpuctl_host_process_ident(self.ptr, item, ctypes.byref(pid), ctypes.byref(start))
        if rc:
            raise error(rc, what="host process")
        return pid.value, start.value

    def mig_parent(self, mig: int) -> int:
        out = ctypes.c_size_t()
        rc = lib.gpuctl_mig_parent(self.ptr, mig, ctypes.byref(out))
        if rc:
            raise error(rc, what=f"MIG instance {mig}")
        return out.value

    def mig_profile(self, mig: int) -> Optional[str]:
        buf = ctypes.create_string_buffer(96)
        return buf.value.decode() if lib.gpuctl_mig_profile(self.ptr, mig, buf, 96) == 0 else None

    def find_device(self, ident: str) -> int:
        out, err = ctypes.c_size_t(), errbuf()
        rc = lib.gpuctl_device_find(self.ptr, ident.encode(), ctypes.byref(out), err, len(err))
        if rc:
            raise error(rc, err)
        return out.value

    def cuda_devices(self, value: Optional[str]) -> list:
        cap = max(self.device_count, 1)
        arr, count = (ctypes.c_size_t * cap)(), ctypes.c_size_t()
        rc = lib.gpuctl_cuda_devices(self.ptr, value.encode() if value is not None else None,
                                     arr, cap, ctypes.byref(count))
        if rc:
            raise error(rc, what="CUDA_VISIBLE_DEVICES")
        return list(arr[:count.value])

    def json(self, flags: int) -> str:
        err = errbuf()
        p = lib.gpuctl_snapshot_json(self.ptr, flags, err, len(err))
        if not p:
            raise error(-errno.ENOMEM, err)
        try:
            return ctypes.string_at(p).decode()
        finally:
            lib.gpuctl_free(p)


class Handle:
    """An open gpuctl handle.  One thread at a time: callers hold `lock`."""

    def __init__(self):
        import threading
        self.lock = threading.Lock()
        self.ptr = ctypes.c_void_p()
        err = errbuf()
        rc = lib.gpuctl_open(ctypes.byref(self.ptr), err, len(err))
        if rc:
            raise error(rc, err)

    def close(self) -> None:
        with self.lock:
            if self.ptr:
                lib.gpuctl_close(self.ptr)
                self.ptr = ctypes.c_void_p()

    def __del__(self):
        if getattr(self, "ptr", None):
            lib.gpuctl_close(self.ptr)

    def _wrap(self, rc: int, out: ctypes.c_void_p, err) -> Snapshot:
        import time
        if rc:
            raise error(rc, err)
        return Snapshot(out.value, time.monotonic())

    def snapshot(self, what: int = TAKE_ALL & ~TAKE_HOST_CPU) -> Snapshot:
        out, err = ctypes.c_void_p(), errbuf()
        with self.lock:
            rc = lib.gpuctl_snapshot_take_with(self.ptr, what, ctypes.byref(out), err, len(err))
        return self._wrap(rc, out, err)

    def host(self, pids) -> Snapshot:
        pids = list(pids)
        arr = (ctypes.c_int * max(len(pids), 1))(*pids)
        out, err = ctypes.c_void_p(), errbuf()
        with self.lock:
            rc = lib.gpuctl_host_take(self.ptr, arr, len(pids), ctypes.byref(out), err, len(err))
        return self._wrap(rc, out, err)


class Sampler:
    """A gpuctl_sampler on its own handle: rates between its snapshots."""

    def __init__(self):
        self.handle = Handle()
        self.ptr = ctypes.c_void_p()
        err = errbuf()
        rc = lib.gpuctl_sampler_open(self.handle.ptr, ctypes.byref(self.ptr), err, len(err))
        if rc:
            raise error(rc, err)

    def take(self, what: int = TAKE_ALL) -> Snapshot:
        out, err = ctypes.c_void_p(), errbuf()
        with self.handle.lock:
            rc = lib.gpuctl_sampler_take_with(self.ptr, what, ctypes.byref(out), err, len(err))
        return self.handle._wrap(rc, out, err)

    def close(self) -> None:
        with self.handle.lock:
            if self.ptr:
                lib.gpuctl_sampler_close(self.ptr)
                self.ptr = ctypes.c_void_p()
        self.handle.close()

    def __del__(self):
        if getattr(self, "ptr", None):
            lib.gpuctl_sampler_close(self.ptr)
            self.ptr = None


def kill(pid: int, start_ticks: int, sig: int, wait_s: float = 0.0) -> None:
    err = errbuf()
    rc = lib.gpuctl_kill(pid, start_ticks, sig, int(wait_s * 1000), err, len(err))
    if rc:
        raise error(rc, err)
