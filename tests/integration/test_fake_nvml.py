"""ABI tests of the fake NVML (tests/fake-nvml), driven through ctypes.

The fake library stands in for NVIDIA's libnvidia-ml.so.1 in every test of
gpuctl's NVIDIA path, so it must follow the ABI the way the real library
does: return codes, the INSUFFICIENT_SIZE protocol of the list calls,
versioned structs, struct layouts, reference-counted init, and scenario
re-reads while a program runs.  These tests load it the way any NVML client
would (dlopen + dlsym through ctypes) and check each of those behaviours.

The library is found through FAKE_NVML_LIB (default
<repo>/build/tests/fake-nvml/libnvidia-ml.so.1); the old-driver variant is the
file of the same name in legacy/ next to it (or FAKE_NVML_LEGACY_LIB).
Run with Debian's /usr/bin/python3 -m pytest.
"""

import ctypes
import json
import os
import pathlib
import re
import shutil
import subprocess
import threading
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
LIB = pathlib.Path(os.environ.get("FAKE_NVML_LIB", REPO / "build/tests/fake-nvml/libnvidia-ml.so.1"))
LEGACY_LIB = pathlib.Path(os.environ.get("FAKE_NVML_LEGACY_LIB", LIB.parent / "legacy" / LIB.name))
SCENARIOS = REPO / "tests/fake-nvml/scenarios"

if not LIB.exists():
    pytest.skip(f"the fake NVML is not built: {LIB} does not exist "
                "(run `ninja -C build` or set FAKE_NVML_LIB)", allow_module_level=True)

SUCCESS, UNINITIALIZED, INVALID_ARGUMENT, NOT_SUPPORTED, NO_PERMISSION = 0, 1, 2, 3, 4
NOT_FOUND, INSUFFICIENT_SIZE, DRIVER_NOT_LOADED = 6, 7, 9
GPU_IS_LOST, LIB_RM_VERSION_MISMATCH, ARGUMENT_VERSION_MISMATCH, UNKNOWN = 15, 18, 25, 999
ULLONG_MAX = 2**64 - 1
NO_INSTANCE = 0xFFFFFFFF

c_uint, c_int, c_ull = ctypes.c_uint, ctypes.c_int, ctypes.c_ulonglong


class PciInfoV1(ctypes.Structure):
    _fields_ = [("busId", ctypes.c_char * 16), ("domain", c_uint), ("bus", c_uint), ("device", c_uint),
                ("pciDeviceId", c_uint), ("pciSubSystemId", c_uint), ("reserved0", c_uint),
                ("reserved1", c_uint), ("reserved2", c_uint), ("reserved3", c_uint)]


class PciInfo(ctypes.Structure):
    _fields_ = [("busIdLegacy", ctypes.c_char * 16), ("domain", c_uint), ("bus", c_uint), ("device", c_uint),
                ("pciDeviceId", c_uint), ("pciSubSystemId", c_uint), ("busId", ctypes.c_char * 32)]


class Memory(ctypes.Structure):
    _fields_ = [("total", c_ull), ("free", c_ull), ("used", c_ull)]


class MemoryV2(ctypes.Structure):
    _fields_ = [("version", c_uint), ("total", c_ull), ("reserved", c_ull), ("free", c_ull), ("used", c_ull)]


class Bar1(ctypes.Structure):
    _fields_ = [("bar1Total", c_ull), ("bar1Free", c_ull), ("bar1Used", c_ull)]


class Utilization(ctypes.Structure):
    _fields_ = [("gpu", c_uint), ("memory", c_uint)]


class TemperatureV1(ctypes.Structure):
    _fields_ = [("version", c_uint), ("sensorType", c_int), ("temperature", c_int)]


class ProcessInfoV1(ctypes.Structure):
    _fields_ = [("pid", c_uint), ("usedGpuMemory", c_ull)]


class ProcessInfoV2(ctypes.Structure):
    _fields_ = [("pid", c_uint), ("usedGpuMemory", c_ull), ("gpuInstanceId", c_uint),
                ("computeInstanceId", c_uint)]


class Sample(ctypes.Structure):
    _fields_ = [("pid", c_uint), ("timeStamp", c_ull), ("smUtil", c_uint), ("memUtil", c_uint),
                ("encUtil", c_uint), ("decUtil", c_uint)]


MEMORY_V2 = ctypes.sizeof(MemoryV2) | 2 << 24
TEMPERATURE_V1 = ctypes.sizeof(TemperatureV1) | 1 << 24

PROCESS_FUNCTIONS = [
    (name + suffix, kind, ProcessInfoV1 if suffix == "" else ProcessInfoV2)
    for name, kind in [("nvmlDeviceGetComputeRunningProcesses", "compute"),
                       ("nvmlDeviceGetGraphicsRunningProcesses", "graphics"),
                       ("nvmlDeviceGetMPSComputeRunningProcesses", "mps")]
    for suffix in ["", "_v2", "_v3"]
]

NEWER_SYMBOLS = [
    "nvmlInit_v2", "nvmlDeviceGetCount_v2", "nvmlDeviceGetHandleByIndex_v2",
    "nvmlSystemGetCudaDriverVersion_v2", "nvmlDeviceGetPciInfo_v2", "nvmlDeviceGetPciInfo_v3",
    "nvmlDeviceGetMemoryInfo_v2", "nvmlDeviceGetTemperatureV", "nvmlDeviceGetFanSpeed_v2",
    "nvmlDeviceGetNumFans", "nvmlDeviceGetComputeRunningProcesses_v2",
    "nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v2",
    "nvmlDeviceGetGraphicsRunningProcesses_v3", "nvmlDeviceGetMPSComputeRunningProcesses",
    "nvmlDeviceGetMPSComputeRunningProcesses_v2", "nvmlDeviceGetMPSComputeRunningProcesses_v3",
]


class Nvml:
    """The library as a ctypes client sees it; calls return the nvmlReturn_t."""

    def __init__(self, path):
        self.path = path
        self.lib = ctypes.CDLL(str(path))
        self.lib.nvmlErrorString.restype = ctypes.c_char_p

    def __call__(self, name, *args):
        return getattr(self.lib, name)(*args)

    def has(self, name):
        try:
            getattr(self.lib, name)
        except AttributeError:
            return False
        return True

    def reset(self):
        """Shut down however many times it was initialised."""
        for _ in range(1000):
            if self("nvmlShutdown") == UNINITIALIZED:
                return
        raise AssertionError("nvmlShutdown never answered UNINITIALIZED")

    def handle(self, index=0):
        h = ctypes.c_void_p()
        assert self("nvmlDeviceGetHandleByIndex", c_uint(index), ctypes.byref(h)) == SUCCESS
        return h

    def mig_handle(self, parent, index):
        h = ctypes.c_void_p()
        assert self("nvmlDeviceGetMigDeviceHandleByIndex", parent, c_uint(index), ctypes.byref(h)) == SUCCESS
        return h

    def uint(self, name, *args):
        out = c_uint(12345)
        rc = self(name, *args, ctypes.byref(out))
        return rc, out.value

    def string(self, name, *args, length=96):
        buf = ctypes.create_string_buffer(length)
        rc = self(name, *args, buf, c_uint(length))
        return rc, buf.value.decode()

    def processes(self, name, handle, entry, capacity):
        """One call with room for capacity entries: (rc, count, entries)."""
        count = c_uint(capacity)
        arr = (entry * max(capacity, 1))()
        rc = self(name, handle, ctypes.byref(count), arr if capacity else None)
        return rc, count.value, list(arr[:min(count.value, capacity)]) if rc == SUCCESS else []


_LIBS = {}


def load(path):
    if path not in _LIBS:
        _LIBS[path] = Nvml(path)
    return _LIBS[path]


@pytest.fixture
def nvml():
    lib = load(LIB)
    lib.reset()
    yield lib
    lib.reset()


@pytest.fixture
def use(tmp_path, monkeypatch):
    """use(scenario) points FAKE_NVML_SCENARIO at a dict (written out) or a file."""
    monkeypatch.delenv("FAKE_NVML_RECHECK_MS", raising=False)

    def _use(scenario, name="scenario.json"):
        if isinstance(scenario, (str, pathlib.Path)):
            path = pathlib.Path(scenario)
        else:
            path = tmp_path / name
            write_atomically(path, scenario)
        monkeypatch.setenv("FAKE_NVML_SCENARIO", str(path))
        return path
    return _use


def write_atomically(path, scenario):
    tmp = path.with_suffix(".tmp")
    tmp.write_text(scenario if isinstance(scenario, str) else json.dumps(scenario, indent=2))
    os.replace(tmp, path)


def gpu(index=0, **fields):
    dev = {"name": f"Fake GPU {index}", "uuid": f"GPU-00000000-0000-0000-0000-{index:012d}"}
    dev.update(fields)
    return dev


def init_with(nvml, use, scenario):
    use(scenario)
    assert nvml("nvmlInit_v2") == SUCCESS


# ---- initialisation -------------------------------------------------------------------------

def test_every_call_before_init_is_uninitialized(nvml, use):
    use(SCENARIOS / "one-gpu.json")
    count = c_uint(77)
    assert nvml("nvmlDeviceGetCount_v2", ctypes.byref(count)) == UNINITIALIZED
    assert count.value == 77
    assert nvml.string("nvmlSystemGetDriverVersion")[0] == UNINITIALIZED
    assert nvml.uint("nvmlDeviceGetPowerUsage", ctypes.c_void_p(1))[0] == UNINITIALIZED
    assert nvml("nvmlShutdown") == UNINITIALIZED
    assert nvml.lib.nvmlErrorString(UNINITIALIZED) == b"Uninitialized"


def test_init_and_shutdown_are_reference_counted(nvml, use):
    use(SCENARIOS / "one-gpu.json")
    assert nvml("nvmlInit") == SUCCESS
    assert nvml("nvmlInit_v2") == SUCCESS
    assert nvml("nvmlInitWithFlags", c_uint(0)) == SUCCESS
    handle = nvml.handle(0)
    for remaining in (2, 1):
        assert nvml("nvmlShutdown") == SUCCESS
        assert nvml.uint("nvmlDeviceGetCount_v2") == (SUCCESS, 1), f"still {remaining} inits open"
        assert nvml.uint("nvmlDeviceGetMinorNumber", handle) == (SUCCESS, 0)
    assert nvml("nvmlShutdown") == SUCCESS
    assert nvml.uint("nvmlDeviceGetCount_v2")[0] == UNINITIALIZED
    assert nvml.uint("nvmlDeviceGetMinorNumber", handle)[0] == UNINITIALIZED
    assert nvml("nvmlShutdown") == UNINITIALIZED


@pytest.mark.parametrize("scenario,code", [
    (SCENARIOS / "init-driver-not-loaded.json", DRIVER_NOT_LOADED),
    (SCENARIOS / "init-version-mismatch.json", LIB_RM_VERSION_MISMATCH),
    ({"init_error": "NO_PERMISSION"}, NO_PERMISSION),
    ({"init_error": "NVML_ERROR_GPU_IS_LOST", "devices": [gpu()]}, GPU_IS_LOST),
])
def test_init_errors(nvml, use, scenario, code):
    use(scenario)
    for init in ("nvmlInit", "nvmlInit_v2"):
        assert nvml(init) == code
    assert nvml("nvmlInitWithFlags", c_uint(1)) == code
    assert nvml.uint("nvmlDeviceGetCount_v2")[0] == UNINITIALIZED
    assert nvml("nvmlShutdown") == UNINITIALIZED


def test_init_without_a_scenario_is_driver_not_loaded(nvml, monkeypatch, capfd):
    monkeypatch.delenv("FAKE_NVML_SCENARIO", raising=False)
    assert nvml("nvmlInit_v2") == DRIVER_NOT_LOADED
    assert "FAKE_NVML_SCENARIO" in capfd.readouterr().err


def position_of(text, needle):
    """1-based line and column where needle starts in text."""
    offset = text.index(needle)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


BAD_SCENARIOS = {
    "wrong type": ('{\n  "devices": [\n    {\n      "name": "x",\n      "memory": {"total": "lots", "used": 1}\n'
                   '    }\n  ]\n}\n', '"lots"', "devices[0].memory.total"),
    "unknown field": ('{"devices": [{"name": "x"}, {"name": "y",\n "temprature": {"gpu": 3}}]}',
                      '{"gpu": 3}', "devices[1].temprature"),
    "bad error name": ('{"devices": [{"errors": {"nvmlDeviceGetPowerUsage": "NOT_A_CODE"}}]}',
                       '"NOT_A_CODE"', "nvmlDeviceGetPowerUsage"),
    "unknown function": ('{"errors": {\n"nvmlDeviceGetPowerUsagee": "NOT_SUPPORTED"}}',
                         '"NOT_SUPPORTED"', "nvmlDeviceGetPowerUsagee"),
    "process without pid": ('{"devices": [{"processes": {"compute": [{"pid": 1}, {"used_memory": 5}]}}]}',
                            '{"used_memory": 5}', "devices[0].processes.compute[1]"),
    "bad bus id": ('{"devices": [{"pci": {"bus_id": "1:2:3"}}]}', '"1:2:3"', "devices[0].pci.bus_id"),
    "bad delay": ('{"delays_ms": {"nvmlDeviceGetPowerUsage": -5}}', '-5', "delays_ms.nvmlDeviceGetPowerUsage"),
    "delay for no function": ('{"delays_ms": {"nvmlDeviceGetPower": 5}}', '5', "nvmlDeviceGetPower"),
}


@pytest.mark.parametrize("case", sorted(BAD_SCENARIOS))
def test_bad_scenario_is_unknown_with_file_line_and_column(nvml, use, tmp_path, capfd, case):
    text, at, path_in_message = BAD_SCENARIOS[case]
    path = tmp_path / "bad.json"
    path.write_text(text)
    use(path)
    assert nvml("nvmlInit_v2") == UNKNOWN
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    line, column = position_of(text, at)
    assert err[0].startswith(f"fake-nvml: {path}:{line}:{column}: "), err[0]
    assert path_in_message in err[0]
    assert nvml.uint("nvmlDeviceGetCount_v2")[0] == UNINITIALIZED


def test_invalid_json_and_missing_file_are_unknown(nvml, use, tmp_path, capfd):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "devices": [\n    {"name": "x",}\n  ]\n}\n')
    use(path)
    assert nvml("nvmlInit_v2") == UNKNOWN
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.match(rf"fake-nvml: {re.escape(str(path))}:3:\d+: ", err[0]), err
    use(tmp_path / "absent.json")
    assert nvml("nvmlInit_v2") == UNKNOWN
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path / "absent.json") in err[0] and "No such file" in err[0], err


def test_error_strings_match_the_real_library():
    lib = load(LIB)
    expected = {SUCCESS: b"Success", INVALID_ARGUMENT: b"Invalid Argument", NOT_SUPPORTED: b"Not Supported",
                NO_PERMISSION: b"Insufficient Permissions", INSUFFICIENT_SIZE: b"Insufficient Size",
                DRIVER_NOT_LOADED: b"Driver Not Loaded", GPU_IS_LOST: b"GPU is lost",
                LIB_RM_VERSION_MISMATCH: b"RM has detected an NVML/RM version mismatch.",
                UNKNOWN: b"Unknown Error", 12345: b"Unknown Error"}
    for code, text in expected.items():
        assert lib.lib.nvmlErrorString(code) == text


# ---- system and identity ----------------------------------------------------------------------

def test_versions_and_string_buffers(nvml, use):
    init_with(nvml, use, SCENARIOS / "one-gpu.json")
    assert nvml.string("nvmlSystemGetDriverVersion") == (SUCCESS, "550.54.15")
    assert nvml.string("nvmlSystemGetNVMLVersion") == (SUCCESS, "12.550.54.15")
    for name in ("nvmlSystemGetCudaDriverVersion", "nvmlSystemGetCudaDriverVersion_v2"):
        version = c_int()
        assert nvml(name, ctypes.byref(version)) == SUCCESS and version.value == 12040
        assert nvml(name, None) == INVALID_ARGUMENT
    exact = len("550.54.15") + 1
    assert nvml.string("nvmlSystemGetDriverVersion", length=exact) == (SUCCESS, "550.54.15")
    assert nvml.string("nvmlSystemGetDriverVersion", length=exact - 1)[0] == INSUFFICIENT_SIZE
    assert nvml("nvmlSystemGetDriverVersion", None, c_uint(80)) == INVALID_ARGUMENT


def test_defaults_for_versions(nvml, use):
    init_with(nvml, use, {"devices": []})
    assert nvml.string("nvmlSystemGetDriverVersion")[0] == SUCCESS
    assert nvml.uint("nvmlDeviceGetCount")[1] == 0
    h = ctypes.c_void_p()
    assert nvml("nvmlDeviceGetHandleByIndex_v2", c_uint(0), ctypes.byref(h)) == INVALID_ARGUMENT


def test_count_handles_names_and_uuids(nvml, use):
    devices = [gpu(i, minor_number=i) for i in range(3)]
    init_with(nvml, use, {"devices": devices})
    for name in ("nvmlDeviceGetCount", "nvmlDeviceGetCount_v2"):
        assert nvml.uint(name) == (SUCCESS, 3)
        assert nvml(name, None) == INVALID_ARGUMENT
    for i in range(3):
        for by_index in ("nvmlDeviceGetHandleByIndex", "nvmlDeviceGetHandleByIndex_v2"):
            h = ctypes.c_void_p()
            assert nvml(by_index, c_uint(i), ctypes.byref(h)) == SUCCESS
            assert nvml.uint("nvmlDeviceGetIndex", h) == (SUCCESS, i)
        assert nvml.string("nvmlDeviceGetName", h) == (SUCCESS, f"Fake GPU {i}")
        uuid = devices[i]["uuid"]
        assert nvml.string("nvmlDeviceGetUUID", h) == (SUCCESS, uuid)
        by_uuid = ctypes.c_void_p()
        assert nvml("nvmlDeviceGetHandleByUUID", uuid.encode(), ctypes.byref(by_uuid)) == SUCCESS
        assert by_uuid.value == h.value
    assert nvml("nvmlDeviceGetHandleByIndex_v2", c_uint(3), ctypes.byref(ctypes.c_void_p())) == INVALID_ARGUMENT
    assert nvml("nvmlDeviceGetHandleByIndex_v2", c_uint(0), None) == INVALID_ARGUMENT
    assert nvml("nvmlDeviceGetHandleByUUID", b"GPU-nope", ctypes.byref(ctypes.c_void_p())) == NOT_FOUND
    assert nvml("nvmlDeviceGetHandleByUUID", None, ctypes.byref(ctypes.c_void_p())) == INVALID_ARGUMENT
    h = nvml.handle(0)
    name = "Fake GPU 0"
    assert nvml.string("nvmlDeviceGetName", h, length=len(name))[0] == INSUFFICIENT_SIZE
    assert nvml.string("nvmlDeviceGetName", h, length=len(name) + 1) == (SUCCESS, name)


def test_invalid_handles_are_invalid_argument(nvml, use):
    init_with(nvml, use, SCENARIOS / "one-gpu.json")
    stranger = ctypes.create_string_buffer(64)
    for bad in (ctypes.c_void_p(None), ctypes.c_void_p(ctypes.addressof(stranger)),
                ctypes.c_void_p(nvml.handle(0).value + 1)):
        assert nvml.uint("nvmlDeviceGetPowerUsage", bad)[0] == INVALID_ARGUMENT
        assert nvml.string("nvmlDeviceGetName", bad)[0] == INVALID_ARGUMENT
        assert nvml.processes("nvmlDeviceGetComputeRunningProcesses_v3", bad, ProcessInfoV2, 0)[0] \
            == INVALID_ARGUMENT


NULL_OUTPUT_CALLS = [
    ("nvmlDeviceGetIndex", ()), ("nvmlDeviceGetMinorNumber", ()), ("nvmlDeviceGetPciInfo", ()),
    ("nvmlDeviceGetPciInfo_v3", ()), ("nvmlDeviceGetMemoryInfo", ()), ("nvmlDeviceGetMemoryInfo_v2", ()),
    ("nvmlDeviceGetBAR1MemoryInfo", ()), ("nvmlDeviceGetUtilizationRates", ()),
    ("nvmlDeviceGetTemperature", (0,)), ("nvmlDeviceGetTemperatureV", ()),
    ("nvmlDeviceGetTemperatureThreshold", (0,)), ("nvmlDeviceGetPowerUsage", ()),
    ("nvmlDeviceGetEnforcedPowerLimit", ()), ("nvmlDeviceGetPowerManagementLimit", ()),
    ("nvmlDeviceGetFanSpeed", ()), ("nvmlDeviceGetFanSpeed_v2", (0,)), ("nvmlDeviceGetNumFans", ()),
    ("nvmlDeviceGetClockInfo", (0,)), ("nvmlDeviceGetMaxClockInfo", (0,)),
    ("nvmlDeviceGetCurrPcieLinkGeneration", ()), ("nvmlDeviceGetCurrPcieLinkWidth", ()),
    ("nvmlDeviceGetMaxPcieLinkGeneration", ()), ("nvmlDeviceGetMaxPcieLinkWidth", ()),
    ("nvmlDeviceGetPcieThroughput", (0,)), ("nvmlDeviceGetTotalEccErrors", (0, 0)),
    ("nvmlDeviceGetPersistenceMode", ()), ("nvmlDeviceGetDisplayActive", ()), ("nvmlDeviceGetComputeMode", ()),
    ("nvmlDeviceGetPerformanceState", ()), ("nvmlDeviceGetComputeRunningProcesses_v3", ()),
    ("nvmlDeviceGetProcessUtilization", (None,)), ("nvmlDeviceGetMaxMigDeviceCount", ()),
    ("nvmlDeviceIsMigDeviceHandle", ()), ("nvmlDeviceGetGpuInstanceId", ()),
    ("nvmlDeviceGetComputeInstanceId", ()), ("nvmlDeviceGetMigDeviceHandleByIndex", (0,)),
]


@pytest.mark.parametrize("name,args", NULL_OUTPUT_CALLS, ids=[c[0] for c in NULL_OUTPUT_CALLS])
def test_null_outputs_are_invalid_argument(nvml, use, name, args):
    init_with(nvml, use, SCENARIOS / "one-gpu.json")
    h = nvml.handle(0)
    if name == "nvmlDeviceGetProcessUtilization":
        assert nvml(name, h, None, None, c_ull(0)) == INVALID_ARGUMENT
    else:
        assert nvml(name, h, *args, None) == INVALID_ARGUMENT


# ---- versioned structs and layouts ----------------------------------------------------------

def call_with_canary(nvml, name, handle, struct, prepare=None):
    """Calls name(handle, &struct) on a buffer with 32 guard bytes after it."""
    size = ctypes.sizeof(struct)
    raw = ctypes.create_string_buffer(b"\xab" * (size + 32), size + 32)
    value = struct.from_buffer(raw)
    if prepare:
        prepare(value)
    rc = nvml(name, handle, ctypes.byref(value))
    assert raw.raw[size:] == b"\xab" * 32, f"{name} wrote past its {size}-byte struct"
    return rc, value


def test_memory_v1_and_v2(nvml, use):
    init_with(nvml, use, SCENARIOS / "one-gpu.json")
    h = nvml.handle(0)
    total, reserved, used = 85520809984, 592445440, 27917287424
    rc, mem = call_with_canary(nvml, "nvmlDeviceGetMemoryInfo", h, Memory)
    assert rc == SUCCESS
    assert (mem.total, mem.used, mem.free) == (total, used + reserved, total - used - reserved)
    rc, mem2 = call_with_canary(nvml, "nvmlDeviceGetMemoryInfo_v2", h, MemoryV2,
                                lambda m: setattr(m, "version", MEMORY_V2))
    assert rc == SUCCESS
    assert (mem2.total, mem2.reserved, mem2.used, mem2.free) == (total, reserved, used, total - used - reserved)
    assert MEMORY_V2 == 0x02000028
    for wrong in (0, 1 << 24 | 40, 2 << 24 | 32):
        rc, _ = call_with_canary(nvml, "nvmlDeviceGetMemoryInfo_v2", h, MemoryV2,
                                 lambda m, v=wrong: setattr(m, "version", v))
        assert rc == ARGUMENT_VERSION_MISMATCH


def test_temperature_and_thresholds(nvml, use):
    init_with(nvml, use, SCENARIOS / "one-gpu.json")
    h = nvml.handle(0)
    assert nvml.uint("nvmlDeviceGetTemperature", h, 0) == (SUCCESS, 54)
    assert nvml.uint("nvmlDeviceGetTemperature", h, 1)[0] == INVALID_ARGUMENT
    def request(version, sensor=0):
        def prepare(v):
            v.version, v.sensorType = version, sensor
        return call_with_canary(nvml, "nvmlDeviceGetTemperatureV", h, TemperatureV1, prepare)
    rc, t = request(TEMPERATURE_V1)
    assert rc == SUCCESS and t.temperature == 54 and TEMPERATURE_V1 == 0x0100000C
    assert request(2 << 24 | 12)[0] == ARGUMENT_VERSION_MISMATCH
    assert request(TEMPERATURE_V1, sensor=5)[0] == INVALID_ARGUMENT
    for kind, value in enumerate([92, 89, 95, 87]):
        assert nvml.uint("nvmlDeviceGetTemperatureThreshold", h, kind) == (SUCCESS, value)
    assert nvml.uint("nvmlDeviceGetTemperatureThreshold", h, 4)[0] == NOT_SUPPORTED
    assert nvml.uint("nvmlDeviceGetTemperatureThreshold", h, 99)[0] == INVALID_ARGUMENT


def test_pci_info_layouts(nvml, use):
    scenario = {"devices": [gpu(0, pci={"bus_id": "00000001:af:1f.3", "device_id": 0x233010DE,
                                          "subsystem_id": "0x16c110de"})]}
    init_with(nvml, use, scenario)
    h = nvml.handle(0)
    assert ctypes.sizeof(PciInfoV1) == 52 and ctypes.sizeof(PciInfo) == 68
    rc, v1 = call_with_canary(nvml, "nvmlDeviceGetPciInfo", h, PciInfoV1)
    assert rc == SUCCESS
    assert v1.busId == b"0001:AF:1F.3"
    assert (v1.domain, v1.bus, v1.device) == (1, 0xAF, 0x1F)
    assert (v1.pciDeviceId, v1.pciSubSystemId) == (0x233010DE, 0x16C110DE)
    assert (v1.reserved0, v1.reserved1, v1.reserved2, v1.reserved3) == (0, 0, 0, 0)
    for name in ("nvmlDeviceGetPciInfo_v2", "nvmlDeviceGetPciInfo_v3"):
        rc, v3 = call_with_canary(nvml, name, h, PciInfo)
        assert rc == SUCCESS
        assert v3.busIdLegacy == b"0001:AF:1F.3" and v3.busId == b"00000001:AF:1F.3"
        assert (v3.domain, v3.bus, v3.device, v3.pciDeviceId) == (1, 0xAF, 0x1F, 0x233010DE)


# ---- scalar queries -----------------------------------------------------------------------

def test_one_gpu_scalars(nvml, use):
    init_with(nvml, use, SCENARIOS / "one-gpu.json")
    h = nvml.handle(0)
    util = Utilization()
    assert nvml("nvmlDeviceGetUtilizationRates", h, ctypes.byref(util)) == SUCCESS
    assert (util.gpu, util.memory) == (87, 41)
    for name, expected in [("nvmlDeviceGetEncoderUtilization", (0, 167000)),
                           ("nvmlDeviceGetDecoderUtilization", (3, 167000))]:
        value, period = c_uint(), c_uint()
        assert nvml(name, h, ctypes.byref(value), ctypes.byref(period)) == SUCCESS
        assert (value.value, period.value) == expected
        assert nvml(name, h, ctypes.byref(value), None) == INVALID_ARGUMENT
    bar1 = Bar1()
    assert nvml("nvmlDeviceGetBAR1MemoryInfo", h, ctypes.byref(bar1)) == SUCCESS
    assert (bar1.bar1Total, bar1.bar1Used, bar1.bar1Free) == (137438953472, 52428800, 137438953472 - 52428800)
    expectations = {
        "nvmlDeviceGetPowerUsage": 412345, "nvmlDeviceGetEnforcedPowerLimit": 700000,
        "nvmlDeviceGetPowerManagementLimit": 700000, "nvmlDeviceGetCurrPcieLinkGeneration": 5,
        "nvmlDeviceGetCurrPcieLinkWidth": 16, "nvmlDeviceGetMaxPcieLinkGeneration": 5,
        "nvmlDeviceGetMaxPcieLinkWidth": 16, "nvmlDeviceGetMinorNumber": 0,
        "nvmlDeviceGetPersistenceMode": 1, "nvmlDeviceGetDisplayActive": 0,
        "nvmlDeviceGetComputeMode": 0, "nvmlDeviceGetPerformanceState": 0, "nvmlDeviceGetNumFans": 0,
    }
    for name, value in expectations.items():
        assert nvml.uint(name, h) == (SUCCESS, value), name
    assert nvml.uint("nvmlDeviceGetFanSpeed", h)[0] == NOT_SUPPORTED
    assert nvml.uint("nvmlDeviceGetFanSpeed_v2", h, c_uint(0))[0] == INVALID_ARGUMENT
    for clock, (now, top) in enumerate([(1755, 1980), (1755, 1980), (2619, 2619), (1590, 1755)]):
        assert nvml.uint("nvmlDeviceGetClockInfo", h, clock) == (SUCCESS, now)
        assert nvml.uint("nvmlDeviceGetMaxClockInfo", h, clock) == (SUCCESS, top)
    assert nvml.uint("nvmlDeviceGetClockInfo", h, 4)[0] == INVALID_ARGUMENT
    assert nvml.uint("nvmlDeviceGetPcieThroughput", h, 0) == (SUCCESS, 20480)
    assert nvml.uint("nvmlDeviceGetPcieThroughput", h, 1) == (SUCCESS, 1048576)
    assert nvml.uint("nvmlDeviceGetPcieThroughput", h, 2)[0] == INVALID_ARGUMENT
    for (kind, counter), value in {(0, 0): 0, (1, 0): 0, (0, 1): 12, (1, 1): 0}.items():
        count = c_ull(99)
        assert nvml("nvmlDeviceGetTotalEccErrors", h, kind, counter, ctypes.byref(count)) == SUCCESS
        assert count.value == value
    assert nvml("nvmlDeviceGetTotalEccErrors", h, 2, 0, ctypes.byref(c_ull())) == INVALID_ARGUMENT
    assert nvml("nvmlDeviceGetTotalEccErrors", h, 0, 2, ctypes.byref(c_ull())) == INVALID_ARGUMENT


def test_fans_and_enums(nvml, use):
    init_with(nvml, use, {"devices": [gpu(0, fans=[30, 45], compute_mode="EXCLUSIVE_PROCESS", pstate=32,
                                          display_active=1, persistence_mode=False)]})
    h = nvml.handle(0)
    assert nvml.uint("nvmlDeviceGetNumFans", h) == (SUCCESS, 2)
    assert nvml.uint("nvmlDeviceGetFanSpeed", h) == (SUCCESS, 30)
    assert nvml.uint("nvmlDeviceGetFanSpeed_v2", h, c_uint(1)) == (SUCCESS, 45)
    assert nvml.uint("nvmlDeviceGetFanSpeed_v2", h, c_uint(2))[0] == INVALID_ARGUMENT
    assert nvml.uint("nvmlDeviceGetFanSpeed_v2", h, c_uint(0xFFFFFFFF))[0] == INVALID_ARGUMENT
    assert nvml.uint("nvmlDeviceGetComputeMode", h) == (SUCCESS, 3)
    assert nvml.uint("nvmlDeviceGetPerformanceState", h) == (SUCCESS, 32)
    assert nvml.uint("nvmlDeviceGetDisplayActive", h) == (SUCCESS, 1)
    assert nvml.uint("nvmlDeviceGetPersistenceMode", h) == (SUCCESS, 0)


def test_omitted_fields_are_not_supported(nvml, use):
    init_with(nvml, use, {"devices": [{}]})
    h = nvml.handle(0)
    for name in ("nvmlDeviceGetName", "nvmlDeviceGetUUID"):
        assert nvml.string(name, h)[0] == NOT_SUPPORTED
    for name in ("nvmlDeviceGetPowerUsage", "nvmlDeviceGetMinorNumber", "nvmlDeviceGetFanSpeed",
                 "nvmlDeviceGetNumFans", "nvmlDeviceGetPersistenceMode", "nvmlDeviceGetPerformanceState",
                 "nvmlDeviceGetCurrPcieLinkWidth"):
        assert nvml.uint(name, h)[0] == NOT_SUPPORTED, name
    assert nvml("nvmlDeviceGetMemoryInfo", h, ctypes.byref(Memory())) == NOT_SUPPORTED
    assert nvml("nvmlDeviceGetPciInfo_v3", h, ctypes.byref(PciInfo())) == NOT_SUPPORTED
    assert nvml("nvmlDeviceGetMigMode", h, ctypes.byref(c_uint()), ctypes.byref(c_uint())) == NOT_SUPPORTED
    assert nvml.uint("nvmlDeviceGetMaxMigDeviceCount", h) == (SUCCESS, 0)
    for name, _, entry in PROCESS_FUNCTIONS:
        assert nvml.processes(name, h, entry, 0)[0] == NOT_SUPPORTED
    assert nvml("nvmlDeviceGetProcessUtilization", h, None, ctypes.byref(c_uint()), c_ull(0)) == NOT_SUPPORTED


def test_unsupported_consumer_gpu(nvml, use):
    init_with(nvml, use, SCENARIOS / "unsupported.json")
    h = nvml.handle(0)
    assert nvml.uint("nvmlDeviceGetPowerManagementLimit", h)[0] == NO_PERMISSION
    assert nvml.uint("nvmlDeviceGetEnforcedPowerLimit", h)[0] == NOT_SUPPORTED
    assert nvml.uint("nvmlDeviceGetPcieThroughput", h, 0)[0] == NO_PERMISSION
    assert nvml("nvmlDeviceGetProcessUtilization", h, None, ctypes.byref(c_uint()), c_ull(0)) == NO_PERMISSION
    assert nvml("nvmlDeviceGetTotalEccErrors", h, 0, 0, ctypes.byref(c_ull())) == NOT_SUPPORTED
    assert nvml("nvmlDeviceGetBAR1MemoryInfo", h, ctypes.byref(Bar1())) == NOT_SUPPORTED
    assert nvml.uint("nvmlDeviceGetTemperatureThreshold", h, 3)[0] == NOT_SUPPORTED
    assert nvml.uint("nvmlDeviceGetTemperatureThreshold", h, 0) == (SUCCESS, 105)
    assert nvml.uint("nvmlDeviceGetPowerUsage", h) == (SUCCESS, 18000)
    assert nvml.processes("nvmlDeviceGetMPSComputeRunningProcesses_v3", h, ProcessInfoV2, 0)[0] == NOT_SUPPORTED
    rc, count, entries = nvml.processes("nvmlDeviceGetGraphicsRunningProcesses_v3", h, ProcessInfoV2, 4)
    assert (rc, count) == (SUCCESS, 2)
    assert [e.usedGpuMemory for e in entries] == [ULLONG_MAX, ULLONG_MAX]


# ---- process lists ------------------------------------------------------------------------

@pytest.mark.parametrize("name,kind,entry", PROCESS_FUNCTIONS, ids=[f[0] for f in PROCESS_FUNCTIONS])
def test_process_list_protocol(nvml, use, name, kind, entry):
    procs = [{"pid": 100 + i, "used_memory": (i + 1) << 20} for i in range(3)]
    procs.append({"pid": 200, "used_memory": None})
    init_with(nvml, use, {"devices": [gpu(0, processes={kind: procs}),
                                      gpu(1, processes={"compute": [], "graphics": [], "mps": []})]})
    h = nvml.handle(0)
    count = c_uint(0)
    assert nvml(name, h, ctypes.byref(count), None) == INSUFFICIENT_SIZE and count.value == 4
    assert nvml.processes(name, h, entry, 3)[:2] == (INSUFFICIENT_SIZE, 4)
    assert nvml(name, h, ctypes.byref(c_uint(2)), None) == INVALID_ARGUMENT
    assert nvml(name, h, None, None) == INVALID_ARGUMENT

    # Exactly the size asked for: nothing may be written past it.
    size = ctypes.sizeof(entry)
    assert size == (16 if entry is ProcessInfoV1 else 24)
    raw = ctypes.create_string_buffer(b"\xcd" * (4 * size + 32), 4 * size + 32)
    count = c_uint(4)
    assert nvml(name, h, ctypes.byref(count), raw) == SUCCESS and count.value == 4
    assert raw.raw[4 * size:] == b"\xcd" * 32
    got = (entry * 4).from_buffer(raw)
    assert [(e.pid, e.usedGpuMemory) for e in got] == [(100, 1 << 20), (101, 2 << 20), (102, 3 << 20),
                                                       (200, ULLONG_MAX)]
    if entry is ProcessInfoV2:
        assert all((e.gpuInstanceId, e.computeInstanceId) == (NO_INSTANCE, NO_INSTANCE) for e in got)

    # More room than needed: the count says how many were written.
    assert nvml.processes(name, h, entry, 10)[:2] == (SUCCESS, 4)
    empty = nvml.handle(1)
    assert nvml.processes(name, empty, entry, 0)[:2] == (SUCCESS, 0)
    assert nvml.processes(name, empty, entry, 5)[:2] == (SUCCESS, 0)


def fetch_like_a_client(nvml, name, handle, entry, slack=0, tries=10):
    """The retry loop a faithful NVML client runs; returns (pids, calls made)."""
    count = c_uint(0)
    rc = nvml(name, handle, ctypes.byref(count), None)
    calls = 1
    while rc == INSUFFICIENT_SIZE and calls < tries:
        room = count.value + slack
        arr = (entry * room)()
        count = c_uint(room)
        rc = nvml(name, handle, ctypes.byref(count), arr)
        calls += 1
    assert rc == SUCCESS
    return [arr[i].pid for i in range(count.value)], calls


@pytest.mark.parametrize("name,kind,entry", [f for f in PROCESS_FUNCTIONS if f[0].endswith(("_v3", "Processes"))])
def test_growing_process_list(nvml, use, name, kind, entry):
    scenario = {"devices": [gpu(0, processes={kind: [{"pid": 1, "used_memory": 10}, {"pid": 2, "used_memory": 20}]},
                                process_growth={kind: [[{"pid": 3, "used_memory": 30}],
                                                       [{"pid": 4, "used_memory": 40},
                                                        {"pid": 5, "used_memory": 50}]]})]}
    init_with(nvml, use, scenario)
    h = nvml.handle(0)
    count = c_uint(0)
    assert nvml(name, h, ctypes.byref(count), None) == INSUFFICIENT_SIZE and count.value == 2
    # The list grew right after the sizing call: the size just given is now short.
    rc, count_now, _ = nvml.processes(name, h, entry, 2)
    assert (rc, count_now) == (INSUFFICIENT_SIZE, 3)
    rc, count_now, _ = nvml.processes(name, h, entry, 3)
    assert (rc, count_now) == (INSUFFICIENT_SIZE, 5)
    rc, count_now, entries = nvml.processes(name, h, entry, 5)
    assert (rc, count_now) == (SUCCESS, 5)
    assert [e.pid for e in entries] == [1, 2, 3, 4, 5]
    assert nvml.processes(name, h, entry, 5)[:2] == (SUCCESS, 5)

    # After a re-read the waves start over; a client with slack needs fewer calls.
    time.sleep(0.05)
    use(dict(scenario, description="again"))
    time.sleep(0.05)
    pids, calls = fetch_like_a_client(nvml, name, h, entry, slack=8)
    assert pids == [1, 2, 3] and calls == 2


def test_growth_is_shared_by_every_version_of_a_list(nvml, use):
    init_with(nvml, use, {"devices": [gpu(0, processes={"compute": []},
                                          process_growth={"compute": [[{"pid": 9, "used_memory": 1}]]})]})
    h = nvml.handle(0)
    assert nvml.processes("nvmlDeviceGetComputeRunningProcesses", h, ProcessInfoV1, 0)[:2] == (SUCCESS, 0)
    assert nvml.processes("nvmlDeviceGetComputeRunningProcesses_v2", h, ProcessInfoV2, 0)[:2] == (SUCCESS, 0)
    # Growth needs an INSUFFICIENT_SIZE answer first, and an empty list never gives one.
    pids, _ = fetch_like_a_client(nvml, "nvmlDeviceGetComputeRunningProcesses_v3", h, ProcessInfoV2)
    assert pids == []


def test_large_scenario(nvml, use):
    devices = [gpu(g, processes={"compute": [{"pid": 1000 * g + p, "used_memory": p << 20} for p in range(256)]})
               for g in range(8)]
    init_with(nvml, use, {"devices": devices})
    for g in range(8):
        rc, count, entries = nvml.processes("nvmlDeviceGetComputeRunningProcesses_v3", nvml.handle(g),
                                            ProcessInfoV2, 256)
        assert (rc, count) == (SUCCESS, 256)
        assert entries[255].pid == 1000 * g + 255 and entries[255].usedGpuMemory == 255 << 20


# ---- per-process utilisation ----------------------------------------------------------------

def samples(nvml, h, capacity, last_seen):
    count = c_uint(capacity)
    arr = (Sample * max(capacity, 1))()
    rc = nvml("nvmlDeviceGetProcessUtilization", h, arr, ctypes.byref(count), c_ull(last_seen))
    return rc, count.value, list(arr[:count.value]) if rc == SUCCESS else []


def test_process_utilization(nvml, use):
    init_with(nvml, use, {"devices": [
        gpu(0, process_utilization=[
            {"pid": 1, "sm": 10, "mem": 11, "enc": 12, "dec": 13, "timestamp_us": 1000},
            {"pid": 2, "sm": 20, "timestamp_us": 2000},
            {"pid": 3, "sm": 30, "timestamp_us": 3000},
            {"pid": 4, "sm": 40, "mem": 41},
        ]),
        gpu(1, process_utilization=[]),
    ]})
    h = nvml.handle(0)
    count = c_uint(0)
    assert nvml("nvmlDeviceGetProcessUtilization", h, None, ctypes.byref(count), c_ull(0)) == INSUFFICIENT_SIZE
    assert count.value == 4
    before = int(time.time() * 1e6)
    rc, n, got = samples(nvml, h, 4, 0)
    after = int(time.time() * 1e6)
    assert (rc, n) == (SUCCESS, 4)
    assert (got[0].pid, got[0].smUtil, got[0].memUtil, got[0].encUtil, got[0].decUtil, got[0].timeStamp) \
        == (1, 10, 11, 12, 13, 1000)
    assert (got[1].memUtil, got[1].encUtil) == (0, 0)
    assert got[3].pid == 4 and before - 1000 <= got[3].timeStamp <= after + 1000
    rc, n, got = samples(nvml, h, 4, 2000)
    assert (rc, n) == (SUCCESS, 2) and [s.pid for s in got] == [3, 4]
    assert samples(nvml, h, 1, 2000)[:2] == (INSUFFICIENT_SIZE, 2)
    # The unstamped sample is fresh on every call, the stamped ones are not.
    rc, n, got = samples(nvml, h, 4, after)
    assert (rc, n) == (SUCCESS, 1) and got[0].pid == 4 and got[0].timeStamp > after
    assert samples(nvml, h, 4, after + 3600 * 10**6)[0] == NOT_FOUND
    assert samples(nvml, nvml.handle(1), 4, 0)[0] == NOT_FOUND
    assert nvml("nvmlDeviceGetProcessUtilization", nvml.handle(1), None, ctypes.byref(c_uint()), c_ull(0)) \
        == NOT_FOUND


# ---- MIG ----------------------------------------------------------------------------------

def test_mig(nvml, use):
    init_with(nvml, use, SCENARIOS / "mig.json")
    gpu_handle = nvml.handle(0)
    current, pending = c_uint(9), c_uint(9)
    assert nvml("nvmlDeviceGetMigMode", gpu_handle, ctypes.byref(current), ctypes.byref(pending)) == SUCCESS
    assert (current.value, pending.value) == (1, 1)
    assert nvml.uint("nvmlDeviceGetMaxMigDeviceCount", gpu_handle) == (SUCCESS, 7)
    assert nvml.uint("nvmlDeviceIsMigDeviceHandle", gpu_handle) == (SUCCESS, 0)
    assert nvml.uint("nvmlDeviceGetGpuInstanceId", gpu_handle)[0] == NOT_SUPPORTED
    assert nvml.uint("nvmlDeviceGetComputeInstanceId", gpu_handle)[0] == NOT_SUPPORTED
    assert nvml("nvmlDeviceGetDeviceHandleFromMigDeviceHandle", gpu_handle,
                ctypes.byref(ctypes.c_void_p())) == INVALID_ARGUMENT
    h = ctypes.c_void_p()
    assert nvml("nvmlDeviceGetMigDeviceHandleByIndex", gpu_handle, c_uint(2), ctypes.byref(h)) == NOT_FOUND
    assert nvml("nvmlDeviceGetMigDeviceHandleByIndex", gpu_handle, c_uint(7), ctypes.byref(h)) == INVALID_ARGUMENT

    migs = [nvml.mig_handle(gpu_handle, i) for i in range(2)]
    assert migs[0].value not in (migs[1].value, gpu_handle.value)
    uuids = ["MIG-4a1b2c3d-5e6f-5a7b-8c9d-0e1f2a3b4c5d", "MIG-9e8d7c6b-5a4f-5e3d-2c1b-0a9f8e7d6c5b"]
    for i, mig in enumerate(migs):
        assert nvml.uint("nvmlDeviceIsMigDeviceHandle", mig) == (SUCCESS, 1)
        assert nvml.uint("nvmlDeviceGetGpuInstanceId", mig) == (SUCCESS, i + 1)
        assert nvml.uint("nvmlDeviceGetComputeInstanceId", mig) == (SUCCESS, 0)
        parent = ctypes.c_void_p()
        assert nvml("nvmlDeviceGetDeviceHandleFromMigDeviceHandle", mig, ctypes.byref(parent)) == SUCCESS
        assert parent.value == gpu_handle.value
        assert nvml.string("nvmlDeviceGetName", mig) == (SUCCESS, "NVIDIA A100-SXM4-40GB MIG 3g.20gb")
        assert nvml.string("nvmlDeviceGetUUID", mig) == (SUCCESS, uuids[i])
        by_uuid = ctypes.c_void_p()
        assert nvml("nvmlDeviceGetHandleByUUID", uuids[i].encode(), ctypes.byref(by_uuid)) == SUCCESS
        assert by_uuid.value == mig.value
        mem = MemoryV2(version=MEMORY_V2)
        assert nvml("nvmlDeviceGetMemoryInfo_v2", mig, ctypes.byref(mem)) == SUCCESS
        assert mem.total == 20937965568
        rc, count, entries = nvml.processes("nvmlDeviceGetComputeRunningProcesses_v3", mig, ProcessInfoV2, 4)
        assert (rc, count) == (SUCCESS, 1)
        assert (entries[0].pid, entries[0].gpuInstanceId, entries[0].computeInstanceId) == (5101 + 101 * i, i + 1, 0)
        assert nvml.uint("nvmlDeviceGetIndex", mig)[0] == NOT_SUPPORTED
        assert nvml.uint("nvmlDeviceGetPowerUsage", mig)[0] == NOT_SUPPORTED
        assert nvml.uint("nvmlDeviceGetMaxMigDeviceCount", mig)[0] == NOT_SUPPORTED
        assert nvml("nvmlDeviceGetMigDeviceHandleByIndex", mig, c_uint(0), ctypes.byref(h)) == INVALID_ARGUMENT

    # The whole GPU shows every instance's processes, with their instance ids.
    rc, count, entries = nvml.processes("nvmlDeviceGetComputeRunningProcesses_v3", gpu_handle, ProcessInfoV2, 4)
    assert (rc, count) == (SUCCESS, 2)
    assert [(e.pid, e.gpuInstanceId) for e in entries] == [(5101, 1), (5202, 2)]
    util = Utilization()
    assert nvml("nvmlDeviceGetUtilizationRates", gpu_handle, ctypes.byref(util)) == NOT_SUPPORTED


def test_mig_slots_and_disabled_mig(nvml, use):
    mig_dev = {"uuid": "MIG-x", "gpu_instance_id": 7, "compute_instance_id": 1, "index": 3}
    init_with(nvml, use, {"devices": [gpu(0, mig={"current": True, "max_devices": 4, "devices": [mig_dev]}),
                                      gpu(1, mig={"current": False, "pending": True, "devices": [mig_dev]})]})
    first, second = nvml.handle(0), nvml.handle(1)
    for slot in range(3):
        assert nvml("nvmlDeviceGetMigDeviceHandleByIndex", first, c_uint(slot),
                    ctypes.byref(ctypes.c_void_p())) == NOT_FOUND
    mig = nvml.mig_handle(first, 3)
    assert nvml.uint("nvmlDeviceGetGpuInstanceId", mig) == (SUCCESS, 7)
    assert nvml.string("nvmlDeviceGetName", mig)[0] == NOT_SUPPORTED
    current, pending = c_uint(), c_uint()
    assert nvml("nvmlDeviceGetMigMode", second, ctypes.byref(current), ctypes.byref(pending)) == SUCCESS
    assert (current.value, pending.value) == (0, 1)
    assert nvml.uint("nvmlDeviceGetMaxMigDeviceCount", second) == (SUCCESS, 0)
    assert nvml("nvmlDeviceGetMigDeviceHandleByIndex", second, c_uint(0),
                ctypes.byref(ctypes.c_void_p())) == INVALID_ARGUMENT


# ---- injected errors --------------------------------------------------------------------------

def test_injected_errors(nvml, use):
    procs = {"compute": [{"pid": 1, "used_memory": 1}]}
    init_with(nvml, use, {
        "errors": {"nvmlSystemGetDriverVersion": "NO_PERMISSION", "nvmlDeviceGetMinorNumber": "UNKNOWN"},
        "devices": [
            gpu(0, power={"usage_mw": 1}, processes=procs, minor_number=0,
                errors={"nvmlDeviceGetPowerUsage": "GPU_IS_LOST",
                        "nvmlDeviceGetComputeRunningProcesses": "NO_PERMISSION",
                        "nvmlDeviceGetComputeRunningProcesses_v2": "NOT_SUPPORTED",
                        "nvmlDeviceGetMigDeviceHandleByIndex": "NVML_ERROR_RESET_REQUIRED",
                        "nvmlDeviceGetMinorNumber": "CORRUPTED_INFOROM"},
                mig={"current": True, "devices": [{"gpu_instance_id": 1, "compute_instance_id": 0,
                                                   "processes": procs}]}),
            gpu(1, power={"usage_mw": 1}, processes=procs, minor_number=1,
                errors={"nvmlDeviceGetHandleByIndex": "NO_PERMISSION"}),
            gpu(2, power={"usage_mw": 1}, minor_number=2,
                mig={"current": True, "devices": [{"gpu_instance_id": 1, "compute_instance_id": 0,
                                                   "processes": procs,
                                                   "errors": {"nvmlDeviceGetComputeRunningProcesses_v3":
                                                              "IN_USE"}}]}),
        ]})
    assert nvml.string("nvmlSystemGetDriverVersion")[0] == NO_PERMISSION
    assert nvml.string("nvmlSystemGetNVMLVersion")[0] == SUCCESS
    first = nvml.handle(0)
    assert nvml.uint("nvmlDeviceGetPowerUsage", first)[0] == GPU_IS_LOST
    assert nvml.uint("nvmlDeviceGetMinorNumber", first)[0] == 14  # the device's own entry wins
    # The unversioned name covers every version; an exact versioned name overrides it.
    assert nvml.processes("nvmlDeviceGetComputeRunningProcesses", first, ProcessInfoV1, 0)[0] == NO_PERMISSION
    assert nvml.processes("nvmlDeviceGetComputeRunningProcesses_v3", first, ProcessInfoV2, 0)[0] == NO_PERMISSION
    assert nvml.processes("nvmlDeviceGetComputeRunningProcesses_v2", first, ProcessInfoV2, 0)[0] == NOT_SUPPORTED
    assert nvml("nvmlDeviceGetMigDeviceHandleByIndex", first, c_uint(0), ctypes.byref(ctypes.c_void_p())) == 16
    # Bad arguments are reported before an injected error.
    assert nvml("nvmlDeviceGetPowerUsage", first, None) == INVALID_ARGUMENT

    for by_index in ("nvmlDeviceGetHandleByIndex", "nvmlDeviceGetHandleByIndex_v2"):
        assert nvml(by_index, c_uint(1), ctypes.byref(ctypes.c_void_p())) == NO_PERMISSION
    third = nvml.handle(2)
    assert nvml.uint("nvmlDeviceGetPowerUsage", third) == (SUCCESS, 1)
    assert nvml.uint("nvmlDeviceGetMinorNumber", third)[0] == UNKNOWN  # top-level map
    mig = nvml.mig_handle(third, 0)
    assert nvml.processes("nvmlDeviceGetComputeRunningProcesses_v3", mig, ProcessInfoV2, 1)[0] == 19
    assert nvml.processes("nvmlDeviceGetComputeRunningProcesses_v2", mig, ProcessInfoV2, 1)[:2] == (SUCCESS, 1)


def test_delays_stall_the_named_calls(nvml, use):
    init_with(nvml, use, {"delays_ms": {"nvmlDeviceGetPowerUsage": 300, "nvmlSystemGetDriverVersion": 0},
                          "devices": [gpu(0, power={"usage_mw": 7})]})
    first = nvml.handle(0)
    t0 = time.monotonic()
    assert nvml.uint("nvmlDeviceGetPowerUsage", first) == (SUCCESS, 7)   # late, but right
    assert time.monotonic() - t0 >= 0.3
    assert nvml.string("nvmlSystemGetDriverVersion")[0] == SUCCESS


def test_mig_devices_inherit_their_gpus_errors(nvml, use):
    init_with(nvml, use, {"devices": [gpu(0, errors={"nvmlDeviceGetUUID": "GPU_IS_LOST"},
                                          mig={"current": True, "devices": [{"uuid": "MIG-a", "gpu_instance_id": 1,
                                                                             "compute_instance_id": 0}]})]})
    mig = nvml.mig_handle(nvml.handle(0), 0)
    assert nvml.string("nvmlDeviceGetUUID", mig)[0] == GPU_IS_LOST


# ---- re-reading the scenario --------------------------------------------------------------------

def test_scenario_is_reread_when_it_changes(nvml, use, capfd):
    path = use({"devices": [gpu(0, power={"usage_mw": 100}), gpu(1, power={"usage_mw": 200})]})
    assert nvml("nvmlInit_v2") == SUCCESS
    first, second = nvml.handle(0), nvml.handle(1)
    assert nvml.uint("nvmlDeviceGetPowerUsage", first) == (SUCCESS, 100)

    write_atomically(path, {"devices": [gpu(0, power={"usage_mw": 150}, name="Renamed")]})
    time.sleep(0.06)
    assert nvml.uint("nvmlDeviceGetCount_v2") == (SUCCESS, 1)
    assert nvml.uint("nvmlDeviceGetPowerUsage", first) == (SUCCESS, 150)  # the old handle still works
    assert nvml.string("nvmlDeviceGetName", first) == (SUCCESS, "Renamed")
    assert nvml.uint("nvmlDeviceGetPowerUsage", second)[0] == GPU_IS_LOST

    # A broken file is reported once and the last good scenario stays.
    write_atomically(path, '{"devices": [')
    time.sleep(0.06)
    for _ in range(3):
        assert nvml.uint("nvmlDeviceGetPowerUsage", first) == (SUCCESS, 150)
        time.sleep(0.03)
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and "keeping the previous scenario" in err[0], err

    # Rewriting in place (same inode) is noticed too.
    with open(path, "w") as f:
        json.dump({"devices": [gpu(0, power={"usage_mw": 175}), gpu(1, power={"usage_mw": 275})]}, f)
    time.sleep(0.06)
    assert nvml.uint("nvmlDeviceGetPowerUsage", first) == (SUCCESS, 175)
    assert nvml.uint("nvmlDeviceGetPowerUsage", second) == (SUCCESS, 275)


def test_recheck_interval_comes_from_the_environment(nvml, use, monkeypatch):
    monkeypatch.setenv("FAKE_NVML_RECHECK_MS", "3600000")
    path = use({"devices": [gpu(0, power={"usage_mw": 100})]})
    assert nvml("nvmlInit_v2") == SUCCESS
    write_atomically(path, {"devices": [gpu(0, power={"usage_mw": 999})]})
    time.sleep(0.06)
    assert nvml.uint("nvmlDeviceGetPowerUsage", nvml.handle(0)) == (SUCCESS, 100)


def test_concurrent_calls_during_rereads(nvml, use, monkeypatch):
    monkeypatch.setenv("FAKE_NVML_RECHECK_MS", "0")
    small = {"devices": [gpu(0, processes={"compute": [{"pid": 1, "used_memory": 1}]})]}
    large = {"devices": [gpu(0, processes={"compute": [{"pid": p, "used_memory": p} for p in range(1, 40)]})]}
    path = use(small)
    assert nvml("nvmlInit_v2") == SUCCESS
    h = nvml.handle(0)
    failures = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            rc, count, entries = nvml.processes("nvmlDeviceGetComputeRunningProcesses_v3", h, ProcessInfoV2, 64)
            if rc != SUCCESS or count not in (1, 39) or [e.pid for e in entries] != list(range(1, count + 1)):
                failures.append((rc, count))

    threads = [threading.Thread(target=reader) for _ in range(6)]
    for t in threads:
        t.start()
    for i in range(40):
        write_atomically(path, large if i % 2 == 0 else small)
        time.sleep(0.002)
    stop.set()
    for t in threads:
        t.join()
    assert failures == []


# ---- the legacy build and the exported symbols -------------------------------------------------

@pytest.fixture
def legacy():
    if not LEGACY_LIB.exists():
        pytest.skip(f"the legacy fake NVML is not built: {LEGACY_LIB} does not exist")
    lib = load(LEGACY_LIB)
    lib.reset()
    yield lib
    lib.reset()


def test_legacy_build_lacks_the_newer_symbols(legacy, nvml, use):
    for name in NEWER_SYMBOLS:
        assert not legacy.has(name), f"legacy build exports {name}"
        assert nvml.has(name), f"modern build lacks {name}"
    for name in ("nvmlInit", "nvmlDeviceGetCount", "nvmlDeviceGetHandleByIndex", "nvmlDeviceGetPciInfo",
                 "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetFanSpeed",
                 "nvmlDeviceGetMigMode", "nvmlSystemGetCudaDriverVersion"):
        assert legacy.has(name), name

    use(SCENARIOS / "one-gpu.json")
    assert legacy("nvmlInit") == SUCCESS
    h = legacy.handle(0)
    rc, count, entries = legacy.processes("nvmlDeviceGetComputeRunningProcesses", h, ProcessInfoV1, 2)
    assert (rc, count) == (SUCCESS, 2)
    assert [(e.pid, e.usedGpuMemory) for e in entries] == [(4242, 25769803776), (4343, 2147483648)]
    rc, v1 = call_with_canary(legacy, "nvmlDeviceGetPciInfo", h, PciInfoV1)
    assert rc == SUCCESS and v1.busId == b"0000:18:00.0"


@pytest.mark.parametrize("path", [LIB, LEGACY_LIB], ids=["modern", "legacy"])
def test_only_nvml_symbols_are_exported(path):
    if not path.exists():
        pytest.skip(f"{path} is not built")
    nm = shutil.which("nm")
    if not nm:
        pytest.skip("nm (binutils) is not installed")
    out = subprocess.run([nm, "-D", "--defined-only", str(path)], check=True, capture_output=True, text=True).stdout
    names = [line.split()[-1] for line in out.splitlines() if line.strip()]
    assert names and all(n.startswith("nvml") for n in names), [n for n in names if not n.startswith("nvml")]
    forbidden = {"nvmlDeviceGetRunningProcessDetailList", "nvmlDeviceGetConfComputeMemSizeInfo"}
    assert not forbidden & set(names)
