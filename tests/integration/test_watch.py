"""`gpuctl watch` end to end: the real binary against the fake NVML, logging
real processes it is told are on the GPUs.

Each test reads the log file the way a user's script would (Python's csv
and json modules); waits poll with generous deadlines, so a loaded machine
makes a test slower, never wrong.
"""

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import (MiB, check_no_sanitizer_report, device, python_sleeper_argv,
                      write_json_atomically)

COLUMNS = ["timestamp", "gpu_index", "pid", "cmd", "gpu_mem_mib", "sm_util_pct", "mem_util_pct"]
EXTENDED = COLUMNS + ["sys_used_mib", "cpu_cores", "cpu_pct", "host_rss_mib"]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
BUSY = "import sys; sys.stdout.write('ready\\n'); sys.stdout.flush()\nwhile True: pass"


def gpu_scenario(*pids_per_gpu, utilization=None):
    """One H100 per argument listing those pids (64 MiB + 1 MiB per position);
    utilization: {gpu: [{"pid", "sm", "mem"}]}."""
    devices = []
    for i, pids in enumerate(pids_per_gpu):
        d = device(i, processes={"compute": [{"pid": p, "used_memory": (64 + k) * MiB}
                                             for k, p in enumerate(pids)]})
        if utilization and i in utilization:
            d["process_utilization"] = utilization[i]
        devices.append(d)
    return {"devices": devices}


@pytest.fixture
def watch(gpuctl_bin, gpuctl_env, scenario, tmp_path):
    """watch(args, scenario, env=None) -> Result, run in tmp_path/work."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)

    def go(args, scen=None, env=None, timeout=120):
        path = scenario(scen) if isinstance(scen, dict) else scen
        proc = subprocess.run([str(gpuctl_bin), "watch", *map(str, args)], cwd=work,
                              env=gpuctl_env(path, env), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)
        err = proc.stderr.decode()
        check_no_sanitizer_report(err)
        assert proc.returncode >= 0, f"gpuctl died of signal {-proc.returncode}: {err}"
        return proc.returncode, proc.stdout.decode(), err

    go.dir = work
    return go


@pytest.fixture
def start_watch(gpuctl_bin, gpuctl_env, scenario, tmp_path):
    """start_watch(args, scenario) -> Popen of a running watch (stopped at teardown)."""
    started = []

    def go(args, scen):
        p = subprocess.Popen([str(gpuctl_bin), "watch", *map(str, args)], cwd=tmp_path,
                             env=gpuctl_env(scenario(scen)), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        started.append(p)
        return p

    yield go
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait()
        p.stdout.close()
        p.stderr.close()


def read_log(path):
    text = path.read_text()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def wait_for(predicate, timeout=60, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def data_lines(path):
    """Complete data rows in the file now (a reader's view while it runs)."""
    if not path.exists():
        return []
    text = path.read_bytes().decode()
    return [line for line in text.split("\r\n")[1:] if line]


@pytest.fixture
def busy(tmp_path):
    started = []

    def start():
        p = subprocess.Popen([sys.executable, "-c", BUSY, "gpuctl-busy"], stdout=subprocess.PIPE,
                             stdin=subprocess.DEVNULL)
        started.append(p)
        assert p.stdout.readline() == b"ready\n"
        return p

    yield start
    for p in started:
        p.kill()
        p.wait()
        p.stdout.close()


# ---- columns and selection ----------------------------------------------------------------------


def test_columns_and_rows(watch, spawn_procs):
    a, b = spawn_procs(2)
    scen = gpu_scenario([a.pid], [a.pid, b.pid],
                        utilization={0: [{"pid": a.pid, "sm": 81, "mem": 38}]})
    rc, out, err = watch(["--interval", "0.2", "--count", "2"], scen, env={"TZ": "UTC"})
    assert rc == 0, err
    assert err == ""
    assert out == ""
    header, rows = read_log(watch.dir / "gpu_log.csv")   # the default name, in the cwd
    assert header == COLUMNS
    assert len(rows) == 6
    for row in rows:
        assert TIMESTAMP.match(row[0]), row
        when = time.mktime(time.strptime(row[0], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        assert abs(when - time.time()) < 600
    first = rows[:3]
    assert [(r[1], r[2]) for r in first] == [("0", str(a.pid)), ("1", str(a.pid)),
                                             ("1", str(b.pid))]
    assert first[0][3] == a.cmdline
    assert first[0][4:] == ["64", "81", "38"]
    assert first[1][4:] == ["64", "", ""]          # no sample from that GPU: empty, not 0
    assert first[2][4:] == ["65", "", ""]
    text = (watch.dir / "gpu_log.csv").read_bytes()
    assert text.count(b"\r\n") == 7                 # RFC 4180 records


def test_timestamp_is_local_time(watch, spawn_procs):
    p, = spawn_procs(1)
    rc, _, err = watch(["--count", "1", "-o", "log.csv"], gpu_scenario([p.pid]),
                       env={"TZ": "UTC-14"})
    assert rc == 0, err
    _, rows = read_log(watch.dir / "log.csv")
    stamp = time.strptime(rows[0][0], "%Y-%m-%dT%H:%M:%S")
    local = time.gmtime(time.time() + 14 * 3600)
    assert abs(time.mktime(stamp) - time.mktime(local)) < 600


def test_pid_selects(watch, spawn_procs):
    a, b, c = spawn_procs(3)
    rc, _, err = watch(["--pid", a.pid, c.pid, "--count", "1"], gpu_scenario([a.pid, b.pid, c.pid]))
    assert rc == 0, err
    _, rows = read_log(watch.dir / "gpu_log.csv")
    assert sorted(int(r[2]) for r in rows) == sorted([a.pid, c.pid])


def test_pid_that_does_not_exist(watch, spawn_procs):
    p, = spawn_procs(1)
    rc, _, err = watch(["--pid", 4194000, "--count", "1"], gpu_scenario([p.pid]))
    assert rc == 1
    assert "4194000" in err


def test_match_regex_on_the_command_line(watch, spawn_procs):
    procs = spawn_procs(3)
    rc, _, err = watch(["--match", r"gpuctl-test-[02] 300$", "--count", "1"],
                       gpu_scenario([p.pid for p in procs]))
    assert rc == 0, err
    assert err == ""
    _, rows = read_log(watch.dir / "gpu_log.csv")
    assert sorted(int(r[2]) for r in rows) == sorted([procs[0].pid, procs[2].pid])


def test_match_invalid_regex_is_literal_and_said_once(watch, spawn_procs):
    lit, = spawn_procs(1, argv=python_sleeper_argv("train(1).py"))
    other, = spawn_procs(1, argv=python_sleeper_argv("train1.py"))
    rc, _, err = watch(["--match", "train(", "--count", "3", "--interval", "0.1"],
                       gpu_scenario([lit.pid, other.pid]))
    assert rc == 0, err
    assert err.count("literal") == 1, err
    assert "'train('" in err
    _, rows = read_log(watch.dir / "gpu_log.csv")
    assert len(rows) == 3
    assert {int(r[2]) for r in rows} == {lit.pid}


def test_pid_and_match_together_refused(watch, spawn_procs):
    p, = spawn_procs(1)
    rc, _, err = watch(["--pid", p.pid, "--match", "x"], gpu_scenario([p.pid]))
    assert rc == 3
    assert not (watch.dir / "gpu_log.csv").exists()


@pytest.mark.parametrize("args", [["--interval", "0"], ["--interval", "soon"], ["--count", "0"],
                                  ["--format", "xml"], ["--count", "1", "--duration", "2"],
                                  ["--bogus"], ["--output"]])
def test_bad_arguments(watch, args):
    rc, _, err = watch(args, gpu_scenario([]))
    assert rc == 3, err
    assert err.startswith("gpuctl")


# ---- the file -------------------------------------------------------------------------------------


def test_append_keeps_one_header(watch, spawn_procs):
    p, = spawn_procs(1)
    scen = gpu_scenario([p.pid])
    assert watch(["--count", "1", "-o", "log.csv"], scen)[0] == 0
    rc, _, err = watch(["--count", "2", "--interval", "0.1", "-o", "log.csv", "--append"], scen)
    assert rc == 0, err
    header, rows = read_log(watch.dir / "log.csv")
    assert header == COLUMNS
    assert len(rows) == 3
    assert all(r[0] != "timestamp" for r in rows)


def test_append_to_other_columns_is_refused(watch, spawn_procs):
    p, = spawn_procs(1)
    scen = gpu_scenario([p.pid])
    assert watch(["--count", "1", "-o", "log.csv"], scen)[0] == 0
    before = (watch.dir / "log.csv").read_bytes()
    rc, _, err = watch(["--count", "1", "-o", "log.csv", "--append", "--extended"], scen)
    assert rc == 1
    assert "log.csv:1" in err and "header" in err and "drop --extended" in err
    assert (watch.dir / "log.csv").read_bytes() == before


def test_jsonl_append_checks_the_records(watch, spawn_procs):
    p, = spawn_procs(1)
    scen = gpu_scenario([p.pid])
    args = ["--count", "1", "-o", "log.jsonl", "--format", "jsonl"]
    assert watch(args, scen)[0] == 0
    rc, _, err = watch(args + ["--append"], scen)
    assert rc == 0, err
    assert len((watch.dir / "log.jsonl").read_text().splitlines()) == 2
    rc, _, err = watch(args + ["--append", "--extended"], scen)
    assert rc == 1
    assert "log.jsonl:1" in err and "drop --extended" in err
    assert len((watch.dir / "log.jsonl").read_text().splitlines()) == 2


def test_append_to_an_empty_file_writes_the_header(watch, spawn_procs):
    p, = spawn_procs(1)
    (watch.dir / "log.csv").write_text("")
    rc, _, err = watch(["--count", "1", "-o", "log.csv", "--append"], gpu_scenario([p.pid]))
    assert rc == 0, err
    header, rows = read_log(watch.dir / "log.csv")
    assert header == COLUMNS and len(rows) == 1


def test_without_append_the_file_is_replaced(watch, spawn_procs):
    p, = spawn_procs(1)
    (watch.dir / "log.csv").write_text("old,stuff\r\n1,2\r\n")
    rc, _, err = watch(["--count", "1", "-o", "log.csv"], gpu_scenario([p.pid]))
    assert rc == 0, err
    header, rows = read_log(watch.dir / "log.csv")
    assert header == COLUMNS and len(rows) == 1


def test_home_is_expanded(watch, spawn_procs, tmp_path):
    p, = spawn_procs(1)
    rc, _, err = watch(["--count", "1", "--output", "~/logs.csv"], gpu_scenario([p.pid]))
    assert rc == 0, err
    assert (tmp_path / "home" / "logs.csv").exists()


def test_unwritable_output(watch, spawn_procs):
    p, = spawn_procs(1)
    rc, _, err = watch(["--count", "1", "-o", "no/such/dir/log.csv"], gpu_scenario([p.pid]))
    assert rc == 1
    assert "no/such/dir/log.csv" in err


# ---- extended columns ---------------------------------------------------------------------------


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_extended_columns(watch, spawn_procs, busy):
    hot = busy()
    idle, = spawn_procs(1)
    ticks_before, start = cpu_ticks(hot.pid), time.monotonic()
    rc, _, err = watch(["--extended", "--interval", "1", "--count", "4"],
                       gpu_scenario([hot.pid, idle.pid]))
    measured = (cpu_ticks(hot.pid) - ticks_before) / os.sysconf("SC_CLK_TCK") \
        / (time.monotonic() - start) * 100
    assert rc == 0, err
    header, rows = read_log(watch.dir / "gpu_log.csv")
    assert header == EXTENDED
    with open("/proc/meminfo") as f:
        total_mib = int(next(line.split()[1] for line in f if line.startswith("MemTotal"))) / 1024
    for row in rows:
        assert 0 < int(row[7]) <= total_mib
        assert re.fullmatch(r"\d+(/\d+)*", row[8]), row[8]
        cpus = [int(c) for c in row[8].split("/")]
        assert cpus == sorted(set(cpus)) and max(cpus) < os.cpu_count()
        assert int(row[10]) >= 0
    hot_rows = [r for r in rows if int(r[2]) == hot.pid]
    idle_rows = [r for r in rows if int(r[2]) == idle.pid]
    assert len(hot_rows) == 4 and len(idle_rows) == 4
    assert hot_rows[0][9] == "" and idle_rows[0][9] == ""   # no interval yet: unknown
    # A busy loop gets what the loaded machine gives it: near 100 on an idle
    # one.  Compare with what /proc says it got over the same run.
    hot_pct = [float(r[9]) for r in hot_rows[1:]]
    assert abs(sum(hot_pct) / len(hot_pct) - measured) < 30, (hot_pct, measured)
    assert max(hot_pct) > min(20, measured / 2)         # busy, as far as the machine let it
    assert max(float(r[9]) for r in idle_rows[1:]) < 10
    assert int(hot_rows[0][10]) >= 1                         # a Python process's RSS


def test_extended_cpu_cores_of_a_threaded_process(watch, spawn_procs):
    code = ("import threading, time\n"
            "def spin():\n  end = time.time() + 300\n  while time.time() < end: pass\n"
            "for _ in range(2): threading.Thread(target=spin, daemon=True).start()\n"
            "time.sleep(300)")
    p, = spawn_procs(1, argv=[sys.executable, "-c", code])
    rc, _, err = watch(["--extended", "--count", "3", "--interval", "0.5"], gpu_scenario([p.pid]))
    assert rc == 0, err
    _, rows = read_log(watch.dir / "gpu_log.csv")
    for row in rows:
        assert re.fullmatch(r"\d+(/\d+)*", row[8]), row[8]


# ---- running, flushing, stopping ---------------------------------------------------------------


def test_rows_are_visible_while_it_runs_and_sigint_stops_it(start_watch, spawn_procs, tmp_path):
    a, b = spawn_procs(2)
    proc = start_watch(["--interval", "0.3", "-o", "live.csv"], gpu_scenario([a.pid, b.pid]))
    log = tmp_path / "live.csv"
    wait_for(lambda: len(data_lines(log)) >= 4, what="two samples in the file")
    assert proc.poll() is None                     # still running: the rows were flushed
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    err = proc.stderr.read().decode()
    check_no_sanitizer_report(err)
    assert err == ""
    text = log.read_bytes()
    assert text.endswith(b"\r\n")                  # no half-written row
    header, rows = read_log(log)
    assert header == COLUMNS and len(rows) % 2 == 0 and all(len(r) == 7 for r in rows)


def test_sigterm_during_a_long_interval_stops_at_once(start_watch, spawn_procs, tmp_path):
    p, = spawn_procs(1)
    proc = start_watch(["-o", "slow.csv"], gpu_scenario([p.pid]))   # default interval, 30 s
    log = tmp_path / "slow.csv"
    wait_for(lambda: len(data_lines(log)) >= 1, what="the first sample")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0              # well before the next sample is due
    assert len(data_lines(log)) == 1


def test_sigint_at_start_is_clean(start_watch, spawn_procs, tmp_path):
    p, = spawn_procs(1)
    proc = start_watch(["-o", "early.csv", "--interval", "0.2"], gpu_scenario([p.pid]))
    time.sleep(0.01)   # no timing is assumed: any moment of start-up must end cleanly
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(timeout=30)
    # before gpuctl blocks SIGINT its default action ends it; after that, exit 0
    assert rc in (0, -signal.SIGINT)
    if rc == 0 and (tmp_path / "early.csv").exists():
        text = (tmp_path / "early.csv").read_bytes()
        assert text == b"" or text.endswith(b"\r\n")


def test_count_and_duration(watch, spawn_procs):
    p, = spawn_procs(1)
    scen = gpu_scenario([p.pid])
    rc, _, err = watch(["--count", "3", "--interval", "0.05", "-o", "c.csv"], scen)
    assert rc == 0, err
    assert len(read_log(watch.dir / "c.csv")[1]) == 3
    start = time.monotonic()
    rc, _, err = watch(["--duration", "1", "--interval", "0.3", "-o", "d.csv"], scen)
    assert rc == 0, err
    rows = read_log(watch.dir / "d.csv")[1]
    assert 1 <= len(rows) <= 4                     # samples at 0, 0.3, 0.6, 0.9 s at most
    assert time.monotonic() - start < 60


def test_jsonl(watch, spawn_procs):
    a, b = spawn_procs(2)
    scen = gpu_scenario([a.pid, b.pid], utilization={0: [{"pid": a.pid, "sm": 12, "mem": 3}]})
    rc, _, err = watch(["--format", "jsonl", "--count", "2", "--interval", "0.1", "--extended",
                        "-o", "log.jsonl"], scen)
    assert rc == 0, err
    lines = (watch.dir / "log.jsonl").read_text().splitlines()
    assert len(lines) == 4
    docs = [json.loads(line) for line in lines]
    assert list(docs[0]) == EXTENDED
    first = {d["pid"]: d for d in docs[:2]}
    assert first[a.pid]["sm_util_pct"] == 12 and first[a.pid]["mem_util_pct"] == 3
    assert first[b.pid]["sm_util_pct"] is None
    assert first[a.pid]["gpu_mem_mib"] == 64
    assert first[a.pid]["cpu_pct"] is None
    assert all(isinstance(c, int) for c in first[a.pid]["cpu_cores"])
    assert isinstance(docs[2]["cpu_pct"], (int, float))
    assert first[a.pid]["cmd"] == a.cmdline


def test_stdout(watch, spawn_procs):
    p, = spawn_procs(1)
    rc, out, err = watch(["--count", "1", "-o", "-"], gpu_scenario([p.pid]))
    assert rc == 0, err
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0] == COLUMNS and len(rows) == 2


# ---- no GPU --------------------------------------------------------------------------------------


def test_no_gpu_source(watch):
    rc, out, err = watch(["--count", "1"], None)   # the fake NVML without a scenario: no driver
    assert rc == 1
    assert "no GPU source" in err and "NVML" in err
    assert not (watch.dir / "gpu_log.csv").exists()


def test_no_nvml_library(watch, tmp_path):
    rc, _, err = watch(["--count", "1"], None,
                       env={"GPUCTL_NVML_LIBRARY": tmp_path / "missing" / "libnvidia-ml.so.1"})
    assert rc == 1
    assert "no GPU source" in err and "libnvidia-ml" in err


def test_help(watch):
    rc, out, _ = watch(["--help"], None)
    assert rc == 0
    assert "--extended" in out and "--match" in out


def test_write_error_is_reported(watch, spawn_procs):
    p, = spawn_procs(1)
    rc, _, err = watch(["--count", "3", "--interval", "0.1", "-o", "/dev/full"],
                       gpu_scenario([p.pid]))
    assert rc == 1
    assert "/dev/full" in err and "No space left" in err
    assert err.count("cannot write") == 1


def test_watch_interval_from_the_environment_is_honoured(watch, spawn_procs):
    """GPUCTL_WATCH_INTERVAL (documented for watch's --interval) replaces
    the 30 s default: three samples at 0.2 s end long before one 30 s
    interval would have passed (the run's limit)."""
    a, = spawn_procs(1)
    rc, _, err = watch(["--count", "3"], gpu_scenario([a.pid]),
                       env={"GPUCTL_WATCH_INTERVAL": "0.2"}, timeout=25)
    assert rc == 0, err
    _, rows = read_log(watch.dir / "gpu_log.csv")
    assert len(rows) == 3


def test_a_gpu_lost_mid_run_is_said_once_and_the_others_go_on(gpuctl_bin, gpuctl_env, spawn_procs,
                                                              scenario, tmp_path):
    a, b = spawn_procs(2)
    data = gpu_scenario([a.pid], [b.pid])
    path = scenario(data)
    log = tmp_path / "lost.csv"
    p = subprocess.Popen([str(gpuctl_bin), "watch", "--interval", "0.2", "-o", str(log)],
                         cwd=tmp_path, env=gpuctl_env(path, {"FAKE_NVML_RECHECK_MS": 0}),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def rows():
        """The complete rows in the file now (a row being written is left out)."""
        if not log.exists():
            return []
        text = log.read_bytes().decode()
        whole = text[:text.rfind("\r\n") + 2] if "\r\n" in text else ""
        return list(csv.reader(io.StringIO(whole, newline="")))[1:]

    deadline = time.monotonic() + 60
    while len(rows()) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(rows()) >= 4
    seen = len(rows())
    lost = ["nvmlDeviceGetMemoryInfo", "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetTemperature",
            "nvmlDeviceGetPowerUsage", "nvmlDeviceGetComputeRunningProcesses"]
    data["devices"][1]["errors"] = {fn: "GPU_IS_LOST" for fn in lost}
    write_json_atomically(path, data)

    def first_sample_without_gpu_1():
        """Where the rows of the first sample taken after the loss begin:
        each sample writes GPU 0's row first, so two GPU 0 rows in a row
        mean the first of them had no GPU 1 row after it."""
        r = rows()
        return next((i for i in range(seen, len(r) - 1)
                     if r[i][1] == "0" and r[i + 1][1] == "0"), None)
    deadline = time.monotonic() + 60
    start = first_sample_without_gpu_1()
    while start is None and time.monotonic() < deadline:
        time.sleep(0.1)
        start = first_sample_without_gpu_1()
    assert start is not None, "no sample without GPU 1"
    while len(rows()) < start + 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    later = rows()[start:]
    assert len(later) >= 5, "rows for GPU 0 go on"
    assert {r[1] for r in later} == {"0"}, later
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    err = err.decode()
    check_no_sanitizer_report(err)
    assert p.returncode == 0, err
    assert err.count("GPU 1") == 1 and "lost" in err, err


def test_pid_only_the_gpu_lists_is_watched_and_a_pid_of_nowhere_refused(watch, spawn_procs):
    """A pid /proc lacks (another pid namespace) but a GPU lists is logged
    from the GPU's side; a pid of neither is refused before any row."""
    a, = spawn_procs(1)
    ghost = 4_000_000                 # above pid_max: no process here can have it
    rc, out, err = watch(["--pid", ghost, "--count", "2", "--interval", "0.1", "-o", "-"],
                         gpu_scenario([a.pid, ghost]))
    assert rc == 0, err
    rows = list(csv.reader(io.StringIO(out)))[1:]
    assert len(rows) == 2 and {r[2] for r in rows} == {str(ghost)}, out
    rc, out, err = watch(["--pid", ghost, "--count", "2", "--interval", "0.1", "-o", "-"],
                         gpu_scenario([a.pid]))
    assert rc == 1 and f"process {ghost} does not exist" in err, err
    assert len(out.splitlines()) <= 1                       # at most the header
