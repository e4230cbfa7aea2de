"""The Python package (python/gpuctl) against the fake NVML and real processes.

Each test runs a short script in a child /usr/bin/python3 with
PYTHONPATH=python and the built libgpuctl on LD_LIBRARY_PATH, as the docs
tell users to: the fake NVML reads its scenario once per process, so a
fresh interpreter per test keeps the tests independent.  The script prints
one JSON document, which the test checks.
"""

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from conftest import GiB, MiB, REPO, base_env, device

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


@pytest.fixture
def py(libgpuctl_path, fake_lib, tmp_path, scenario):
    """py(code, scen, env=None) -> the JSON the script printed with out(...)."""

    def go(code, scen, env=None, timeout=120):
        full = base_env(tmp_path, fake_lib)
        full["FAKE_NVML_SCENARIO"] = str(scenario(scen) if isinstance(scen, dict) else scen)
        full["PYTHONPATH"] = str(REPO / "python")
        full["LD_LIBRARY_PATH"] = str(libgpuctl_path.parent)
        full.update({k: str(v) for k, v in (env or {}).items()})
        script = ("import json, os, sys, gpuctl\n"
                  "def out(v):\n    print(json.dumps(v))\n" + textwrap.dedent(code))
        p = subprocess.run([PYTHON, "-c", script], env=full, capture_output=True, text=True,
                           timeout=timeout)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout.strip().splitlines()[-1])

    return go


def mig_gpu(index, pid=None):
    procs = {"compute": [{"pid": pid, "used_memory": 700 * MiB}]} if pid else {}
    return device(index, mig={"current": True, "max_devices": 7, "devices": [
        {"name": "NVIDIA H100 80GB HBM3 MIG 3g.40gb",
         "uuid": f"MIG-{index:08x}-aaaa-bbbb-cccc-000000000001",
         "gpu_instance_id": 1, "compute_instance_id": 0,
         "memory": {"total": 40 * GiB, "used": 2 * GiB}, "processes": procs},
        {"name": "NVIDIA H100 80GB HBM3 MIG 1g.10gb",
         "uuid": f"MIG-{index:08x}-aaaa-bbbb-cccc-000000000002",
         "gpu_instance_id": 5, "compute_instance_id": 0,
         "memory": {"total": 10 * GiB, "used": 0}}]})


def test_devices_by_index_uuid_prefix_and_bus_id(py):
    r = py("""
        D = gpuctl.Device
        res = {"count": D.count(), "all": [d.index for d in D.all()],
               "by_index": D(1).uuid(), "by_prefix": D(uuid="GPU-00000002").index,
               "by_bus": D(bus_id="0000:28:00.0").index, "by_nvml_bus": D(bus_id="00000000:38:00.0").index,
               "by_short_bus": D(bus_id="18:00.0").index, "eq": D(1) == D(uuid=D(1).uuid())}
        for bad in ({"uuid": "GPU-0000"}, {"index": 9}, {"bus_id": "99:00.0"}):
            try:
                D(**bad)
            except gpuctl.GpuctlError as e:
                res.setdefault("errors", []).append([e.errno, str(e)])
        try:
            D()
        except TypeError:
            res["no_args"] = "TypeError"
        out(res)
    """, {"devices": [device(i) for i in range(3)]})
    assert r["count"] == 3 and r["all"] == [0, 1, 2]
    assert r["by_index"] == device(1)["uuid"]
    assert (r["by_prefix"], r["by_bus"], r["by_nvml_bus"], r["by_short_bus"]) == (2, 1, 2, 0)
    assert r["eq"] is True and r["no_args"] == "TypeError"
    (e1, m1), (e2, m2), (e3, m3) = r["errors"]
    assert e1 == errno.ENOTUNIQ and "GPU-0000" in m1
    assert e2 == errno.ENOENT and "9" in m2
    assert e3 == errno.ENOENT and "99:00.0" in m3


DEVICE_METHODS = ["name", "uuid", "bus_id", "memory_total", "memory_used", "memory_free",
                  "memory_percent", "gpu_utilization", "memory_utilization",
                  "encoder_utilization", "decoder_utilization", "temperature", "fan_speed",
                  "power_usage", "power_limit", "graphics_clock", "sm_clock", "memory_clock",
                  "max_sm_clock", "pcie_rx_throughput", "pcie_tx_throughput",
                  "performance_state", "compute_mode", "persistence_mode", "display_active",
                  "total_volatile_uncorrected_ecc_errors", "mig_mode", "driver_version",
                  "cuda_driver_version", "status"]


def test_values_are_the_scenario_s_and_unknown_is_none(py):
    r = py(f"""
        out({{str(d.index): {{m: getattr(d, m)() for m in {DEVICE_METHODS!r}}}
             for d in gpuctl.Device.all()}})
    """, {"devices": [device(0), {"name": "Bare"}]})
    d0, bare = r["0"], r["1"]
    assert d0["memory_total"] == 80 * GiB and d0["memory_used"] == 1000 * MiB
    assert d0["memory_free"] == 80 * GiB - 1000 * MiB - 512 * MiB
    assert d0["memory_percent"] == round(100 * 1000 * MiB / (80 * GiB), 1)
    assert (d0["gpu_utilization"], d0["memory_utilization"], d0["temperature"]) == (10, 5, 40)
    assert (d0["power_usage"], d0["power_limit"]) == (100000, 700000)
    assert (d0["sm_clock"], d0["max_sm_clock"], d0["memory_clock"]) == (1755, 1980, 2619)
    assert (d0["pcie_rx_throughput"], d0["pcie_tx_throughput"]) == (2000, 1000)
    assert (d0["performance_state"], d0["compute_mode"]) == (0, "default")
    assert (d0["persistence_mode"], d0["display_active"], d0["mig_mode"]) == (True, False, False)
    assert d0["total_volatile_uncorrected_ecc_errors"] == 0
    assert (d0["driver_version"], d0["cuda_driver_version"]) == ("550.54.15", "12.4")
    assert d0["bus_id"] == "0000:18:00.0" and d0["fan_speed"] is None and d0["status"] is None
    assert bare["name"] == "Bare"
    for m in DEVICE_METHODS:
        if m not in ("name", "driver_version", "cuda_driver_version"):
            assert bare[m] is None, m


def test_gpu_processes_with_their_host_facts(py, spawn_procs, self_user):
    a, b = spawn_procs(2)
    gone = subprocess.Popen(["/bin/true"])
    gone.wait()
    devs = [device(0, processes={"compute": [{"pid": a.pid, "used_memory": 300 * MiB}],
                                 "graphics": [{"pid": a.pid, "used_memory": 300 * MiB}]},
                   process_utilization=[{"pid": a.pid, "sm": 42, "mem": 17}]),
            device(1, processes={"compute": [{"pid": b.pid, "used_memory": None},
                                             {"pid": gone.pid, "used_memory": 5 * MiB}]})]
    r = py("""
        res = {}
        for d in gpuctl.Device.all():
            for pid, p in d.processes().items():
                res[str(pid)] = {"gpu": p.device.index, "mem": p.gpu_memory(), "sm": p.gpu_sm_utilization(),
                    "membw": p.gpu_memory_utilization(), "type": p.type(), "user": p.username(),
                    "cmd": p.command(), "name": p.name(), "cpu": p.cpu_percent(), "rss": p.host_memory(),
                    "elapsed": p.elapsed_time() and p.elapsed_time().total_seconds(),
                    "create": p.create_time(), "running": p.is_running()}
        out(res)
    """, {"devices": devs})
    pa, pb, pg = r[str(a.pid)], r[str(b.pid)], r[str(gone.pid)]
    assert (pa["gpu"], pa["mem"], pa["sm"], pa["membw"], pa["type"]) == (0, 300 * MiB, 42, 17, "C+G")
    assert (pa["user"], pa["cmd"], pa["name"]) == (self_user, a.cmdline, "sleep")
    assert pa["cpu"] is not None and pa["rss"] > 0 and 0 <= pa["elapsed"] < 600
    assert pa["running"] is True
    assert (pb["gpu"], pb["mem"], pb["sm"], pb["type"]) == (1, None, None, "C")
    for key in ("mem", "sm", "user", "cmd", "name", "cpu", "rss", "elapsed", "create"):
        if key != "mem":
            assert pg[key] is None, key
    assert pg["mem"] == 5 * MiB and pg["running"] is False


def test_host_process_of_any_pid(py, spawn_procs, self_user):
    a, = spawn_procs(1)
    r = py(f"""
        h = gpuctl.HostProcess({a.pid})
        res = {{"name": h.name(), "user": h.username(), "cmd": h.command(), "ppid": h.ppid(),
               "rss": h.host_memory(), "status": h.status(), "running": h.is_running()}}
        try:
            gpuctl.HostProcess(0x3fffffff)
        except gpuctl.NoSuchProcess as e:
            res["missing"] = e.errno
        out(res)
    """, {"devices": []})
    assert (r["name"], r["user"], r["cmd"], r["ppid"]) == ("sleep", self_user, a.cmdline,
                                                           os.getpid())
    assert r["rss"] > 0 and r["status"] in ("S", "R") and r["running"] is True
    assert r["missing"] == errno.ESRCH


def test_mig_devices_with_parent_profile_and_ids(py, spawn_procs):
    a, = spawn_procs(1)
    r = py("""
        gpu = gpuctl.Device(0)
        out([{"profile": m.profile(), "gi": m.gpu_instance_id(), "ci": m.compute_instance_id(),
              "parent": m.parent().index, "uuid": m.uuid(), "used": m.memory_used(),
              "total": m.memory_total(), "util": m.gpu_utilization(), "mig": m.is_mig_device(),
              "procs": sorted(m.processes())} for m in gpu.mig_devices()]
            + [[len(d.mig_devices()) for d in gpuctl.Device.all()]])
    """, {"devices": [mig_gpu(0, a.pid), device(1)]})
    first, second, counts = r
    assert first == {"profile": "3g.40gb", "gi": 1, "ci": 0, "parent": 0,
                     "uuid": "MIG-00000000-aaaa-bbbb-cccc-000000000001", "used": 2 * GiB,
                     "total": 40 * GiB, "util": None, "mig": True, "procs": [a.pid]}
    assert (second["profile"], second["gi"], second["procs"]) == ("1g.10gb", 5, [])
    assert counts == [2, 0]


@pytest.mark.parametrize("value, expected", [
    (None, [[0, 0], [1, 1], [2, 2]]),
    ("2,0", [[0, 2], [1, 0]]),
    ("1,oops,0", [[0, 1]]),
    ("0,0", []),
    ("", []),
    ("GPU-00000002", [[0, 2]]),
    ("MIG-00000001-aaaa-bbbb-cccc-000000000002,0", [[0, [1, 1]], [1, 0]]),
])
def test_cuda_ordinals_follow_cuda_visible_devices(py, value, expected):
    env = {} if value is None else {"CUDA_VISIBLE_DEVICES": value}
    r = py("""
        out([[d.cuda_index, d.index] for d in gpuctl.Device.from_cuda_visible_devices()])
    """, {"devices": [device(0), mig_gpu(1), device(2)]}, env=env)
    assert r == expected


def test_collector_watches_a_mig_device_named_by_cuda_visible_devices(py, spawn_procs):
    a, = spawn_procs(1)
    r = py(f"""
        import time
        (mig,) = gpuctl.Device.from_cuda_visible_devices()
        coll = gpuctl.ResourceMetricCollector(root_pids={{{a.pid}}}, interval=0.02)
        with coll, coll(tag="t"):
            time.sleep(0.1)
            m = coll.collect()
        out({{"mig": [mig.display_index, mig.profile(), mig.cuda_index], "metrics": m}})
    """, {"devices": [device(0), mig_gpu(1, a.pid)]},
           env={"CUDA_VISIBLE_DEVICES": "MIG-00000001-aaaa-bbbb-cccc-000000000001"})
    assert r["mig"] == ["1:0", "3g.40gb", 0]
    m = r["metrics"]
    assert m["t/cuda:0 (gpu:1:0)/memory_used (MiB)/mean"] == 2048
    assert m["t/cuda:0 (gpu:1:0)/memory_total (MiB)/max"] == 40 * 1024
    assert m["t/cuda:0 (gpu:1:0)/memory_percent (%)/last"] == 5.0
    assert m[f"t/pid:{a.pid}/cuda:0 (gpu:1:0)/gpu_memory (MiB)/mean"] == 700
    assert not any("gpu_utilization" in k or "(gpu:0)" in k or "(gpu:1)" in k for k in m)


def test_terminate_ends_a_real_process_and_a_stale_one_is_refused(py, spawn_procs):
    a, b = spawn_procs(2)
    r = py(f"""
        import signal
        procs = gpuctl.Device(0).processes()
        a, b = procs[{a.pid}], procs[{b.pid}]
        res = {{}}
        # b's identity with another start time: what a reused pid looks like
        stale = gpuctl.HostProcess({b.pid}, _ident=({b.pid}, b._start_ticks + 1))
        try:
            stale.terminate()
        except gpuctl.StaleProcess as e:
            res["stale"] = [e.errno, str(e)]
        a.terminate(wait=10)
        res["a_running"] = a.is_running()
        try:
            a.kill()
        except gpuctl.NoSuchProcess as e:
            res["again"] = e.errno
        try:
            gpuctl.HostProcess(1).terminate()
        except gpuctl.GpuctlError as e:
            res["init"] = e.errno
        try:
            gpuctl.HostProcess(os.getpid()).send_signal(signal.SIGTERM)
        except gpuctl.GpuctlError as e:
            res["self"] = e.errno
        out(res)
    """, {"devices": [device(0, processes={"compute": [{"pid": a.pid, "used_memory": MiB},
                                                       {"pid": b.pid, "used_memory": MiB}]})]})
    assert r["stale"][0] == errno.ESTALE and str(b.pid) in r["stale"][1]
    assert b.popen.poll() is None, "the stale identity's pid was not signalled"
    # the child has ended (a zombie of this pytest until reaped)
    assert a.popen.wait(timeout=10) == -signal.SIGTERM
    assert r["a_running"] is False and r["again"] == errno.ESRCH
    assert r["init"] == errno.EINVAL and r["self"] == errno.EINVAL


def select_scenario():
    def dev(i, used_gib, util):
        return device(i, memory={"total": 80 * GiB, "reserved": 0, "used": used_gib * GiB},
                      utilization={"gpu": util, "memory": 5})
    return {"devices": [dev(0, 70, 10), dev(1, 10, 90), dev(2, 20, 5), dev(3, 5, 0)]}


def test_select_devices_with_nvisel_semantics(py):
    r = py("""
        S = gpuctl.select_devices
        out({"free": S(min_free_memory="60GiB"),
             "free_util": S(min_free_memory=60 * 2**30, max_gpu_utilization=50),
             "max": S(max_count=2), "uuid": S(min_count=1, max_count=1, format="uuid"),
             "device": [d.index for d in S(max_count=1, format="device")],
             "not_enough": S(min_count=4, max_gpu_utilization=50),
             "among": S(devices=[gpuctl.Device(0), gpuctl.Device(1)]),
             "inherit": S(inherit=True, cuda_visible_devices="2,1")})
    """, select_scenario())
    assert r["free"] == [3, 1, 2]          # best first: most free memory
    assert r["free_util"] == [3, 2]
    assert r["max"] == [3, 1]
    assert r["uuid"] == [device(3)["uuid"]] and r["device"] == [3]
    assert r["not_enough"] == []
    assert r["among"] == [1, 0] and r["inherit"] == [1, 2]


def test_take_snapshots_holds_values_of_one_pass(py, spawn_procs):
    a, = spawn_procs(1)
    r = py("""
        res = gpuctl.take_snapshots()
        out({"devices": [[d.index, d.memory_used, d.gpu_utilization, d.name] for d in res.devices],
             "procs": [[p.pid, p.gpu_memory, p.type, p.name] for p in res.gpu_processes]})
    """, {"devices": [device(0, processes={"compute": [{"pid": a.pid, "used_memory": 3 * MiB}]}),
                      device(1)]})
    assert r["devices"] == [[0, 1000 * MiB, 10, "NVIDIA H100 80GB HBM3"],
                            [1, 1100 * MiB, 11, "NVIDIA H100 80GB HBM3"]]
    assert r["procs"] == [[a.pid, 3 * MiB, "C", "sleep"]]


def test_snapshot_json_is_the_cli_document(py, run, spawn_procs, scenario):
    a, = spawn_procs(1)
    scen = scenario({"devices": [device(0, processes={"compute": [
        {"pid": a.pid, "used_memory": 3 * MiB}]}), mig_gpu(1)]})
    doc = py("out(json.loads(gpuctl.snapshot_json()))", scen)
    cli = json.loads(run(["list", "--details", "--output", "json"], scenario=scen).out)
    volatile = ("ts", "elapsed_s", "cpu_pct", "host_rss_bytes", "host_mem_pct")

    def scrub(v):
        if isinstance(v, dict):
            return {k: scrub(x) for k, x in v.items() if k not in volatile}
        if isinstance(v, list):
            return [scrub(x) for x in v]
        return v

    assert scrub(doc) == scrub(cli)
    assert doc["procs"][0]["pid"] == a.pid


COLLECT = """
import threading, time
coll = gpuctl.ResourceMetricCollector(root_pids={{{root}}}, interval=0.02)
with coll:
    with coll(tag="train"):
        time.sleep(0.3)
        outer = coll.collect()
        opened = time.time()
        with coll(tag="epoch"):
            time.sleep(0.1)
            inner = coll.collect()
        window = time.time() - opened
out({{"outer": outer, "inner": inner, "window": window, "samples": coll.sample_count}})
"""


def test_collector_figures_are_the_scenario_s(py, spawn_procs):
    a, b = spawn_procs(2)
    devs = [device(0, processes={"compute": [{"pid": a.pid, "used_memory": 300 * MiB}]},
                   process_utilization=[{"pid": a.pid, "sm": 42, "mem": 17}]),
            device(1, processes={"compute": [{"pid": b.pid, "used_memory": 5 * MiB}]}),
            {"name": "Bare"}]
    r = py(COLLECT.format(root=a.pid), {"devices": devs}, env={"CUDA_VISIBLE_DEVICES": "1,0,2"})
    outer, inner = r["outer"], r["inner"]
    g0, g1 = "train/cuda:1 (gpu:0)", "train/cuda:0 (gpu:1)"
    for stat in ("mean", "min", "max", "last"):
        assert outer[f"{g0}/memory_used (MiB)/{stat}"] == 1000
        assert outer[f"{g1}/memory_used (MiB)/{stat}"] == 1100
        assert outer[f"{g0}/memory_total (MiB)/{stat}"] == 80 * 1024
        assert outer[f"{g0}/gpu_utilization (%)/{stat}"] == 10
        assert outer[f"{g1}/temperature (C)/{stat}"] == 41
        assert outer[f"{g0}/power_usage (W)/{stat}"] == 100.0
        assert outer[f"train/pid:{a.pid}/cuda:1 (gpu:0)/gpu_memory (MiB)/{stat}"] == 300
        assert outer[f"train/pid:{a.pid}/cuda:1 (gpu:0)/gpu_sm_utilization (%)/{stat}"] == 42
    assert not any(f"pid:{b.pid}/" in k for k in outer), "b is not under the root pids"
    assert not any("fan_speed" in k for k in outer), "unknown values are left out"
    assert not any("(gpu:2)" in k for k in outer), "the bare GPU has no known figure"
    assert 0 <= outer["train/host/cpu_percent (%)/mean"] <= 100
    assert outer["train/host/memory_used (GiB)/max"] > 0
    assert outer[f"train/pid:{a.pid}/host/host_memory (MiB)/last"] > 0
    assert outer["train/duration (s)"] >= 0.3
    assert outer["train/last_timestamp"] <= outer["train/timestamp"]
    assert inner["train/epoch/cuda:1 (gpu:0)/memory_used (MiB)/mean"] == 1000
    assert all(k.startswith("train/epoch/") for k in inner)
    # the epoch's own time, not the outer scope's: within what the script
    # measured around it, however slowly this machine ran the sleep
    assert 0.1 <= inner["train/epoch/duration (s)"] <= r["window"]
    assert r["samples"] >= 3


def test_collector_is_thread_safe(py):
    r = py("""
        import threading, time
        coll = gpuctl.ResourceMetricCollector(interval=0.005)
        errors, results = [], []
        def reader():
            try:
                for _ in range(200):
                    results.append(coll.collect()["outer/cuda:0 (gpu:0)/memory_used (MiB)/mean"])
            except Exception as e:
                errors.append(repr(e))
        def nester():
            try:
                for i in range(50):
                    with coll(tag=f"inner{i}"):
                        coll.collect()
                    coll.activate("outer2"); coll.deactivate("outer2")
            except Exception as e:
                errors.append(repr(e))
        with coll:
            coll.activate("outer")
            threads = [threading.Thread(target=reader) for _ in range(4)]
            for t in threads: t.start()
            for t in threads: t.join()
            coll.deactivate("outer")
        out({"errors": errors, "values": sorted(set(results)), "count": len(results),
             "samples": coll.sample_count})
    """, {"devices": [device(0)]})
    assert r["errors"] == []
    assert r["values"] == [1000] and r["count"] == 800
    assert r["samples"] >= 1


def test_daemonize_calls_back_until_told_to_stop(py):
    r = py("""
        import threading
        coll = gpuctl.ResourceMetricCollector(interval=0.02)
        seen, done = [], threading.Event()
        def on_collect(metrics):
            seen.append(metrics["metrics-daemon/cuda:0 (gpu:0)/gpu_utilization (%)/mean"])
            return len(seen) < 3
        t = coll.daemonize(on_collect, interval=0.05, on_stop=lambda c: done.set())
        t.join(30)
        out({"seen": seen, "alive": t.is_alive(), "stopped": done.is_set()})
    """, {"devices": [device(0)]})
    assert r == {"seen": [10, 10, 10], "alive": False, "stopped": True}


def test_pytorch_example_logs_the_collector_s_metrics(libgpuctl_path, fake_lib, tmp_path,
                                                      scenario):
    """examples/pytorch_train.py on the CPU with Debian's python3-torch."""
    probe = subprocess.run([PYTHON, "-c", "import torch"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("python3-torch is not installed (scripts/install-deps.sh installs it): "
                    + probe.stderr.strip().splitlines()[-1])
    env = base_env(tmp_path, fake_lib)
    env["FAKE_NVML_SCENARIO"] = str(scenario({"devices": [device(0), device(1)]}))
    env["PYTHONPATH"] = str(REPO / "python")
    env["LD_LIBRARY_PATH"] = str(libgpuctl_path.parent)
    env["CUDA_VISIBLE_DEVICES"] = "1"
    p = subprocess.run([PYTHON, str(REPO / "examples" / "pytorch_train.py"), "--epochs", "2",
                        "--steps", "20", "--log-every", "10"], env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    records = [json.loads(line) for line in p.stdout.splitlines()]
    assert [(r["epoch"], r["step"]) for r in records] == [(0, 10), (0, 20), (1, 10), (1, 20)]
    assert records[-1]["loss"] < records[0]["loss"], "the model learns"
    for r in records:
        assert r["train/epoch/cuda:0 (gpu:1)/memory_used (MiB)/mean"] == 1100
        assert r["train/epoch/cuda:0 (gpu:1)/gpu_utilization (%)/max"] == 11
        assert r["train/epoch/host/memory_used (GiB)/last"] > 0
        assert not any("(gpu:0)" in k for k in r), "only the visible GPU is watched"


def test_calls_close_together_share_a_pass_and_refresh_reads_anew(py):
    r = py("""
        import json as j
        path = os.environ["FAKE_NVML_SCENARIO"]
        gpuctl.set_snapshot_max_age(3600)
        d = gpuctl.Device(0)
        before = d.memory_used()
        scen = j.load(open(path))
        scen["devices"][0]["memory"]["used"] = 7 * 2**30
        open(path + ".new", "w").write(j.dumps(scen))
        os.replace(path + ".new", path)
        cached = d.memory_used()
        gpuctl.refresh()
        after = d.memory_used()
        gpuctl.set_snapshot_max_age(0)
        try:
            gpuctl.set_snapshot_max_age(-1)
        except ValueError:
            bad = "ValueError"
        out([before, cached, after, d.memory_used(), bad])
    """, {"devices": [device(0)]}, env={"FAKE_NVML_RECHECK_MS": 0})
    assert r == [1000 * MiB, 1000 * MiB, 7 * GiB, 7 * GiB, "ValueError"]


def test_select_counts_free_accounts_memory_as_free(py, spawn_procs, self_user):
    a, = spawn_procs(1)
    scen = select_scenario()
    scen["devices"][1]["processes"] = {"compute": [{"pid": a.pid, "used_memory": 10 * GiB}]}
    r = py(f"""
        S = gpuctl.select_devices
        out([S(min_free_memory="75GiB"), S(min_free_memory="75GiB", free_accounts=[{self_user!r}]),
             S(max_gpu_utilization=4, tolerance=0), S(max_gpu_utilization=4, tolerance=20)])
    """, scen)
    assert r[0] == [3] and r[1] == [1, 3]
    assert r[2] == [3] and 2 in r[3]


def test_no_gpu_library_is_an_error_that_says_why(py):
    r = py("""
        try:
            gpuctl.Device.count()
        except gpuctl.GpuctlError as e:
            out([e.errno, str(e)])
    """, {"init_error": "DRIVER_NOT_LOADED"})
    assert r[0] == errno.EIO and "modprobe nvidia" in r[1]


def test_daemonize_stops_with_its_collector(py):
    r = py("""
        import threading, time
        coll = gpuctl.ResourceMetricCollector(interval=0.02)
        calls = []
        t = coll.daemonize(lambda m: calls.append(1), interval=0.02)
        for _ in range(3000):                 # at most 30 s
            if calls:
                break
            time.sleep(0.01)
        t.collector.stop()
        t.join(30)
        out({"alive": t.is_alive(), "called": len(calls) >= 1})
    """, {"devices": [device(0)]})
    assert r == {"alive": False, "called": True}


def test_a_process_listed_twice_is_the_same_process(py, spawn_procs):
    a, = spawn_procs(1)
    r = py(f"""
        first = gpuctl.Device(0).processes()[{a.pid}]
        gpuctl.refresh()
        again = gpuctl.Device(0).processes()[{a.pid}]
        other = gpuctl.Device(1).processes()[{a.pid}]
        out([first == again, len({{first, again}}), first == other])
    """, {"devices": [device(i, processes={"compute": [{"pid": a.pid, "used_memory": MiB}]})
                      for i in range(2)]})
    assert r == [True, 1, False]


def test_collector_scope_keeps_figures_when_processes_come_and_go(py):
    # A sample is kept by column per layout (which processes); when the
    # layout changes, the old figures still count, unknown ones never do.
    r = py("""
        from gpuctl.collector import _Scope
        nan = float("nan")
        s = _Scope("t")
        a, ab, b = ("pid:1/m", "pid:2/m"), ("pid:1/m", "pid:2/m", "pid:3/m"), ("pid:3/m",)
        s.add([(a, [1.0, 10.0])], 1.0)
        s.add([(a, [3.0, 10.0])], 2.0)
        s.add([(ab, [2.0, nan, 7.0])], 3.0)       # pid 3 arrives, pid 2 unknown once
        s.add([(ab, [2.0, 20.0, 5.0])], 4.0)
        s.add([(b, [6.0]), (("host/x",), [nan])], 5.0)  # pids 1 and 2 gone
        s.add([(a, [5.0, nan])], 6.0)             # pid 1 is back, pid 3 gone
        m = s.summary()
        out({k[2:]: v for k, v in m.items() if "/m/" in k or "host" in k})
    """, {"devices": [device(0)]})
    assert r["pid:1/m/mean"] == 2.6 and r["pid:1/m/min"] == 1.0
    assert r["pid:1/m/max"] == 5.0 and r["pid:1/m/last"] == 5.0
    assert r["pid:2/m/mean"] == 40.0 / 3 and r["pid:2/m/last"] == 20.0
    assert r["pid:2/m/max"] == 20.0 and r["pid:2/m/min"] == 10.0
    assert r["pid:3/m/mean"] == 6.0 and r["pid:3/m/last"] == 6.0
    assert r["pid:3/m/min"] == 5.0 and r["pid:3/m/max"] == 7.0
    assert not any(k.startswith("host/") for k in r), "never known, never reported"
