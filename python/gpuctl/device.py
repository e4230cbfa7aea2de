"""Devices: nvitop's ``Device`` API over libgpuctl.

A :class:`Device` names a GPU by its gpuctl index (and remembers its UUID);
each method reads the interpreter's latest snapshot (see ``_state``), so
values are current to within ``set_snapshot_max_age``.  Every method returns
``None`` when the driver cannot give the value: never a made-up 0.
Units follow nvitop: memory in bytes, power in milliwatts, temperature in
degrees Celsius, clocks in MHz, utilisation in percent.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Dict, List, Optional, Union

from . import _state
from ._lib import SCOPE_DEVICE, SCOPE_MIG, GpuctlError, Snapshot

if TYPE_CHECKING:
    from .process import GpuProcess


def _int(v: Optional[float]) -> Optional[int]:
    return None if v is None else int(v)


def _percent(used: Optional[float], total: Optional[float]) -> Optional[float]:
    if used is None or not total:
        return None
    return round(100.0 * used / total, 1)


class _Readings:
    """What Device and MigDevice share: reading one item of a snapshot."""

    _scope = SCOPE_DEVICE

    def _snap(self) -> Snapshot:
        return self._pinned if self._pinned is not None else _state.snapshot()

    def _place(self, snap: Snapshot) -> Optional[int]:
        raise NotImplementedError

    def _num(self, key: str) -> Optional[float]:
        snap = self._snap()
        at = self._place(snap)
        return None if at is None else snap.num(self._scope, at, key)

    def _text(self, key: str) -> Optional[str]:
        snap = self._snap()
        at = self._place(snap)
        return None if at is None else snap.text(self._scope, at, key)

    def name(self) -> Optional[str]:
        """Product name ("NVIDIA H100 80GB HBM3")."""
        return self._text("name")

    def uuid(self) -> Optional[str]:
        """"GPU-…" or "MIG-…" UUID."""
        return self._text("uuid")

    def memory_total(self) -> Optional[int]:
        """Total device memory, bytes."""
        return _int(self._num("mem_total_mb"))

    def memory_used(self) -> Optional[int]:
        """Device memory in use, bytes."""
        return _int(self._num("mem_used_mb"))

    def memory_free(self) -> Optional[int]:
        """Free device memory, bytes."""
        return _int(self._num("mem_free_mb"))

    def memory_percent(self) -> Optional[float]:
        """Used memory as a percentage of the total (one decimal)."""
        snap = self._snap()
        at = self._place(snap)
        if at is None:
            return None
        return _percent(snap.num(self._scope, at, "mem_used_mb"),
                        snap.num(self._scope, at, "mem_total_mb"))

    def memory_used_human(self) -> Optional[str]:
        v = self.memory_used()
        return None if v is None else f"{v / 1048576:.0f}MiB"

    def memory_total_human(self) -> Optional[str]:
        v = self.memory_total()
        return None if v is None else f"{v / 1048576:.0f}MiB"


class Device(_Readings):
    """A physical GPU.

    ``Device(0)``, ``Device(uuid="GPU-8a6f")`` (a unique prefix is enough),
    ``Device(bus_id="0000:18:00.0")``.  Raises :class:`gpuctl.GpuctlError`
    (``errno`` ENOENT or ENOTUNIQ) when no single device matches.
    """

    def __init__(self, index: Optional[int] = None, *, uuid: Optional[str] = None,
                 bus_id: Optional[str] = None, _snapshot: Optional[Snapshot] = None):
        given = [x for x in (index, uuid, bus_id) if x is not None]
        if len(given) != 1:
            raise TypeError("Device() takes exactly one of index, uuid= or bus_id=")
        self._pinned = _snapshot
        snap = self._snap()
        ident = str(index) if index is not None else (uuid or bus_id)
        place = snap.find_device(ident)
        self._index = int(snap.num(SCOPE_DEVICE, place, "gpu_index"))
        self._uuid = snap.text(SCOPE_DEVICE, place, "uuid")
        self.cuda_index: Optional[int] = None

    @classmethod
    def _at(cls, snap: Snapshot, place: int, pinned: bool = False) -> "Device":
        d = cls.__new__(cls)
        d._pinned = snap if pinned else None
        d._index = int(snap.num(SCOPE_DEVICE, place, "gpu_index"))
        d._uuid = snap.text(SCOPE_DEVICE, place, "uuid")
        d.cuda_index = None
        return d

    @staticmethod
    def count() -> int:
        """How many GPUs gpuctl sees."""
        return _state.snapshot().device_count

    @classmethod
    def all(cls) -> List["Device"]:
        """Every GPU, in gpuctl index order."""
        snap = _state.snapshot()
        return [cls._at(snap, p) for p in range(snap.device_count)]

    @classmethod
    def from_indices(cls, indices: Union[int, List[int], None] = None) -> List["Device"]:
        if indices is None:
            return cls.all()
        if isinstance(indices, int):
            indices = [indices]
        return [cls(i) for i in indices]

    @classmethod
    def from_cuda_visible_devices(cls) -> List[Union["Device", "MigDevice"]]:
        """The devices CUDA numbers 0, 1, … under the current
        ``CUDA_VISIBLE_DEVICES`` (CUDA's rules: indices, UUIDs or unique
        prefixes; the list stops at the first bad entry; a device named twice
        hides every device).  Each has ``cuda_index`` set; an entry naming a
        MIG instance (its ``MIG-`` UUID or a prefix) gives that MigDevice."""
        return cls.from_cuda_indices(os.environ.get("CUDA_VISIBLE_DEVICES"))

    @classmethod
    def from_cuda_indices(cls, cuda_visible_devices: Optional[str]
                          ) -> List[Union["Device", "MigDevice"]]:
        """from_cuda_visible_devices for a value of the variable (None: unset)."""
        snap = _state.snapshot()
        # the C list stops at the first bad entry, so entry i gave device i
        entries = [e.strip() for e in (cuda_visible_devices or "").split(",")]
        out: List[Union[Device, MigDevice]] = []
        for cuda, place in enumerate(snap.cuda_devices(cuda_visible_devices)):
            d: Union[Device, MigDevice] = cls._at(snap, place)
            entry = entries[cuda] if cuda_visible_devices is not None else ""
            if entry[:4].upper() == "MIG-":
                d = next((m for m in d.mig_devices()
                          if (m.uuid() or "").upper().startswith(entry.upper())), d)
            d.cuda_index = cuda
            out.append(d)
        return out

    def _place(self, snap: Snapshot) -> Optional[int]:
        return snap.device_place(self._index)

    def __repr__(self) -> str:
        return f"Device(index={self._index}, name={self.name()!r}, uuid={self._uuid!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Device) and (self._index, self._uuid) == (other._index,
                                                                           other._uuid)

    def __hash__(self) -> int:
        return hash((self._index, self._uuid))

    # identity
    @property
    def index(self) -> int:
        """gpuctl's machine-wide index (nvitop's physical index)."""
        return self._index

    physical_index = index

    @property
    def display_index(self) -> str:
        return str(self._index)

    def bus_id(self) -> Optional[str]:
        """PCI bus id, "0000:18:00.0"."""
        return self._text("pci_bus_id")

    def vendor(self) -> Optional[str]:
        return self._text("vendor")

    def driver_version(self) -> Optional[str]:
        return self._text("driver_version")

    def cuda_driver_version(self) -> Optional[str]:
        """The CUDA driver API version the driver offers ("12.4")."""
        return self._snap().info("cuda_version")

    def is_mig_device(self) -> bool:
        return False

    # utilisation, thermals, power, clocks
    def gpu_utilization(self) -> Optional[int]:
        """GPU busy percentage."""
        return _int(self._num("util_pct"))

    gpu_percent = gpu_utilization

    def memory_utilization(self) -> Optional[int]:
        """Memory controller busy percentage."""
        return _int(self._num("mem_util_pct"))

    def encoder_utilization(self) -> Optional[int]:
        return _int(self._num("enc_util_pct"))

    def decoder_utilization(self) -> Optional[int]:
        return _int(self._num("dec_util_pct"))

    def temperature(self) -> Optional[int]:
        """Core temperature, °C."""
        return _int(self._num("temp_c"))

    def fan_speed(self) -> Optional[int]:
        return _int(self._num("fan_pct"))

    def power_usage(self) -> Optional[int]:
        """Power draw, milliwatts."""
        return _int(self._num("power_w"))

    power_draw = power_usage

    def power_limit(self) -> Optional[int]:
        """Enforced power limit, milliwatts."""
        return _int(self._num("power_limit_w"))

    def graphics_clock(self) -> Optional[int]:
        return _int(self._num("graphics_mhz"))

    def sm_clock(self) -> Optional[int]:
        return _int(self._num("sm_mhz"))

    def memory_clock(self) -> Optional[int]:
        return _int(self._num("mem_mhz"))

    def max_graphics_clock(self) -> Optional[int]:
        return _int(self._num("graphics_max_mhz"))

    def max_sm_clock(self) -> Optional[int]:
        return _int(self._num("sm_max_mhz"))

    def max_memory_clock(self) -> Optional[int]:
        return _int(self._num("mem_max_mhz"))

    def pcie_rx_throughput(self) -> Optional[int]:
        """PCIe receive throughput, KiB/s."""
        return _int(self._num("rx_kbps"))

    def pcie_tx_throughput(self) -> Optional[int]:
        return _int(self._num("tx_kbps"))

    def performance_state(self) -> Optional[int]:
        """P-state number (0 is P0, the fastest)."""
        return _int(self._num("pstate"))

    def compute_mode(self) -> Optional[str]:
        """"default", "exclusive_thread", "prohibited" or "exclusive_process"."""
        return self._text("compute_mode")

    def persistence_mode(self) -> Optional[bool]:
        v = self._num("persistence_mode")
        return None if v is None else bool(v)

    def display_active(self) -> Optional[bool]:
        v = self._num("display_active")
        return None if v is None else bool(v)

    def total_volatile_uncorrected_ecc_errors(self) -> Optional[int]:
        return _int(self._num("ecc_volatile"))

    def mig_mode(self) -> Optional[bool]:
        v = self._num("mig_mode")
        return None if v is None else bool(v)

    def status(self) -> Optional[str]:
        """Why the device is only partly known (e.g. "GPU is lost"), or None."""
        return self._text("status")

    def field(self, key: str) -> Union[float, str, None]:
        """Any key of the snapshot document's ``gpus[]`` objects, in the model's
        unit (bytes for ``*_mb`` keys, milliwatts for ``*_w``); names for named
        values ("P0"); None when unknown."""
        text = self._text(key)
        return text if text is not None else self._num(key)

    # MIG and processes
    def mig_devices(self) -> List["MigDevice"]:
        """The MIG instances of this GPU (empty when MIG is off)."""
        snap = self._snap()
        place = self._place(snap)
        return [MigDevice._at(self, snap, m) for m in range(snap.mig_count)
                if snap.mig_parent(m) == place]

    def processes(self) -> Dict[int, "GpuProcess"]:
        """The processes using this GPU, by pid."""
        from .process import GpuProcess
        snap = self._snap()
        at = GpuProcess._at
        return {pid: at(snap, i, self, pid) for i, pid in snap.processes_on(self._index)}


class MigDevice(_Readings):
    """A MIG instance: a device of its own, with a parent GPU."""

    _scope = SCOPE_MIG

    @classmethod
    def _at(cls, parent: Device, snap: Snapshot, mig: int) -> "MigDevice":
        m = cls.__new__(cls)
        m._pinned = parent._pinned
        m._parent = parent
        m._uuid = snap.text(SCOPE_MIG, mig, "uuid")
        m._gi = _int(snap.num(SCOPE_MIG, mig, "gpu_instance_id"))
        m._ci = _int(snap.num(SCOPE_MIG, mig, "compute_instance_id"))
        m._slot = sum(1 for k in range(mig) if snap.mig_parent(k) == snap.mig_parent(mig))
        m.cuda_index = None
        return m

    def _place(self, snap: Snapshot) -> Optional[int]:
        parent = self._parent._place(snap)
        for m in range(snap.mig_count):
            if snap.mig_parent(m) == parent and \
                    _int(snap.num(SCOPE_MIG, m, "gpu_instance_id")) == self._gi and \
                    _int(snap.num(SCOPE_MIG, m, "compute_instance_id")) == self._ci:
                return m
        return None

    def __repr__(self) -> str:
        return (f"MigDevice(parent={self._parent.index}, gpu_instance_id={self._gi}, "
                f"compute_instance_id={self._ci}, uuid={self._uuid!r})")

    def is_mig_device(self) -> bool:
        return True

    @property
    def index(self) -> tuple:
        """(parent's index, this instance's place among the parent's)."""
        return (self._parent.index, self._slot)

    physical_index = index

    @property
    def display_index(self) -> str:
        """"<parent index>:<place>", as nvitop shows a MIG device."""
        return f"{self._parent.index}:{self._slot}"

    def parent(self) -> Device:
        return self._parent

    def gpu_instance_id(self) -> Optional[int]:
        return self._gi

    def compute_instance_id(self) -> Optional[int]:
        return self._ci

    def profile(self) -> Optional[str]:
        """The MIG profile, "3g.40gb"."""
        snap = self._snap()
        at = self._place(snap)
        return None if at is None else snap.mig_profile(at)

    def gpu_utilization(self) -> Optional[int]:
        """NVML has no utilisation for MIG devices: always None."""
        return None

    def processes(self) -> Dict[int, "GpuProcess"]:
        """The processes on this instance (its parent's, by GPU/compute instance id)."""
        return {pid: p for pid, p in self._parent.processes().items()
                if p.gpu_instance_id() == self._gi and p.compute_instance_id() == self._ci}


__all__ = ["Device", "MigDevice", "GpuctlError"]
