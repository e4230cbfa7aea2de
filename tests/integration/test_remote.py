"""`gpuctl --remote` end to end against a real sshd (sshd_harness.py):
three "hosts" (aliases on their own ports) showing different fake NVML
scenarios, a host at a closed port, one whose known_hosts key does not
match, real processes killed through ssh, the quoting of arguments for the
remote shell, BatchMode without a terminal, and the SSH_ASKPASS hand-off of
--ssh-password.

The sshd runs as the test's user (root here: key login with
PermitRootLogin prohibit-password); a test is skipped, saying why, only
when sshd cannot start on this machine at all.
"""

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import GiB, MiB, check_no_sanitizer_report, device
from sshd_harness import Sshd, short_runtime_dir, why_sshd_cannot_run

VICTIM = "import time, sys; print('ready', flush=True); time.sleep(300)"


def scenario_file(folder, name, devices):
    """Written whole or not at all: a watching fake NVML rereads it."""
    path = folder / f"{name}.json"
    tmp = folder / f"{name}.json.new"
    tmp.write_text(json.dumps({"devices": devices}))
    os.replace(tmp, path)
    return path


def used(index, used_gib, pids=()):
    return device(index, memory={"total": 80 * GiB, "used": used_gib * GiB,
                                 "free": (80 - used_gib) * GiB},
                  processes={"compute": [{"pid": p, "used_memory": 512 * MiB} for p in pids]})


class Fleet:
    """The sshd, the scenarios per alias and a runner for the local gpuctl."""

    def __init__(self, tmp_path, gpuctl_bin, fake_lib, password_auth=False):
        self.tmp = tmp_path
        self.gpuctl_bin = gpuctl_bin
        self.scenarios = {}
        self.sshd = None
        self.fake_lib = fake_lib
        self.password_auth = password_auth
        self.runtime = short_runtime_dir()

    def start(self, remote_env=None, **devices_by_alias):
        """remote_env: more environment for the remote gpuctl (PATH, …)."""
        for alias, devices in devices_by_alias.items():
            self.scenarios[alias] = scenario_file(self.tmp, alias, devices)
        passed = {k: v for k, v in os.environ.items() if k in ("ASAN_OPTIONS", "UBSAN_OPTIONS")}
        passed.update(remote_env or {})
        self.sshd = Sshd(self.tmp / "sshd", self.gpuctl_bin, self.fake_lib, self.scenarios,
                         extra_env=passed, password_auth=self.password_auth)
        try:
            self.sshd.start()
        except RuntimeError as e:
            pytest.skip(f"the test sshd cannot start here: {e}")
        return self

    def set_devices(self, alias, devices):
        scenario_file(self.tmp, alias, devices)

    def env(self, path=None):
        env = {"PATH": path or "/usr/local/bin:/usr/bin:/bin", "HOME": str(self.tmp / "home"),
               "XDG_RUNTIME_DIR": self.runtime, "LANG": "C.UTF-8",
               "GPUCTL_SSH_CONFIG": str(self.sshd.ssh_config)}
        (self.tmp / "home").mkdir(exist_ok=True)
        for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def run(self, args, remote_path=True, path=None, input=None, timeout=90):
        extra = ["--remote-path", str(self.sshd.wrapper)] if remote_path else []
        # A new session: no controlling terminal, as under cron or CI.
        proc = subprocess.run([str(self.gpuctl_bin), *extra, *[str(a) for a in args]],
                              env=self.env(path), input=input, capture_output=True,
                              timeout=timeout, start_new_session=True)
        err = proc.stderr.decode("utf-8", errors="replace")
        check_no_sanitizer_report(err)
        return proc.returncode, proc.stdout.decode("utf-8"), err

    def stop(self):
        if self.sshd:
            self.sshd.stop()
        # Shared connections end with their master; ask each to go.
        control = pathlib.Path(self.runtime) / "gpuctl-ssh"
        for sock in control.glob("*") if control.is_dir() else []:
            subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "x"],
                           capture_output=True, timeout=10)
        shutil.rmtree(self.runtime, ignore_errors=True)


@pytest.fixture
def fleet(tmp_path, gpuctl_bin, fake_lib):
    why = why_sshd_cannot_run()
    if why:
        pytest.skip(why)
    f = Fleet(tmp_path, gpuctl_bin, fake_lib)
    yield f
    f.stop()


@pytest.fixture
def victims():
    started = []

    def start(n, tag):
        batch = []
        for i in range(n):
            p = subprocess.Popen([sys.executable, "-c", VICTIM, f"{tag}-{i}"],
                                 stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            assert p.stdout.readline() == b"ready\n"
            batch.append(p)
        started.extend(batch)
        return batch

    yield start
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()


def three_hosts(fleet):
    return fleet.start(alpha=[used(0, 70)], beta=[used(0, 1), used(1, 2)],
                       gamma=[used(0, 5), used(1, 75), used(2, 6)])


def host_rows(table):
    """(host, gpu) of each device row."""
    return re.findall(r"^│ (\S+)\s+│\s+(\d+|-) │", table, re.M)


# ---- list ------------------------------------------------------------------------------


def test_list_draws_every_host_in_one_table_with_a_host_column(fleet):
    three_hosts(fleet)
    rc, out, err = fleet.run(["--remote", "alpha,beta,gamma", "list"])
    assert rc == 0, err
    assert out.splitlines()[1].startswith("│ HOST ")
    assert host_rows(out) == [("alpha", "0"), ("beta", "0"), ("beta", "1"), ("gamma", "0"),
                              ("gamma", "1"), ("gamma", "2")]
    assert "71680/81920MiB" in out          # alpha's 70 GiB used
    assert err.strip() == "gpuctl: 3 hosts: 3 ok"


def test_unreachable_and_changed_key_hosts_get_their_row_and_the_worst_code(fleet):
    three_hosts(fleet)
    rc, out, err = fleet.run(["--remote", "alpha,closed,wrongkey", "list"])
    assert rc == 1
    rows = dict((h, line) for line in out.splitlines()
                for h in ("alpha", "closed", "wrongkey") if line.startswith(f"│ {h} "))
    assert "unreachable: " in rows["closed"] and "Connection refused" in rows["closed"]
    assert "host key changed" in rows["wrongkey"]
    assert ("alpha", "0") in host_rows(out)
    assert "3 hosts: 1 ok, 1 unreachable, 1 host_key_changed" in err


def test_json_gives_one_document_with_a_hosts_array(fleet):
    three_hosts(fleet)
    rc, out, err = fleet.run(["--remote", "beta,closed", "list", "--output", "json"])
    assert rc == 1
    doc = json.loads(out)
    assert doc["command"] == "list"
    beta, closed = doc["hosts"]
    assert beta["host"] == "beta" and beta["status"] == "ok" and beta["error"] is None
    assert [g["gpu_index"] for g in beta["document"]["gpus"]] == [0, 1]
    assert closed["status"] == "unreachable" and closed["document"] is None
    assert closed["exit_code"] == 1 and "Connection refused" in closed["error"]


def test_details_and_a_filter_with_shell_characters_arrive_as_one_word(fleet, victims,
                                                                       tmp_path):
    marker = tmp_path / "injected"
    # The process's own command line holds what the filter looks for.
    tag = f"it's $(touch {marker}); echo"
    p = subprocess.Popen([sys.executable, "-c", VICTIM, tag], stdout=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    try:
        assert p.stdout.readline() == b"ready\n"
        fleet.start(alpha=[used(0, 1, [p.pid])], beta=[used(0, 1, [os.getpid()])])
        regex = re.escape(f"it's $(touch {marker}); echo")
        rc, out, err = fleet.run(["--remote", "alpha,beta", "list", "--details",
                                  "--filter", regex])
        assert rc == 0, err
        assert not marker.exists()
        procs = re.findall(r"^│ (\S+)\s+│\s+\d+ │\s+(\d+) │", out.split("PID")[-1], re.M)
        assert procs == [("alpha", str(p.pid))]
    finally:
        p.kill()
        p.wait()


def test_gpu_kill_spelling_and_remote_options_after_the_command(fleet):
    three_hosts(fleet)
    for args in (["--list", "--remote", "alpha"], ["--remote", "alpha", "--list"],
                 ["list", "--remote=alpha", "--ssh-timeout", "20"]):
        rc, out, err = fleet.run(args)
        assert rc == 0, (args, err)
        assert host_rows(out) == [("alpha", "0")], args
    rc, out, err = fleet.run(["--remote", "alpha", "list", "--help"])
    assert rc == 0 and out.startswith("usage: gpuctl list")
    rc, out, err = fleet.run(["--remote", "alpha", "watch"])
    assert rc == 3 and "--remote works with list, kill, select" in err


def test_hosts_file_with_comments_and_user_at_host_port(fleet, tmp_path):
    three_hosts(fleet)
    user = fleet.sshd.user
    hosts = tmp_path / "hosts.txt"
    hosts.write_text(f"# the lab\nalpha\n\n  {user}@127.0.0.1:{fleet.sshd.ports['beta']}  "
                     f"# beta by address\n")
    rc, out, err = fleet.run(["--hosts", hosts, "list"])
    assert rc == 0, err
    by_address = f"{user}@127.0.0.1:{fleet.sshd.ports['beta']}"
    assert host_rows(out) == [("alpha", "0"), (by_address, "0"), (by_address, "1")]


def test_a_bad_host_entry_is_refused_before_any_connection(fleet, tmp_path):
    three_hosts(fleet)
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("alpha\n-oProxyCommand=touch\n")
    rc, out, err = fleet.run(["--hosts", hosts, "list"])
    assert rc == 3
    assert "hosts.txt:2" in err and "'-oProxyCommand=touch'" in err
    assert out == ""


def test_gpuctl_missing_on_the_remote_is_said_so(fleet):
    three_hosts(fleet)
    rc, out, err = fleet.run(["--remote", "alpha", "--remote-path", "/nonexistent/gpuctl",
                              "list"], remote_path=False)
    assert rc == 1
    assert "gpuctl not found on the remote" in out
    assert "1 not_found" in err


def test_a_host_past_its_deadline_is_ended_and_reported(fleet, tmp_path):
    three_hosts(fleet)
    slow = tmp_path / "slow-gpuctl"
    # beta hangs; the others answer as usual.
    slow.write_text(f"#!/bin/sh\ncase ${{SSH_CONNECTION##* }} in {fleet.sshd.ports['beta']}) "
                    f"exec sleep 60 ;; esac\nexec '{fleet.sshd.wrapper}' \"$@\"\n")
    slow.chmod(0o755)
    # a deadline alpha and gamma meet on a loaded machine; beta sleeps past it
    rc, out, err = fleet.run(["--remote", "alpha,beta,gamma", "--ssh-timeout", "20",
                              "--remote-path", slow, "list"], remote_path=False)
    assert rc == 1
    assert [h for h, _ in host_rows(out)] == ["alpha", "gamma", "gamma", "gamma", "beta"]
    assert "no answer before the deadline" in out
    assert "3 hosts: 2 ok, 1 timeout" in err


def test_a_remote_too_old_for_json_gets_a_clear_message(fleet, tmp_path):
    three_hosts(fleet)
    old = tmp_path / "old-gpuctl"
    old.write_text("#!/bin/sh\necho \"gpuctl: unknown option '--output'\" >&2\nexit 3\n")
    old.chmod(0o755)
    rc, out, err = fleet.run(["--remote", "alpha", "--remote-path", old, "list"],
                             remote_path=False)
    assert rc == 1
    assert "too old to answer in JSON" in out


def test_an_older_remote_without_a_field_shows_na(fleet, tmp_path):
    three_hosts(fleet)
    rc, out, err = fleet.run(["--remote", "alpha", "list", "--output", "json"])
    doc = json.loads(out)["hosts"][0]["document"]
    del doc["gpus"][0]["mem_used_mb"]
    canned = tmp_path / "doc.json"
    canned.write_text(json.dumps(doc))
    older = tmp_path / "older-gpuctl"
    older.write_text(f"#!/bin/sh\ncat '{canned}'\n")
    older.chmod(0o755)
    rc, out, err = fleet.run(["--remote", "alpha", "--remote-path", older, "list"],
                             remote_path=False)
    assert rc == 0, err
    assert "N/A/81920MiB" in out


def frame_where(proc, condition, timeout=60):
    """The first frame that meets condition (hosts answer in their own time:
    the first frames may still say "waiting for the first frame")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = read_frames(proc, 1, timeout=timeout)
        assert frame, "the watch stopped drawing"
        if condition(frame[0]):
            return frame[0]
    raise AssertionError("no frame met the condition")


def read_frames(proc, count, timeout=60):
    """The first count frames a watching gpuctl prints (they end with a blank line)."""
    frames, current = [], []
    deadline = time.monotonic() + timeout
    while len(frames) < count and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line == "\n":
            frames.append("".join(current))
            current = []
        else:
            current.append(line)
    return frames


def test_list_watch_draws_every_hosts_stream_in_one_table(fleet):
    fleet.start(alpha=[used(0, 1)], beta=[used(0, 2), used(1, 3)])
    proc = subprocess.Popen([str(fleet.gpuctl_bin), "--remote-path", str(fleet.sshd.wrapper),
                             "--remote", "alpha,beta,closed", "list", "--watch", "0.2"],
                            env=fleet.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        rows = [("alpha", "0"), ("beta", "0"), ("beta", "1"), ("closed", "-")]
        # closed's row may say "waiting" in the first frames: the whole frame
        # is what the condition asks for
        frame_where(proc, lambda f: host_rows(f) == rows and "1024/81920MiB" in f
                    and "unreachable" in f)
        # alpha's GPU fills up while it is watched: a later frame shows it.
        fleet.set_devices("alpha", [used(0, 40)])
        frame_where(proc, lambda f: "40960/81920MiB" in f, timeout=30)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    check_no_sanitizer_report(err)
    assert proc.returncode == 1                     # closed failed before the stop
    assert "3 hosts: 2 watched to the end, 1 failed" in err


def test_list_watch_refuses_json_and_more_hosts_than_the_fanout(fleet):
    three_hosts(fleet)
    rc, out, err = fleet.run(["--remote", "alpha", "list", "--watch", "--output", "json"])
    assert rc == 3 and "draws tables" in err
    rc, out, err = fleet.run(["--remote", "alpha,beta", "--ssh-fanout", "1", "list", "--watch"])
    assert rc == 3 and "more than --ssh-fanout 1" in err


# ---- kill ------------------------------------------------------------------------------


def test_kill_ends_real_processes_on_every_host(fleet, victims):
    a, b = victims(2, "gpuctl-remote-victim")
    fleet.start(alpha=[used(0, 1, [a.pid])], beta=[used(0, 1, [b.pid])], gamma=[used(0, 1)])
    rc, out, err = fleet.run(["--remote", "alpha,beta", "kill", "--filter",
                              "gpuctl-remote-victim", "--batch", "--timeout-secs", "5"])
    assert rc == 0, err
    assert a.wait(timeout=10) == -signal.SIGTERM
    assert b.wait(timeout=10) == -signal.SIGTERM
    rows = re.findall(r"^│ (\S+)\s+│\s+(\d+) │.*│ (\S+)\s+│[^│]*│$", out, re.M)
    assert sorted(rows) == sorted([("alpha", str(a.pid), "terminated"),
                                   ("beta", str(b.pid), "terminated")])


def test_kill_json_and_a_host_that_refuses(fleet, victims):
    v, = victims(1, "gpuctl-remote-one")
    fleet.start(alpha=[used(0, 1, [v.pid])], beta=[used(0, 1)])
    # One host at a time, beta first: the process is still there when beta,
    # which has no such GPU process, refuses it; then alpha ends it.
    rc, out, err = fleet.run(["--remote", "beta,alpha", "--ssh-fanout", "1", "kill", "--pid",
                              v.pid, "--output", "json"])
    assert rc == 3, err
    assert v.wait(timeout=10) == -signal.SIGTERM
    beta, alpha = json.loads(out)["hosts"]
    assert alpha["status"] == "ok"
    assert alpha["document"]["processes"][0]["result"] == "terminated"
    assert beta["status"] == "failed" and beta["exit_code"] == 3
    assert beta["error"].startswith("gpuctl: ")


# ---- reset ------------------------------------------------------------------------------

# The remote nvidia-smi: records the port the host alias came in on and its
# arguments, and says what the real one says.
REMOTE_SMI = """#!/bin/sh
printf '%s %s\\n' "${SSH_CONNECTION##* }" "$*" >> "$FAKE_SMI_LOG"
echo "GPU $3 was successfully reset."
"""


def reset_fleet(fleet, tmp_path, **devices_by_alias):
    folder = tmp_path / "smi-bin"
    folder.mkdir()
    (folder / "nvidia-smi").write_text(REMOTE_SMI)
    (folder / "nvidia-smi").chmod(0o755)
    log = tmp_path / "smi.log"
    fleet.start(remote_env={"PATH": f"{folder}:/usr/bin:/bin", "FAKE_SMI_LOG": log},
                **devices_by_alias)
    ports = fleet.sshd.ports

    def calls():
        """(alias, arguments) of every remote nvidia-smi run."""
        by_port = {str(p): name for name, p in ports.items()}
        lines = log.read_text().splitlines() if log.exists() else []
        return sorted((by_port[line.split(" ", 1)[0]], line.split(" ", 1)[1]) for line in lines)
    return calls


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="a reset needs root on the remote "
                                "side, which is this user here; run the tests as root (CI does)")


@needs_root
def test_reset_on_every_host_in_one_table_and_the_worst_code(fleet, victims, tmp_path):
    busy, = victims(1, "gpuctl-remote-busy")
    calls = reset_fleet(fleet, tmp_path, alpha=[used(0, 1)], beta=[used(0, 1), used(1, 2)],
                        gamma=[used(0, 1, [busy.pid])])
    rc, out, err = fleet.run(["--remote", "alpha,beta,gamma,closed", "reset", "--all"])
    assert rc == 3, err                         # gamma's GPU in use: 3; closed: 1
    rows = re.findall(r"^│ (\S+)\s+│\s+(\d+|-) │[^│]*│ (\S+)\s+│ (\S+)\s+│", out, re.M)
    assert sorted(rows) == sorted([("alpha", "0", "0000:18:00.0", "reset"),
                                   ("beta", "0", "0000:18:00.0", "reset"),
                                   ("beta", "1", "0000:28:00.0", "reset"),
                                   ("gamma", "-", "-", "failed"),
                                   ("closed", "-", "-", "unreachable")])
    gamma, = [line for line in out.splitlines() if line.startswith("│ gamma ")]
    assert "not resetting a GPU in use" in gamma
    assert calls() == [("alpha", "--gpu-reset -i 0000:18:00.0"),
                       ("beta", "--gpu-reset -i 0000:18:00.0"),
                       ("beta", "--gpu-reset -i 0000:28:00.0")]
    assert busy.poll() is None
    assert "gpuctl: 4 hosts: 2 ok, 1 failed, 1 unreachable" in err


@needs_root
def test_reset_json_and_force_through_ssh(fleet, victims, tmp_path):
    v, = victims(1, "gpuctl-remote-reset-victim")
    calls = reset_fleet(fleet, tmp_path, alpha=[used(0, 1), used(1, 1, [v.pid])],
                        beta=[used(0, 1), used(1, 1)])
    rc, out, err = fleet.run(["--remote", "alpha,beta", "reset", "--gpu", "1", "--force",
                              "--output", "json"])
    assert rc == 0, err
    assert v.wait(timeout=10) == -signal.SIGTERM
    doc = json.loads(out)
    assert doc["command"] == "reset"
    alpha, beta = doc["hosts"]
    assert (alpha["host"], alpha["status"], beta["status"]) == ("alpha", "ok", "ok")
    assert [p["pid"] for p in alpha["document"]["processes"]] == [v.pid]
    assert alpha["document"]["processes"][0]["result"] == "terminated"
    assert beta["document"]["processes"] == []
    for host in (alpha, beta):
        g, = host["document"]["gpus"]
        assert (g["gpu"], g["result"]) == (1, "reset")
        assert "was successfully reset." in g["output"]
    assert calls() == [("alpha", "--gpu-reset -i 0000:28:00.0"),
                       ("beta", "--gpu-reset -i 0000:28:00.0")]


def test_reset_usage_is_checked_before_any_connection(fleet):
    three_hosts(fleet)
    rc, out, err = fleet.run(["--remote", "alpha", "reset"])
    assert rc == 3 and "either --gpu or --all" in err
    rc, out, err = fleet.run(["--remote", "alpha", "reset", "--all", "--output", "csv"])
    assert rc == 3 and "--output csv is not supported with --remote" in err
    assert "hosts:" not in err


# ---- top on one host -----------------------------------------------------------------------


def remote_top(fleet, tmp_path, *args):
    """gpuctl --remote … top in a private tmux server (test_top.Top)."""
    from test_top import Top
    env = {**fleet.env(), "TERM": "screen-256color"}
    argv = [fleet.gpuctl_bin, "--remote-path", fleet.sshd.wrapper, *args]
    return Top(tmp_path, argv, env, width=160, height=40)


def test_top_on_a_remote_host_streams_its_frames_read_only(fleet, victims, tmp_path):
    v, w = victims(2, "gpuctl-remote-top")
    fleet.start(remote_env={"FAKE_NVML_RECHECK_MS": "0"}, alpha=[used(0, 30, [v.pid])],
                beta=[used(0, 1), used(1, 1)])
    t = remote_top(fleet, tmp_path, "--remote", "alpha", "top", "--interval", "0.5")
    try:
        t.wait(lambda s: "read-only" in s and t.table_pids(s) == [v.pid], "the host's process")
        # The host's next frames come through: a second process appears.
        fleet.set_devices("alpha", [used(0, 30, [v.pid, w.pid])])
        t.wait(lambda s: sorted(t.table_pids()) == sorted([v.pid, w.pid]), "the new process")
        t.keys("Down", "K", "y")
        t.wait_text("read-only mode: signals are disabled")
        assert v.poll() is None and w.poll() is None
        t.keys("e")                          # this machine's /proc is not the host's
        t.wait_text("runs on another host; its environment is not read from here")
        t.keys("q", "q")
        assert t.exit_code() == 0
    finally:
        t.kill()


def test_top_on_an_unreachable_host_says_why_in_the_monitor(fleet, tmp_path):
    three_hosts(fleet)
    t = remote_top(fleet, tmp_path, "--remote", "closed", "top")
    try:
        t.wait_text("closed: unreachable")
        t.keys("q")
        assert t.exit_code() == 0
    finally:
        t.kill()


def test_top_watches_one_host_and_refuses_once(fleet):
    three_hosts(fleet)
    rc, out, err = fleet.run(["--remote", "alpha,beta", "top"])
    assert rc == 3 and "top watches one host, not 2" in err
    rc, out, err = fleet.run(["--remote", "alpha", "top", "--once"])
    assert rc == 3 and "--once with --remote" in err
    rc, out, err = fleet.run(["--remote", "alpha", "top", "--interval", "x"])
    assert rc == 3 and "--interval" in err


# ---- select ------------------------------------------------------------------------------


def test_select_finds_free_gpus_on_each_host(fleet):
    three_hosts(fleet)
    rc, out, err = fleet.run(["--remote", "alpha,beta,gamma", "select", "--min-count", "2",
                              "--min-free-memory", "40GiB"])
    # alpha has one GPU, and it is full: that host is reported, the worst code wins.
    assert rc == 1
    assert out.splitlines() == ["beta: 0,1", "gamma: 0,2"]
    assert "alpha: not enough devices" in err


def test_select_count_and_uuid_format(fleet):
    three_hosts(fleet)
    rc, out, err = fleet.run(["--remote", "beta,gamma", "select", "-n", "1", "--format",
                              "uuid", "--max-memory-utilization", "50"])
    assert rc == 0, err
    lines = out.splitlines()
    assert [line.split(": ")[0] for line in lines] == ["beta", "gamma"]
    assert all(re.fullmatch(r"\S+: GPU-[0-9a-f-]+", line) for line in lines), out


def test_select_refuses_what_only_makes_sense_here(fleet):
    three_hosts(fleet)
    rc, out, err = fleet.run(["--remote", "beta", "select", "--", "true"])
    assert rc == 3 and "cannot be used with --remote" in err


# ---- audit --summary ---------------------------------------------------------------------


def test_audit_summaries_of_every_host_are_merged(fleet, victims):
    a, b = victims(2, "gpuctl-remote-audit")
    fleet.start(alpha=[used(0, 1, [a.pid])], beta=[used(0, 1, [b.pid]), used(1, 2)])
    for _ in range(2):                      # each list records a sample on its host
        rc, out, err = fleet.run(["--remote", "alpha,beta", "list"])
        assert rc == 0, err
    rc, out, err = fleet.run(["--remote", "alpha,beta", "audit", "--summary", "--output",
                              "json"])
    assert rc == 0, err
    doc = json.loads(out)
    parts = [h["document"] for h in doc["hosts"]]
    merged = doc["merged"]
    for key in ("samples", "process_rows", "gpu_rows"):
        assert merged[key] == sum(p[key] for p in parts) > 0, key
    user = fleet.sshd.user
    rows = [u["rows"] for p in parts for u in p["top_users"] if u["user"] == user]
    assert len(rows) == 2
    assert [u["rows"] for u in merged["top_users"] if u["user"] == user] == [sum(rows)]
    assert [(g["host"], g["gpu"]) for g in merged["gpus"]] == [("alpha", 0), ("beta", 0),
                                                               ("beta", 1)]
    rc, out, err = fleet.run(["--remote", "alpha,beta,closed", "audit", "--summary"])
    assert rc == 1
    assert "Top users" in out and re.search(r"^│ alpha\s+│\s+0 │", out, re.M)
    assert "closed: unreachable" in err


def test_rogue_scan_of_every_host_in_one_table(fleet, tmp_path):
    exe = tmp_path / "bin" / "xmrig"
    exe.parent.mkdir()
    shutil.copy(sys.executable, exe)
    miner = subprocess.Popen([str(exe), "-c", VICTIM, "--url",
                              "stratum+tcp://pool.example.org:3333", "--donate-level=1"],
                             stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert miner.stdout.readline() == b"ready\n"
        fleet.start(alpha=[used(0, 1)], beta=[used(0, 1, [miner.pid])])
        rc, out, err = fleet.run(["--remote", "alpha,beta,closed", "audit", "--rogue"])
        assert rc == 1
        row = [line for line in out.splitlines() if f" {miner.pid} " in line]
        assert len(row) == 1 and row[0].startswith("│ beta ")
        assert "crypto_miner" in row[0] and "critical" in row[0]
        assert f"gpuctl --remote beta kill --pid {miner.pid}" in out.replace("\n", "")
        assert re.search(r"^│ closed\s+│ unreachable", out, re.M)
        rc, out, err = fleet.run(["--remote", "alpha,beta", "audit", "--rogue", "--output",
                                  "json"])
        assert rc == 0, err
        alpha, beta = json.loads(out)["hosts"]
        assert alpha["document"]["findings"] == []
        assert {f["category"] for f in beta["document"]["findings"]} >= {"crypto_miner"}
    finally:
        miner.kill()
        miner.wait()


def test_audit_without_summary_is_refused_with_remote(fleet):
    three_hosts(fleet)
    rc, out, err = fleet.run(["--remote", "alpha", "audit"])
    assert rc == 3 and "audit takes --summary" in err


# ---- guard --test-policies, config show ----------------------------------------------------


def test_guard_test_policies_on_every_host(fleet, victims, gpuctl_bin, fake_lib):
    hog, = victims(1, "gpuctl-remote-hog")
    fleet.start(alpha=[used(0, 1)], beta=[used(0, 1, [hog.pid])])
    # The hosts share the remote HOME of the test sshd: one guard.toml for both.
    home = fleet.sshd.dir / "remote-home"
    subprocess.run([str(gpuctl_bin), "guard", "--enable", "--add-user", fleet.sshd.user,
                    "--memory-limit", "0.1"], check=True, capture_output=True,
                   env={"PATH": "/usr/bin:/bin", "HOME": str(home),
                        "XDG_CONFIG_HOME": str(home / "xdg"),
                        "GPUCTL_NVML_LIBRARY": str(fake_lib)})
    rc, out, err = fleet.run(["--remote", "alpha,beta", "guard", "--test-policies"])
    assert rc == 0, err
    assert "alpha: guard is enabled; mode soft (dry run); 0 violations" in out
    assert "beta: guard is enabled; mode soft (dry run); 1 violation" in out
    row, = [line for line in out.splitlines() if f" {hog.pid} " in line]
    assert row.startswith("│ beta ") and "memory_limit" in row
    assert hog.poll() is None                       # a test changes nothing
    rc, out, err = fleet.run(["--remote", "alpha", "guard", "--test-policies", "--enable"])
    assert rc == 3 and "not --enable" in err


def test_config_show_of_every_host(fleet):
    three_hosts(fleet)
    rc, out, err = fleet.run(["--remote", "alpha,closed", "config", "show"])
    assert rc == 1
    assert re.search(r"^alpha: .*config\.toml \(not found\)$", out, re.M)
    assert re.search(r"^│ alpha\s+│ output_format\s+│ json\s+│ flag\s+│$", out, re.M)
    assert re.search(r"^│ closed\s+│ unreachable", out, re.M)
    rc, out, err = fleet.run(["--remote", "alpha", "config", "show", "--output", "json"])
    assert rc == 0, err
    host, = json.loads(out)["hosts"]
    assert host["document"]["keys"]["log_level"]["value"] == "warn"


# ---- ssh's settings ------------------------------------------------------------------------


def recording_ssh(folder, log):
    """An `ssh` first on PATH that records its argv and environment, asks
    $SSH_ASKPASS the two questions ssh may ask when there is one, and then
    runs the real ssh."""
    folder.mkdir(exist_ok=True)
    real = shutil.which("ssh")
    script = folder / "ssh"
    script.write_text(f"""#!/bin/sh
{{
  printf 'ARGV'; for a in "$@"; do printf ' [%s]' "$a"; done; echo
  env | sed 's/^/ENV /'
  if [ -n "$SSH_ASKPASS" ]; then
    printf 'PASSWORD [%s]\\n' "$("$SSH_ASKPASS" "root@127.0.0.1's password: ")"
    "$SSH_ASKPASS" "Are you sure you want to continue connecting (yes/no)? " >/dev/null 2>&1
    echo "HOSTKEY rc=$?"
  fi
}} >> '{log}'
exec '{real}' "$@"
""")
    script.chmod(0o755)
    return f"{folder}:/usr/local/bin:/usr/bin:/bin"


def test_batch_mode_without_a_terminal_and_host_keys_always_checked(fleet, tmp_path):
    three_hosts(fleet)
    log = tmp_path / "ssh.log"
    path = recording_ssh(tmp_path / "bin", log)
    rc, out, err = fleet.run(["--remote", "alpha", "list"], path=path)
    assert rc == 0, err
    argv = [line for line in log.read_text().splitlines() if line.startswith("ARGV")][0]
    assert "[-oBatchMode=yes]" in argv and "[-T]" in argv
    assert "[-oControlMaster=auto]" in argv and "[-oConnectTimeout=10]" in argv
    assert "StrictHostKeyChecking" not in argv and "UserKnownHostsFile" not in argv
    rc, out, err = fleet.run(["--remote", "alpha", "--ssh-accept-new", "list"], path=path)
    assert "[-oStrictHostKeyChecking=accept-new]" in log.read_text()


def test_unknown_host_key_fails_at_once_without_a_terminal_until_accept_new(fleet):
    three_hosts(fleet)
    # No terminal (a new session): BatchMode, so ssh refuses instead of asking.
    rc, out, err = fleet.run(["--remote", "newkey", "list"])
    assert rc == 1
    assert "host key unknown" in out and "1 host_key_unknown" in err
    assert "newkey" not in fleet.sshd.known_hosts.read_text().replace("wrongkey", "")
    rc, out, err = fleet.run(["--remote", "newkey", "--ssh-accept-new", "list"])
    assert rc == 0, err
    assert host_rows(out) == [("newkey", "0")]
    assert any(line.startswith("newkey ") for line in
               fleet.sshd.known_hosts.read_text().splitlines())
    # accept-new never takes a changed key.
    rc, out, err = fleet.run(["--remote", "wrongkey", "--ssh-accept-new", "list"])
    assert rc == 1 and "host key changed" in out


def test_control_directory_is_private(fleet):
    three_hosts(fleet)
    rc, out, err = fleet.run(["--remote", "alpha", "list"])
    assert rc == 0, err
    control = pathlib.Path(fleet.runtime) / "gpuctl-ssh"
    assert control.stat().st_mode & 0o777 == 0o700
    control.chmod(0o755)
    rc, out, err = fleet.run(["--remote", "alpha", "list"])
    assert rc == 0, err
    assert "not sharing ssh connections" in err and "not 0700" in err


@pytest.fixture
def password_fleet(tmp_path, gpuctl_bin, fake_lib):
    why = why_sshd_cannot_run()
    if why:
        pytest.skip(why)
    f = Fleet(tmp_path, gpuctl_bin, fake_lib, password_auth=True)
    yield f
    f.stop()


def test_password_goes_through_askpass_never_argv_or_environment(password_fleet, tmp_path):
    """The hand-off is asserted, and sshd sees a real password attempt; the
    login itself cannot succeed: the test may not give any account here a
    known password (that would write outside its folder), so sshd refuses
    the password and the host's row says so."""
    fleet = password_fleet.start(alpha=[used(0, 1)])
    log = tmp_path / "ssh.log"
    path = recording_ssh(tmp_path / "bin", log)
    secret = "s3cr3t pass'word"
    rc, out, err = fleet.run(["--remote", "alpha", "--ssh-password", "list"], path=path,
                             input=(secret + "\n").encode())
    text = log.read_text()
    assert f"PASSWORD [{secret}]" in text
    assert "HOSTKEY rc=1" in text                    # a host-key question is not answered
    argv_env = "\n".join(line for line in text.splitlines() if not line.startswith("PASSWORD"))
    assert secret not in argv_env
    assert "ENV SSH_ASKPASS_REQUIRE=force" in text
    assert re.search(r"ENV GPUCTL_ASKPASS_FILE=/proc/\d+/fd/\d+", text)
    assert "[-oBatchMode=yes]" not in text and "[-oNumberOfPasswordPrompts=1]" in text
    assert "keys are safer" in err
    assert rc == 1 and "authentication failed" in out
    deadline = time.monotonic() + 60
    while "Failed password for" not in fleet.sshd.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Failed password for" in fleet.sshd.log.read_text()
