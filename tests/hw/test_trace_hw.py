"""The kernel flight recorder on a real GPU (tests/hw).

tests/hw/trace/workload.cu is built with nvcc twice (shared and static
cudart) wherever nvcc and libgpuctl-trace.so exist: that part runs on any
machine with the CUDA toolkit.  Running it under `gpuctl trace` needs a CUDA
driver and a GPU; elsewhere those tests are skipped.  The recorded counts,
names, launch dimensions and scope paths must match the program exactly.
"""

import ctypes
import json
import os
import pathlib
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
GPUCTL = pathlib.Path(os.environ.get("GPUCTL_BIN") or REPO / "build" / "gpuctl")
LIBDIR = GPUCTL.parent / "src" / "trace"
CUDA = pathlib.Path(os.environ.get("CUDA_HOME") or "/usr/local/cuda")
NVCC = shutil.which("nvcc") or (str(CUDA / "bin" / "nvcc")
                                if (CUDA / "bin" / "nvcc").exists() else None)


def have_gpu():
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return cuda.cuInit(0) == 0 and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0 \
        and count.value > 0


needs_build = pytest.mark.skipif(
    NVCC is None or not (LIBDIR / "libgpuctl-trace.so").exists(),
    reason="no nvcc or no libgpuctl-trace.so (CUDA toolkit missing)")
needs_gpu = pytest.mark.skipif(not have_gpu(), reason="no CUDA driver or no GPU")


@pytest.fixture(scope="module")
def workloads(tmp_path_factory):
    if NVCC is None or not (LIBDIR / "libgpuctl-trace.so").exists():
        pytest.skip("no nvcc or no libgpuctl-trace.so (CUDA toolkit missing)")
    out = tmp_path_factory.mktemp("workload")
    obj = out / "workload.o"
    src = REPO / "tests" / "hw" / "trace" / "workload.cu"
    subprocess.run([NVCC, "-c", "-o", str(obj), str(src), f"-I{REPO / 'include'}"],
                   check=True, timeout=600)
    exes = {}
    for cudart in ("shared", "static"):
        exe = out / f"workload-{cudart}"
        subprocess.run([NVCC, "-o", str(exe), str(obj), f"-cudart={cudart}",
                        f"-L{LIBDIR}", "-lgpuctl-trace", f"-Xlinker=-rpath={LIBDIR}"],
                       check=True, timeout=600)
        exes[cudart] = exe
    return exes


@needs_build
def test_workload_builds(workloads):
    for exe in workloads.values():
        assert exe.exists() and os.access(exe, os.X_OK)


def records(d, prefix, kind):
    with open(d / f"{prefix}.{kind}.ndjson") as f:
        return [json.loads(line) for line in f]


@needs_build
@needs_gpu
@pytest.mark.parametrize("cudart", ["shared", "static"])
def test_recorded_kernels_match(workloads, tmp_path, cudart):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUCTL_")}
    p = subprocess.run([str(GPUCTL), "trace", "-o", str(tmp_path), "--prefix", "w", "--",
                        str(workloads[cudart])], capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    kern = records(tmp_path, "w", "kernel")
    assert kern[0]["type"] == "header" and kern[0]["activity_error"] is None
    assert kern[-1]["type"] == "summary"
    assert kern[-1]["ring_drops"] == 0 and kern[-1]["cupti_drops"] == 0
    scale = [k for k in kern if k["type"] == "kernel" and k["demangled"].startswith("scale")]
    tiny = [k for k in kern if k["type"] == "kernel" and k["demangled"].startswith("tiny")]
    assert len(scale) == 1000 and len(tiny) == 1
    assert all(k["grid"] == [128, 1, 1] and k["block"] == [256, 1, 1] for k in scale)
    assert tiny[0]["grid"] == [1, 1, 1] and tiny[0]["block"] == [32, 1, 1]
    assert scale[0]["demangled"] == "scale(float*, int)"
    paths = {}
    for k in scale:
        paths[tuple(k["scope"])] = paths.get(tuple(k["scope"]), 0) + 1
    assert paths == {("outer", "inner"): 600, ("nvtx_range",): 400}
    assert tiny[0]["scope"] == []
    assert sum(1 for k in kern if k["type"] == "memset") == 1
    scopes = [s for s in records(tmp_path, "w", "scope") if s["type"] == "scope"]
    assert sorted(tuple(s["path"]) for s in scopes) == [("nvtx_range",), ("outer",),
                                                        ("outer", "inner")]
    system = records(tmp_path, "w", "system")
    assert any(s["type"] == "device" and s["util_gpu_pct"] is not None for s in system)
    a = subprocess.run([str(GPUCTL), "analyze", str(tmp_path), "--output", "json"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert a.returncode == 0, a.stderr
    r = json.loads(a.stdout)
    assert r["summary"]["kernels"] == 1001
    assert r["hotspots"][0]["name"] == "scale(float*, int)"
    assert r["hotspots"][0]["count"] == 1000
