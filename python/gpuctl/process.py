"""Processes: nvitop's ``GpuProcess`` and ``HostProcess`` over libgpuctl.

A process is (pid, start time), never a bare pid: every object remembers the
start time it was found with, and :meth:`HostProcess.send_signal` (with
``terminate()`` and ``kill()``) goes through ``gpuctl_kill``, which opens a
pidfd and checks that start time first, so a pid reused by another process
is never hit (:class:`gpuctl.StaleProcess` is raised instead).

A :class:`GpuProcess` shows the snapshot it was listed from (GPU memory,
SM %, type, and the host facts read in the same pass); :class:`HostProcess`
reads /proc anew on each call.
"""

from __future__ import annotations

import datetime
import signal
from typing import Optional, Tuple

from . import _lib, _state
from ._lib import SCOPE_GPU_PROCESS, SCOPE_HOST_PROCESS, NoSuchProcess, Snapshot


def _int(v: Optional[float]) -> Optional[int]:
    return None if v is None else int(v)


class HostProcess:
    """A process of this machine, by pid (GPU or not).

    ``HostProcess(pid)`` reads it now and raises :class:`gpuctl.NoSuchProcess`
    when there is none.  Later calls read /proc again and raise
    :class:`gpuctl.NoSuchProcess` once the process has exited or its pid
    belongs to another process.
    """

    def __init__(self, pid: int, *, _ident: Optional[Tuple[int, int]] = None):
        self.pid = int(pid)
        if _ident is None:
            snap = _state.handle().host([self.pid])
            if _lib.lib.gpuctl_host_process_count(snap.ptr) == 0:
                raise NoSuchProcess(3, f"pid {self.pid}: no such process")
            _ident = snap.host_ident(0)
            self._cached: Optional[Snapshot] = snap
        else:
            self._cached = None
        self._start_ticks = _ident[1]

    def __repr__(self) -> str:
        return f"HostProcess(pid={self.pid}, name={self._safe('name')!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, HostProcess) and \
            (self.pid, self._start_ticks) == (other.pid, other._start_ticks)

    def __hash__(self) -> int:
        return hash((self.pid, self._start_ticks))

    def _read(self) -> Snapshot:
        snap, self._cached = self._cached, None
        if snap is None:
            snap = _state.handle().host([self.pid])
        if _lib.lib.gpuctl_host_process_count(snap.ptr) == 0 or \
                snap.host_ident(0)[1] != self._start_ticks:
            raise NoSuchProcess(3, f"pid {self.pid}: the process has exited")
        return snap

    def _num(self, key: str) -> Optional[float]:
        return self._read().num(SCOPE_HOST_PROCESS, 0, key)

    def _text(self, key: str) -> Optional[str]:
        return self._read().text(SCOPE_HOST_PROCESS, 0, key)

    def _safe(self, what: str):
        try:
            return getattr(self, what)()
        except NoSuchProcess:
            return None

    def is_running(self) -> bool:
        """False once it has exited (a zombie waiting for its parent included)."""
        try:
            return self._read().text(SCOPE_HOST_PROCESS, 0, "state") != "Z"
        except NoSuchProcess:
            return False

    def name(self) -> Optional[str]:
        return self._text("proc_name")

    def username(self) -> Optional[str]:
        return self._text("user")

    def uids(self) -> Optional[int]:
        return _int(self._num("uid"))

    def ppid(self) -> Optional[int]:
        return _int(self._num("ppid"))

    def status(self) -> Optional[str]:
        """The state letter of /proc/PID/stat ("R", "S", …)."""
        return self._text("state")

    def command(self) -> Optional[str]:
        """The command line, arguments joined by spaces."""
        return self._text("cmdline")

    def cmdline(self):
        cmd = self.command()
        return None if cmd is None else cmd.split(" ")

    def cpu_percent(self) -> Optional[float]:
        """CPU use averaged over the process's life, as ``ps`` shows it (the
        collector gives the rate between its samples)."""
        return self._num("cpu_pct")

    def memory_percent(self) -> Optional[float]:
        return self._num("host_mem_pct")

    def host_memory(self) -> Optional[int]:
        """Resident set size, bytes."""
        return _int(self._num("host_rss_bytes"))

    rss_memory = host_memory

    def create_time(self) -> Optional[float]:
        """Start time, seconds since the epoch."""
        return self._num("start_time")

    def elapsed_time_in_seconds(self) -> Optional[float]:
        return self._num("elapsed_s")

    def elapsed_time(self) -> Optional[datetime.timedelta]:
        s = self.elapsed_time_in_seconds()
        return None if s is None else datetime.timedelta(seconds=s)

    running_time = elapsed_time

    def send_signal(self, sig: int, wait: float = 0.0) -> None:
        """Sends sig through a pidfd bound to this process (pid and start time).
        With wait > 0, waits that many seconds for it to end
        (:class:`gpuctl.TimeoutExpired` when it did not).  Raises
        :class:`gpuctl.StaleProcess` when the pid now names another process,
        :class:`gpuctl.NoSuchProcess` when it has exited,
        :class:`gpuctl.AccessDenied` without permission, and
        :class:`gpuctl.GpuctlError` (EINVAL) for pid 1, this process, its parent
        or a kernel thread."""
        _lib.kill(self.pid, self._start_ticks, int(sig), wait)

    def terminate(self, wait: float = 0.0) -> None:
        self.send_signal(signal.SIGTERM, wait)

    def kill(self, wait: float = 0.0) -> None:
        self.send_signal(signal.SIGKILL, wait)


class GpuProcess(HostProcess):
    """A process on one GPU, as a snapshot listed it.

    The GPU-side values (``gpu_memory()``, ``gpu_sm_utilization()``, ``type()``)
    and the host facts (``username()``, ``command()``, ``cpu_percent()``,
    ``host_memory()``, ``elapsed_time()``) are those of the snapshot the
    process was listed in; None when unknown.
    """

    def __init__(self, *args, **kwargs):
        raise TypeError("GpuProcess objects come from Device.processes() or take_snapshots()")

    @classmethod
    def _at(cls, snap: Snapshot, item: int, device, pid: int) -> "GpuProcess":
        p = cls.__new__(cls)
        p._snap = snap
        p._item = item
        p.device = device
        p.pid = pid
        p._host = -1
        return p

    @property
    def _start_ticks(self) -> int:
        host = self._host_item()
        if host is None:     # /proc could not show it: no identity to check a signal by
            raise NoSuchProcess(3, f"pid {self.pid}: not readable in /proc")
        return self._snap.host_ident(host)[1]

    def _host_item(self) -> Optional[int]:
        if self._host == -1:
            self._host = self._snap.host_item(self._item)
        return self._host

    def __eq__(self, other) -> bool:
        """The same process (pid and start time) on the same GPU."""
        return isinstance(other, GpuProcess) and \
            (self.pid, self.device, self._ident()) == (other.pid, other.device, other._ident())

    def __hash__(self) -> int:
        return hash((self.pid, self.device))

    def _ident(self) -> Optional[int]:
        """The start time, None when /proc could not show the process."""
        host = self._host_item()
        return None if host is None else self._snap.host_ident(host)[1]

    def __repr__(self) -> str:
        return (f"GpuProcess(pid={self.pid}, gpu={self.device.index}, "
                f"name={self.name()!r}, gpu_memory={self.gpu_memory()})")

    def _num(self, key: str) -> Optional[float]:
        host = self._host_item()
        return None if host is None else self._snap.num(SCOPE_HOST_PROCESS, host, key)

    def _text(self, key: str) -> Optional[str]:
        host = self._host_item()
        return None if host is None else self._snap.text(SCOPE_HOST_PROCESS, host, key)

    def _gpu(self, key: str) -> Optional[float]:
        return self._snap.num(SCOPE_GPU_PROCESS, self._item, key)

    def is_running(self) -> bool:
        try:
            return self.host().is_running()
        except NoSuchProcess:
            return False

    def host(self) -> HostProcess:
        """This process read live from /proc."""
        return HostProcess(self.pid, _ident=(self.pid, self._start_ticks))

    def gpu_memory(self) -> Optional[int]:
        """Device memory it uses, bytes."""
        return _int(self._gpu("used_mem_bytes"))

    def gpu_memory_human(self) -> Optional[str]:
        v = self.gpu_memory()
        return None if v is None else f"{v / 1048576:.0f}MiB"

    def gpu_memory_percent(self) -> Optional[float]:
        used, total = self.gpu_memory(), self.device.memory_total()
        return None if used is None or not total else round(100.0 * used / total, 1)

    def gpu_sm_utilization(self) -> Optional[int]:
        return _int(self._gpu("sm_pct"))

    def gpu_memory_utilization(self) -> Optional[int]:
        return _int(self._gpu("mem_bw_pct"))

    def gpu_encoder_utilization(self) -> Optional[int]:
        return _int(self._gpu("enc_pct"))

    def gpu_decoder_utilization(self) -> Optional[int]:
        return _int(self._gpu("dec_pct"))

    def gpu_instance_id(self) -> Optional[int]:
        return _int(self._gpu("gpu_instance_id"))

    def compute_instance_id(self) -> Optional[int]:
        return _int(self._gpu("compute_instance_id"))

    def type(self) -> Optional[str]:
        """"C" (compute), "G" (graphics), "C+G", "M" (MPS) or "M+G"."""
        return self._snap.text(SCOPE_GPU_PROCESS, self._item, "type")

    def cpu_percent(self) -> Optional[float]:
        """The rate since the previous sample when the snapshot came from a
        sampler, else the lifetime average (as ``ps``)."""
        rate = self._num("cpu_interval_pct")
        return rate if rate is not None else self._num("cpu_pct")


__all__ = ["HostProcess", "GpuProcess"]
