"""``ResourceMetricCollector``: host, GPU and process figures sampled on a
background thread and summarised per scope, with nvitop's metric names.

::

    collector = ResourceMetricCollector(root_pids={os.getpid()}, interval=1.0)
    with collector(tag="train"):
        for batch in loader:
            ...
            metrics = collector.collect()
            # {'train/host/cpu_percent (%)/mean': 12.5,
            #  'train/cuda:0 (gpu:3)/memory_used (MiB)/max': 10240.0, ...}

The thread owns a gpuctl sampler (its own handle), so CPU percentages are
rates between samples, as the monitor computes them.  Each sample is added
to every open scope; a scope keeps mean, min, max and last of each metric
since it opened (or since ``reset``).  Unknown values are left out of the
figures, never counted as 0.  All methods are thread-safe.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from ._lib import (SCOPE_DEVICE, SCOPE_GPU_PROCESS, SCOPE_HOST, SCOPE_HOST_PROCESS, SCOPE_MIG,
                   TAKE_HOST_CPU, TAKE_PROCESSES, Sampler, lib)
from .device import Device

MiB = 1 << 20
GiB = 1 << 30

# (document key, metric name, scale) per device and per process
_DEVICE_METRICS = (
    ("mem_used_mb", "memory_used (MiB)", 1 / MiB),
    ("mem_free_mb", "memory_free (MiB)", 1 / MiB),
    ("mem_total_mb", "memory_total (MiB)", 1 / MiB),
    ("util_pct", "gpu_utilization (%)", 1),
    ("mem_util_pct", "memory_utilization (%)", 1),
    ("fan_pct", "fan_speed (%)", 1),
    ("temp_c", "temperature (C)", 1),
    ("power_w", "power_usage (W)", 1e-3),
)
_MIG_METRICS = (
    ("mem_used_mb", "memory_used (MiB)", 1 / MiB),
    ("mem_free_mb", "memory_free (MiB)", 1 / MiB),
    ("mem_total_mb", "memory_total (MiB)", 1 / MiB),
)
_GPU_PROCESS_METRICS = (
    ("used_mem_bytes", "gpu_memory (MiB)", 1 / MiB),
    ("sm_pct", "gpu_sm_utilization (%)", 1),
    ("mem_bw_pct", "gpu_memory_utilization (%)", 1),
    ("enc_pct", "gpu_encoder_utilization (%)", 1),
    ("dec_pct", "gpu_decoder_utilization (%)", 1),
)
_HOST_PROCESS_METRICS = (
    ("cpu_interval_pct", "cpu_percent (%)", 1),
    ("host_rss_bytes", "host_memory (MiB)", 1 / MiB),
    ("host_mem_pct", "host_memory_percent (%)", 1),
    ("elapsed_s", "running_time (min)", 1 / 60),
)


class _Scope:
    """One open scope's figures: per metric [count, sum, min, max, last]
    (lists, updated inline: a sample may carry thousands of metrics)."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.reset()

    def reset(self) -> None:
        self.stats: Dict[str, list] = {}
        self.start = time.time()
        self.last = None

    def add(self, sample: Dict[str, float], at: float) -> None:
        stats = self.stats
        for name, v in sample.items():
            st = stats.get(name)
            if st is None:
                stats[name] = [1, v, v, v, v]
                continue
            st[0] += 1
            st[1] += v
            if v < st[2]:
                st[2] = v
            if v > st[3]:
                st[3] = v
            st[4] = v
        self.last = at

    def summary(self) -> Dict[str, float]:
        p = self.prefix
        out: Dict[str, float] = {}
        for name, (n, total, lo, hi, last) in self.stats.items():
            out[f"{p}/{name}/mean"] = total / n
            out[f"{p}/{name}/min"] = lo
            out[f"{p}/{name}/max"] = hi
            out[f"{p}/{name}/last"] = last
        now = time.time()
        out[f"{p}/duration (s)"] = now - self.start
        out[f"{p}/timestamp"] = now
        out[f"{p}/last_timestamp"] = self.last if self.last is not None else self.start
        return out


class ResourceMetricCollector:
    """Samples host, GPU and process figures every ``interval`` seconds.

    devices: the GPUs and MIG devices to watch (default:
    ``Device.from_cuda_visible_devices()``, named ``cuda:<i> (gpu:<index>)``,
    a MIG device ``cuda:<i> (gpu:<parent>:<place>)`` with its memory figures
    only, since NVML has no utilisation for MIG; explicitly given devices keep
    their ``cuda_index`` when set, else are numbered in the order given).
    root_pids: processes whose GPU processes (themselves and their
    descendants) get ``pid:<pid>/…`` metrics (default: this process).
    """

    def __init__(self, devices: Optional[Sequence[Device]] = None,
                 root_pids: Optional[Iterable[int]] = None, interval: float = 1.0):
        if not interval > 0:
            raise ValueError(f"interval {interval}: must be more than 0 seconds")
        if devices is None:
            devices = Device.from_cuda_visible_devices()
        self.devices = list(devices)
        # GPUs by index; MIG instances by (parent index, GI id, CI id)
        self._labels: Dict[object, str] = {}
        for i, d in enumerate(self.devices):
            cuda = d.cuda_index if getattr(d, "cuda_index", None) is not None else i
            key = ((d.parent().index, d.gpu_instance_id(), d.compute_instance_id())
                   if d.is_mig_device() else d.index)
            self._labels[key] = f"cuda:{cuda} (gpu:{d.display_index})"
        self.root_pids = set(root_pids) if root_pids is not None else {os.getpid()}
        self.interval = float(interval)
        self._lock = threading.RLock()          # scopes and their figures
        self._sample_lock = threading.Lock()    # the sampler (one thread at a time)
        self._sampler: Optional[Sampler] = None
        self._scopes: List[_Scope] = []
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._ancestry: Dict[tuple, bool] = {}
        self.sample_count = 0

    # ---- running ----------------------------------------------------------
    def start(self, tag: str = "") -> "ResourceMetricCollector":
        """Starts the sampling thread (and opens a scope when tag is given)."""
        with self._lock:
            if self._thread is None:
                self._sampler = Sampler()
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="gpuctl-collector",
                                                daemon=True)
                self._thread.start()
        if tag:
            self.activate(tag)
        return self

    def stop(self) -> None:
        """Stops the thread; open scopes are closed."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._scopes.clear()
        if thread is not None:
            self._stop.set()
            thread.join()
        with self._sample_lock:
            if self._sampler is not None:
                self._sampler.close()
                self._sampler = None

    def __enter__(self) -> "ResourceMetricCollector":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            self._sample()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))

    # ---- scopes -----------------------------------------------------------
    def activate(self, tag: str) -> "ResourceMetricCollector":
        """Opens a scope nested in the current one ('train' in 'epoch' is
        'epoch/train')."""
        if not tag or tag.startswith("/") or tag.endswith("/"):
            raise ValueError(f"tag {tag!r}: must be a non-empty name without a leading "
                             "or trailing '/'")
        with self._lock:
            if self._thread is None:
                self.start()
            prefix = f"{self._scopes[-1].prefix}/{tag}" if self._scopes else tag
            self._scopes.append(_Scope(prefix))
        return self

    def deactivate(self, tag: Optional[str] = None) -> "ResourceMetricCollector":
        """Closes the innermost scope (or the one named tag and those inside it)."""
        with self._lock:
            if not self._scopes:
                raise RuntimeError("no open scope to close")
            if tag is None:
                self._scopes.pop()
                return self
            for i in range(len(self._scopes) - 1, -1, -1):
                if self._scopes[i].prefix.rsplit("/", 1)[-1] == tag:
                    del self._scopes[i:]
                    return self
            raise ValueError(f"tag {tag!r}: no open scope of that name")

    def __call__(self, tag: str) -> "_ScopeContext":
        return _ScopeContext(self, tag)

    def reset(self, tag: Optional[str] = None) -> None:
        """Starts the figures of the innermost scope (or of tag's) afresh."""
        with self._lock:
            for sc in reversed(self._scopes):
                if tag is None or sc.prefix.rsplit("/", 1)[-1] == tag:
                    sc.reset()
                    return
            raise ValueError("no open scope" + (f" named {tag!r}" if tag else ""))

    def collect(self) -> Dict[str, float]:
        """mean/min/max/last of every metric of the innermost scope since it
        opened, under its full tag.  A scope with no sample yet gets one now."""
        with self._lock:
            if not self._scopes:
                raise RuntimeError("collect() outside a scope: use `with collector(tag=...)`")
            empty = self._scopes[-1].last is None
        if empty:
            self._sample()
        with self._lock:
            return self._scopes[-1].summary() if self._scopes else {}

    def daemonize(self, on_collect: Callable[[Dict[str, float]], Optional[bool]],
                  interval: Optional[float] = None, *,
                  on_start: Optional[Callable[["ResourceMetricCollector"], None]] = None,
                  on_stop: Optional[Callable[["ResourceMetricCollector"], None]] = None,
                  tag: str = "metrics-daemon", start: bool = True) -> threading.Thread:
        """A daemon thread that every interval (default: the collector's) calls
        on_collect with the figures of its own scope ``tag`` since the previous
        call.  It samples with a collector of its own (``thread.collector``,
        same devices and root pids), and stops when on_collect returns False
        or when ``thread.collector.stop()`` is called."""
        period = float(interval) if interval is not None else self.interval
        child = ResourceMetricCollector(self.devices, self.root_pids, self.interval)
        child._labels = dict(self._labels)

        def loop():
            with child:
                if on_start:
                    on_start(child)
                try:
                    with child(tag):
                        while not child._stop.wait(period):
                            if on_collect(child.collect()) is False:
                                break
                            child.reset()
                finally:
                    if on_stop:
                        on_stop(child)

        thread = threading.Thread(target=loop, name="gpuctl-collector-daemon", daemon=True)
        thread.collector = child
        if start:
            thread.start()
        return thread

    # ---- sampling ---------------------------------------------------------
    def _sample(self) -> None:
        with self._sample_lock:
            if self._sampler is None:
                return
            snap = self._sampler.take(TAKE_PROCESSES | TAKE_HOST_CPU)
            values = self._figures(snap)
        at = time.time()
        with self._lock:
            self.sample_count += 1
            for sc in self._scopes:
                sc.add(values, at)

    def _figures(self, snap) -> Dict[str, float]:
        out: Dict[str, float] = {}
        self._host_figures(snap, out)
        labels = self._labels
        n = snap.device_count
        rows = [(place, labels[int(i)])
                for place, i in enumerate(snap.nums(SCOPE_DEVICE, "gpu_index", n))
                if int(i) in labels]
        if rows:
            _columns(snap, SCOPE_DEVICE, _DEVICE_METRICS, n, rows, out)
            used = snap.nums(SCOPE_DEVICE, "mem_used_mb", n)
            total = snap.nums(SCOPE_DEVICE, "mem_total_mb", n)
            for place, label in rows:
                u, t = used[place], total[place]
                if u == u and t == t and t > 0:
                    out[f"{label}/memory_percent (%)"] = 100.0 * u / t
        self._mig_figures(snap, out)
        self._process_figures(snap, out)
        return out

    def _mig_figures(self, snap, out: Dict[str, float]) -> None:
        m = snap.mig_count
        if m == 0 or not any(isinstance(k, tuple) for k in self._labels):
            return
        index = snap.nums(SCOPE_DEVICE, "gpu_index", snap.device_count)
        gis = snap.nums(SCOPE_MIG, "gpu_instance_id", m)
        cis = snap.nums(SCOPE_MIG, "compute_instance_id", m)
        rows = []
        for k in range(m):
            label = self._labels.get((int(index[snap.mig_parent(k)]), int(gis[k]), int(cis[k])))
            if label is not None:
                rows.append((k, label))
        _columns(snap, SCOPE_MIG, _MIG_METRICS, m, rows, out)
        used = snap.nums(SCOPE_MIG, "mem_used_mb", m)
        total = snap.nums(SCOPE_MIG, "mem_total_mb", m)
        for k, label in rows:
            if used[k] == used[k] and total[k] == total[k] and total[k] > 0:
                out[f"{label}/memory_percent (%)"] = 100.0 * used[k] / total[k]

    @staticmethod
    def _host_figures(snap, out: Dict[str, float]) -> None:
        h = lambda key: snap.num(SCOPE_HOST, 0, key)  # noqa: E731
        cpu = h("cpu_pct")
        if cpu is not None:
            out["host/cpu_percent (%)"] = cpu
        total, avail = h("mem_total_bytes"), h("mem_available_bytes")
        if total and avail is not None:
            out["host/memory_percent (%)"] = 100.0 * (total - avail) / total
            out["host/memory_used (GiB)"] = (total - avail) / GiB
        swap, swap_free = h("swap_total_bytes"), h("swap_free_bytes")
        if swap and swap_free is not None:
            out["host/swap_percent (%)"] = 100.0 * (swap - swap_free) / swap
        ncpu = os.cpu_count() or 1
        for key, span in (("load1", "1 min"), ("load5", "5 min"), ("load15", "15 min")):
            v = h(key)
            if v is not None:
                out[f"host/load_average (%) ({span})"] = 100.0 * v / ncpu

    def _process_figures(self, snap, out: Dict[str, float]) -> None:
        """Figures of the GPU processes in the root pids' trees; a whole
        field is read in one call, so thousands of processes stay cheap."""
        n = snap.process_count
        if n == 0:
            return
        labels = self._labels
        idents = snap.host_idents()
        tree = {pid: host for pid, (host, start) in idents.items()
                if self._in_tree(pid, start, snap, host)}
        chosen = []                                   # (item, pid, label, host item)
        if tree:
            devs = snap.nums(SCOPE_GPU_PROCESS, "gpu_index", n)
            pids = snap.nums(SCOPE_GPU_PROCESS, "pid", n)
            gis = snap.nums(SCOPE_GPU_PROCESS, "gpu_instance_id", n)
            cis = snap.nums(SCOPE_GPU_PROCESS, "compute_instance_id", n)
            # floats look up int keys as they are: hash(3.0) == hash(3)
            tree_get, label_get = tree.get, labels.get
            for item, (dev, pid) in enumerate(zip(devs, pids)):
                host = tree_get(pid)
                if host is None:
                    continue
                label = label_get(dev)
                if label is None and gis[item] == gis[item] and cis[item] == cis[item]:
                    label = label_get((int(dev), int(gis[item]), int(cis[item])))
                if label is not None:
                    chosen.append((item, int(pid), label, host))
        if not chosen:
            return
        _columns(snap, SCOPE_GPU_PROCESS, _GPU_PROCESS_METRICS, n,
                 [(item, _process_prefix(pid, label)) for item, pid, label, _ in chosen], out)
        _columns(snap, SCOPE_HOST_PROCESS, _HOST_PROCESS_METRICS, snap.host_process_count,
                 list({host: (host, _process_prefix(pid, "host"))
                       for _, pid, _, host in chosen}.values()), out)

    def _in_tree(self, pid: int, start: int, snap, host: int) -> bool:
        """Whether (pid, start) is a root pid or descends from one; the answer
        is kept per process, since a process's ancestors do not change."""
        key = (pid, start)
        known = self._ancestry.get(key)
        if known is not None:
            return known
        found = pid in self.root_pids
        ppid = snap.num(SCOPE_HOST_PROCESS, host, "ppid")
        seen = {pid}
        handle = self._sampler.handle
        while not found and ppid is not None and int(ppid) > 1 and int(ppid) not in seen:
            ppid = int(ppid)
            seen.add(ppid)
            if ppid in self.root_pids:
                found = True
                break
            parent = handle.host([ppid])
            ppid = (parent.num(SCOPE_HOST_PROCESS, 0, "ppid")
                    if lib.gpuctl_host_process_count(parent.ptr) else None)
        if len(self._ancestry) > 65536:      # processes come and go: keep it bounded
            self._ancestry.clear()
        self._ancestry[key] = found
        return found


def _columns(snap, scope: int, metrics, count: int, rows, out: Dict[str, float]) -> None:
    """For each (key, name, scale) of metrics, one column read, and the
    known values of rows ((item, prefix) pairs) as out["<prefix>/<name>"]."""
    names = [_names(prefix, metrics) for _, prefix in rows]
    for j, (key, _, scale) in enumerate(metrics):
        values = snap.nums(scope, key, count)
        for (item, _), keys in zip(rows, names):
            v = values[item]
            if v == v:                                # NaN: unknown
                out[keys[j]] = v * scale


@functools.lru_cache(maxsize=1 << 16)
def _names(prefix: str, metrics) -> tuple:
    """The metric names under prefix, made once: thousands of processes
    would otherwise format thousands of strings every sample."""
    return tuple(f"{prefix}/{name}" for _, name, _ in metrics)


@functools.lru_cache(maxsize=1 << 16)
def _process_prefix(pid: int, label: str) -> str:
    return f"pid:{pid}/{label}"


class _ScopeContext:
    def __init__(self, collector: ResourceMetricCollector, tag: str):
        self.collector = collector
        self.tag = tag

    def __enter__(self) -> ResourceMetricCollector:
        return self.collector.activate(self.tag)

    def __exit__(self, *exc) -> None:
        self.collector.deactivate()


__all__ = ["ResourceMetricCollector"]
