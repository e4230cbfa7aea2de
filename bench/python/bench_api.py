#!/usr/bin/python3
"""Costs of the Python package (python/gpuctl) on the fake NVML with real
processes, run by hand:

    ninja -C build && /usr/bin/python3 bench/python/bench_api.py [build]

1. Device.all() + processes() of every GPU, 8 GPUs x 256 processes (256
   real `sleep` processes, each listed on all 8 GPUs: 2048 GPU-process
   entries, 256 /proc reads), from a warm interpreter with a fresh pass
   each round.  Budget: 20 ms.  Anchor: the C library's own snapshot of
   the same facts (gpuctl_snapshot_take_with + free, one ctypes call) in the
   same run, so the difference is what Python adds.
2. The ResourceMetricCollector's CPU use at a 1 s interval, as a share of
   one core (process CPU time over wall time, main thread asleep): as a
   training script runs it (root pid: itself, the 256 others not its own),
   and the worst case, all 256 processes under its root pid, so each gets
   its per-process figures on every GPU.  Anchors: the idle interpreter,
   and the C sampler pass each sample rests on, taken alone.
   Budget: 0.5 %.  Anchor: the same interpreter asleep without it.
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = REPO / (sys.argv[1] if len(sys.argv) > 1 else "build")
GPUS, PROCS = 8, 256
COLLECT_SECONDS = int(os.environ.get("BENCH_COLLECT_SECONDS", "30"))

CHILD = r"""
import ctypes, json, os, resource, statistics, sys, time
import gpuctl
from gpuctl import _lib, _state

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def rounds(fns, n=30):
    # median and min of each fn in ms; the fns take turns in every round,
    # so a busy machine slows them alike
    for fn in fns:
        fn(); fn()                   # warm: library loaded, dentries cached
    times = [[] for _ in fns]
    for _ in range(n):
        for fn, out in zip(fns, times):
            t = time.perf_counter(); fn(); out.append(time.perf_counter() - t)
    return [(statistics.median(out) * 1e3, min(out) * 1e3) for out in times]

def listing():
    gpuctl.refresh()                 # a fresh pass each round, not the cached one
    n = 0
    for d in gpuctl.Device.all():
        n += len(d.processes())
    assert n == %(entries)d, n

h = _state.handle()
def c_snapshot():
    out, err = ctypes.c_void_p(), _lib.errbuf()
    assert _lib.lib.gpuctl_snapshot_take_with(h.ptr, _state.WHAT, ctypes.byref(out), err,
                                              len(err)) == 0
    _lib.lib.gpuctl_snapshot_free(out)

res = {}
if %(listing)s:
    res["c_snapshot_ms"], res["python_all_processes_ms"] = rounds([c_snapshot, listing])

secs = %(secs)d
c0, t0 = cpu(), time.monotonic(); time.sleep(secs); idle = (cpu() - c0) / (time.monotonic() - t0)
# the C pass a collector sample rests on, alone: CPU per take, as a share
# of one core at one take a second
sampler = _lib.Sampler()
sampler.take()
c0 = cpu()
for _ in range(30):
    sampler.take(_lib.TAKE_PROCESSES | _lib.TAKE_HOST_CPU)
res["c_sampler_core_pct"] = (cpu() - c0) / 30 * 100
sampler.close()
res["collectors"] = []
for name, roots in %(collectors)s:
    coll = gpuctl.ResourceMetricCollector(root_pids=roots, interval=1.0)
    with coll:
        with coll(tag="bench"):
            time.sleep(1.5)          # the first samples (ancestry of 256 processes) aside
            c0, t0 = cpu(), time.monotonic(); time.sleep(secs)
            busy = (cpu() - c0) / (time.monotonic() - t0)
            metrics = coll.collect()
    res["collectors"].append([name, busy * 100, coll.sample_count, len(metrics)])
res["idle_core_pct"] = idle * 100
print(json.dumps(res))
"""


def run_child(lib, fake, gpus, per_gpu, listing, collectors):
    """Runs CHILD on a scenario of gpus GPUs; per_gpu: every sleeper on every
    GPU (True) or one sleeper per GPU."""
    n = PROCS if per_gpu else gpus
    sleepers = [subprocess.Popen(["/bin/sleep", "600"]) for _ in range(n)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            procs = [{"pid": p.pid, "used_memory": (64 + i) << 20}
                     for i, p in enumerate(sleepers)]
            devices = [{"name": "NVIDIA H100 80GB HBM3",
                        "uuid": f"GPU-{i:08x}-0000-0000-0000-000000000000",
                        "pci": {"bus_id": f"00000000:{0x18 + i:02X}:00.0"},
                        "memory": {"total": 80 << 30, "reserved": 0, "used": 20 << 30},
                        "utilization": {"gpu": 50, "memory": 20}, "temperature": {"gpu": 50},
                        "power": {"usage_mw": 300000},
                        "processes": {"compute": procs if per_gpu else [procs[i]]}}
                       for i in range(gpus)]
            scen = pathlib.Path(tmp) / "scenario.json"
            scen.write_text(json.dumps({"devices": devices}))
            env = dict(os.environ, FAKE_NVML_SCENARIO=str(scen), GPUCTL_NVML_LIBRARY=str(fake),
                       GPUCTL_SYS_ROOT=str(pathlib.Path(tmp) / "nosys"),
                       PYTHONPATH=str(REPO / "python"), LD_LIBRARY_PATH=str(lib))
            env.pop("CUDA_VISIBLE_DEVICES", None)
            code = CHILD % {"entries": gpus * n if per_gpu else gpus, "secs": COLLECT_SECONDS,
                            "listing": listing, "collectors": collectors}
            out = subprocess.run(["/usr/bin/python3", "-c", code], env=env, check=True,
                                 capture_output=True, text=True).stdout
    finally:
        for p in sleepers:
            p.kill()
        for p in sleepers:
            p.wait()
    return json.loads(out)


def main():
    lib = BUILD / "src" / "lib"
    fake = BUILD / "tests" / "fake-nvml" / "libnvidia-ml.so.1"
    if not (lib / "libgpuctl.so.0").exists() or not fake.exists():
        sys.exit(f"bench_api: build first (ninja -C {BUILD})")
    big = run_child(lib, fake, GPUS, True, True, repr((
        (f"{GPUS} GPUs x {PROCS}, none under its root", "{os.getpid()}"),
        (f"{GPUS} GPUs x {PROCS}, all under its root (worst)", "{os.getppid()}"))).replace(
            "'{", "{").replace("}'", "}"))
    small = run_child(lib, fake, GPUS, False, False, repr((
        (f"{GPUS} GPUs, one process each under its root", "{os.getppid()}"),)).replace(
            "'{", "{").replace("}'", "}"))
    r = big
    print(f"{GPUS} GPUs x {PROCS} processes ({GPUS * PROCS} GPU-process entries), "
          f"median (min) of 30 rounds, ms")
    print(f"  anchor  C gpuctl_snapshot_take_with + free   {r['c_snapshot_ms'][0]:7.2f} "
          f"({r['c_snapshot_ms'][1]:.2f})")
    print(f"  Python  refresh + Device.all() + processes()  "
          f"{r['python_all_processes_ms'][0]:7.2f} ({r['python_all_processes_ms'][1]:.2f})"
          f"   budget 20")
    print(f"collector at 1 s over {COLLECT_SECONDS} s, share of one core, %")
    print(f"  anchor  interpreter asleep                      {r['idle_core_pct']:7.3f}")
    for res, shape in ((small, f"{GPUS} GPUs x 1"), (big, f"{GPUS} GPUs x {PROCS}")):
        print(f"  anchor  C sampler pass alone, 1/s ({shape})".ljust(50)
              + f"{res['c_sampler_core_pct']:7.3f}")
        for name, pct, samples, figures in res["collectors"]:
            print(f"  {name:48s}{pct:7.3f}   budget 0.5   ({samples} samples, "
                  f"{figures} figures)")


if __name__ == "__main__":
    main()
