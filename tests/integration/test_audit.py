"""`gpuctl audit` end to end: samples recorded by `list` and by the
`audit record` daemon from the fake NVML and real processes, concurrent
writers, retention, the records and the summary against figures worked out
by hand, gpu-kill import and export (bad lines included), and a database
killed mid-write that still opens intact.

The database is inspected with Python's own sqlite3 module as well as
through gpuctl, so a test does not only trust gpuctl's reading of what
gpuctl wrote.
"""

import calendar
import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import GiB, MiB, device

HOUR = 3600


def db_path(tmp_path):
    return tmp_path / "home" / ".local" / "share" / "gpuctl" / "audit.db"


def spool_path(tmp_path):
    return db_path(tmp_path).with_name("audit.db-spool")


def count(path, table):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def samples_so_far(path):
    """For polling while a writer runs: 0 until the schema exists."""
    if not path.exists():
        return 0
    try:
        return count(path, "samples")
    except sqlite3.OperationalError:
        return 0


def integrity(path):
    con = sqlite3.connect(str(path))
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def scenario_for(procs, sm=None):
    """GPU 0 runs procs[0] (1 GiB), GPU 1 runs the rest (256 MiB each)."""
    d0 = device(0, processes={"compute": [{"pid": procs[0].pid, "used_memory": GiB}]})
    if sm is not None:
        d0["process_utilization"] = [{"pid": procs[0].pid, "sm": sm}]
    d1 = device(1, processes={"compute": [{"pid": p.pid, "used_memory": 256 * MiB}
                                          for p in procs[1:]]})
    return {"devices": [d0, d1]}


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + "Z"


def audit_json(run, *args, env=None):
    r = run(["audit", "--output", "json", *args], env=env)
    assert r.rc == 0, r.err
    return json.loads(r.out)


# ---- recording from list ----------------------------------------------------------------


def test_list_appends_one_sample(run, scenario, spawn_procs, tmp_path, self_user):
    procs = spawn_procs(2)
    sc = scenario(scenario_for(procs, sm=40))
    r = run(["list"], scenario=sc)
    assert r.rc == 0 and r.err == ""
    path = db_path(tmp_path)
    assert path.is_file()
    assert (count(path, "samples"), count(path, "proc_samples"), count(path, "gpu_samples")) == \
        (1, 2, 2)
    assert integrity(path) == "ok"

    doc = audit_json(run)
    assert doc["database"] == str(path)
    rows = doc["processes"]
    assert [(p["gpu"], p["pid"]) for p in rows] == [(0, procs[0].pid), (1, procs[1].pid)]
    first = rows[0]
    assert first["user"] == self_user
    assert first["name"] == procs[0].comm
    assert first["command"] == procs[0].cmdline
    assert first["start_time"] == procs[0].start_time_rfc3339()
    assert first["gpu_memory_bytes"] == GiB
    assert first["sm_pct"] == 40
    assert rows[1]["sm_pct"] is None                      # not reported: unknown, not 0
    assert rows[1]["gpu_memory_bytes"] == 256 * MiB

    gpus = audit_json(run, "--gpus")["gpus"]
    assert [(g["gpu"], g["uuid"], g["utilization_pct"], g["temperature_c"]) for g in gpus] == \
        [(0, device(0)["uuid"], 10, 40), (1, device(1)["uuid"], 11, 41)]
    assert gpus[0]["memory_used_bytes"] == 1000 * MiB
    assert gpus[0]["memory_total_bytes"] == 80 * GiB
    assert gpus[0]["power_w"] == 100.0
    assert gpus[0]["vendor"] == "nvidia"

    assert run(["list", "--output", "json"], scenario=sc).rc == 0
    audit_json(run)                 # a reader folds the sample list spooled (issue 13)
    assert count(path, "samples") == 2


def test_xdg_data_home_and_override(run, scenario, spawn_procs, tmp_path):
    procs = spawn_procs(1)
    sc = scenario(scenario_for(procs))
    data = tmp_path / "data"
    assert run(["list"], scenario=sc, env={"XDG_DATA_HOME": data}).rc == 0
    assert count(data / "gpuctl" / "audit.db", "proc_samples") == 1
    own = tmp_path / "own" / "x.db"
    assert run(["list"], scenario=sc, env={"GPUCTL_AUDIT_DB": own}).rc == 0
    assert count(own, "proc_samples") == 1
    assert not db_path(tmp_path).exists()


def test_record_on_list_off(run, scenario, spawn_procs, tmp_path):
    procs = spawn_procs(1)
    sc = scenario(scenario_for(procs))
    assert run(["list"], scenario=sc, env={"GPUCTL_AUDIT_RECORD_ON_LIST": "false"}).rc == 0
    conf = tmp_path / "xdg" / "gpuctl" / "config.toml"
    conf.parent.mkdir(parents=True)
    conf.write_text("[audit]\nrecord_on_list = false\n")
    assert run(["list"], scenario=sc).rc == 0
    assert not db_path(tmp_path).exists()


def test_list_never_fails_for_the_database(run, scenario, spawn_procs, tmp_path):
    procs = spawn_procs(1)
    sc = scenario(scenario_for(procs))
    bad = tmp_path / "garbage.db"
    bad.write_bytes(b"this is not an sqlite database" * 100)
    r = run(["list"], scenario=sc, env={"GPUCTL_AUDIT_DB": bad})
    assert r.rc == 0
    assert "GPU" in r.out
    lines = [line for line in r.err.splitlines() if line]
    assert len(lines) == 1 and "audit database" in lines[0] and str(bad) in lines[0]
    assert bad.read_bytes() == b"this is not an sqlite database" * 100   # left alone

    # a folder that is a file: a real problem, said once
    blocked = tmp_path / "file"
    blocked.write_text("")
    r = run(["list"], scenario=sc, env={"GPUCTL_AUDIT_DB": blocked / "sub" / "audit.db"})
    assert r.rc == 0
    assert r.err.count("\n") == 1 and "audit database" in r.err and "sub" in r.err


def test_read_only_home_is_quiet(unprivileged, spawn_procs):
    """nobody's HOME is a folder owned by root: nothing can be created."""
    procs = spawn_procs(1)
    r = unprivileged.run(["list"], scenario_for(procs))
    assert r.rc == 0 and r.err == ""
    r = unprivileged.run(["list", "--log-level", "info"], scenario_for(procs))
    assert r.rc == 0
    assert "not recording to the audit database" in r.err
    assert not (unprivileged.dir / "home").exists() or \
        not (unprivileged.dir / "home" / ".local").exists()


def test_list_watch_records_each_refresh(run, gpuctl_bin, gpuctl_env, scenario, spawn_procs,
                                         tmp_path):
    procs = spawn_procs(1)
    sc = scenario(scenario_for(procs))
    p = subprocess.Popen([str(gpuctl_bin), "list", "--watch", "0.2", "--output", "json"],
                         env=gpuctl_env(sc), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    path = db_path(tmp_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if samples_so_far(path) >= 3:
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=30) == 0
    assert count(path, "samples") >= 3


# ---- the spool (issue 13) -----------------------------------------------------------------


def spool_records(path):
    """(offset, length) of each record of a spool file: "GAS1", u32 payload
    length, u32 CRC-32, payload."""
    data = path.read_bytes()
    out, at = [], 0
    while at < len(data):
        assert data[at:at + 4] == b"GAS1"
        n = int.from_bytes(data[at + 4:at + 8], "little")
        out.append((at, 12 + n))
        at += 12 + n
    return out


def test_list_spools_and_every_reader_sees_it(run, scenario, spawn_procs, tmp_path):
    procs = spawn_procs(2)
    sc = scenario(scenario_for(procs, sm=40))
    assert run(["list"], scenario=sc).rc == 0             # creates the database
    path, spool = db_path(tmp_path), spool_path(tmp_path)
    for _ in range(3):
        r = run(["list", "--output", "json"], scenario=sc)
        assert r.rc == 0 and r.err == ""
    assert count(path, "samples") == 1                    # the three are in the spool
    assert len(spool_records(spool)) == 3
    doc = audit_json(run)
    assert len({p["time"] for p in doc["processes"]}) == 4
    assert [p["sm_pct"] for p in doc["processes"] if p["pid"] == procs[0].pid] == [40] * 4
    assert spool.stat().st_size == 0
    assert count(path, "samples") == 4
    assert integrity(path) == "ok"
    # the summary and the daemon see them too
    assert run(["list"], scenario=sc).rc == 0
    assert audit_json(run, "--summary")["samples"] == 5
    assert run(["list"], scenario=sc).rc == 0
    r = run(["audit", "record", "--interval", "1", "--count", "1"], scenario=sc)
    assert r.rc == 0, r.err
    assert count(path, "samples") == 7


def test_a_torn_or_damaged_spool_record_is_skipped_and_named(run, scenario, spawn_procs,
                                                             tmp_path):
    procs = spawn_procs(1)
    sc = scenario(scenario_for(procs))
    assert run(["list"], scenario=sc).rc == 0
    for _ in range(3):
        assert run(["list"], scenario=sc).rc == 0
    spool = spool_path(tmp_path)
    records = spool_records(spool)
    data = bytearray(spool.read_bytes())
    middle_at, middle_len = records[1]
    data[middle_at + middle_len // 2] ^= 0xFF            # damaged on disk
    torn = bytes(data[records[2][0]:records[2][0] + 20])  # a crash in the middle of a write
    spool.write_bytes(bytes(data) + torn)
    r = run(["audit", "--output", "json"])
    assert r.rc == 0
    assert f"{spool}: skipped {middle_len} bytes at offset {middle_at}" in r.err, r.err
    assert len({p["time"] for p in json.loads(r.out)["processes"]}) == 3   # 1 + the two good
    assert spool.stat().st_size == 0


def test_a_fold_in_progress_never_stalls_list(run, scenario, spawn_procs, tmp_path):
    """While another process holds the spool to fold it, list waits at most
    a second for it, then says its sample was not recorded and goes on."""
    import fcntl
    procs = spawn_procs(1)
    sc = scenario(scenario_for(procs))
    assert run(["list"], scenario=sc).rc == 0
    assert run(["list"], scenario=sc).rc == 0
    spool = spool_path(tmp_path)
    size = spool.stat().st_size
    with open(spool, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        r = run(["list"], scenario=sc)                    # would hang if it waited
    assert r.rc == 0 and "GPU" in r.out
    assert "warn" in r.err and str(spool) in r.err and "not recorded" in r.err, r.err
    assert spool.stat().st_size == size                   # nothing half-written
    assert run(["list"], scenario=sc).rc == 0             # and the next one records
    assert spool.stat().st_size > size


def test_list_folds_a_long_spool_itself(run, scenario, spawn_procs, tmp_path):
    """Past 256 KiB the list whose sample made it so moves the spool into
    the database: copies of one record fill it, each a sample of its own
    (as two lists that sample in the same millisecond)."""
    procs = spawn_procs(1)
    sc = scenario(scenario_for(procs))
    assert run(["list"], scenario=sc).rc == 0
    assert run(["list"], scenario=sc).rc == 0
    spool = spool_path(tmp_path)
    one = spool.read_bytes()
    spool.write_bytes(one * (256 * 1024 // len(one)))
    copies = len(spool_records(spool))
    assert count(db_path(tmp_path), "samples") == 1
    r = run(["list"], scenario=sc)
    assert r.rc == 0 and r.err == ""
    assert spool.stat().st_size == 0
    assert count(db_path(tmp_path), "samples") == 1 + copies + 1


# ---- the daemon ---------------------------------------------------------------------------


def test_record_count(run, scenario, spawn_procs, tmp_path):
    procs = spawn_procs(2)
    sc = scenario(scenario_for(procs))
    r = run(["audit", "record", "--interval", "1", "--count", "3"], scenario=sc)
    assert r.rc == 0, r.err
    path = db_path(tmp_path)
    assert (count(path, "samples"), count(path, "proc_samples")) == (3, 6)
    times = [p["time"] for p in audit_json(run)["processes"]]
    assert len(set(times)) == 3


def test_record_stops_on_sigterm(gpuctl_bin, gpuctl_env, scenario, spawn_procs, tmp_path):
    procs = spawn_procs(1)
    sc = scenario(scenario_for(procs))
    p = subprocess.Popen([str(gpuctl_bin), "audit", "record", "--interval", "1"],
                         env=gpuctl_env(sc), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    path = db_path(tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if samples_so_far(path) >= 2:
            break
        assert p.poll() is None, p.stderr.read()
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 0
    assert count(path, "samples") >= 2
    assert integrity(path) == "ok"


def test_record_bad_arguments(run):
    assert run(["audit", "record", "--interval", "0"]).rc == 3
    assert run(["audit", "record", "--interval", "x"]).rc == 3
    assert run(["audit", "record", "--count", "-1"]).rc == 3
    assert run(["audit", "record", "--summary"]).rc == 3


def test_record_without_gpu_library(run, tmp_path):
    r = run(["audit", "record", "--count", "1"])       # no scenario: the driver is "missing"
    assert r.rc == 2


def test_concurrent_writers(run, gpuctl_bin, gpuctl_env, scenario, spawn_procs, tmp_path):
    procs = spawn_procs(3)
    sc = scenario(scenario_for(procs))
    env = gpuctl_env(sc)
    writers = [subprocess.Popen([str(gpuctl_bin), "audit", "record", "--interval", "1",
                                 "--count", "4"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE) for _ in range(2)]
    writers += [subprocess.Popen([str(gpuctl_bin), "list"], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE) for _ in range(8)]
    for w in writers:
        _, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        assert b"audit" not in err
    path = db_path(tmp_path)
    assert run(["audit"]).rc == 0   # folds what lists spooled after the daemons' last sample
    assert count(path, "samples") == 2 * 4 + 8
    assert count(path, "proc_samples") == 3 * (2 * 4 + 8)
    assert count(path, "procs") == 3                      # one identity per process and GPU
    assert integrity(path) == "ok"


# ---- gpu-kill records: a small history with hand-computed figures ----------------------------


def gk(ts, gpu, pid=None, user=None, name=None, mem=0.0, util=0.0, temp=0, power=0.0,
       container=None, **extra):
    rec = {"id": int(ts * 1000) + (pid or 0), "timestamp": iso(ts), "gpu_index": gpu,
           "gpu_name": "NVIDIA H100", "pid": pid, "user": user, "process_name": name,
           "memory_used_mb": mem, "utilization_pct": util, "temperature_c": temp,
           "power_w": power, "container": container}
    rec.update(extra)
    return rec


def history_start():
    """Ten minutes past the hour two hours ago: the three samples (two
    minutes) share one clock hour, inside the last 24 hours."""
    now = int(time.time())
    return now - now % HOUR - 2 * HOUR + 600


def history(t1):
    t2, t3 = t1 + 60, t1 + 120
    return [
        gk(t1, 0, mem=4000, util=50, temp=40, power=100.5),
        gk(t1, 0, 101, "alice", "python", 1024, sm_pct=30),
        gk(t2, 0, mem=6000, util=70, temp=41, power=120.0),
        gk(t2, 0, 101, "alice", "python", 2048, sm_pct=30),
        gk(t2, 0, 202, "bob", "xmrig", 4096, container="docker:abc"),
        gk(t3, 0, mem=5000, util=90, temp=42, power=110.0),
        gk(t3, 0, 101, "alice", "python", 1024, sm_pct=30),
        gk(t3, 0, 202, "bob", "xmrig", 4096, container="docker:abc"),
    ]


def write_jsonl(path, records, extra_lines=()):
    lines = [json.dumps(r) for r in records]
    for index, text in extra_lines:
        lines.insert(index, text)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def imported(run, tmp_path):
    t1 = history_start()
    path = write_jsonl(tmp_path / "audit.jsonl", history(t1))
    r = run(["audit", "import", path])
    assert r.rc == 0, r.err
    assert "imported 3 GPU and 5 process records (3 samples)" in r.err
    return t1


def test_records_and_filters(run, imported):
    t1 = imported
    rows = audit_json(run)["processes"]
    assert [(p["time"], p["pid"], p["user"], p["name"], p["gpu_memory_bytes"]) for p in rows] == [
        (iso(t1)[:-1] + ".000Z", 101, "alice", "python", 1024 * MiB),
        (iso(t1 + 60)[:-1] + ".000Z", 101, "alice", "python", 2048 * MiB),
        (iso(t1 + 60)[:-1] + ".000Z", 202, "bob", "xmrig", 4096 * MiB),
        (iso(t1 + 120)[:-1] + ".000Z", 101, "alice", "python", 1024 * MiB),
        (iso(t1 + 120)[:-1] + ".000Z", 202, "bob", "xmrig", 4096 * MiB)]
    assert rows[2]["container"] == "docker:abc"
    assert rows[0]["sm_pct"] == 30 and rows[2]["sm_pct"] is None
    assert rows[0]["start_time"] is None                # gpu-kill does not record it
    assert [p["pid"] for p in audit_json(run, "--user", "bob")["processes"]] == [202, 202]
    assert [p["pid"] for p in audit_json(run, "--process", "^py")["processes"]] == [101] * 3
    assert audit_json(run, "--user", "bob", "--process", "^py")["processes"] == []
    assert audit_json(run, "--hours", "1")["processes"] == []     # all 2 h ago
    gpus = audit_json(run, "--gpus")["gpus"]
    assert [(g["utilization_pct"], g["temperature_c"], g["power_w"], g["memory_used_bytes"])
            for g in gpus] == [(50, 40, 100.5, 4000 * MiB), (70, 41, 120.0, 6000 * MiB),
                               (90, 42, 110.0, 5000 * MiB)]

    r = run(["audit", "--output", "jsonl", "--user", "alice"])
    assert [json.loads(line)["pid"] for line in r.out.splitlines()] == [101] * 3
    r = run(["audit", "--output", "csv", "--user", "bob"])
    lines = r.out.splitlines()
    assert lines[0].split(",")[:4] == ["time", "host", "gpu", "pid"]
    assert len(lines) == 3 and lines[1].split(",")[3] == "202"
    r = run(["audit", "--user", "bob"])
    assert "xmrig" in r.out and "4.00GiB" in r.out and "N/A" in r.out


def test_summary_figures(run, imported):
    """t1 stands for 0 s (first sample), t2 and t3 for 60 s each.
    alice: 2 GiB x 60 s + 1 GiB x 60 s = 180 GiB s = 0.05 GiB h; SM 30 x 120 s = 1 %h.
    bob:   4 GiB x 60 s x 2 = 480 GiB s; SM unknown."""
    t1 = imported
    doc = audit_json(run, "--summary")
    assert (doc["samples"], doc["process_rows"], doc["gpu_rows"]) == (3, 5, 3)
    assert doc["first"] == iso(t1)[:-1] + ".000Z"
    assert doc["last"] == iso(t1 + 120)[:-1] + ".000Z"
    users = {u["user"]: u for u in doc["top_users"]}
    assert [u["user"] for u in doc["top_users"]] == ["bob", "alice"]
    assert users["bob"]["gpu_memory_gib_hours"] == pytest.approx(480 / 3600)
    assert users["bob"]["sm_pct_hours"] == 0
    assert users["bob"]["peak_memory_bytes"] == 4096 * MiB
    assert users["alice"]["rows"] == 3
    assert users["alice"]["gpu_memory_gib_hours"] == pytest.approx(180 / 3600)
    assert users["alice"]["sm_pct_hours"] == pytest.approx(1.0)
    assert users["alice"]["peak_memory_bytes"] == 2048 * MiB
    assert [p["name"] for p in doc["top_processes"]] == ["xmrig", "python"]
    gpu, = doc["gpus"]
    assert gpu["rows"] == 3
    assert gpu["utilization_avg_pct"] == pytest.approx(70)
    assert gpu["utilization_peak_pct"] == 90
    assert gpu["memory_peak_bytes"] == 6000 * MiB
    hour = time.gmtime(t1).tm_hour                       # TZ=UTC
    assert len(doc["hourly"]) == 24
    for b in doc["hourly"]:
        if b["hour"] == hour:
            assert b["process_rows"] == 5
            assert b["gpu_memory_gib_hours"] == pytest.approx(660 / 3600)
            assert b["utilization_avg_pct"] == pytest.approx(70)
        else:
            assert (b["process_rows"], b["utilization_avg_pct"]) == (0, None)
    busy, = doc["busiest"]
    assert busy["start"] == iso(t1 - 600)[:-1] + ".000Z"
    assert busy["end"] == iso(t1 - 600 + HOUR)[:-1] + ".000Z"

    doc = audit_json(run, "--summary", "--user", "alice", "--top", "1")
    assert [u["user"] for u in doc["top_users"]] == ["alice"]
    assert doc["process_rows"] == 3 and doc["gpu_rows"] == 3
    r = run(["audit", "--summary"])
    assert r.rc == 0 and "Top users" in r.out and "Busiest hours" in r.out and "bob" in r.out
    r = run(["audit", "--summary", "--output", "jsonl"])
    assert len(r.out.splitlines()) == 1 and json.loads(r.out)["process_rows"] == 5


def test_query_arguments(run):
    assert run(["audit", "--hours", "0"]).rc == 3
    assert run(["audit", "--hours", "abc"]).rc == 3
    assert run(["audit", "--top", "3"]).rc == 3
    assert run(["audit", "--summary", "--output", "csv"]).rc == 3
    assert run(["audit", "--summary", "--gpus"]).rc == 3
    assert run(["audit", "--gpus", "--user", "bob"]).rc == 3
    r = run(["audit", "--process", "(unclosed"])
    assert r.rc == 3 and "--process" in r.err
    assert run(["audit", "bogus"]).rc == 3
    assert run(["audit", "import"]).rc == 3
    assert run(["audit", "export", "--format", "csv"]).rc == 3
    r = run(["audit"])                                   # nothing recorded yet: empty, not an error
    assert r.rc == 0 and "No GPU processes recorded" in r.out
    assert run(["audit", "--help"]).rc == 0


# ---- import, export, retention ---------------------------------------------------------------


def test_import_reports_bad_lines(run, tmp_path):
    t1 = history_start()
    good = history(t1)
    path = write_jsonl(tmp_path / "mixed.jsonl", good, extra_lines=[
        (2, "{not json"),
        (4, json.dumps({"gpu_index": 0, "pid": 5})),                          # no timestamp
        (5, json.dumps(gk(t1, 0, 7, "eve", "x", mem="lots"))),                # wrong type
        (6, ""),                                                              # blank: fine
        (7, json.dumps(gk(t1, 0, 7, "eve", "x", 5, util=250) | {"pid": -3})),  # bad pid
        (8, "[1, 2]"),
    ])
    r = run(["audit", "import", path])
    assert r.rc == 1
    bad = [line for line in r.err.splitlines() if "line skipped" in line]
    assert [line.split(":")[2] for line in bad] == ["3", "5", "6", "8", "9"]
    assert "not JSON" in bad[0] and "timestamp" in bad[1] and "memory_used_mb" in bad[2]
    assert "pid" in bad[3] and "not a JSON object" in bad[4]
    assert "skipped 5 bad lines" in r.err
    assert len(audit_json(run)["processes"]) == 5        # every good record is there


def test_import_missing_file(run, tmp_path):
    r = run(["audit", "import", tmp_path / "nope.jsonl"])
    assert r.rc == 1 and "nope.jsonl" in r.err


def test_export_round_trip(run, tmp_path, imported):
    t1 = imported
    r = run(["audit", "export", "--format", "jsonl"])
    assert r.rc == 0, r.err
    out = [json.loads(line) for line in r.out.splitlines()]
    original = history(t1)
    assert len(out) == len(original)
    for mine, theirs in zip(out, original):
        assert calendar.timegm(time.strptime(mine["timestamp"][:19], "%Y-%m-%dT%H:%M:%S")) == \
            calendar.timegm(time.strptime(theirs["timestamp"][:19], "%Y-%m-%dT%H:%M:%S"))
        for key in ("gpu_index", "gpu_name", "pid", "user", "process_name", "memory_used_mb",
                    "container"):
            assert mine[key] == theirs[key], key
        if theirs["pid"] is None:
            for key in ("utilization_pct", "temperature_c", "power_w"):
                assert mine[key] == theirs[key], key
        else:                                            # gpu-kill's own "not measured"
            assert (mine["utilization_pct"], mine["temperature_c"], mine["power_w"]) == \
                (0.0, 0, 0.0)
        assert set(theirs) <= set(mine)

    # gpuctl's own export re-imports exactly
    exported = tmp_path / "exported.jsonl"
    exported.write_text(r.out)
    other = tmp_path / "other.db"
    r2 = run(["audit", "import", exported], env={"GPUCTL_AUDIT_DB": other})
    assert r2.rc == 0, r2.err
    again = run(["audit", "export"], env={"GPUCTL_AUDIT_DB": other})
    assert again.out == r.out

    only_bob = run(["audit", "export", "--user", "bob"]).out.splitlines()
    assert [json.loads(x)["pid"] for x in only_bob] == [202, 202]


def gpu_kill_types_hold(record):
    """What gpu-kill's reader (serde, struct AuditRecord) accepts: id i64,
    timestamp RFC 3339, gpu_index u16, gpu_name String, pid Option<u32>,
    user/process_name/container Option<String>, memory_used_mb u32,
    utilization_pct f32, temperature_c i32, power_w f32."""
    def whole(v, lo, hi):
        return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi

    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    def opt_text(v):
        return v is None or isinstance(v, str)
    return (whole(record["id"], -2**63, 2**63 - 1) and isinstance(record["timestamp"], str)
            and whole(record["gpu_index"], 0, 65535) and isinstance(record["gpu_name"], str)
            and (record["pid"] is None or whole(record["pid"], 0, 2**32 - 1))
            and opt_text(record["user"]) and opt_text(record["process_name"])
            and opt_text(record["container"])
            and whole(record["memory_used_mb"], 0, 2**32 - 1) and number(record["utilization_pct"])
            and whole(record["temperature_c"], -2**31, 2**31 - 1) and number(record["power_w"]))


def test_export_is_readable_by_gpu_kill(run, tmp_path):
    """Unknown figures (a GPU without utilisation, temperature or power, a
    process without memory) and memory that is not whole MiB: gpu-kill's
    types on every line, and gpuctl's own import keeps the unknowns."""
    t1 = history_start()
    records = history(t1)
    records[0].update(utilization_pct=None, temperature_c=None, power_w=None)
    records[1]["memory_used_mb"] = None
    records[3]["memory_used_mb"] = 2048.4
    path = write_jsonl(tmp_path / "gaps.jsonl", records)
    assert run(["audit", "import", path]).rc == 0
    r = run(["audit", "export"])
    assert r.rc == 0, r.err
    out = [json.loads(line) for line in r.out.splitlines()]
    assert len(out) == len(records)
    assert all(gpu_kill_types_hold(rec) for rec in out), r.out
    assert (out[0]["utilization_pct"], out[0]["temperature_c"], out[0]["power_w"]) == (0, 0, 0)
    assert out[0]["unknown"] == ["utilization_pct", "temperature_c", "power_w"]
    assert out[1]["memory_used_mb"] == 0 and out[1]["unknown"] == ["memory_used_mb"]
    assert out[3]["memory_used_mb"] == 2048 and out[3]["memory_used_kib"] == round(2048.4 * 1024)
    assert "unknown" not in out[2]

    other = {"GPUCTL_AUDIT_DB": tmp_path / "other.db"}
    exported = tmp_path / "exported.jsonl"
    exported.write_text(r.out)
    assert run(["audit", "import", exported], env=other).rc == 0
    assert run(["audit", "export"], env=other).out == r.out
    doc = audit_json(run, "--summary", env=other)
    assert doc["gpus"][0]["utilization_peak_pct"] == 90      # the unknown 0 is not a reading


def summary_without_times(run, env=None):
    doc = audit_json(run, "--summary", env=env)
    return {k: v for k, v in doc.items() if k not in ("from", "to")}


def test_newest_first_and_json_array_import_like_jsonl(run, tmp_path):
    """gpu-kill's `--audit --output json` prints one pretty JSON array,
    newest record first: the same samples, durations and figures as the
    oldest-first JSON lines file."""
    t1 = history_start()
    records = history(t1)
    assert run(["audit", "import", write_jsonl(tmp_path / "a.jsonl", records)]).rc == 0
    expected = summary_without_times(run)
    assert expected["samples"] == 3

    newest = list(reversed(records))
    env = {"GPUCTL_AUDIT_DB": tmp_path / "newest.db"}
    r = run(["audit", "import", write_jsonl(tmp_path / "n.jsonl", newest)], env=env)
    assert r.rc == 0, r.err
    assert summary_without_times(run, env) == expected

    array = tmp_path / "gpu-kill.json"
    array.write_text(json.dumps(newest, indent=2) + "\n")
    env = {"GPUCTL_AUDIT_DB": tmp_path / "array.db"}
    r = run(["audit", "import", array], env=env)
    assert r.rc == 0, r.err
    assert "imported 3 GPU and 5 process records (3 samples)" in r.err
    assert summary_without_times(run, env) == expected

    # a bad element is named by the line it starts on, the others are kept
    broken = [dict(rec) for rec in newest]
    broken[1]["memory_used_mb"] = "lots"                # alice's newest process record
    array.write_text(json.dumps(broken, indent=2) + "\n")
    env = {"GPUCTL_AUDIT_DB": tmp_path / "broken.db"}
    r = run(["audit", "import", array], env=env)
    assert r.rc == 1
    starts = [i + 1 for i, line in enumerate(json.dumps(broken, indent=2).splitlines())
              if line == "  {"]
    bad, = [line for line in r.err.splitlines() if "skipped" in line and "memory_used_mb" in line]
    assert f"gpu-kill.json:{starts[1]}:" in bad
    assert len(audit_json(run, env=env)["processes"]) == 4


def test_import_is_idempotent(run, tmp_path):
    """The same file twice, and a file whose first part an earlier (killed)
    import stored, give each sample once."""
    t1 = history_start()
    path = write_jsonl(tmp_path / "audit.jsonl", history(t1))
    assert run(["audit", "import", path]).rc == 0
    once = run(["audit", "export"]).out
    r = run(["audit", "import", path])
    assert r.rc == 0, r.err
    assert "imported 0 GPU and 0 process records (0 samples)" in r.err
    assert "3 samples (8 records) already stored" in r.err
    assert run(["audit", "export"]).out == once

    env = {"GPUCTL_AUDIT_DB": tmp_path / "resumed.db"}
    # what a killed import leaves: whole samples (each batch is one transaction)
    part = write_jsonl(tmp_path / "part.jsonl", history(t1)[:5])     # samples 1 and 2
    assert run(["audit", "import", part], env=env).rc == 0
    r = run(["audit", "import", path], env=env)
    assert r.rc == 0, r.err
    assert "(1 samples)" in r.err and "2 samples (5 records) already stored" in r.err
    assert run(["audit", "export"], env=env).out == once


def test_import_from_stdin(run, tmp_path):
    text = "\n".join(json.dumps(r) for r in history(history_start())) + "\n"
    r = run(["audit", "import", "-"], input=text.encode())
    assert r.rc == 0, r.err
    assert len(audit_json(run)["processes"]) == 5


def test_retention(run, tmp_path):
    now = int(time.time())
    old = [gk(now - 200 * 86400, 0, mem=1, util=1),
           gk(now - 200 * 86400, 0, 9, "old", "ancient", 64)]
    recent = history(history_start())
    path = write_jsonl(tmp_path / "mixed.jsonl", old + recent)
    # keep everything: both are there
    r = run(["audit", "import", path], env={"GPUCTL_AUDIT_RETENTION_DAYS": "0"})
    assert r.rc == 0, r.err
    db = db_path(tmp_path)
    assert count(db, "proc_samples") == 6
    assert len(audit_json(run, "--hours", str(300 * 24))["processes"]) == 6
    # the default 90 days: the next writer deletes the old sample once the
    # last clean-up is an hour old; force that by clearing its time stamp
    con = sqlite3.connect(str(db))
    con.execute("DELETE FROM meta WHERE key = 'retention_ms'")
    con.commit()
    con.close()
    one = write_jsonl(tmp_path / "one.jsonl", [gk(now - 60, 1, mem=1, util=1)])
    assert run(["audit", "import", one]).rc == 0
    assert count(db, "proc_samples") == 5
    assert count(db, "procs") == 2                       # "old"'s identity went too
    users = [u["user"] for u in audit_json(run, "--summary", "--hours", str(300 * 24))["top_users"]]
    assert "old" not in users


# ---- a writer killed mid-transaction --------------------------------------------------------


def test_sigkill_mid_import_leaves_a_sound_database(gpuctl_bin, gpuctl_env, run, tmp_path):
    t0 = int(time.time()) - 5 * 86400
    big = tmp_path / "big.jsonl"
    with open(big, "w") as f:
        for i in range(60000):
            ts = t0 + i * 5
            f.write(json.dumps(gk(ts, 0, mem=100, util=i % 100)) + "\n")
            for pid in (1000 + i % 7, 2000 + i % 11):
                f.write(json.dumps(gk(ts, 0, pid, f"u{pid % 3}", f"p{pid % 5}", pid % 977))
                        + "\n")
    db = db_path(tmp_path)
    p = subprocess.Popen([str(gpuctl_bin), "audit", "import", str(big)], env=gpuctl_env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    killed = False
    while time.monotonic() < deadline and p.poll() is None:
        wal = db.with_name(db.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0 and samples_so_far(db) >= 1024:
            p.kill()
            killed = True
            break
        time.sleep(0.01)
    p.wait(timeout=60)
    if not killed:
        pytest.skip("the import finished before it could be killed")
    assert integrity(db) == "ok"
    samples = count(db, "samples")
    assert samples % 512 == 0                            # whole transactions only
    assert count(db, "proc_samples") == 2 * samples
    r = run(["audit", "--summary", "--output", "json", "--hours", "200"])
    assert r.rc == 0, r.err
    doc = json.loads(r.out)
    assert doc["process_rows"] == 2 * samples            # rollups agree with the rows
    assert run(["audit", "import", write_jsonl(tmp_path / "one.jsonl",
                                               history(history_start()))]).rc == 0


# ---- a database that cannot be used ------------------------------------------------------


def big_history(t0, samples=400, procs=8):
    """Enough samples that the file has pages in its middle to damage."""
    out = []
    for k in range(samples):
        ts = t0 + 30 * k
        out.append(gk(ts, 0, mem=4000, util=50, temp=40, power=100.0))
        out += [gk(ts, 0, 1000 + p, f"user{p}", f"job{p}", 512 + p,
                   command=f"python train.py --seed {p} --step {k}") for p in range(procs)]
    return out


def test_unknown_schema_version_is_refused(run, tmp_path):
    t1 = history_start()
    assert run(["audit", "import", write_jsonl(tmp_path / "a.jsonl", history(t1))]).rc == 0
    con = sqlite3.connect(str(db_path(tmp_path)))
    con.execute("PRAGMA user_version = -1")
    con.close()
    for args in (["audit", "--summary"], ["audit", "import", tmp_path / "a.jsonl"]):
        r = run(args)
        assert r.rc == 1 and "schema version -1 was never written by gpuctl" in r.err, r.err


def test_corrupt_database_is_said(run, scenario, spawn_procs, tmp_path):
    """A page damaged in the middle of the file, which none of these reads:
    each says the database is corrupt instead of succeeding."""
    t0 = int(time.time()) - 6 * HOUR
    path = write_jsonl(tmp_path / "big.jsonl", big_history(t0))
    assert run(["audit", "import", path]).rc == 0
    db = db_path(tmp_path)
    con = sqlite3.connect(str(db))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("UPDATE meta SET value = 0 WHERE key = 'retention_ms'")   # retention is due
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    size = db.stat().st_size
    assert size > 64 * 4096
    with open(db, "r+b") as f:
        f.seek(size // 2 // 4096 * 4096)
        f.write(b"\xde\xad\xbe\xef" * 1024)
    sc = scenario(scenario_for(spawn_procs(2)))
    for args in (["audit", "--summary"], ["audit"], ["audit", "export"],
                 ["audit", "record", "--count", "1"], ["audit", "import", path]):
        r = run(args, scenario=sc)
        assert r.rc == 1, (args, r.err)
        assert "the audit database is corrupt" in r.err and str(db) in r.err, (args, r.err)
    r = run(["list"], scenario=sc)
    assert r.rc == 0                                      # list itself worked
    # list only spools its sample (issue 13); the reader that folds it says
    # the database is corrupt, and the sample stays in the spool
    assert r.err == ""
    r = run(["audit"], scenario=sc)
    assert r.rc == 1 and "the audit database is corrupt" in r.err, r.err
    assert spool_path(tmp_path).stat().st_size > 0


def test_database_path_that_is_a_directory(run, scenario, spawn_procs, tmp_path):
    env = {"GPUCTL_AUDIT_DB": tmp_path}
    for args in (["audit", "--summary"], ["audit", "import", "-"]):
        r = run(args, env=env, input=b"")
        assert r.rc == 1, r.err
        assert f"{tmp_path} is a directory, not an audit database" in r.err
    r = run(["list"], scenario=scenario(scenario_for(spawn_procs(1))), env=env)
    assert r.rc == 0 and "warn" in r.err and "is a directory" in r.err, r.err


def read_only(gpuctl_bin, env, folder, args):
    """gpuctl run with folder bound read-only in a mount namespace of its
    own (unshare -rm: no privilege needed where user namespaces are on)."""
    script = ('mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && '
              'touch "$0/probe" 2>/dev/null && exit 97; exec "$@"')
    return subprocess.run(["unshare", "-rm", "sh", "-c", script, str(folder), str(gpuctl_bin),
                           *args], env=env, capture_output=True, text=True, timeout=60)


def test_wal_database_on_a_read_only_filesystem(run, gpuctl_bin, gpuctl_env, tmp_path):
    t1 = history_start()
    folder = tmp_path / "ro"
    folder.mkdir()
    env = {"GPUCTL_AUDIT_DB": folder / "audit.db"}
    assert run(["audit", "import", write_jsonl(tmp_path / "a.jsonl", history(t1))],
               env=env).rc == 0
    full_env = gpuctl_env(None, env)
    probe = read_only(gpuctl_bin, full_env, folder, ["--version"])
    if probe.returncode != 0:
        pytest.skip(f"no read-only bind mount here (unshare -rm: {probe.stderr.strip()})")
    args = ["audit", "--summary", "--output", "json"]

    # as gpuctl leaves it: the WAL and its -shm next to the file
    assert {p.name for p in folder.iterdir()} >= {"audit.db-wal", "audit.db-shm"}
    r = read_only(gpuctl_bin, full_env, folder, args)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["samples"] == 3

    # checkpointed and closed by another program: no WAL, no -shm to create
    con = sqlite3.connect(str(folder / "audit.db"))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for side in ("audit.db-wal", "audit.db-shm"):
        (folder / side).unlink(missing_ok=True)
    r = read_only(gpuctl_bin, full_env, folder, args)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["samples"] == 3

    # a WAL with content but no -shm cannot be read there: said so
    assert run(["audit", "import", write_jsonl(tmp_path / "b.jsonl", history(t1 + 600))],
               env=env).rc == 0
    (folder / "audit.db-shm").unlink()
    r = read_only(gpuctl_bin, full_env, folder, args)
    assert r.returncode == 1 and "no -shm file" in r.stderr, r.stderr


@pytest.mark.parametrize("args", [["export", "--output", "json"], ["record", "--interval", "x"],
                                  ["import"]])
def test_usage_errors_of_the_subcommands_point_to_help_that_exists(run, args):
    r = run(["audit", *args], scenario={"devices": []})
    assert r.rc == 3, r.err
    assert "See 'gpuctl help audit'." in r.err, r.err
    assert run(["help", "audit"]).rc == 0
