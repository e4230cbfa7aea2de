"""`gpuctl list` end to end: the binary, the fake NVML and real processes.

Each test writes a scenario naming processes it started itself, runs gpuctl
the way a user would, and checks what comes out against what it knows to be
true: the scenario's numbers and the processes' own /proc entries.
"""

import datetime
import json
import os
import pwd
import re
import subprocess
import sys
import time

import pytest

from conftest import (FIXTURES, GiB, LineReader, MiB, device, hung_driver_scenarios,
                      interrupt_and_wait, parse_tables, python_sleeper_argv, read_until_eof,
                      write_json_atomically)

GPU_KILL_GPU_KEYS = ["gpu_index", "name", "mem_used_mb", "mem_total_mb", "util_pct", "temp_c",
                     "power_w", "ecc_volatile", "pids", "top_proc"]
GPU_KEYS = GPU_KILL_GPU_KEYS + [
    "vendor", "uuid", "pci_bus_id", "driver", "driver_version", "mem_free_mb", "mem_reserved_mb",
    "mem_util_pct", "enc_util_pct", "dec_util_pct", "temp_slowdown_c", "temp_shutdown_c",
    "power_limit_w", "fan_pct", "clocks", "pcie", "ecc_volatile_corrected", "persistence_mode",
    "display_active", "compute_mode", "pstate", "mig_mode", "mig_mode_pending", "mig_instances",
    "status", "gtt_used_mb", "gtt_total_mb", "temp_hotspot_c", "temp_mem_c", "fan_rpm",
    "xid_last", "xid_count", "xid_last_time"]
GPU_KILL_PROC_KEYS = ["gpu_index", "pid", "user", "proc_name", "used_mem_mb", "start_time",
                      "container"]
PROC_KEYS = GPU_KILL_PROC_KEYS + [
    "gpu_uuid", "type", "used_mem_bytes", "sm_pct", "mem_bw_pct", "enc_pct", "dec_pct",
    "gpu_instance_id", "compute_instance_id", "host_visible", "uid", "ppid", "cmdline", "state",
    "elapsed_s", "cpu_pct", "host_rss_bytes", "host_mem_pct", "other_pid_namespace",
    "used_sys_mem_bytes", "engines_pct"]
CONTAINER_KEYS = ["container_kind", "container_id", "pod_uid"]
TOP_KEYS = ["host", "ts", "driver_version", "cuda_version", "nvml_version", "sources", "gpus",
            "procs"]
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

# Host facts that move while a process runs.
VOLATILE = {"elapsed_s", "cpu_pct", "host_rss_bytes", "host_mem_pct", "state", "ts"}


def stable(value):
    """value without the fields that change from one reading to the next."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def proc(pid, mem_mib=None, **extra):
    return {"pid": pid, "used_memory": None if mem_mib is None else mem_mib * MiB, **extra}


def procs_by_pid(doc):
    return {p["pid"]: p for p in doc["procs"]}


def only_table_rows(out, which=0):
    return parse_tables(out)[which]


# ---- one GPU, three real processes ------------------------------------------------


@pytest.fixture
def one_gpu(spawn_procs, scenario):
    """An H100 with a Python 'trainer' (3000 MiB, compute), a sleeper with
    compute and graphics contexts (700 MiB each) and a graphics-only sleeper
    whose memory the driver does not report."""
    trainer, = spawn_procs(1, python_sleeper_argv("train.py", "--epochs", "10"))
    both, graphics = spawn_procs(2)
    dev = device(
        0,
        memory={"total": 85520809984, "reserved": 592445440, "used": 27917287424},
        utilization={"gpu": 87, "memory": 41},
        encoder={"utilization": 4}, decoder={"utilization": 3},
        temperature={"gpu": 54, "thresholds": {"shutdown": 92, "slowdown": 89}},
        power={"usage_mw": 412345, "enforced_limit_mw": 700000},
        ecc={"volatile": {"corrected": 7, "uncorrected": 2}},
        processes={"compute": [proc(trainer.pid, 3000), proc(both.pid, 700)],
                   "graphics": [proc(both.pid, 700), proc(graphics.pid)]},
        process_utilization=[{"pid": trainer.pid, "sm": 81, "mem": 38, "enc": 1, "dec": 2}],
    )
    path = scenario({"driver_version": "550.54.15", "nvml_version": "12.550.54.15",
                     "cuda_driver_version": 12040, "devices": [dev]})
    return {"scenario": path, "device": dev, "trainer": trainer, "both": both,
            "graphics": graphics}


def test_one_gpu_table_row(run, one_gpu):
    r = run(["list"], scenario=one_gpu["scenario"])
    assert r.rc == 0, r.err
    assert r.err == ""
    tables = parse_tables(r.out)
    assert len(tables) == 1, "without --details there is only the GPU table"
    row, = tables[0]
    trainer = one_gpu["trainer"]
    assert row == {
        "GPU": "0",
        "NAME": "NVIDIA H100 80GB HBM3",
        "MEM_USED/TOTAL": "26624/81559MiB",
        "UTIL(%)": "87",
        "TEMP(°C)": "54",
        "POWER(W)": "412/700",
        "ECC(volatile)": "2",
        "PIDS": "3",
        "TOP_PROC": f"{trainer.comm}:{trainer.pid}:3000MiB",
    }
    header = r.out.splitlines()[0]
    assert "Driver 550.54.15" in header and "CUDA 12.4" in header
    assert header.split()[0] == os.uname().nodename


def test_one_gpu_details_rows(run, one_gpu, self_user):
    r = run(["list", "--details"], scenario=one_gpu["scenario"])
    assert r.rc == 0, r.err
    devices, processes = parse_tables(r.out)
    assert len(devices) == 1
    trainer, both, graphics = one_gpu["trainer"], one_gpu["both"], one_gpu["graphics"]
    # One row per process: the pid with compute and graphics contexts is one C+G row.
    assert sorted(int(p["PID"]) for p in processes) == sorted([trainer.pid, both.pid, graphics.pid])
    rows = {int(p["PID"]): p for p in processes}
    expected = {
        trainer.pid: ("C", "3000MiB", "81", trainer),
        both.pid: ("C+G", "700MiB", "N/A", both),
        graphics.pid: ("G", "N/A", "N/A", graphics),
    }
    for pid, (kind, mem, sm, p) in expected.items():
        row = rows[pid]
        assert row["GPU"] == "0"
        assert row["USER"] == self_user
        assert row["TYPE"] == kind
        assert row["GPU-MEM"] == mem
        assert row["SM%"] == sm
        assert row["COMMAND"] == p.cmdline
        assert row["CONTAINER"] != "N/A"
        assert re.fullmatch(r"\d+\.\d", row["CPU%"]), row
        assert re.fullmatch(r"[\d.]+[KMG]?i?B", row["HOST-MEM"]), row
        assert re.fullmatch(r"(\d+-)?(\d+:)?\d\d:\d\d", row["ELAPSED"]), row
    assert [int(p["PID"]) for p in processes] == sorted(rows), "processes are in pid order"


def test_one_gpu_json_values(list_json, one_gpu, self_user):
    doc = list_json(one_gpu["scenario"])
    assert list(doc) == TOP_KEYS
    assert doc["host"] == os.uname().nodename
    assert RFC3339_UTC.match(doc["ts"]), doc["ts"]
    ts = datetime.datetime.strptime(doc["ts"], "%Y-%m-%dT%H:%M:%SZ")
    ts = ts.replace(tzinfo=datetime.timezone.utc).timestamp()
    assert abs(ts - time.time()) < 300
    assert doc["driver_version"] == "550.54.15"
    assert doc["cuda_version"] == "12.4"
    assert doc["nvml_version"] == "12.550.54.15"
    nvml, drm = doc["sources"]
    assert nvml == {"name": "nvml", "started": True, "message": None}
    assert (drm["name"], drm["started"]) == ("drm", False)
    assert drm["message"].startswith("no DRM GPU was found in ")

    gpu, = doc["gpus"]
    assert list(gpu)[:len(GPU_KILL_GPU_KEYS)] == GPU_KILL_GPU_KEYS
    assert sorted(gpu) == sorted(GPU_KEYS)
    dev = one_gpu["device"]
    total, used, reserved = 85520809984, 27917287424, 592445440
    expected = {
        "gpu_index": 0, "name": "NVIDIA H100 80GB HBM3", "mem_used_mb": used >> 20,
        "mem_total_mb": total >> 20, "util_pct": 87, "temp_c": 54, "ecc_volatile": 2, "pids": 3,
        "vendor": "nvidia", "uuid": dev["uuid"], "pci_bus_id": "0000:18:00.0", "driver": "nvidia",
        "driver_version": "550.54.15", "mem_free_mb": (total - used - reserved) >> 20,
        "mem_reserved_mb": reserved >> 20, "mem_util_pct": 41, "enc_util_pct": 4,
        "dec_util_pct": 3, "temp_slowdown_c": 89, "temp_shutdown_c": 92, "power_limit_w": 700,
        "fan_pct": None,
        "clocks": {"graphics_mhz": 1755, "sm_mhz": 1755, "mem_mhz": 2619,
                   "graphics_max_mhz": 1980, "sm_max_mhz": 1980, "mem_max_mhz": 2619},
        "pcie": {"gen": 5, "width": 16, "gen_max": 5, "width_max": 16, "rx_kbps": 2000,
                 "tx_kbps": 1000},
        "ecc_volatile_corrected": 7, "persistence_mode": True, "display_active": False,
        "compute_mode": "default", "pstate": "P0", "mig_mode": False, "mig_mode_pending": False,
        "mig_instances": [], "status": None,
    }
    for key, value in expected.items():
        assert gpu[key] == value, key
    assert gpu["power_w"] == pytest.approx(412.345)

    trainer, both, graphics = one_gpu["trainer"], one_gpu["both"], one_gpu["graphics"]
    assert [p["pid"] for p in doc["procs"]] == sorted([trainer.pid, both.pid, graphics.pid])
    procs = procs_by_pid(doc)
    assert stable(gpu["top_proc"]) == stable(procs[trainer.pid])
    containers = {p["container"] for p in doc["procs"]}
    assert len(containers) == 1, "processes in one cgroup get one container text"
    for p in doc["procs"]:
        assert list(p)[:len(GPU_KILL_PROC_KEYS)] == GPU_KILL_PROC_KEYS
        assert sorted(p) == sorted(PROC_KEYS), "no container_* keys without --containers"
    wanted = {
        trainer.pid: dict(type="C", used_mem_mb=3000, used_mem_bytes=3000 * MiB, sm_pct=81,
                          mem_bw_pct=38, enc_pct=1, dec_pct=2, proc=trainer),
        both.pid: dict(type="C+G", used_mem_mb=700, used_mem_bytes=700 * MiB, sm_pct=None,
                       mem_bw_pct=None, enc_pct=None, dec_pct=None, proc=both),
        graphics.pid: dict(type="G", used_mem_mb=None, used_mem_bytes=None, sm_pct=None,
                           mem_bw_pct=None, enc_pct=None, dec_pct=None, proc=graphics),
    }
    for pid, w in wanted.items():
        p, sp = procs[pid], w.pop("proc")
        for key, value in w.items():
            assert p[key] == value, (pid, key)
        assert p["gpu_index"] == 0
        assert p["user"] == self_user
        assert p["uid"] == os.getuid()
        assert p["ppid"] == os.getpid()
        assert p["proc_name"] == sp.comm
        assert p["cmdline"] == sp.cmdline
        assert p["start_time"] == sp.start_time_rfc3339()
        assert p["gpu_uuid"] == dev["uuid"]
        assert p["gpu_instance_id"] is None and p["compute_instance_id"] is None
        assert p["host_visible"] is True
        assert p["other_pid_namespace"] is False
        assert p["state"] in ("R", "S", "D")
        assert 0 <= p["elapsed_s"] < 600
        assert p["cpu_pct"] >= 0
        assert p["host_rss_bytes"] > 0
        assert 0 < p["host_mem_pct"] < 100


def test_process_reported_but_gone_is_kept_with_host_fields_null(list_json, scenario, run):
    gone = subprocess.Popen(["/bin/true"])
    gone.wait()           # reaped: the pid names no process now
    path = scenario({"devices": [device(0, processes={"compute": [proc(gone.pid, 64)]})]})
    doc = list_json(path)
    p, = doc["procs"]
    assert p["pid"] == gone.pid and p["used_mem_mb"] == 64 and p["type"] == "C"
    assert p["host_visible"] is False
    for key in ("user", "proc_name", "start_time", "container", "uid", "ppid", "cmdline",
                "state", "elapsed_s", "cpu_pct", "host_rss_bytes", "host_mem_pct",
                "other_pid_namespace"):
        assert p[key] is None, key
    assert doc["gpus"][0]["top_proc"]["pid"] == gone.pid
    r = run(["list"], scenario=path)
    assert r.rc == 0
    assert only_table_rows(r.out)[0]["TOP_PROC"] == f"?:{gone.pid}:64MiB"


# ---- many GPUs, many processes -------------------------------------------------------


def test_eight_gpus_256_processes(run, list_json, spawn_procs, scenario):
    sleepers = spawn_procs(256)
    devices = []
    expected = {}
    for g in range(8):
        mine = sleepers[g * 32:(g + 1) * 32]
        compute = []
        for j, p in enumerate(mine):
            mem = 100 + 10 * j + g       # distinct per process; the last is the biggest
            compute.append(proc(p.pid, mem))
            expected[p.pid] = (g, mem, p)
        devices.append(device(g, processes={"compute": compute, "graphics": []}))
    path = scenario({"devices": devices})

    doc = list_json(path)
    assert [gpu["gpu_index"] for gpu in doc["gpus"]] == list(range(8))
    assert len(doc["procs"]) == 256
    assert sorted(p["pid"] for p in doc["procs"]) == sorted(expected)
    for p in doc["procs"]:
        g, mem, sp = expected[p["pid"]]
        assert (p["gpu_index"], p["used_mem_mb"], p["type"]) == (g, mem, "C")
        assert p["cmdline"] == sp.cmdline and p["proc_name"] == "sleep"
        assert p["gpu_uuid"] == devices[g]["uuid"]
    assert [(p["gpu_index"], p["pid"]) for p in doc["procs"]] == sorted(
        (p["gpu_index"], p["pid"]) for p in doc["procs"]), "ordered by gpu_index, then pid"
    for g, gpu in enumerate(doc["gpus"]):
        assert gpu["pids"] == 32
        assert gpu["top_proc"]["pid"] == sleepers[g * 32 + 31].pid
        assert gpu["mem_used_mb"] == 1000 + 100 * g

    r = run(["list", "--details"], scenario=path)
    assert r.rc == 0, r.err
    gpus, processes = parse_tables(r.out)
    assert [row["PIDS"] for row in gpus] == ["32"] * 8
    assert len(processes) == 256
    for row in processes:
        g, mem, sp = expected[int(row["PID"])]
        assert (row["GPU"], row["GPU-MEM"], row["COMMAND"]) == (str(g), f"{mem}MiB", sp.cmdline)


def test_growing_process_list_is_read_whole(list_json, spawn_procs, scenario):
    """Processes that start between NVML's sizing call and the fetch
    (process_growth waves) are all listed, compute and graphics alike."""
    ps = spawn_procs(40)
    pid = [p.pid for p in ps]
    dev = device(
        0,
        processes={"compute": [proc(p, 10 + i) for i, p in enumerate(pid[:4])],
                   "graphics": [proc(pid[37], 50)]},
        process_growth={
            "compute": [[proc(p, 20) for p in pid[4:14]], [proc(p, 30) for p in pid[14:34]],
                        [proc(p, 40) for p in pid[34:37]]],
            "graphics": [[proc(p, 60) for p in pid[38:40]]],
        })
    doc = list_json(scenario({"devices": [dev]}))
    got = {p["pid"]: (p["type"], p["used_mem_mb"]) for p in doc["procs"]}
    want = {}
    for i, p in enumerate(pid):
        if i < 4:
            want[p] = ("C", 10 + i)
        elif i < 14:
            want[p] = ("C", 20)
        elif i < 34:
            want[p] = ("C", 30)
        elif i < 37:
            want[p] = ("C", 40)
        elif i == 37:
            want[p] = ("G", 50)
        else:
            want[p] = ("G", 60)
    assert got == want
    assert doc["gpus"][0]["pids"] == 40


def test_endlessly_growing_process_list_is_reported_not_dropped(run, list_json, scenario):
    """A list that outgrows every retry must not vanish silently: the GPU
    carries a status saying processes may be missing, in JSON and table."""
    waves, next_pid, total = [], 100000, 1
    for _ in range(9):
        size = total * 2 + 50     # more than any headroom a client could add
        waves.append([proc(next_pid + i, 1) for i in range(size)])
        next_pid += size
        total += size
    dev = device(0, processes={"compute": [proc(99999, 1)]},
                 process_growth={"compute": waves})
    path = scenario({"devices": [dev, device(1)]})
    doc = list_json(path)
    assert "kept growing" in doc["gpus"][0]["status"]
    assert doc["gpus"][1]["status"] is None
    rc, out, err = run(["list"], scenario=path)
    assert rc == 0, err
    assert "GPU 0: the process list kept growing" in out


# ---- MIG ----------------------------------------------------------------------------


@pytest.fixture
def mig_machine(spawn_procs, scenario):
    a, b, c = spawn_procs(3)
    mig_gpu = device(
        0, name="NVIDIA A100-SXM4-40GB",
        memory={"total": 40 * GiB, "reserved": 600 * MiB, "used": 9 * GiB},
        mig={"current": True, "pending": True, "max_devices": 7, "devices": [
            {"index": 0, "name": "NVIDIA A100-SXM4-40GB MIG 3g.20gb",
             "uuid": "MIG-4a1b2c3d-5e6f-5a7b-8c9d-0e1f2a3b4c5d", "gpu_instance_id": 1,
             "compute_instance_id": 0, "memory": {"total": 19968 * MiB, "used": 6144 * MiB},
             "processes": {"compute": [proc(a.pid, 6000), proc(c.pid, 100)]}},
            {"index": 3, "name": "NVIDIA A100-SXM4-40GB MIG 2g.10gb",
             "uuid": "MIG-9e8d7c6b-5a4f-5e3d-2c1b-0a9f8e7d6c5b", "gpu_instance_id": 5,
             "compute_instance_id": 1, "memory": {"total": 9728 * MiB, "used": 3072 * MiB},
             "processes": {"compute": [proc(b.pid, 3000), proc(c.pid, 200)]}},
        ]},
        errors={"nvmlDeviceGetUtilizationRates": "NOT_SUPPORTED"})
    plain_gpu = device(1, processes={"compute": [], "graphics": []})
    path = scenario({"devices": [mig_gpu, plain_gpu]})
    return {"scenario": path, "a": a, "b": b, "c": c}


def test_mig_json(list_json, mig_machine):
    doc = list_json(mig_machine["scenario"])
    gpu, plain = doc["gpus"]
    assert gpu["mig_mode"] is True and gpu["mig_mode_pending"] is True
    assert gpu["util_pct"] is None
    assert gpu["mig_instances"] == [
        {"gpu_instance_id": 1, "compute_instance_id": 0,
         "uuid": "MIG-4a1b2c3d-5e6f-5a7b-8c9d-0e1f2a3b4c5d",
         "name": "NVIDIA A100-SXM4-40GB MIG 3g.20gb", "mem_used_mb": 6144, "mem_total_mb": 19968},
        {"gpu_instance_id": 5, "compute_instance_id": 1,
         "uuid": "MIG-9e8d7c6b-5a4f-5e3d-2c1b-0a9f8e7d6c5b",
         "name": "NVIDIA A100-SXM4-40GB MIG 2g.10gb", "mem_used_mb": 3072, "mem_total_mb": 9728},
    ]
    assert plain["mig_mode"] is False and plain["mig_instances"] == []
    a, b, c = mig_machine["a"], mig_machine["b"], mig_machine["c"]
    got = sorted((p["pid"], p["gpu_instance_id"], p["compute_instance_id"], p["used_mem_mb"],
                  p["gpu_index"], p["type"]) for p in doc["procs"])
    # A process on two MIG instances is one entry per instance.
    assert got == sorted([(a.pid, 1, 0, 6000, 0, "C"), (b.pid, 5, 1, 3000, 0, "C"),
                          (c.pid, 1, 0, 100, 0, "C"), (c.pid, 5, 1, 200, 0, "C")])
    assert gpu["pids"] == 4
    assert gpu["top_proc"]["pid"] == a.pid


def test_mig_table_rows(run, mig_machine):
    r = run(["list", "--details"], scenario=mig_machine["scenario"])
    assert r.rc == 0, r.err
    gpus, procs = parse_tables(r.out)
    assert [row["GPU"] for row in gpus] == ["0", "└1.0", "└5.1", "1"]
    assert gpus[1]["NAME"] == "NVIDIA A100-SXM4-40GB MIG 3g.20gb"
    assert gpus[1]["MEM_USED/TOTAL"] == "6144/19968MiB"
    assert gpus[2]["MEM_USED/TOTAL"] == "3072/9728MiB"
    assert gpus[0]["UTIL(%)"] == "N/A"
    assert len(procs) == 4


def test_only_visible_mig_uuid_selects_parent(list_json, mig_machine):
    doc = list_json(mig_machine["scenario"], "--only-visible",
                    env={"CUDA_VISIBLE_DEVICES": "MIG-9e8d7c6b-5a4f-5e3d-2c1b-0a9f8e7d6c5b"})
    assert [g["gpu_index"] for g in doc["gpus"]] == [0]


# ---- unknown values --------------------------------------------------------------------


def test_unsupported_fields_are_na_and_null(run, list_json, spawn_procs, scenario):
    p, = spawn_procs(1)
    bare = {"uuid": "GPU-bare0000-0000-0000-0000-000000000000",
            "pci": {"bus_id": "00000000:01:00.0"},
            "processes": {"compute": [proc(p.pid)]}}
    refusing = device(1, errors={
        "nvmlDeviceGetPowerUsage": "NO_PERMISSION",
        "nvmlDeviceGetTemperature": "NOT_SUPPORTED",
        "nvmlDeviceGetTemperatureV": "NOT_SUPPORTED",
        "nvmlDeviceGetUtilizationRates": "NO_PERMISSION",
        "nvmlDeviceGetTotalEccErrors": "NOT_SUPPORTED",
    })
    path = scenario({"devices": [bare, refusing]})

    r = run(["list"], scenario=path)
    assert r.rc == 0, r.err
    row0, row1 = only_table_rows(r.out)
    assert row0 == {"GPU": "0", "NAME": "N/A", "MEM_USED/TOTAL": "N/A", "UTIL(%)": "N/A",
                    "TEMP(°C)": "N/A", "POWER(W)": "N/A/N/A", "ECC(volatile)": "N/A",
                    "PIDS": "1", "TOP_PROC": f"sleep:{p.pid}:N/A"}
    assert (row1["UTIL(%)"], row1["TEMP(°C)"], row1["POWER(W)"], row1["ECC(volatile)"]) == (
        "N/A", "N/A", "N/A/700", "N/A")
    assert row1["MEM_USED/TOTAL"] == "1100/81920MiB"

    doc = list_json(path)
    g0, g1 = doc["gpus"]
    assert g0["uuid"] == bare["uuid"] and g0["pci_bus_id"] == "0000:01:00.0"
    for key in ("name", "mem_used_mb", "mem_total_mb", "util_pct", "temp_c", "power_w",
                "ecc_volatile", "mem_free_mb", "mem_reserved_mb", "mem_util_pct", "enc_util_pct",
                "dec_util_pct", "temp_slowdown_c", "temp_shutdown_c", "power_limit_w", "fan_pct",
                "ecc_volatile_corrected", "persistence_mode", "display_active", "compute_mode",
                "pstate", "mig_mode", "mig_mode_pending"):
        assert g0[key] is None, key
    assert all(v is None for v in g0["clocks"].values())
    assert all(v is None for v in g0["pcie"].values())
    assert g0["status"] is None, "unsupported fields are not a device failure"
    assert (g1["util_pct"], g1["mem_util_pct"], g1["temp_c"], g1["power_w"], g1["ecc_volatile"],
            g1["ecc_volatile_corrected"]) == (None, None, None, None, None, None)
    assert g1["power_limit_w"] == 700 and g1["mem_used_mb"] == 1100
    p_json, = doc["procs"]
    assert p_json["used_mem_mb"] is None and p_json["used_mem_bytes"] is None
    assert p_json["sm_pct"] is None


def test_per_process_utilisation(run, list_json, spawn_procs, scenario):
    a, b, c = spawn_procs(3)
    dev = device(0, processes={"compute": [proc(a.pid, 10), proc(b.pid, 20), proc(c.pid, 30)]},
                 process_utilization=[
                     # Newest first in the driver's buffer: gpuctl must pick by timestamp.
                     {"pid": a.pid, "sm": 70, "mem": 20, "enc": 1, "dec": 2,
                      "timestamp_us": 1700000002000000},
                     {"pid": a.pid, "sm": 10, "mem": 90, "enc": 0, "dec": 0,
                      "timestamp_us": 1700000001000000},
                     {"pid": b.pid, "sm": 33, "mem": 4},
                 ])
    path = scenario({"devices": [dev]})
    procs = procs_by_pid(list_json(path))
    assert [procs[a.pid][k] for k in ("sm_pct", "mem_bw_pct", "enc_pct", "dec_pct")] == [70, 20, 1, 2]
    assert [procs[b.pid][k] for k in ("sm_pct", "mem_bw_pct", "enc_pct", "dec_pct")] == [33, 4, 0, 0]
    assert [procs[c.pid][k] for k in ("sm_pct", "mem_bw_pct", "enc_pct", "dec_pct")] == [None] * 4
    r = run(["list", "--details"], scenario=path)
    rows = {int(row["PID"]): row["SM%"] for row in parse_tables(r.out)[1]}
    assert rows == {a.pid: "70", b.pid: "33", c.pid: "N/A"}


def test_legacy_driver_uses_plain_calls(list_json, legacy_lib, spawn_procs, scenario):
    a, b = spawn_procs(2)
    used, reserved, total = 3 * GiB, 512 * MiB, 16 * GiB
    dev = device(0, memory={"total": total, "reserved": reserved, "used": used},
                 fans=[45],
                 processes={"compute": [proc(a.pid, 1000), proc(b.pid, 300)],
                            "graphics": [proc(b.pid, 300)],
                            "mps": []})
    doc = list_json(scenario({"cuda_driver_version": 11080, "devices": [dev]}), lib=legacy_lib)
    gpu, = doc["gpus"]
    # The v1 memory call folds reserved memory into used, and has no reserved figure.
    assert gpu["mem_used_mb"] == (used + reserved) >> 20
    assert gpu["mem_total_mb"] == total >> 20
    assert gpu["mem_free_mb"] == (total - used - reserved) >> 20
    assert gpu["mem_reserved_mb"] is None
    assert gpu["pci_bus_id"] == "0000:18:00.0"
    assert gpu["temp_c"] == 40
    assert gpu["fan_pct"] == 45
    assert gpu["name"] == "NVIDIA H100 80GB HBM3"
    assert doc["cuda_version"] == "11.8"
    got = {p["pid"]: (p["type"], p["used_mem_mb"], p["gpu_instance_id"]) for p in doc["procs"]}
    assert got == {a.pid: ("C", 1000, None), b.pid: ("C+G", 300, None)}


# ---- failures -------------------------------------------------------------------------


@pytest.mark.parametrize("error, words", [
    ("DRIVER_NOT_LOADED", ["kernel driver is not loaded", "modprobe nvidia"]),
    ("LIB_RM_VERSION_MISMATCH", ["different versions", "reload the nvidia kernel modules or reboot"]),
])
def test_init_failure_exits_2_with_advice(run, scenario, error, words):
    r = run(["list"], scenario=scenario({"init_error": error}))
    assert r.rc == 2
    assert r.out == ""
    assert r.err.startswith("gpuctl: ")
    for w in words:
        assert w in r.err


def test_init_failure_in_json_mode_is_still_an_error(run, scenario):
    r = run(["list", "--output", "json"], scenario=scenario({"init_error": "DRIVER_NOT_LOADED"}))
    assert (r.rc, r.out) == (2, "")
    assert "modprobe nvidia" in r.err


def test_missing_nvml_library_names_the_path(run, tmp_path, scenario):
    missing = tmp_path / "nowhere" / "libnvidia-ml.so.1"
    r = run(["list"], scenario=scenario({"devices": [device(0)]}),
            env={"GPUCTL_NVML_LIBRARY": missing})
    assert r.rc == 2
    assert f"GPUCTL_NVML_LIBRARY={missing}" in r.err
    assert r.out == ""


def test_library_without_nvml_symbols_is_refused(run, tmp_path, scenario, libgpuctl_path):
    # A real shared object that is not NVML: named in the message, exit 2.
    r = run(["list"], scenario=scenario({"devices": [device(0)]}),
            env={"GPUCTL_NVML_LIBRARY": libgpuctl_path})
    assert r.rc == 2
    assert str(libgpuctl_path) in r.err and "not a usable NVML library" in r.err


def test_no_gpus_is_not_an_error(run, list_json, scenario):
    path = scenario({"devices": []})
    doc = list_json(path)
    assert (doc["gpus"], doc["procs"]) == ([], [])
    r = run(["list"], scenario=path)
    assert r.rc == 0
    assert parse_tables(r.out) == [[]]


# ---- watch: a GPU falls off the bus ----------------------------------------------------

LOST_FUNCTIONS = [
    "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetEncoderUtilization",
    "nvmlDeviceGetDecoderUtilization", "nvmlDeviceGetTemperature", "nvmlDeviceGetTemperatureV",
    "nvmlDeviceGetPowerUsage", "nvmlDeviceGetEnforcedPowerLimit",
    "nvmlDeviceGetPowerManagementLimit", "nvmlDeviceGetFanSpeed", "nvmlDeviceGetClockInfo",
    "nvmlDeviceGetCurrPcieLinkGeneration", "nvmlDeviceGetCurrPcieLinkWidth",
    "nvmlDeviceGetPcieThroughput", "nvmlDeviceGetTotalEccErrors", "nvmlDeviceGetPersistenceMode",
    "nvmlDeviceGetDisplayActive", "nvmlDeviceGetComputeMode", "nvmlDeviceGetPerformanceState",
    "nvmlDeviceGetMigMode", "nvmlDeviceGetComputeRunningProcesses",
    "nvmlDeviceGetGraphicsRunningProcesses", "nvmlDeviceGetMPSComputeRunningProcesses",
    "nvmlDeviceGetProcessUtilization",
]


def test_watch_json_gpu_lost_mid_run(gpuctl_bin, gpuctl_env, spawn_procs, scenario):
    ps = spawn_procs(3)
    data = {"devices": [device(i, processes={"compute": [proc(ps[i].pid, 100 + i)]})
                        for i in range(3)]}
    path = scenario(data)
    p = subprocess.Popen([str(gpuctl_bin), "list", "--watch", "0.05", "--output", "json"],
                         env=gpuctl_env(path, {"FAKE_NVML_RECHECK_MS": 0}),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        lines = LineReader(p.stdout.fileno())
        first = json.loads(lines.readline(30))
        assert [g["status"] for g in first["gpus"]] == [None, None, None]
        assert [pr["pid"] for pr in first["procs"]] == [x.pid for x in ps]

        data["devices"][1]["errors"] = {fn: "GPU_IS_LOST" for fn in LOST_FUNCTIONS}
        write_json_atomically(path, data)
        for _ in range(400):
            doc = json.loads(lines.readline(30))
            if doc["gpus"][1]["status"]:
                break
        else:
            pytest.fail("no document showed GPU 1 as lost")
        later = [json.loads(lines.readline(30)) for _ in range(2)]
        rc = interrupt_and_wait(p)
        rest = read_until_eof(p.stdout.fileno(), 30)
        err = p.stderr.read().decode()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    assert rc == 0, err
    assert err == ""
    for line in (lines.buf + rest).decode().splitlines():
        json.loads(line)          # whatever was still in flight is whole documents
    for doc in [doc] + later:
        assert len(doc["gpus"]) == 3, "a lost GPU stays in the list"
        lost = doc["gpus"][1]
        assert lost["status"].startswith("GPU is lost"), lost["status"]
        assert lost["name"] == first["gpus"][1]["name"] and lost["uuid"] == first["gpus"][1]["uuid"]
        assert lost["mem_used_mb"] is None and lost["pids"] == 0
        for i in (0, 2):
            assert stable(doc["gpus"][i]) == stable(first["gpus"][i])
        assert [pr["pid"] for pr in doc["procs"]] == [ps[0].pid, ps[2].pid]
        assert stable(doc["procs"]) == stable([first["procs"][0], first["procs"][2]])


def test_lost_gpu_costs_one_call(list_json, run, spawn_procs, scenario):
    """A GPU whose first call of the refresh answers GPU_IS_LOST is not asked
    anything more in that refresh: its other fields stay unknown and its
    processes unlisted, although the scenario would still answer them."""
    ps = spawn_procs(2)
    lost = device(1, processes={"compute": [proc(ps[1].pid, 64)]},
                  errors={"nvmlDeviceGetMemoryInfo": "GPU_IS_LOST"})
    path = scenario({"devices": [device(0, processes={"compute": [proc(ps[0].pid, 32)]}), lost]})
    doc = list_json(path)
    g0, g1 = doc["gpus"]
    assert g1["status"].startswith("GPU is lost")
    assert (g1["name"], g1["uuid"]) == (lost["name"], lost["uuid"]), "identity stays"
    for key in ("mem_used_mb", "util_pct", "temp_c", "power_w", "ecc_volatile", "pstate"):
        assert g1[key] is None, key
    assert g1["pids"] == 0 and g1["top_proc"] is None
    assert [p["pid"] for p in doc["procs"]] == [ps[0].pid]
    assert g0["status"] is None and g0["util_pct"] == 10 and g0["pids"] == 1
    r = run(["list"], scenario=path)
    assert r.rc == 0, r.err
    assert f"GPU 1: {g1['status']}" in r.out.splitlines()


def test_watch_json_one_document_per_line(gpuctl_bin, gpuctl_env, scenario):
    path = scenario({"devices": [device(0)]})
    p = subprocess.Popen([str(gpuctl_bin), "list", "--watch=0.05", "--output", "json"],
                         env=gpuctl_env(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        lines = LineReader(p.stdout.fileno())
        docs = [lines.readline(30) for _ in range(3)]
        rc = interrupt_and_wait(p)
        read_until_eof(p.stdout.fileno(), 30)
        err = p.stderr.read().decode()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    assert (rc, err) == (0, "")
    for line in docs:
        assert line.endswith("}\n") and line.count("\n") == 1
        assert json.loads(line)["gpus"][0]["gpu_index"] == 0


def test_watch_table_on_terminal_restores_it(run_pty, scenario):
    path = scenario({"devices": [device(0)]})
    r = run_pty(["list", "--watch", "0.05"], scenario=path, until=b"NVIDIA H100")
    assert r.rc == 0, r.err
    assert r.out.startswith(b"\x1b[?1049h\x1b[?25l"), r.out[:40]
    assert r.out.endswith(b"\x1b[?25h\x1b[?1049l"), r.out[-40:]


def test_watch_sigterm_also_ends_cleanly(run_pty, scenario, gpuctl_bin, gpuctl_env):
    path = scenario({"devices": [device(0)]})
    p = subprocess.Popen([str(gpuctl_bin), "list", "--watch", "0.05", "--output", "json"],
                         env=gpuctl_env(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        LineReader(p.stdout.fileno()).readline(30)
        p.terminate()
        read_until_eof(p.stdout.fileno(), 30)
        rc = p.wait(timeout=30)
        err = p.stderr.read().decode()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    assert (rc, err) == (0, "")


def test_watch_keeps_publishing_while_the_driver_hangs(gpuctl_bin, gpuctl_env, spawn_procs,
                                                      scenario):
    """A sample stuck in NVML past default_timeout_secs does not stop the
    documents: one still comes every interval, the GPU marked stale with the
    last good values, and SIGINT still ends the command at once."""
    ps = spawn_procs(1)
    calm, hung = hung_driver_scenarios({"compute": [proc(ps[0].pid, 100)]})
    path = scenario(calm)
    p = subprocess.Popen([str(gpuctl_bin), "list", "--watch", "0.2", "--output", "json"],
                         env=gpuctl_env(path, {"FAKE_NVML_RECHECK_MS": 0,
                                               "GPUCTL_DEFAULT_TIMEOUT": 1}),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        lines = LineReader(p.stdout.fileno())
        first = json.loads(lines.readline(30))
        assert first["gpus"][0]["stale"] is False
        write_json_atomically(path, hung)
        for _ in range(400):
            doc = json.loads(lines.readline(30))
            if doc["gpus"][0]["stale"]:
                break
        else:
            pytest.fail("no document marked the GPU stale")
        later = [json.loads(lines.readline(30)) for _ in range(3)]
        rc = interrupt_and_wait(p)
        read_until_eof(p.stdout.fileno(), 30)
        err = p.stderr.read().decode()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    assert (rc, err) == (0, "")
    for d in [doc] + later:
        gpu = d["gpus"][0]
        assert gpu["stale"] is True and gpu["status"] is None
        assert stable({**gpu, "stale": False}) == stable(first["gpus"][0]), "last good values"
        assert [pr["pid"] for pr in d["procs"]] == [ps[0].pid]


# ---- filters ------------------------------------------------------------------------------


@pytest.fixture
def four_gpus(spawn_procs, scenario, self_user):
    """GPU 0: trainer (C, python 'train.py'), painter (G); GPU 1: mixer (C+G),
    and when running as root a process of user nobody (C); GPU 2: mps (M);
    GPU 3: nothing."""
    trainer, = spawn_procs(1, python_sleeper_argv("train.py", "--lr", "0.1"))
    painter, mixer, mps = spawn_procs(3)
    other = None
    gpu1 = {"compute": [proc(mixer.pid, 200)], "graphics": [proc(mixer.pid, 200)]}
    if os.getuid() == 0 and _user_exists("nobody"):
        other, = spawn_procs(1, user="nobody")
        gpu1["compute"].append(proc(other.pid, 50))
    devices = [
        device(0, processes={"compute": [proc(trainer.pid, 4000)],
                             "graphics": [proc(painter.pid, 30)]}),
        device(1, processes=gpu1),
        device(2, processes={"mps": [proc(mps.pid, 700)]}),
        device(3),
    ]
    return {"scenario": scenario({"devices": devices}), "devices": devices, "trainer": trainer,
            "painter": painter, "mixer": mixer, "mps": mps, "other": other, "self": self_user}


def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def shown(doc):
    return [g["gpu_index"] for g in doc["gpus"]], sorted(p["pid"] for p in doc["procs"])


def pids(m, *names):
    return sorted(m[n].pid for n in names if m[n] is not None)


ALL = ("trainer", "painter", "mixer", "mps", "other")


@pytest.mark.parametrize("args, gpus", [
    (["--vendor", "nvidia"], [0, 1, 2, 3]),
    (["--vendor", "all"], [0, 1, 2, 3]),
    (["--vendor", "amd"], []),
    (["--vendor", "amd,intel"], []),
    (["--vendor", "amd", "nvidia"], [0, 1, 2, 3]),
    (["--only", "1"], [1]),
    (["--only", "0,2"], [0, 2]),
    (["--only", "3", "0"], [0, 3]),
    (["--only", "2,2"], [2]),
    (["--only", "9"], []),
])
def test_device_filters(list_json, four_gpus, args, gpus):
    doc = list_json(four_gpus["scenario"], *args)
    assert [g["gpu_index"] for g in doc["gpus"]] == gpus
    assert sorted({p["gpu_index"] for p in doc["procs"]}) == [g for g in gpus if g in (0, 1, 2)]


def test_vendor_with_no_such_gpu_says_which_vendors_were_found(run, four_gpus):
    r = run(["list", "--vendor", "amd,intel"], scenario=four_gpus["scenario"])
    assert r.rc == 0, r.err
    assert "no GPU of vendor amd, intel on this machine; found: 4 nvidia" in r.err, r.err
    r = run(["list", "--vendor", "nvidia"], scenario=four_gpus["scenario"])
    assert r.rc == 0 and r.err == "", r.err


def test_only_restricts_processes_and_counts(list_json, four_gpus):
    doc = list_json(four_gpus["scenario"], "--only", "0")
    assert shown(doc) == ([0], pids(four_gpus, "trainer", "painter"))
    assert doc["gpus"][0]["pids"] == 2


@pytest.mark.parametrize("value, gpus", [
    ("1,3", [1, 3]),
    ("3,1", [1, 3]),
    (" 2 , 0 ", [0, 2]),
    ("GPU-00000002-1111-2222-3333-444455550002", [2]),
    ("gpu-00000003-1111-2222-3333-444455550003", [3]),
    ("GPU-00000001", [1]),                    # an unambiguous prefix
    ("1,GPU-0000000,2", [1]),                 # ambiguous prefix ends the list
    ("0,bogus,2", [0]),                       # an invalid entry ends the list
    ("2,7,1", [2]),                           # out of range ends the list
    ("0,1,0", []),                            # a device named twice: CUDA sees none
    ("1,GPU-00000001", []),                   # the same device by index and UUID
    ("", []),
    ("-1", []),
])
def test_only_visible_follows_cuda_rules(list_json, four_gpus, value, gpus):
    doc = list_json(four_gpus["scenario"], "--only-visible", env={"CUDA_VISIBLE_DEVICES": value})
    assert [g["gpu_index"] for g in doc["gpus"]] == gpus


def test_only_visible_without_cuda_visible_devices_shows_all(list_json, four_gpus):
    doc = list_json(four_gpus["scenario"], "--only-visible")
    assert [g["gpu_index"] for g in doc["gpus"]] == [0, 1, 2, 3]


def test_cuda_visible_devices_alone_changes_nothing(list_json, four_gpus):
    doc = list_json(four_gpus["scenario"], env={"CUDA_VISIBLE_DEVICES": "1"})
    assert [g["gpu_index"] for g in doc["gpus"]] == [0, 1, 2, 3]


@pytest.mark.parametrize("args, names", [
    (["--compute"], ("trainer", "mixer", "mps", "other")),
    (["--graphics"], ("painter", "mixer")),
    (["--compute", "--graphics"], ALL),
    (["--filter", r"train\.py"], ("trainer",)),
    (["--filter", r"--lr 0\.1$"], ("trainer",)),
    (["--filter", "^sleep$"], ("painter", "mixer", "mps", "other")),   # the process name
    (["--filter", "nothing-matches-this"], ()),
    (["--compute", "--filter", "^sleep$"], ("mixer", "mps", "other")),
])
def test_process_filters(list_json, four_gpus, args, names):
    doc = list_json(four_gpus["scenario"], *args)
    assert [g["gpu_index"] for g in doc["gpus"]] == [0, 1, 2, 3], "process filters keep GPUs"
    assert sorted(p["pid"] for p in doc["procs"]) == pids(four_gpus, *names)
    for g in doc["gpus"]:
        assert g["pids"] == sum(1 for p in doc["procs"] if p["gpu_index"] == g["gpu_index"])


def test_filter_matches_command_line(list_json, four_gpus):
    sleepers = [four_gpus[n] for n in ("painter", "mixer", "mps")]
    doc = list_json(four_gpus["scenario"], "--filter", re.escape(sleepers[1].argv[0]) + " 300")
    assert [p["pid"] for p in doc["procs"]] == [sleepers[1].pid]


def test_pid_filter(list_json, four_gpus):
    m = four_gpus
    assert shown(list_json(m["scenario"], "--pid", m["mixer"].pid))[1] == [m["mixer"].pid]
    doc = list_json(m["scenario"], "--pid", f"{m['trainer'].pid},{m['mps'].pid}")
    assert shown(doc)[1] == pids(m, "trainer", "mps")
    doc = list_json(m["scenario"], "--pid", m["trainer"].pid, m["painter"].pid)
    assert shown(doc)[1] == pids(m, "trainer", "painter")
    # A live process with nothing on a GPU is not an error.
    assert shown(list_json(m["scenario"], "--pid", os.getpid()))[1] == []


def test_user_filter_self(list_json, four_gpus):
    doc = list_json(four_gpus["scenario"], "--user")
    assert shown(doc)[1] == pids(four_gpus, "trainer", "painter", "mixer", "mps")
    doc = list_json(four_gpus["scenario"], "--user", four_gpus["self"])
    assert shown(doc)[1] == pids(four_gpus, "trainer", "painter", "mixer", "mps")
    assert shown(list_json(four_gpus["scenario"], "--user", "no-such-user-xyz"))[1] == []


def test_user_filter_named_other_user(list_json, four_gpus):
    if four_gpus["other"] is None:
        pytest.skip("starting a process as another user needs root and a 'nobody' user")
    other = four_gpus["other"]
    doc = list_json(four_gpus["scenario"], "--user", "nobody")
    assert shown(doc)[1] == [other.pid]
    assert doc["procs"][0]["user"] == "nobody"
    assert doc["procs"][0]["uid"] == pwd.getpwnam("nobody").pw_uid
    doc = list_json(four_gpus["scenario"], "--user", "nobody", four_gpus["self"])
    assert shown(doc)[1] == pids(four_gpus, *ALL)
    doc = list_json(four_gpus["scenario"], "--user", f"nobody,{four_gpus['self']}")
    assert shown(doc)[1] == pids(four_gpus, *ALL)


def test_process_filter_implies_details(run, four_gpus):
    m = four_gpus
    r = run(["list", "--pid", m["mixer"].pid], scenario=m["scenario"])
    assert r.rc == 0, r.err
    gpus, procs = parse_tables(r.out)
    assert len(gpus) == 4
    assert [(row["PID"], row["TYPE"]) for row in procs] == [(str(m["mixer"].pid), "C+G")]
    assert gpus[1]["PIDS"] == "1" and gpus[0]["PIDS"] == "0" and gpus[0]["TOP_PROC"] == "-"


def test_mps_process_type(list_json, four_gpus):
    doc = list_json(four_gpus["scenario"], "--only", "2")
    p, = doc["procs"]
    assert (p["pid"], p["type"], p["used_mem_mb"]) == (four_gpus["mps"].pid, "M", 700)


@pytest.mark.parametrize("pattern, position", [("a)b", 2), ("train(", 7), ("x[", 3)])
def test_invalid_regex_exits_3_with_position(run, four_gpus, pattern, position):
    r = run(["list", "--filter", pattern], scenario=four_gpus["scenario"])
    assert r.rc == 3
    assert r.out == ""
    assert f"invalid pattern '{pattern}' at position {position}" in r.err


@pytest.mark.parametrize("args, words", [
    (["--vendor", "nvidai"], "--vendor: 'nvidai'"),
    (["--vendor"], "needs at least one value"),
    (["--only", "x"], "--only: 'x' is not a GPU index"),
    (["--only", "-1"], "needs at least one value"),
    (["--only"], "needs at least one value"),
    (["--pid", "0"], "--pid: '0' is not a process id"),
    (["--pid", "12ab"], "--pid: '12ab' is not a process id"),
    (["--output", "xml"], "--output"),
    (["--output", "csv"], "not supported by list"),
    (["--output"], "needs a value"),
    (["--filter"], "needs a value"),
    (["--watch=0"], "--watch: '0'"),
    (["--watch=soon"], "--watch: 'soon'"),
])
def test_bad_list_arguments_exit_3(run, four_gpus, args, words):
    r = run(["list", *args], scenario=four_gpus["scenario"])
    assert r.rc == 3, r
    assert r.out == ""
    assert words in r.err
    assert "gpuctl help list" in r.err


# ---- containers (fixture /proc tree) -------------------------------------------------------


@pytest.fixture
def container_scenario(scenario):
    """Pids of tests/fixtures/proc: 4242 in Docker, 7000 in a Kubernetes pod,
    1 in init.scope."""
    return scenario({"devices": [device(0, processes={"compute": [
        proc(4242, 2048), proc(7000, 1024), proc(1, 16)]})]})


DOCKER_ID = "3f2c9a81d4e6b7a0c5d8e9f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5"
POD_UID = "0125ec2f-b64a-4868-8f5b-94b56cbab864"
CRI_ID = "ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459"


def test_containers_table_short_and_full(run, container_scenario):
    env = {"GPUCTL_PROC_ROOT": FIXTURES}
    r = run(["list", "--details"], scenario=container_scenario, env=env)
    assert r.rc == 0, r.err
    assert r.out.startswith("gpu-node-07 ")
    rows = {int(row["PID"]): row["CONTAINER"] for row in parse_tables(r.out)[1]}
    assert rows == {4242: "docker:3f2c9a81d4e6", 7000: "k8s:0125ec2f/ee4b20e90ac7",
                    1: "systemd:init.scope"}
    r = run(["list", "--details", "--containers"], scenario=container_scenario, env=env)
    assert r.rc == 0, r.err
    rows = {int(row["PID"]): row["CONTAINER"] for row in parse_tables(r.out)[1]}
    assert rows == {4242: f"docker:{DOCKER_ID}", 7000: f"k8s:{POD_UID}/{CRI_ID}",
                    1: "systemd:init.scope"}


def test_containers_json(list_json, container_scenario):
    env = {"GPUCTL_PROC_ROOT": FIXTURES}
    doc = list_json(container_scenario, env=env)
    assert doc["host"] == "gpu-node-07"
    procs = procs_by_pid(doc)
    assert procs[4242]["container"] == "docker:3f2c9a81d4e6"
    assert procs[7000]["container"] == "k8s:0125ec2f/ee4b20e90ac7"
    assert procs[4242]["other_pid_namespace"] is True
    assert procs[1]["other_pid_namespace"] is False
    assert procs[4242]["cmdline"] == "python -m vllm.entrypoints.api_server"
    assert all(not set(CONTAINER_KEYS) & set(p) for p in doc["procs"])

    doc = list_json(container_scenario, "--containers", env=env)
    procs = procs_by_pid(doc)
    for p in doc["procs"]:
        assert list(p)[-3:] == CONTAINER_KEYS
    assert [procs[4242][k] for k in CONTAINER_KEYS] == ["docker", DOCKER_ID, None]
    assert [procs[7000][k] for k in CONTAINER_KEYS] == ["kubernetes", CRI_ID, POD_UID]
    assert [procs[1][k] for k in CONTAINER_KEYS] == ["systemd", "init.scope", None]
    assert procs[7000]["container"] == "k8s:0125ec2f/ee4b20e90ac7", "the short text stays short"


# ---- strings that are not UTF-8, numbers without noise ----------------------------


def test_name_and_command_line_that_are_not_utf8_keep_their_keys(list_json, scenario, tmp_path):
    """comm and argv are bytes; a byte that is not UTF-8 becomes U+FFFD
    (docs/json/list.md, "Strings") and the key stays."""
    link = os.path.join(os.fsencode(tmp_path), b"gpu\xffbad")
    os.symlink(os.fsencode(sys.executable), link)
    argv = [link, b"-c", b"import time; time.sleep(300)", b"\xfe"]
    p = subprocess.Popen(argv, executable=link, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Popen returns after exec, so comm and cmdline are final.
        doc = list_json(scenario({"devices": [device(0, processes={"compute": [proc(p.pid, 5)]})]}),
                        "--details")
        entry, = doc["procs"]
        assert entry["proc_name"] == "gpu\ufffdbad"
        assert entry["cmdline"].endswith("gpu\ufffdbad -c import time; time.sleep(300) \ufffd")
        assert doc["gpus"][0]["top_proc"]["proc_name"] == "gpu\ufffdbad"
    finally:
        p.kill()
        p.wait()


def test_reals_are_rounded_to_their_precision(run, scenario):
    """580 mW is 0.58 W in the text itself, not 0.57999999999999996."""
    path = scenario({"devices": [device(0, power={"usage_mw": 580, "enforced_limit_mw": 700100})]})
    r = run(["list", "--output", "json"], scenario=path)
    assert r.rc == 0, r.err
    assert '"power_w": 0.58,' in r.out
    assert '"power_limit_w": 700.1,' in r.out
