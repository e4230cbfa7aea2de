"""`gpuctl guard` end to end: policies written through the CLI or as
guard.toml, evaluated against real processes that the fake NVML lists as
GPU processes, and enforced by the real daemon (`guard run`), whose
violations and actions are read back through `guard status`.
"""

import http.server
import json
import os
import re
import pty
import select
import socket
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import GiB, MiB, device

SLEEP = "import time; time.sleep(300)"


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except FileNotFoundError:
        return False
    return text[text.rindex(")") + 2] != "Z"


def wait_for(cond, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def scenario_for(gpus):
    """gpus: list (one per GPU) of [(pid, bytes)]."""
    return {"devices": [device(i, processes={"compute": [{"pid": p, "used_memory": m}
                                                         for p, m in procs]})
                        for i, procs in enumerate(gpus)]}


@pytest.fixture
def guard_toml(tmp_path):
    path = tmp_path / "xdg" / "gpuctl" / "guard.toml"
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(text):
        # whole or not at all, for a daemon that may read it at any moment
        tmp = path.with_name("guard.toml.new")
        tmp.write_text(text)
        os.replace(tmp, path)
        return path

    write.path = path
    return write


def evaluate(run, scen, env=None):
    r = run(["guard", "--test-policies", "--output", "json"], scenario=scen, env=env)
    assert r.rc == 0, r.err
    return json.loads(r.out)


def rules(doc):
    return sorted((v["policy"], v["rule"], v["pid"]) for v in doc["violations"])


# ---- evaluation of each policy type -----------------------------------------------


def test_user_memory_limit_blames_the_newest_process(run, spawn_procs, self_user):
    old, new = spawn_procs(2)
    scen = scenario_for([[(old.pid, GiB), (new.pid, GiB)]])
    r = run(["guard", "--add-user", self_user, "--memory-limit", "1.5"], scenario=scen)
    assert r.rc == 0, r.err
    doc = evaluate(run, scen)
    assert rules(doc) == [(f"user:{self_user}", "memory_limit", new.pid)]
    v = doc["violations"][0]
    assert "2.00 GB" in v["detail"] and "1.5 GB" in v["detail"]
    assert v["action"] == "would warn, then terminate after 300 s"


def test_user_process_and_gpu_limits(run, spawn_procs, self_user):
    a, b, c = spawn_procs(3)
    scen = scenario_for([[(a.pid, MiB), (b.pid, MiB)], [(c.pid, MiB)]])
    r = run(["guard", "--add-user", self_user, "--process-limit", "2", "--allowed-gpus", "0"],
            scenario=scen)
    assert r.rc == 0, r.err
    assert rules(evaluate(run, scen)) == sorted([
        (f"user:{self_user}", "process_limit", c.pid),
        (f"user:{self_user}", "gpu_not_allowed", c.pid)])
    r = run(["guard", "--add-user", self_user, "--process-limit", "3", "--blocked-gpus", "0"],
            scenario=scen)
    assert r.rc == 0, r.err
    assert rules(evaluate(run, scen)) == sorted([
        (f"user:{self_user}", "gpu_blocked", a.pid), (f"user:{self_user}", "gpu_blocked", b.pid),
        (f"user:{self_user}", "gpu_not_allowed", c.pid)])


def test_duration_limit(run, spawn_procs, self_user):
    [p] = spawn_procs(1)
    scen = scenario_for([[(p.pid, MiB)]])
    assert run(["guard", "--add-user", self_user, "--duration-limit", "0"], scenario=scen).rc == 0
    wait_for(lambda: rules(evaluate(run, scen)) ==
             [(f"user:{self_user}", "duration_limit", p.pid)], what="a duration violation")


def test_default_limits_apply_to_users_without_a_policy(run, spawn_procs, guard_toml):
    [p] = spawn_procs(1)
    guard_toml("[global]\ndefault_memory_limit_gb = 0.5\n")
    scen = scenario_for([[(p.pid, GiB)]])
    assert rules(evaluate(run, scen)) == [("default", "memory_limit", p.pid)]


def test_group_totals(run, spawn_procs, self_user):
    a, b = spawn_procs(2)
    scen = scenario_for([[(a.pid, GiB)], [(b.pid, GiB)]])
    r = run(["guard", "--add-group", "ml", "--members", f"{self_user},nobody",
             "--memory-limit", "1.2", "--blocked-gpus", "1"], scenario=scen)
    assert r.rc == 0, r.err
    assert rules(evaluate(run, scen)) == sorted([
        ("group:ml", "memory_limit", b.pid), ("group:ml", "gpu_blocked", b.pid)])


def test_gpu_policies_users_reserved_and_maintenance(run, spawn_procs, self_user):
    [p] = spawn_procs(1)
    scen = scenario_for([[(p.pid, 2 * GiB)]])
    r = run(["guard", "--add-gpu", "0", "--allowed-users", "alice", "--reserved-memory", "79"],
            scenario=scen)
    assert r.rc == 0, r.err
    assert rules(evaluate(run, scen)) == sorted([
        ("gpu:0", "user_not_allowed", p.pid), ("gpu:0", "reserved_memory", p.pid)])
    r = run(["guard", "--remove-gpu", "0"], scenario=scen)
    assert r.rc == 0, r.err
    r = run(["guard", "--add-gpu", "0", "--blocked-users", self_user, "--memory-limit", "1",
             "--maintenance", "02:00-04:00", "--days", "sat"], scenario=scen)
    assert r.rc == 0, r.err
    # 2026-11-21 is a Saturday
    inside = {"GPUCTL_GUARD_NOW": "2026-11-21T03:00"}
    assert rules(evaluate(run, scen, env=inside)) == sorted([
        ("gpu:0", "maintenance_window", p.pid), ("gpu:0", "user_blocked", p.pid),
        ("gpu:0", "memory_limit", p.pid)])
    sunday = {"GPUCTL_GUARD_NOW": "2026-11-22T03:00"}
    assert ("gpu:0", "maintenance_window", p.pid) not in rules(evaluate(run, scen, sunday))


def test_gpu_memory_limit_blames_the_lowest_priority_user(run, spawn_procs, self_user):
    [mine] = spawn_procs(1)
    [theirs] = spawn_procs(1, argv=[sys.executable, "-c", SLEEP], user="nobody")
    # theirs is newer, but give it the higher priority: mine goes first
    scen = scenario_for([[(mine.pid, GiB), (theirs.pid, GiB)]])
    assert run(["guard", "--add-user", "nobody", "--priority", "10"], scenario=scen).rc == 0
    assert run(["guard", "--add-user", self_user, "--priority", "1"], scenario=scen).rc == 0
    assert run(["guard", "--add-gpu", "0", "--memory-limit", "1.5"], scenario=scen).rc == 0
    assert rules(evaluate(run, scen)) == [("gpu:0", "memory_limit", mine.pid)]


def test_time_policy_uses_the_injected_clock(run, spawn_procs, self_user):
    [p] = spawn_procs(1)
    scen = scenario_for([[(p.pid, GiB)]])
    r = run(["guard", "--add-time-policy", "office", "--start", "09:00", "--end", "17:00",
             "--days", "mon,tue,wed,thu,fri", "--memory-limit", "0.5", "--users", self_user],
            scenario=scen)
    assert r.rc == 0, r.err
    monday_noon = {"GPUCTL_GUARD_NOW": "2026-11-23T12:00"}
    assert rules(evaluate(run, scen, monday_noon)) == [("time:office", "memory_limit",
                                                             p.pid)]
    for outside in ("2026-11-23T08:59", "2026-11-23T17:00", "2026-11-22T12:00"):
        assert evaluate(run, scen, {"GPUCTL_GUARD_NOW": outside})["violations"] == []
    r = run(["guard", "--test-policies"], scenario=scen, env={"GPUCTL_GUARD_NOW": "noon"})
    assert r.rc == 3 and "GPUCTL_GUARD_NOW" in r.err


# ---- configuration -----------------------------------------------------------------


@pytest.mark.parametrize("text, where, what", [
    ("[global]\nenabled = yes\n", "2:11", "expected a value"),
    ("[user_policies.bob]\nmemory_limit_gb = -1\n", "2:19", "must not be negative"),
    ("[[time_policies]]\nname = \"x\"\nstart_time = \"10:00\"\nend_time = \"09:00\"\n",
     "4:12", "end_time 09:00 is before start_time 10:00"),
    ("[gpu_policies.\"0\"]\nmax_utilization_pct = 101\n", "2:23", "at most 100"),
    ("[global]\nenforcement = \"brutal\"\n", "2:15", "soft"),
    ("[group_policies.ml]\nmembers = []\n", "1:", "members"),
    ("[user_policies.bob]\nmemory_limt_gb = 1\n", "2:1", "unknown key 'memory_limt_gb'"),
])
def test_bad_guard_toml_is_refused_with_its_position(run, guard_toml, text, where, what):
    path = guard_toml(text)
    r = run(["guard", "--config"])
    assert r.rc == 1
    assert f"{path}:{where}" in r.err and what in r.err, r.err
    r = run(["guard", "--enable"])
    assert r.rc == 1
    assert path.read_text() == text


def test_unknown_gpu_is_refused_and_nothing_runs(run, guard_toml, spawn_procs):
    [p] = spawn_procs(1)
    path = guard_toml("[global]\nenabled = true\ndry_run = false\nenforcement = \"hard\"\n\n"
                      "[gpu_policies.\"3\"]\nmax_memory_gb = 0\n")
    scen = scenario_for([[(p.pid, GiB)]])
    r = run(["guard", "run", "--once"], scenario=scen)
    assert r.rc == 1
    assert f"{path}:6:15: gpu_policies.\"3\": unknown GPU" in r.err
    assert alive(p.pid)
    r = run(["guard", "--add-gpu", "5", "--memory-limit", "1"], scenario=scen)
    assert r.rc == 3 and "unknown GPU" in r.err


def test_refused_edit_changes_nothing(run, self_user):
    assert run(["guard", "--add-user", self_user, "--memory-limit", "4"]).rc == 0
    before = json.loads(run(["guard", "--export-config"]).out)
    r = run(["guard", "--add-time-policy", "bad", "--start", "18:00", "--end", "08:00",
             "--memory-limit", "1"])
    assert r.rc == 3 and "nothing was changed" in r.err
    r = run(["guard", "--add-user", "x", "--utilization-limit", "140"])
    assert r.rc == 3
    assert json.loads(run(["guard", "--export-config"]).out) == before


@pytest.mark.parametrize("args, what", [
    (["--add-user", ""], "a policy name must not be empty"),
    (["--add-time-policy", ""], "a policy name must not be empty"),
    (["--add-gpu", "0", "--blocked-users", "a,,b", "--allowed-users", ""], None),
    (["--webhook", "http://h/\r\nX-Injected: 1"], "control characters"),
])
def test_cli_edits_never_save_what_the_reader_refuses(run, self_user, args, what):
    assert run(["guard", "--add-user", self_user, "--memory-limit", "4"]).rc == 0
    before = json.loads(run(["guard", "--export-config"]).out)
    r = run(["guard", *args])
    if what is None:                 # empty items are dropped: a valid edit
        assert r.rc == 0, r.err
    else:
        assert r.rc == 3 and what in r.err and "saved" not in r.err, r.err
        assert json.loads(run(["guard", "--export-config"]).out) == before
    # every later command still reads the file
    for later in (["guard"], ["guard", "--export-config"]):
        r = run(later)
        assert r.rc == 0, r.err


def test_gpu_kill_spellings_are_accepted(run, self_user):
    r = run(["guard", "--guard-add-user", self_user, "--guard-memory-limit", "3",
             "--guard-utilization-limit", "80", "--guard-process-limit", "2"])
    assert r.rc == 0, r.err
    assert run(["guard", "--guard-enable", "--guard-enforce"]).rc == 0
    doc = json.loads(run(["guard", "--guard-export-config"]).out)
    assert doc["global"]["enabled"] is True and doc["global"]["dry_run"] is False
    u = doc["user_policies"][self_user]
    assert u["memory_limit_gb"] == 3 and u["utilization_limit_pct"] == 80
    assert u["max_concurrent_processes"] == 2
    assert run(["guard", "--guard-toggle-dry-run"]).rc == 0
    assert json.loads(run(["guard", "--export-config"]).out)["global"]["dry_run"] is True


def test_export_import_round_trip(run, tmp_path, self_user):
    for args in (["--add-user", self_user, "--memory-limit", "2.5", "--priority", "3",
                  "--allowed-gpus", "0,1"],
                 ["--add-group", "ml", "--members", "a,b", "--process-limit", "4"],
                 ["--add-gpu", "0", "--reserved-memory", "8", "--maintenance", "01:00-02:30"],
                 ["--add-time-policy", "night", "--start", "20:00", "--end", "23:00",
                  "--utilization-limit", "50"],
                 ["--mode", "hard", "--grace-period", "30", "--webhook", "http://h/x"]):
        r = run(["guard", *args])
        assert r.rc == 0, r.err
    doc = json.loads(run(["guard", "--export-config"]).out)
    f = tmp_path / "g.json"
    f.write_text(json.dumps(doc))
    r = run(["guard", "--remove-user", self_user, "--remove-group", "ml"])
    assert r.rc == 0, r.err
    r = run(["guard", "--import-config", f])
    assert r.rc == 0, r.err
    assert json.loads(run(["guard", "--export-config"]).out) == doc
    doc["user_policies"][self_user]["memory_limit_gb"] = -2
    f.write_text(json.dumps(doc))
    r = run(["guard", "--import-config", f])
    assert r.rc == 1 and "must not be negative" in r.err and "nothing was imported" in r.err


# ---- the daemon ------------------------------------------------------------------------


class Daemon:
    def __init__(self, proc, log):
        self.proc = proc
        self.log = log

    def text(self):
        return self.log.read_text()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        return rc


@pytest.fixture
def daemon(gpuctl_bin, gpuctl_env, scenario, tmp_path):
    running = []

    def start(scen, *args, env=None):
        path = scenario(scen)
        log = tmp_path / f"guard-{len(running)}.log"
        proc = subprocess.Popen([str(gpuctl_bin), "guard", "run", "--interval", "0.2", *args],
                                env=gpuctl_env(path, env), stdout=subprocess.DEVNULL,
                                stderr=open(log, "w"))
        d = Daemon(proc, log)
        running.append(d)
        # the database exists (created and migrated) once it says it runs
        wait_for(lambda: "guard running" in d.text() or proc.poll() is not None,
                 what="the daemon to start")
        assert proc.poll() is None, d.text()
        return d

    yield start
    for d in running:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        assert "runtime error" not in d.text() and "Sanitizer" not in d.text(), d.text()


def status(run):
    r = run(["guard", "status", "--output", "json"])
    assert r.rc == 0, r.err
    return json.loads(r.out)["events"]


def actions(run):
    return [(e["rule"], e["action"]["action"], e["action"]["dry_run"], e["action"]["success"])
            for e in status(run) if e["action"]]


def test_dry_run_leaves_processes_running_and_records_would_terminate(run, daemon,
                                                                     spawn_procs, self_user):
    [p] = spawn_procs(1)
    scen = scenario_for([[(p.pid, GiB)]])
    r = run(["guard", "--enable", "--dry-run", "--mode", "hard", "--add-user", self_user,
             "--memory-limit", "0.5"], scenario=scen)
    assert r.rc == 0, r.err
    d = daemon(scen)
    wait_for(lambda: "would terminate" in d.text(), what="the dry-run log")
    assert d.stop() == 0
    assert alive(p.pid)
    assert ("memory_limit", "terminate", True, True) in actions(run)
    ev = [e for e in status(run) if e["action"]][0]
    assert ev["pid"] == p.pid and ev["user"] == self_user
    assert ev["action"]["message"].startswith(f"would terminate pid {p.pid}")


def test_hard_enforcement_ends_the_process(run, daemon, stubborn_proc, self_user):
    p = stubborn_proc()
    scen = scenario_for([[(p.pid, GiB)]])
    r = run(["guard", "--enable", "--enforce", "--mode", "hard", "--add-user", self_user,
             "--memory-limit", "0.5"], scenario=scen)
    assert r.rc == 0, r.err
    d = daemon(scen)
    wait_for(lambda: not alive(p.pid), what="the process to be ended")
    wait_for(lambda: any(a[1] == "terminate" for a in actions(run)), what="the stored action")
    assert d.stop() == 0
    assert ("memory_limit", "terminate", False, True) in actions(run)
    msg = [e["action"]["message"] for e in status(run) if e["action"]][0]
    # it ignores SIGTERM, so it took the SIGKILL
    assert f"pid {p.pid}" in msg and "killed" in msg


@pytest.fixture
def stubborn_proc():
    started = []

    def start():
        p = subprocess.Popen([sys.executable, "-c",
                              "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
                              " print('ready', flush=True); time.sleep(300)"],
                             stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        assert p.stdout.readline() == b"ready\n"
        started.append(p)
        return p

    yield start
    for p in started:
        p.kill()
        p.wait()
        p.stdout.close()


class Hook(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    Hook.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/gpu-alerts", Hook.received
    server.shutdown()
    server.server_close()


def test_soft_warns_then_escalates_after_the_grace_period(run, daemon, webhook, self_user):
    url, received = webhook
    # the offender runs on a terminal of its own, where the warning must appear
    pid, master = pty.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-c", SLEEP])
    try:
        scen = scenario_for([[(pid, GiB)]])
        # long enough that the checks below run inside it on a loaded machine
        r = run(["guard", "--enable", "--enforce", "--mode", "soft", "--grace-period", "8",
                 "--webhook", url, "--add-user", self_user, "--process-limit", "0"],
                scenario=scen)
        assert r.rc == 0, r.err
        d = daemon(scen)
        wait_for(lambda: received, what="the webhook POST")
        path, ctype, body = received[0]
        assert path == "/gpu-alerts" and ctype == "application/json"
        assert body["action"] == "warn" and body["pid"] == pid
        assert body["rule"] == "process_limit" and body["user"] == self_user
        assert alive(pid), "soft mode must only warn before the grace period ends"
        seen = b""
        deadline = time.monotonic() + 30
        while b"gpuctl guard" not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.5)[0]:
                seen += os.read(master, 4096)
        assert b"gpuctl guard" in seen and str(pid).encode() in seen
        wait_for(lambda: not alive(pid), what="escalation to hard")
        assert d.stop() == 0
        assert "escalating to hard enforcement" in d.text()
        acts = actions(run)
        assert ("process_limit", "warn", False, True) in acts
        assert ("process_limit", "webhook", False, True) in acts
        assert ("process_limit", "terminal", False, True) in acts
        assert ("process_limit", "terminate", False, True) in acts
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(master)


def test_disabled_guard_acts_on_nothing(run, daemon, spawn_procs, self_user):
    [p] = spawn_procs(1)
    scen = scenario_for([[(p.pid, GiB)]])
    r = run(["guard", "--disable", "--enforce", "--mode", "hard", "--add-user", self_user,
             "--memory-limit", "0.5"], scenario=scen)
    assert r.rc == 0, r.err
    r = run(["guard", "run", "--once"], scenario=scen)
    assert r.rc == 0, r.err
    assert "disabled" in r.err
    assert alive(p.pid)
    assert status(run) == []


def test_status_without_a_database(run):
    r = run(["guard", "status"])
    assert r.rc == 0, r.err
    assert "No violations" in r.out


def test_running_daemon_follows_guard_toml_and_keeps_policies_on_a_bad_edit(
        run, daemon, spawn_procs, self_user, guard_toml):
    [p] = spawn_procs(1)
    scen = scenario_for([[(p.pid, GiB)]])
    path = guard_toml("[global]\nenabled = false\n")
    d = daemon(scen)
    wait_for(lambda: "guard is disabled" in d.text(), what="the disabled notice")
    guard_toml("[global]\nenabled = true\nenforcement = \"hard\"\n\n"
               f"[user_policies.{self_user}]\nmemory_limit_gb = -1\n")
    wait_for(lambda: "keeping the policies in force" in d.text(), what="the refusal")
    assert f"{path}:6:19:" in d.text()
    assert "would terminate" not in d.text()
    guard_toml("[global]\nenabled = true\nenforcement = \"hard\"\n\n"
               f"[user_policies.{self_user}]\nmemory_limit_gb = 0.5\n")
    wait_for(lambda: "would terminate" in d.text(), what="the new policy to act")
    assert d.stop() == 0
    assert alive(p.pid)


def test_a_failed_webhook_is_recorded_as_failed(run, daemon, spawn_procs, self_user):
    [p] = spawn_procs(1)
    # a port nothing listens on: held bound (not listening) for the whole
    # test, so a connection is refused and no other program can take it
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    scen = scenario_for([[(p.pid, GiB)]])
    r = run(["guard", "--enable", "--enforce", "--mode", "soft", "--grace-period", "3600",
             "--webhook", f"http://127.0.0.1:{port}/hook", "--add-user", self_user,
             "--memory-limit", "0.5"], scenario=scen)
    assert r.rc == 0, r.err
    try:
        d = daemon(scen)
        wait_for(lambda: any(a[1] == "webhook" for a in actions(run)), what="the webhook action")
        assert d.stop() == 0
    finally:
        closed.close()
    acts = actions(run)
    assert ("memory_limit", "warn", False, True) in acts
    assert ("memory_limit", "webhook", False, False) in acts
    assert not any(a[1] == "terminate" for a in acts)
    assert alive(p.pid)


# ---- reloads, the lock, webhooks off the loop ----------------------------------------


def rounds_after(d, marker):
    """The "checked ..." lines the daemon logged after the last line holding marker."""
    text = d.text()
    return text[text.rindex(marker):].count("gpuctl guard: debug: checked ")


def test_sighup_reloads_and_a_second_guard_on_the_file_is_refused(run, daemon, spawn_procs,
                                                                   self_user, guard_toml):
    [p] = spawn_procs(1)
    scen = scenario_for([[(p.pid, GiB)]])
    path = guard_toml("[global]\nenabled = false\n")
    d = daemon(scen)
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: f"reloaded {path} (SIGHUP)" in d.text(), what="the SIGHUP reload")
    assert d.proc.poll() is None, "SIGHUP must not end guard run"
    r = run(["guard", "run", "--once"], scenario=scen)
    assert r.rc == 1 and f"a guard for {path} is already running (pid {d.proc.pid}" in r.err, \
        r.err
    # a SIGHUP reads the file even when nothing about it changed, and a bad one is refused
    path.write_text("[global]\nenabled = maybe\n")
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "keeping the policies in force" in d.text(), what="the refusal")
    assert d.stop() == 0
    path.write_text("[global]\nenabled = false\n")
    r = run(["guard", "run", "--once"], scenario=scen)      # the lock went with the daemon
    assert r.rc == 0, r.err


def test_missing_empty_or_half_written_guard_toml_keeps_the_policies_in_force(
        run, daemon, spawn_procs, self_user, guard_toml):
    [p] = spawn_procs(1)
    scen = scenario_for([[(p.pid, GiB)]])
    policy = ("[global]\nenabled = true\ndry_run = true\nenforcement = \"hard\"\n\n"
              f"[user_policies.{self_user}]\n")
    path = guard_toml(policy + "max_concurrent_processes = 0\n")
    d = daemon(scen, env={"GPUCTL_LOG_LEVEL": "debug"})
    wait_for(lambda: "violation: user:" in d.text(), what="the first violation")

    def still_enforcing(marker):
        wait_for(lambda: marker in d.text(), what=marker)
        wait_for(lambda: rounds_after(d, marker) >= 3, what=f"rounds after {marker!r}")
        text = d.text()[d.text().rindex(marker):]
        assert "1 violations" in text and "guard is disabled" not in text, text

    path.unlink()
    still_enforcing(f"cannot read {path}: No such file or directory")
    path.write_text("")
    still_enforcing(f"{path} is empty")
    # written in place, cut short: refused; completed later in place: taken
    with open(path, "w") as f:
        f.write(policy + "memory_limit_gb = ")
    still_enforcing(f"{path}:7:")
    with open(path, "w") as f:
        f.write(policy + "memory_limit_gb = 0.5\n")
    wait_for(lambda: "user:%s memory_limit" % self_user in d.text(), what="the corrected file")
    # and an atomic replacement as well
    guard_toml(policy + "max_concurrent_processes = 0\ndefault_memory_limit_gb = 0.25\n")
    wait_for(lambda: f"{path}:8:1: unknown key" in d.text(), what="the next refusal")
    guard_toml(policy + "memory_limit_gb = 0.75\n")
    wait_for(lambda: d.text().count(f"reloaded {path}") >= 2, what="the renamed file")
    assert "guard is disabled" not in d.text()
    assert d.stop() == 0
    assert alive(p.pid)


def test_an_unanswering_webhook_does_not_hold_up_the_checks(run, daemon, spawn_procs,
                                                            self_user):
    procs = spawn_procs(3)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(60)
    port = listener.getsockname()[1]
    scen = scenario_for([[(p.pid, GiB) for p in procs]])
    r = run(["guard", "--enable", "--enforce", "--mode", "soft", "--grace-period", "1",
             "--webhook", f"http://127.0.0.1:{port}/hook", "--add-user", self_user,
             "--process-limit", "0"], scenario=scen)
    assert r.rc == 0, r.err
    # the webhook may wait an hour: only other webhooks wait for it
    d = daemon(scen, env={"GPUCTL_DEFAULT_TIMEOUT": "3600"})
    try:
        conn, _ = listener.accept()          # the first POST, never answered
        wait_for(lambda: not any(alive(p.pid) for p in procs),
                 what="escalation past the grace period while the webhook hangs")
        conn.setblocking(False)
        still_open = None
        while still_open is None:            # read the request; b"" means it hung up
            try:
                if conn.recv(65536) == b"":
                    still_open = False
            except BlockingIOError:
                still_open = True
        assert still_open, "the guard gave up on the webhook before it ended the processes"
        assert d.stop() == 0
        conn.close()
    finally:
        listener.close()
    acts = actions(run)
    assert sum(a[1] == "terminate" and a[3] for a in acts) == 3
    hooks = [a for a in acts if a[1] == "webhook"]
    assert len(hooks) == 3 and not any(a[3] for a in hooks), acts
    msgs = [e["action"]["message"] for e in status(run)
            if e["action"] and e["action"]["action"] == "webhook"]
    assert any("not answered before guard stopped" in m for m in msgs), msgs
    assert sum("not sent, guard stopped first" in m for m in msgs) == 2, msgs


def test_webhook_timeout_is_default_timeout_secs(run, daemon, spawn_procs, self_user):
    [p] = spawn_procs(1)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    scen = scenario_for([[(p.pid, GiB)]])
    r = run(["guard", "--enable", "--enforce", "--mode", "soft", "--grace-period", "3600",
             "--webhook", f"http://127.0.0.1:{port}/hook", "--add-user", self_user,
             "--process-limit", "0"], scenario=scen)
    assert r.rc == 0, r.err
    d = daemon(scen, env={"GPUCTL_DEFAULT_TIMEOUT": "1"})
    try:
        wait_for(lambda: any(a[1] == "webhook" for a in actions(run)),
                 what="the webhook's outcome")
    finally:
        assert d.stop() == 0
        listener.close()
    [msg] = [e["action"]["message"] for e in status(run)
             if e["action"] and e["action"]["action"] == "webhook"]
    # libcurl says when it gave up: after the configured 1 s, not a built-in 10 s
    m = re.search(r"timed out after (\d+) milliseconds", msg)
    assert m and 1000 <= int(m.group(1)) < 10000, msg


def test_export_config_into_a_full_disk_says_so(run):
    with open("/dev/full", "w") as full:
        r = run(["guard", "--export-config"], stdout=full)
    assert r.rc == 1 and "cannot write the output: No space left on device" in r.err, r.err
