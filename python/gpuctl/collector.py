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

import array
import math
import operator
import os
import threading
import time
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

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
_HOST_NAMES = ("host/cpu_percent (%)", "host/memory_percent (%)", "host/memory_used (GiB)",
               "host/swap_percent (%)", "host/load_average (%) (1 min)",
               "host/load_average (%) (5 min)", "host/load_average (%) (15 min)")
_NAN = float("nan")
_HOST_PROCESS_METRICS = (
    ("cpu_interval_pct", "cpu_percent (%)", 1),
    ("host_rss_bytes", "host_memory (MiB)", 1 / MiB),
    ("host_mem_pct", "host_memory_percent (%)", 1),
    ("elapsed_s", "running_time (min)", 1 / 60),
)


class _Scope:
    """One open scope's figures, kept by column: a sample is a list of
    groups (names, values), one per metric and layout (which GPUs, which
    processes), and the same layout brings the same names tuple, so a group
    is updated with a few list operations over its whole column instead of
    one dict entry per figure.  Per group: [count, sums, lows, highs, lasts];
    count is an int while every figure of the group has been known in every
    sample, else a list (NaN: unknown, left out, never counted as 0).  A
    group whose layout is gone (processes came or went) is folded, figure by
    figure, into ``retired``: name -> [count, sum, low, high, last]."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.reset()

    def reset(self) -> None:
        self.active: Dict[tuple, list] = {}
        self.retired: Dict[str, list] = {}
        self.start = time.time()
        self.last = None

    def add(self, groups: List[Tuple[tuple, Sequence[float]]], at: float) -> None:
        active = self.active
        present = 0                   # groups of this sample that have figures
        for names, vals in groups:
            st = active.get(names)
            if st is None:
                if not all(map(math.isnan, vals)):
                    active[names] = _fresh(vals)
                    present += 1
                continue
            present += 1
            total = sum(vals)
            if total == total and type(st[0]) is int:         # all known: whole columns
                st[0] += 1
                st[1] = list(map(operator.add, st[1], vals))
                if vals != st[4]:          # most figures (memory) stay as they were
                    st[2] = [a if a <= v else v for a, v in zip(st[2], vals)]
                    st[3] = [a if a >= v else v for a, v in zip(st[3], vals)]
                    st[4] = vals
            elif not all(map(math.isnan, vals)):
                _add_partial(st, vals)
        if len(active) > present:      # a layout is gone: its figures retire
            current = {names for names, _ in groups}
            for names in [k for k in active if k not in current]:
                _merge_into(self.retired, names, active.pop(names))
        self.last = at

    def summary(self) -> Dict[str, float]:
        stats = {name: list(r) for name, r in self.retired.items()}
        for names, st in self.active.items():
            _merge_into(stats, names, st)
        p = self.prefix
        out: Dict[str, float] = {}
        for name, (n, total, lo, hi, last) in stats.items():
            out[f"{p}/{name}/mean"] = total / n
            out[f"{p}/{name}/min"] = lo
            out[f"{p}/{name}/max"] = hi
            out[f"{p}/{name}/last"] = last
        now = time.time()
        out[f"{p}/duration (s)"] = now - self.start
        out[f"{p}/timestamp"] = now
        out[f"{p}/last_timestamp"] = self.last if self.last is not None else self.start
        return out


def _fresh(vals: Sequence[float]) -> list:
    """A group's figures after its first sample."""
    if sum(vals) == sum(vals):                                # none unknown
        return [1, list(vals), list(vals), list(vals), vals]
    known = [v == v for v in vals]
    return [[int(k) for k in known], [v if k else 0.0 for v, k in zip(vals, known)],
            list(vals), list(vals), list(vals)]


def _add_partial(st: list, vals: Sequence[float]) -> None:
    """Adds a sample with unknown figures (or to a group that had some),
    figure by figure; such groups are small (host, a few devices)."""
    counts, sums, lows, highs, lasts = st
    counts = [counts] * len(vals) if type(counts) is int else list(counts)
    sums, lows, highs, lasts = list(sums), list(lows), list(highs), list(lasts)
    for i, v in enumerate(vals):
        if v != v:
            continue
        if counts[i] == 0:
            counts[i], sums[i], lows[i], highs[i] = 1, v, v, v
        else:
            counts[i] += 1
            sums[i] += v
            if v < lows[i]:
                lows[i] = v
            if v > highs[i]:
                highs[i] = v
        lasts[i] = v
    if counts.count(counts[0]) == len(counts) and counts[0] > 0:
        counts = counts[0]                                    # all known again
    st[:] = [counts, sums, lows, highs, lasts]


def _merge_into(stats: Dict[str, list], names: tuple, st: list) -> None:
    """Folds a group into name -> [count, sum, low, high, last]; the group
    is the newer, so its last wins."""
    counts, sums, lows, highs, lasts = st
    whole = type(counts) is int
    for i, name in enumerate(names):
        n = counts if whole else counts[i]
        if n == 0:
            continue
        r = stats.get(name)
        if r is None:
            stats[name] = [n, sums[i], lows[i], highs[i], lasts[i]]
            continue
        r[0] += n
        r[1] += sums[i]
        if lows[i] < r[2]:
            r[2] = lows[i]
        if highs[i] > r[3]:
            r[3] = highs[i]
        r[4] = lasts[i]


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
        self._layouts: Dict[tuple, _Rows] = {}      # device rows -> their layout
        self._process_layout: Optional[tuple] = None  # (columns, idents, rows, host rows)
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
            groups = self._figures(snap)
        at = time.time()
        with self._lock:
            self.sample_count += 1
            for sc in self._scopes:
                sc.add(groups, at)

    def _figures(self, snap) -> List[Tuple[tuple, Sequence[float]]]:
        """The sample as (names, values) groups, NaN where unknown."""
        groups = [self._host_figures(snap)]
        labels = self._labels
        n = snap.device_count
        rows = [(place, labels[int(i)])
                for place, i in enumerate(snap.nums(SCOPE_DEVICE, "gpu_index", n))
                if int(i) in labels]
        if rows:
            self._device_groups(snap, SCOPE_DEVICE, _DEVICE_METRICS, n, rows, groups)
        self._mig_figures(snap, groups)
        self._process_figures(snap, groups)
        return groups

    def _device_groups(self, snap, scope: int, metrics, count: int, rows, groups) -> None:
        """A GPU's or MIG device's metrics and its memory_percent."""
        layout = self._rows(scope, metrics, count, rows)
        _columns(snap, scope, metrics, count, layout, groups)
        used = layout.pick(snap.nums(scope, "mem_used_mb", count))
        total = layout.pick(snap.nums(scope, "mem_total_mb", count))
        groups.append((layout.extra("memory_percent (%)"),
                       [100.0 * u / t if t > 0 else _NAN for u, t in zip(used, total)]))

    def _rows(self, scope: int, metrics, count: int, rows) -> "_Rows":
        """The layout of rows, made once while the devices stay the same."""
        key = (scope, count, tuple(rows))
        layout = self._layouts.get(key)
        if layout is None:
            if len(self._layouts) > 64:
                self._layouts.clear()
            layout = self._layouts[key] = _Rows(rows, metrics, count)
        return layout

    def _mig_figures(self, snap, groups) -> None:
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
        if rows:
            self._device_groups(snap, SCOPE_MIG, _MIG_METRICS, m, rows, groups)

    @staticmethod
    def _host_figures(snap) -> Tuple[tuple, List[float]]:
        h = lambda key: snap.num(SCOPE_HOST, 0, key)  # noqa: E731
        cpu = h("cpu_pct")
        out = [cpu if cpu is not None else _NAN]
        total, avail = h("mem_total_bytes"), h("mem_available_bytes")
        if total and avail is not None:
            out += [100.0 * (total - avail) / total, (total - avail) / GiB]
        else:
            out += [_NAN, _NAN]
        swap, swap_free = h("swap_total_bytes"), h("swap_free_bytes")
        out.append(100.0 * (swap - swap_free) / swap if swap and swap_free is not None else _NAN)
        ncpu = os.cpu_count() or 1
        for key in ("load1", "load5", "load15"):
            v = h(key)
            out.append(100.0 * v / ncpu if v is not None else _NAN)
        return _HOST_NAMES, out

    def _process_figures(self, snap, groups) -> None:
        """Figures of the GPU processes in the root pids' trees; a whole
        field is read in one call, and which entries make figures is worked
        out again only when the processes (or their GPUs) change."""
        n = snap.process_count
        if n == 0:
            return
        ident = tuple(snap.raw_nums(SCOPE_GPU_PROCESS, key, n)
                      for key in ("gpu_index", "pid", "gpu_instance_id", "compute_instance_id"))
        idents = snap.host_idents()
        known = self._process_layout
        if known is None or known[0] != ident or known[1] != idents:
            known = self._process_layout = (ident, idents) + self._process_rows(
                snap, ident, idents, snap.host_process_count)
        gpu_rows, host_rows = known[2], known[3]
        if gpu_rows is not None:
            _columns(snap, SCOPE_GPU_PROCESS, _GPU_PROCESS_METRICS, n, gpu_rows, groups)
            _columns(snap, SCOPE_HOST_PROCESS, _HOST_PROCESS_METRICS, snap.host_process_count,
                     host_rows, groups)

    def _process_rows(self, snap, ident, idents, host_count) -> tuple:
        """(GPU-process rows, host-process rows) of the processes in the
        root pids' trees, or (None, None) when there are none."""
        labels = self._labels
        tree = {pid: host for pid, (host, start) in idents.items()
                if self._in_tree(pid, start, snap, host)}
        if not tree:
            return None, None
        devs, pids, gis, cis = (array.array("d", raw).tolist() for raw in ident)
        chosen = []                                   # (item, pid, label, host item)
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
            return None, None
        gpu = _Rows([(item, f"pid:{pid}/{label}") for item, pid, label, _ in chosen],
                    _GPU_PROCESS_METRICS, len(devs))
        host = _Rows(list({host: (host, f"pid:{pid}/host")
                           for _, pid, _, host in chosen}.values()),
                     _HOST_PROCESS_METRICS, host_count)
        return gpu, host

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


class _Rows:
    """Which items of a scope's columns make figures, under which names:
    made once per layout, so a sample picks its values with one C call
    (itemgetter) per column and reuses the names tuples, which are also
    the scopes' keys."""

    __slots__ = ("prefixes", "pick", "names", "_extra")

    def __init__(self, rows, metrics, count: int):
        items = [item for item, _ in rows]
        self._extra: Dict[str, tuple] = {}
        self.prefixes = [prefix for _, prefix in rows]
        if items == list(range(count)):
            self.pick = lambda column: column[:count]
        elif len(items) == 1:
            self.pick = lambda column, i=items[0]: (column[i],)
        else:
            self.pick = operator.itemgetter(*items)
        self.names = [self.extra(name) for _, name, _ in metrics]

    def extra(self, name: str) -> tuple:
        """The names of one metric over the rows (made once)."""
        names = self._extra.get(name)
        if names is None:
            names = self._extra[name] = tuple(f"{p}/{name}" for p in self.prefixes)
        return names


def _columns(snap, scope: int, metrics, count: int, rows: _Rows, groups: list) -> None:
    """For each (key, name, scale) of metrics, one column read and the
    values of rows, scaled, as a group."""
    for (key, _, scale), names in zip(metrics, rows.names):
        column = snap.known_nums(scope, key, count)
        if column is None:                            # unknown for all
            continue
        values = rows.pick(column)
        groups.append((names, values if scale == 1 else list(map(scale.__mul__, values))))


class _ScopeContext:
    def __init__(self, collector: ResourceMetricCollector, tag: str):
        self.collector = collector
        self.tag = tag

    def __enter__(self) -> ResourceMetricCollector:
        return self.collector.activate(self.tag)

    def __exit__(self, *exc) -> None:
        self.collector.deactivate()


__all__ = ["ResourceMetricCollector"]
