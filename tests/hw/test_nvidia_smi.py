"""gpuctl against a real NVIDIA driver, compared with nvidia-smi.

Runs only where `nvidia-smi` works and the real libnvidia-ml.so.1 can be
loaded; everywhere else each test is skipped with the reason
"no NVIDIA GPU (nvidia-smi not found / not working)".  gpuctl runs WITHOUT
GPUCTL_NVML_LIBRARY, so it finds the driver's library exactly as it would
for a user.

Identity fields (index, name, UUID, PCI bus id, driver version) must match
exactly; values that move between the two reads get tolerances: memory
±64 MiB, utilisation ±25 points, temperature ±3 °C, power ±30 W.  A value
nvidia-smi cannot give ("[N/A]", "[Not Supported]") must be null in gpuctl.

With a CUDA workload at hand (PyTorch with CUDA, or nvcc to build
data/alloc_and_spin.cu) the tests also start one and look for it.
See README.md in this folder.
"""

import ctypes
import json
import os
import pathlib
import pwd
import shutil
import subprocess
import sys
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
GPUCTL_BIN = pathlib.Path(os.environ.get("GPUCTL_BIN") or REPO / "build" / "gpuctl")
SKIP_REASON = "no NVIDIA GPU (nvidia-smi not found / not working)"

MEM_TOLERANCE_MIB = 64
UTIL_TOLERANCE_PCT = 25
TEMP_TOLERANCE_C = 3
POWER_TOLERANCE_W = 30
WORKLOAD_MIB = 512

GPU_QUERY = ("index,name,uuid,pci.bus_id,memory.total,memory.used,utilization.gpu,"
             "temperature.gpu,power.draw,power.limit,driver_version")
APP_QUERY = "pid,used_memory,gpu_uuid"


def _nvml_loadable():
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
        return True
    except OSError:
        return False


def _nvidia_smi_works():
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return False
    try:
        p = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return p.returncode == 0 and "GPU " in p.stdout


HAVE_GPU = _nvidia_smi_works() and _nvml_loadable()
pytestmark = pytest.mark.skipif(not HAVE_GPU, reason=SKIP_REASON)


# ---- reading both tools ----------------------------------------------------------------------


def smi_csv(query_flag, fields):
    p = subprocess.run(["nvidia-smi", f"{query_flag}={fields}", "--format=csv,noheader,nounits"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    names = fields.split(",")
    rows = []
    for line in p.stdout.splitlines():
        if line.strip():
            cells = [c.strip() for c in line.split(", ")]
            assert len(cells) == len(names), line
            rows.append(dict(zip(names, cells)))
    return rows


def unavailable(cell):
    return cell.startswith("[") or cell in ("N/A", "")


def number(cell):
    return None if unavailable(cell) else float(cell)


def bus_id(cell):
    """nvidia-smi's 00000000:18:00.0 in gpuctl's spelling 0000:18:00.0."""
    domain, bus, rest = cell.split(":")
    device, function = rest.split(".")
    return f"{int(domain, 16) & 0xFFFF:04x}:{int(bus, 16):02x}:{int(device, 16):02x}.{int(function, 16):x}"


def gpuctl_env(tmp_path):
    """The machine's own environment (the driver may need LD_LIBRARY_PATH),
    without gpuctl's own variables and with a configuration-free HOME."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GPUCTL_") and k not in ("NO_COLOR", "CUDA_VISIBLE_DEVICES",
                                                        "COLUMNS")}
    env["HOME"] = str(tmp_path)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    return env


def gpuctl_list(tmp_path, *args):
    if not GPUCTL_BIN.is_file():
        pytest.skip(f"gpuctl is not built: {GPUCTL_BIN} does not exist (set GPUCTL_BIN)")
    p = subprocess.run([str(GPUCTL_BIN), "list", "--output", "json", *map(str, args)],
                       env=gpuctl_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def within(a, b, tolerance):
    return a is not None and b is not None and abs(a - b) <= tolerance


# ---- devices ----------------------------------------------------------------------------------


def test_devices_match_nvidia_smi(tmp_path):
    before = smi_csv("--query-gpu", GPU_QUERY)
    doc = gpuctl_list(tmp_path)
    after = smi_csv("--query-gpu", GPU_QUERY)
    assert doc["sources"][0] == {"name": "nvml", "started": True, "message": None}
    nvidia = [g for g in doc["gpus"] if g["vendor"] == "nvidia"]
    assert len(nvidia) == len(before) == len(after)
    for g, s0, s1 in zip(nvidia, before, after):
        # Identity: exact.
        assert g["gpu_index"] == int(s0["index"])
        assert g["name"] == s0["name"]
        assert g["uuid"] == s0["uuid"]
        assert g["pci_bus_id"] == bus_id(s0["pci.bus_id"])
        assert g["driver_version"] == s0["driver_version"] == doc["driver_version"]
        assert g["status"] is None
        # Static sizes: nvidia-smi rounds to MiB as gpuctl does.
        assert within(g["mem_total_mb"], number(s0["memory.total"]), 1)
        check_moving(g, s0, s1)


def check_moving(g, s0, s1):
    """A moving value matches when it is within tolerance of either reading
    (the gpuctl read lies between them); unknown on one side means unknown on
    the other."""
    # nvidia-smi's memory.used leaves reserved memory out on current drivers
    # and folds it in on old ones; gpuctl's follows the driver's v2 call.
    used = [g["mem_used_mb"]]
    if g["mem_reserved_mb"] is not None:
        used.append(g["mem_used_mb"] + g["mem_reserved_mb"])
    pairs = [
        ("memory.used", used, MEM_TOLERANCE_MIB),
        ("utilization.gpu", [g["util_pct"]], UTIL_TOLERANCE_PCT),
        ("temperature.gpu", [g["temp_c"]], TEMP_TOLERANCE_C),
        ("power.draw", [g["power_w"]], POWER_TOLERANCE_W),
        ("power.limit", [g["power_limit_w"]], 1),
    ]
    for field, ours, tolerance in pairs:
        theirs = [number(s0[field]), number(s1[field])]
        if theirs == [None, None]:
            # nvidia-smi's power.limit is the management limit, gpuctl's the
            # enforced one, which a driver may know when the other is N/A.
            if field != "power.limit":
                assert ours[0] is None, (
                    f"GPU {g['gpu_index']} {field}: nvidia-smi has none, gpuctl {ours[0]}")
            continue
        assert any(within(o, t, tolerance) for o in ours for t in theirs), (
            f"GPU {g['gpu_index']} {field}: gpuctl {ours}, nvidia-smi {theirs} (±{tolerance})")


def test_table_lists_every_gpu(tmp_path):
    if not GPUCTL_BIN.is_file():
        pytest.skip(f"gpuctl is not built: {GPUCTL_BIN} does not exist (set GPUCTL_BIN)")
    smi = [(r["index"], r["name"]) for r in smi_csv("--query-gpu", "index,name")]
    p = subprocess.run([str(GPUCTL_BIN), "list", "--ascii"], env=gpuctl_env(tmp_path),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in p.stdout.splitlines()
            if line.startswith("|")]
    assert rows[0][:2] == ["GPU", "NAME"]
    assert [(r[0], r[1]) for r in rows[1:] if r[0].isdigit()] == smi


# ---- processes --------------------------------------------------------------------------------


def compute_apps():
    return {int(r["pid"]): r for r in smi_csv("--query-compute-apps", APP_QUERY)}


def check_processes_match(doc, before, after):
    """Every compute process nvidia-smi saw in both of its reads is in gpuctl's
    list on the same GPU, as a compute process, with the same memory."""
    index_of = {g["uuid"]: g["gpu_index"] for g in doc["gpus"]}
    ours = {}
    for p in doc["procs"]:
        ours.setdefault(p["pid"], []).append(p)
    for pid in sorted(set(before) & set(after)):
        s0, s1 = before[pid], after[pid]
        if s0["gpu_uuid"] != s1["gpu_uuid"]:
            continue
        assert pid in ours, f"pid {pid} (nvidia-smi: {s0}) missing from gpuctl"
        entries = [p for p in ours[pid] if p["gpu_index"] == index_of[s0["gpu_uuid"]]]
        assert entries, f"pid {pid} not on GPU {index_of[s0['gpu_uuid']]} in gpuctl"
        assert any("C" in p["type"] or "M" in p["type"] for p in entries), entries
        theirs = [number(s0["used_memory"]), number(s1["used_memory"])]
        total = None if any(p["used_mem_mb"] is None for p in entries) else sum(
            p["used_mem_mb"] for p in entries)
        if theirs == [None, None]:
            assert total is None
        else:
            assert any(within(total, t, MEM_TOLERANCE_MIB) for t in theirs), (pid, total, theirs)


def test_compute_processes_match_nvidia_smi(tmp_path):
    before = compute_apps()
    doc = gpuctl_list(tmp_path)
    after = compute_apps()
    check_processes_match(doc, before, after)


# ---- a known workload ---------------------------------------------------------------------------


def _torch_python():
    for python in dict.fromkeys([sys.executable, shutil.which("python3")]):
        if not python:
            continue
        try:
            p = subprocess.run([python, "-c", "import torch; assert torch.cuda.is_available()"],
                               capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError):
            continue
        if p.returncode == 0:
            return python
    return None


TORCH_WORKLOAD = """
import select, sys, torch
held = torch.zeros(int(sys.argv[1]) << 18, device="cuda:0")   # MiB of float32
a = torch.randn(2048, 2048, device="cuda:0")
torch.cuda.synchronize()
print("ready", flush=True)
while not select.select([sys.stdin], [], [], 0)[0]:
    a = a @ a
    a = a / a.norm()
    torch.cuda.synchronize()
"""


def _nvcc():
    return shutil.which("nvcc") or next(
        (str(p) for p in [pathlib.Path("/usr/local/cuda/bin/nvcc")] if p.exists()), None)


@pytest.fixture(scope="module")
def workload_argv(tmp_path_factory):
    """How to start the workload: PyTorch if it has CUDA, else
    data/alloc_and_spin.cu built with nvcc (once per run)."""
    python = _torch_python()
    if python:
        return [python, "-c", TORCH_WORKLOAD, str(WORKLOAD_MIB)]
    nvcc = _nvcc()
    if nvcc is None:
        pytest.skip("no CUDA workload available (no PyTorch with CUDA, no nvcc)")
    exe = tmp_path_factory.mktemp("workload") / "alloc_and_spin"
    build = subprocess.run([nvcc, "-O2", "-o", str(exe),
                            str(pathlib.Path(__file__).parent / "data" / "alloc_and_spin.cu")],
                           capture_output=True, text=True, timeout=600)
    if build.returncode != 0:
        pytest.skip(f"nvcc could not build the workload: {build.stderr[-500:]}")
    return [str(exe), str(WORKLOAD_MIB), "0"]


@pytest.fixture
def workload(workload_argv):
    """A CUDA process on GPU 0 holding at least WORKLOAD_MIB and keeping the
    GPU busy; stopped (stdin closed, then killed) at teardown."""
    argv = workload_argv
    env = dict(os.environ, CUDA_DEVICE_ORDER="PCI_BUS_ID")
    env.pop("CUDA_VISIBLE_DEVICES", None)
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, text=True)
    try:
        line = p.stdout.readline()
        if line.strip() != "ready":
            p.kill()
            p.wait()
            # The toolkit may be newer than the driver: no workload, not a gpuctl failure.
            pytest.skip(f"the CUDA workload could not start: {p.stderr.read()[-800:]}")
        # Utilisation is an average over the driver's sampling period.
        time.sleep(2)
        yield p
    finally:
        p.stdin.close()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def test_workload_is_seen(tmp_path, workload):
    before = compute_apps()
    doc = gpuctl_list(tmp_path)
    after = compute_apps()
    mine = [p for p in doc["procs"] if p["pid"] == workload.pid]
    assert mine, f"the workload (pid {workload.pid}) is not in gpuctl's list"
    p, = mine
    assert p["gpu_index"] == 0
    assert "C" in p["type"]
    assert p["used_mem_mb"] >= WORKLOAD_MIB
    assert p["user"] == pwd.getpwuid(os.getuid()).pw_name
    assert p["host_visible"] is True
    assert workload.pid in before and workload.pid in after
    check_processes_match(doc, before, after)
    gpu0 = doc["gpus"][0]
    assert gpu0["pids"] >= 1
    assert gpu0["mem_used_mb"] >= WORKLOAD_MIB
    assert gpu0["util_pct"] is None or gpu0["util_pct"] > 0, "the GPU is busy"


def test_pid_filter_on_workload(tmp_path, workload):
    doc = gpuctl_list(tmp_path, "--pid", workload.pid)
    assert [p["pid"] for p in doc["procs"]] == [workload.pid]
    assert doc["gpus"][0]["top_proc"]["pid"] == workload.pid
