"""`gpuctl audit --rogue` end to end: real processes named and argued like
miners (or like honest ML jobs) that the fake NVML lists as GPU processes,
scanned by the real binary; and the management of rogue.toml.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import GiB, MiB, device

SLEEP = "import time; time.sleep(300)"


def gpu_scenario(pids, memory=64 * MiB):
    return {"devices": [device(0, processes={
        "compute": [{"pid": p, "used_memory": memory} for p in pids]})]}


@pytest.fixture
def started():
    procs = []
    yield procs
    for p in procs:
        p.kill()
        p.wait()


def run_copy(tmp_path, started, relpath, *args):
    """Copies the Python interpreter to tmp_path/relpath and runs it there
    with `-c SLEEP ARGS`: a real process with that executable name and those
    arguments."""
    exe = tmp_path / relpath
    exe.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(sys.executable, exe)
    p = subprocess.Popen([str(exe), "-c", SLEEP, *args], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started.append(p)
    wait_cmdline(p.pid, args[-1] if args else SLEEP)
    return p


def wait_cmdline(pid, needle, timeout=20):
    """Waits until the exec has happened (the command line shows needle)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if needle.encode() in f.read():
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    raise AssertionError(f"pid {pid} never showed {needle!r}")


def rogue(run, scen, *args, env=None):
    r = run(["audit", "--rogue", "--output", "json", *args], scenario=scen, env=env)
    assert r.rc == 0, r.err
    return json.loads(r.out)


def by_category(doc, pid):
    return {f["category"]: f for f in doc["findings"] if f["pid"] == pid}


def test_fake_miner_is_found_with_evidence_and_kill_command(run, tmp_path, started):
    p = run_copy(tmp_path, started, "bin/xmrig", "--url", "stratum+tcp://pool.example.org:3333",
                 "--user", "0x52908400098527886E0F7030069857D2E4169EE7", "--donate-level=1")
    doc = rogue(run, gpu_scenario([p.pid]))
    assert doc["scanned"]["live_processes"] == 1
    miner = by_category(doc, p.pid)["crypto_miner"]
    texts = " | ".join(e["text"] for e in miner["evidence"])
    assert "'xmrig' is a known miner" in texts
    assert "stratum+tcp://pool.example.org:3333" in texts
    assert "wallet address" in texts
    assert "--donate-level=1" in texts
    assert 0.9 < miner["confidence"] <= 1.0
    assert miner["risk"] == "critical"
    assert miner["recommendation"] == f"gpuctl kill --pid {p.pid}"
    assert miner["live"] is True and miner["gpu"] == 0
    assert miner["exe"] == str(tmp_path / "bin" / "xmrig")
    for e in miner["evidence"]:
        assert 0 < e["confidence"] <= 1


def test_table_output_names_the_miner(run, tmp_path, started):
    p = run_copy(tmp_path, started, "miners/t-rex", "-a", "kawpow", "-o",
                 "stratum+ssl://rvn.pool.example:4444")
    r = run(["audit", "--rogue"], scenario=gpu_scenario([p.pid]), env={"COLUMNS": "250"})
    assert r.rc == 0, r.err
    assert "crypto_miner" in r.out and "critical" in r.out
    assert f"gpuctl kill --pid {p.pid}" in r.out


def test_ml_job_with_cuda_in_its_path_is_not_a_miner(run, tmp_path, started):
    p = run_copy(tmp_path, started, "opt/cuda-12.2/bin/python3", "train.py", "--data",
                 "/datasets/cuda-samples", "--epochs", "3")
    doc = rogue(run, gpu_scenario([p.pid]))
    assert doc["scanned"]["live_processes"] == 1
    assert doc["findings"] == []


def test_miner_name_inside_a_word_is_not_a_match(run, tmp_path, started):
    # "xmrig" inside a longer name and an argument that merely mentions
    # stratum are not miners: matching is on whole names and arguments.
    p = run_copy(tmp_path, started, "tools/notxmrig-analyser", "--report", "stratum-notes.txt")
    doc = rogue(run, gpu_scenario([p.pid]))
    assert "crypto_miner" not in by_category(doc, p.pid)


def test_miner_arguments_alone_are_found(run, tmp_path, started, spawn_procs):
    [p] = spawn_procs(1, argv=[sys.executable, "-c", SLEEP, "-o",
                               "stratum+tcp://eth.pool.example:4444", "--coin", "ETH"])
    doc = rogue(run, gpu_scenario([p.pid]))
    miner = by_category(doc, p.pid)["crypto_miner"]
    texts = [e["text"] for e in miner["evidence"]]
    assert not any("known miner" in t for t in texts)
    assert any("stratum+tcp://eth.pool.example:4444" in t for t in texts)


def test_allow_lists_silence_a_process_and_a_user(run, tmp_path, started, self_user):
    p = run_copy(tmp_path, started, "bin/xmrig", "--url", "stratum+tcp://pool.example.org:3333")
    scen = gpu_scenario([p.pid])
    r = run(["audit", "--rogue-whitelist-process", "xmrig"])
    assert r.rc == 0, r.err
    assert rogue(run, scen)["findings"] == []
    r = run(["audit", "--rogue-unwhitelist-process", "xmrig"])
    assert r.rc == 0, r.err
    assert "crypto_miner" in by_category(rogue(run, scen), p.pid)
    r = run(["audit", "--rogue-whitelist-user", self_user])
    assert r.rc == 0, r.err
    assert rogue(run, scen)["findings"] == []
    r = run(["audit", "--rogue-unwhitelist-user", self_user, "--rogue-whitelist-process", "xm*"])
    assert r.rc == 0, r.err
    assert rogue(run, scen)["findings"] == []


def test_deleted_temp_executable_imitating_a_kernel_thread(run, tmp_path, started):
    p = run_copy(tmp_path, started, "kworker", "--quiet")
    (tmp_path / "kworker").unlink()
    doc = rogue(run, gpu_scenario([p.pid]))
    sus = by_category(doc, p.pid)["suspicious_process"]
    texts = " | ".join(e["text"] for e in sus["evidence"])
    assert "has been deleted" in texts
    assert "temporary directory" in texts
    assert "like a system process" in texts
    assert sus["confidence"] > 0.9


def test_memory_hog_and_threshold_flag(run, spawn_procs):
    [p] = spawn_procs(1)
    scen = gpu_scenario([p.pid], memory=30 * GiB)
    abuse = by_category(rogue(run, scen), p.pid)["resource_abuse"]
    assert "30.0 GiB" in abuse["evidence"][0]["text"]
    assert abuse["recommendation"].endswith(f"gpuctl kill --pid {p.pid}")
    r = run(["audit", "--rogue-memory-threshold", "40"])
    assert r.rc == 0, r.err
    assert "resource_abuse" not in by_category(rogue(run, scen), p.pid)


def test_network_output_with_sockets_is_exfiltration(run, tmp_path, started):
    # write(2) on a socket counts in /proc/PID/io's wchar (send(2) does not:
    # docs/configuration.md says so).
    xdg = tmp_path / "xdg" / "gpuctl"
    xdg.mkdir(parents=True, exist_ok=True)
    (xdg / "rogue.toml").write_text("[detection]\nmax_network_output_mb_per_sec = 1\n")
    code = ("import socket, threading, time\n"
            "a, b = socket.socketpair()\n"
            "threading.Thread(target=lambda: [b.recv(1 << 20) for _ in iter(int, 1)],"
            " daemon=True).start()\n"
            "chunk = b'x' * (1 << 20)\n"
            "import os\n"
            "for _ in range(200):\n"
            "    view = memoryview(chunk)\n"
            "    while view: view = view[os.write(a.fileno(), view):]\n"
            "print('sent', flush=True)\n"
            "time.sleep(300)\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    started.append(p)
    assert p.stdout.readline() == b"sent\n"
    doc = rogue(run, gpu_scenario([p.pid]))
    ex = by_category(doc, p.pid)["data_exfiltration"]
    assert "socket" in ex["evidence"][0]["text"]
    assert ex["confidence"] == pytest.approx(0.6) and ex["risk"] == "medium"


def test_confidence_threshold_drops_weak_findings(run, tmp_path, started, spawn_procs):
    [p] = spawn_procs(1, argv=[sys.executable, "-c", SLEEP, "--url",
                               "stratum+tcp://eth.pool.example:4444"])
    scen = gpu_scenario([p.pid])
    assert "crypto_miner" in by_category(rogue(run, scen), p.pid)
    assert run(["audit", "--rogue-confidence-threshold", "0.95"]).rc == 0
    assert "crypto_miner" not in by_category(rogue(run, scen), p.pid)


# ---- configuration --------------------------------------------------------------


def test_rogue_toml_is_created_with_defaults_on_first_use(run, tmp_path):
    path = tmp_path / "xdg" / "gpuctl" / "rogue.toml"
    assert not path.exists()
    r = run(["audit", "--rogue-config"])
    assert r.rc == 0, r.err
    assert path.exists()
    text = path.read_text()
    for section in ("[detection]", "[patterns]", "[scoring.threat_weights]",
                    "[scoring.risk_thresholds]"):
        assert section in text
    assert "max_memory_usage_gb = 20" in text
    assert str(path) in r.out


def test_export_import_round_trip(run, tmp_path):
    assert run(["audit", "--rogue-memory-threshold", "12.5", "--rogue-whitelist-user",
                "alice"]).rc == 0
    r = run(["audit", "--rogue-export-config"])
    assert r.rc == 0, r.err
    doc = json.loads(r.out)
    assert doc["detection"]["max_memory_usage_gb"] == 12.5
    assert doc["patterns"]["allowed_users"] == ["alice"]
    doc["detection"]["max_duration_hours"] = 48
    doc["patterns"]["miner_names"] = ["mysteryminer"]
    f = tmp_path / "rogue.json"
    f.write_text(json.dumps(doc))
    r = run(["audit", "--rogue-import-config", f])
    assert r.rc == 0, r.err
    again = json.loads(run(["audit", "--rogue-export-config"]).out)
    assert again == doc


def test_import_of_a_missing_file_names_it_without_a_position(run, tmp_path):
    f = tmp_path / "missing.json"
    r = run(["audit", "--rogue-import-config", f])
    assert r.rc == 1
    assert f"unable to open {f}: No such file or directory; nothing was imported" in r.err, r.err
    assert "-1:-1" not in r.err


@pytest.mark.parametrize("change, message", [
    ({"detection": {"max_utilization_pct": 150}}, "detection.max_utilization_pct"),
    ({"scoring": {"risk_thresholds": {"low": 0.9}}}, "risk_thresholds"),
    ({"patterns": {"miner_names": ["ok", 3]}}, "patterns.miner_names[1]"),
    ({"detection": {"no_such_key": 1}}, "unknown key 'detection.no_such_key'"),
])
def test_import_is_validated_whole(run, tmp_path, change, message):
    assert run(["audit", "--rogue-memory-threshold", "7"]).rc == 0
    path = tmp_path / "xdg" / "gpuctl" / "rogue.toml"
    before = path.read_text()
    doc = json.loads(run(["audit", "--rogue-export-config"]).out)
    for section, values in change.items():
        target = doc.setdefault(section, {})
        for k, v in values.items():
            if isinstance(v, dict):
                target.setdefault(k, {}).update(v)
            else:
                target[k] = v
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(doc))
    r = run(["audit", "--rogue-import-config", f])
    assert r.rc != 0
    assert message in r.err and "nothing was imported" in r.err
    assert path.read_text() == before


def test_bad_rogue_toml_is_refused_with_its_position(run, tmp_path):
    path = tmp_path / "xdg" / "gpuctl" / "rogue.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[detection]\nmax_memory_usage_gb = 20\nmax_duration_hours = -3\n")
    r = run(["audit", "--rogue", "--output", "json"], scenario=gpu_scenario([]))
    assert r.rc == 1
    assert f"{path}:3:22:" in r.err
    path.write_text("[detection]\nmax_memory_usage_gb = = 20\n")
    r = run(["audit", "--rogue-config"])
    assert r.rc == 1 and f"{path}:2:" in r.err


def test_an_empty_allow_list_entry_is_refused_and_nothing_is_saved(run, tmp_path):
    assert run(["audit", "--rogue-whitelist-process", "trainer"]).rc == 0
    path = tmp_path / "xdg" / "gpuctl" / "rogue.toml"
    before = path.read_text()
    for flag in ("--rogue-whitelist-process", "--rogue-whitelist-user"):
        r = run(["audit", flag, ""])
        assert r.rc == 3 and "matches nothing; nothing was changed" in r.err, r.err
        assert "saved" not in r.err and "is allow-listed" not in r.err
        assert path.read_text() == before
    r = run(["audit", "--rogue", "--output", "json"], scenario=gpu_scenario([]))
    assert r.rc == 0, r.err


def test_bad_threshold_flag_is_a_usage_error(run, tmp_path):
    r = run(["audit", "--rogue-confidence-threshold", "1.5"])
    assert r.rc == 3
    assert "--rogue-confidence-threshold" in r.err


# ---- history --------------------------------------------------------------------


def test_miner_in_the_imported_history_is_reported_as_ended(run, tmp_path):
    records = [{"id": i, "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                    time.gmtime(time.time() - 3600 + 60 * i)),
                "gpu_index": 0, "gpu_name": "H100", "pid": 999777, "user": "mallory",
                "process_name": "ethminer", "memory_used_mb": 4000, "utilization_pct": 99,
                "temperature_c": 70, "power_w": 300, "container": None} for i in range(20)]
    f = tmp_path / "audit.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in records))
    r = run(["audit", "import", f])
    assert r.rc == 0, r.err
    doc = rogue(run, gpu_scenario([]), "--hours", "2")
    assert doc["scanned"]["history_rows"] == 20
    assert doc["scanned"]["history_processes"] == 1
    [miner] = [x for x in doc["findings"] if x["pid"] == 999777]
    assert miner["category"] == "crypto_miner" and miner["live"] is False
    assert miner["user"] == "mallory"
    assert "gpuctl audit --user mallory" in miner["recommendation"]
    # outside the window it is not seen
    old = rogue(run, gpu_scenario([]), "--hours", "0.01")
    assert [x for x in old["findings"] if x["pid"] == 999777] == []


def test_memory_hogs_and_long_runs_only_in_the_history_are_found(run, tmp_path):
    def rec(i, ago_s, pid, name, mb):
        return {"id": i, "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                    time.gmtime(time.time() - ago_s)),
                "gpu_index": 0, "gpu_name": "H100", "pid": pid, "user": "kim",
                "process_name": name, "memory_used_mb": mb, "utilization_pct": 20,
                "temperature_c": 60, "power_w": 200, "container": None}
    records = [rec(i, 600 - 60 * i, 999781, "hog", 30000) for i in range(5)]
    records += [rec(10 + i, (26 - i) * 3600, 999782, "marathon", 1000) for i in range(26)]
    f = tmp_path / "audit.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in records))
    r = run(["audit", "import", f])
    assert r.rc == 0, r.err
    doc = rogue(run, gpu_scenario([]), "--hours", "30")
    hog = by_category(doc, 999781)["resource_abuse"]
    assert hog["live"] is False
    assert any("held up to 29.3 GiB of GPU memory (limit 20 GiB)" in e["text"]
               for e in hog["evidence"]), hog
    marathon = by_category(doc, 999782)["resource_abuse"]
    assert any("ran at least 25.0 hours (limit 24)" in e["text"]
               for e in marathon["evidence"]), marathon
    assert "gpuctl audit --user kim" in marathon["recommendation"]


def test_sustained_busy_gpu_with_idle_cpu_looks_like_a_miner(run, tmp_path, spawn_procs):
    xdg = tmp_path / "xdg" / "gpuctl"
    xdg.mkdir(parents=True, exist_ok=True)
    (xdg / "rogue.toml").write_text("[detection]\nsustained_minutes = 0\n")
    [p] = spawn_procs(1)            # a sleeping process: host CPU near 0
    scen = {"devices": [device(0, processes={
        "compute": [{"pid": p.pid, "used_memory": 3 * GiB}]},
        process_utilization=[{"pid": p.pid, "sm": 98, "mem": 40}])]}
    for _ in range(3):              # each list records one sample
        r = run(["list"], scenario=scen)
        assert r.rc == 0, r.err
    doc = rogue(run, scen)
    miner = by_category(doc, p.pid)["crypto_miner"]
    [ev] = miner["evidence"]
    assert "SM 98% on average" in ev["text"] and "low host CPU" in ev["text"]
    assert miner["confidence"] == pytest.approx(0.6)
    abuse = by_category(doc, p.pid)["resource_abuse"]
    assert any("SM 98% on average" in e["text"] for e in abuse["evidence"])
