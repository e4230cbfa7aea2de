"""libgpuctl's public C API (include/gpuctl/gpuctl.h) through ctypes, against
the fake NVML and real processes.

Each test runs data/libgpuctl_probe.py in a child Python: the fake NVML
keeps its state per process (initialised once, scenario read at the first
init), so a fresh process per test keeps the tests independent of each
other and of test_fake_nvml.py, which loads the same library into pytest.
"""

import errno
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import DATA, MiB, REPO, base_env, device

GPUCTL_ENODATA = -61
GPUCTL_EGPULIB = -4096
EINVAL = -errno.EINVAL


@pytest.fixture
def probe(libgpuctl_path, fake_lib, tmp_path, scenario):
    """probe(mode, scenario, *args, env=None) -> the probe's JSON report."""

    def go(mode, scen, *args, env=None):
        if isinstance(scen, dict):
            scen = scenario(scen)
        full_env = base_env(tmp_path, fake_lib)
        full_env["FAKE_NVML_SCENARIO"] = str(scen)
        full_env.update({k: str(v) for k, v in (env or {}).items()})
        p = subprocess.run([sys.executable, str(DATA / "libgpuctl_probe.py"), str(libgpuctl_path),
                            mode, *map(str, args)], env=full_env, capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    return go


def ok(value):
    return [0, value]


def test_version_matches_the_project(probe):
    text = (REPO / "meson.build").read_text()
    version = re.search(r"version\s*:\s*'([^']+)'", text).group(1)
    assert probe("open", {"devices": []})["version"] == version


def test_snapshot_devices_and_processes(probe, spawn_procs, self_user):
    a, b = spawn_procs(2)
    devs = [
        device(0, processes={"compute": [{"pid": a.pid, "used_memory": 300 * MiB}],
                             "graphics": [{"pid": a.pid, "used_memory": 300 * MiB}]},
               process_utilization=[{"pid": a.pid, "sm": 42, "mem": 17}]),
        device(1, processes={"compute": [{"pid": b.pid, "used_memory": 5 * MiB}]}),
    ]
    report = probe("snapshot", {"devices": devs})
    assert (report["open_rc"], report["open_err"], report["handle_null"]) == (0, "", False)
    snap = report["snapshot"]
    assert (snap["device_count"], snap["process_count"]) == (2, 2)
    for i, (d, dev) in enumerate(zip(snap["devices"], devs)):
        mem = dev["memory"]
        assert d["INDEX"] == ok(i)
        assert d["MEM_TOTAL_BYTES"] == ok(mem["total"])
        assert d["MEM_USED_BYTES"] == ok(mem["used"])
        assert d["MEM_FREE_BYTES"] == ok(mem["total"] - mem["used"] - mem["reserved"])
        assert d["POWER_MW"] == ok(dev["power"]["usage_mw"])
        assert d["POWER_LIMIT_MW"] == ok(700000)
        assert d["CLOCK_GRAPHICS_MHZ"] == ok(1755) and d["CLOCK_MEM_MHZ"] == ok(2619)
        assert d["ECC_VOLATILE_UNCORRECTED"] == ok(0)
        assert d["PCIE_RX_KBPS"] == ok(2000 + i) and d["PCIE_TX_KBPS"] == ok(1000 + i)
        assert d["MIG_INSTANCE_COUNT"] == ok(0)
        assert d["UTIL_GPU_PCT"] == ok(10 + i) and d["UTIL_MEM_PCT"] == ok(5 + i)
        assert d["UTIL_DEC_PCT"] == ok(i)
        assert d["TEMP_C"] == ok(40 + i)
        assert d["FAN_PCT"] == [GPUCTL_ENODATA, None]
        assert d["NAME"] == "NVIDIA H100 80GB HBM3"
        assert d["UUID"] == dev["uuid"]
        assert d["PCI_BUS_ID"] == f"0000:{0x18 + i * 0x10:02x}:00.0"
        assert (d["VENDOR"], d["DRIVER"], d["DRIVER_VERSION"]) == ("nvidia", "nvidia", "550.54.15")
        assert d["STATUS"] is None
    pa, pb = snap["processes"]
    assert pa["PID"] == ok(a.pid) and pb["PID"] == ok(b.pid)
    assert pa["DEVICE_INDEX"] == ok(0) and pb["DEVICE_INDEX"] == ok(1)
    assert pa["GPU_MEM_BYTES"] == ok(300 * MiB) and pb["GPU_MEM_BYTES"] == ok(5 * MiB)
    assert pa["TYPE"] == "C+G" and pb["TYPE"] == "C"
    assert pa["SM_PCT"] == ok(42) and pa["MEM_BW_PCT"] == ok(17)
    assert pb["SM_PCT"] == [GPUCTL_ENODATA, None]
    for p, sp in ((pa, a), (pb, b)):
        assert p["USER"] == self_user and p["UID"] == ok(os.getuid())
        assert p["NAME"] == "sleep" and p["CMDLINE"] == sp.cmdline
        assert p["PPID"][0] == 0
        assert p["HOST_RSS_BYTES"][0] == 0 and p["HOST_RSS_BYTES"][1] > 0
        assert p["GPU_INSTANCE_ID"] == [GPUCTL_ENODATA, None]
        assert p["START_TIME"][0] == 0
        assert int(p["START_TIME"][1]) == int(_start_epoch(sp.pid))
        assert p["ELAPSED_S"][0] == 0 and 0 <= p["ELAPSED_S"][1] < 600
        assert p["CPU_PCT"][0] == 0


def _start_epoch(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    ticks = int(text[text.rindex(")") + 2:].split()[19])
    with open("/proc/stat") as f:
        btime = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    return btime + ticks / os.sysconf("SC_CLK_TCK")


def test_unknown_values_are_enodata(probe, spawn_procs):
    gone = subprocess.Popen(["/bin/true"])
    gone.wait()
    bare = {"name": "Bare", "processes": {"compute": [{"pid": gone.pid, "used_memory": None}]}}
    snap = probe("snapshot", {"devices": [bare]})["snapshot"]
    d, = snap["devices"]
    for key in ("MEM_TOTAL_BYTES", "MEM_USED_BYTES", "MEM_FREE_BYTES", "POWER_MW",
                "POWER_LIMIT_MW", "CLOCK_GRAPHICS_MHZ", "CLOCK_SM_MHZ", "CLOCK_MEM_MHZ",
                "ECC_VOLATILE_UNCORRECTED", "PCIE_RX_KBPS", "PCIE_TX_KBPS", "UTIL_GPU_PCT",
                "UTIL_MEM_PCT", "UTIL_ENC_PCT", "UTIL_DEC_PCT", "FAN_PCT", "TEMP_C"):
        assert d[key] == [GPUCTL_ENODATA, None], key
    assert (d["NAME"], d["UUID"], d["PCI_BUS_ID"], d["STATUS"]) == ("Bare", None, None, None)
    p, = snap["processes"]
    assert p["PID"] == ok(gone.pid)
    for key in ("GPU_MEM_BYTES", "UID", "PPID", "HOST_RSS_BYTES", "SM_PCT", "CPU_PCT",
                "START_TIME", "ELAPSED_S"):
        assert p[key] == [GPUCTL_ENODATA, None], key
    assert (p["USER"], p["NAME"], p["CMDLINE"], p["CONTAINER_KIND"]) == (None, None, None, None)
    assert p["TYPE"] == "C"


def test_mig_instances_and_ids(probe, spawn_procs):
    a, = spawn_procs(1)
    dev = device(0, mig={"current": True, "max_devices": 7, "devices": [
        {"name": "MIG 3g.40gb", "uuid": "MIG-11111111-2222-3333-4444-555555555555",
         "gpu_instance_id": 2, "compute_instance_id": 0,
         "memory": {"total": 40 << 30, "used": 1 << 30},
         "processes": {"compute": [{"pid": a.pid, "used_memory": 1 << 30}]}}]})
    snap = probe("snapshot", {"devices": [dev]})["snapshot"]
    assert snap["devices"][0]["MIG_INSTANCE_COUNT"] == ok(1)
    p, = snap["processes"]
    assert (p["GPU_INSTANCE_ID"], p["COMPUTE_INSTANCE_ID"]) == (ok(2), ok(0))


def test_argument_errors(probe):
    edges = probe("edges", {"devices": [device(0, processes={"compute": [
        {"pid": os.getpid(), "used_memory": 1 << 20}]})]})["edges"]
    for key in ("device_u64_index_out_of_range", "device_double_index_out_of_range",
                "process_u64_index_out_of_range", "process_double_index_out_of_range",
                "device_u64_wrong_type", "device_double_wrong_type", "process_u64_wrong_type",
                "process_double_wrong_type", "device_u64_unknown_field", "device_u64_null_out",
                "process_double_null_out", "device_u64_null_snapshot",
                "snapshot_take_null_handle", "snapshot_take_null_out", "open_null_out"):
        assert edges[key] == EINVAL, key
    for key in ("device_string_index_out_of_range", "process_string_index_out_of_range",
                "device_string_wrong_type", "device_string_null_snapshot"):
        assert edges[key] is None, key
    assert (edges["device_count_null"], edges["process_count_null"]) == (0, 0)
    assert edges["internal_symbols_visible"] == [], "only gpuctl_* is exported"


@pytest.mark.parametrize("error, words", [
    ("DRIVER_NOT_LOADED", "modprobe nvidia"),
    ("LIB_RM_VERSION_MISMATCH", "reload the nvidia kernel modules"),
])
def test_open_failure(probe, error, words):
    report = probe("open", {"init_error": error})
    assert report["open_rc"] == GPUCTL_EGPULIB
    assert words in report["open_err"]
    assert report["handle_null"] is True


def test_open_failure_without_library(probe, tmp_path):
    missing = tmp_path / "absent" / "libnvidia-ml.so.1"
    report = probe("open", {"devices": []}, env={"GPUCTL_NVML_LIBRARY": missing})
    assert report["open_rc"] == GPUCTL_EGPULIB
    assert str(missing) in report["open_err"]


def test_snapshots_are_values(probe, tmp_path):
    before = {"devices": [device(0)]}
    after_dev = device(0, memory={"total": 80 << 30, "reserved": 0, "used": 7 << 30})
    after_dev["errors"] = {"nvmlDeviceGetMemoryInfo": "GPU_IS_LOST"}
    after = tmp_path / "after.json"
    after.write_text(json.dumps({"devices": [after_dev]}))
    report = probe("twice", before, after, env={"FAKE_NVML_RECHECK_MS": 0})
    first, second = report["first"]["devices"][0], report["second"]["devices"][0]
    assert first["MEM_USED_BYTES"] == ok(1000 * MiB), "the first snapshot is unchanged"
    assert first["STATUS"] is None
    assert second["MEM_USED_BYTES"] == [GPUCTL_ENODATA, None]
    assert second["STATUS"].startswith("GPU is lost")
    assert second["NAME"] == first["NAME"]


def test_c_example_lists_gpus_in_cuda_order(libgpuctl_path, fake_lib, tmp_path, scenario,
                                            spawn_procs, self_user):
    """examples/list_gpus.c, built with the project, run as a user would."""
    example = libgpuctl_path.parent.parent.parent / "examples" / "list_gpus"
    if not example.is_file():
        pytest.skip(f"the example is not built: {example} does not exist")
    a, = spawn_procs(1)
    mig = device(1, mig={"current": True, "max_devices": 7, "devices": [
        {"name": "NVIDIA H100 80GB HBM3 MIG 1g.10gb", "uuid": "MIG-11111111-2222-3333-4444-5",
         "gpu_instance_id": 9, "compute_instance_id": 0,
         "memory": {"total": 10 << 30, "used": 3 * MiB}}]})
    bare = {"name": "Bare"}
    busy = device(0, processes={"compute": [{"pid": a.pid, "used_memory": 300 * MiB}]})
    env = base_env(tmp_path, fake_lib)
    env["FAKE_NVML_SCENARIO"] = str(scenario({"devices": [busy, mig, bare]}))
    env["LD_LIBRARY_PATH"] = str(libgpuctl_path.parent)
    env["CUDA_VISIBLE_DEVICES"] = "2,0"
    p = subprocess.run([str(example)], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "cuda:0 (gpu:2) Bare mem_used_mb=N/A util_pct=N/A pstate=N/A",
        "cuda:1 (gpu:0) NVIDIA H100 80GB HBM3 mem_used_mb=1000MiB util_pct=10% pstate=P0",
        f"    pid {a.pid} used_mem_bytes=300MiB user={self_user}",
    ]
    env["CUDA_VISIBLE_DEVICES"] = "1"
    p = subprocess.run([str(example)], env=env, capture_output=True, text=True, timeout=60)
    assert p.stdout.splitlines() == [
        "cuda:0 (gpu:1) NVIDIA H100 80GB HBM3 mem_used_mb=1100MiB util_pct=11% pstate=P0",
        "  mig MIG-11111111-2222-3333-4444-5 profile=1g.10gb mem_used_mb=3MiB",
    ]
