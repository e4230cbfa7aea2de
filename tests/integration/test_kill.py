"""`gpuctl kill` end to end: real processes that the fake NVML lists as GPU
processes, signalled by the real binary.

Each test starts its own processes, writes a scenario naming them, runs
gpuctl and then looks at the processes themselves: whether they are still
there is the verdict, not only what gpuctl says.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import MiB, device, python_sleeper_argv

STUBBORN = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(300)")


def gpu_scenario(*pids_per_gpu):
    """One H100 per argument, each listing those pids as compute processes."""
    return {"devices": [device(i, processes={"compute": [{"pid": p, "used_memory": 64 * MiB}
                                                         for p in pids]})
                        for i, pids in enumerate(pids_per_gpu)]}


def alive(pid):
    """True while pid runs; a zombie (ended, not yet reaped) counts as ended."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except FileNotFoundError:
        return False
    return text[text.rindex(")") + 2] != "Z"


def wait_gone(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return not alive(pid)


def free_pid():
    pid = 999999
    while os.path.exists(f"/proc/{pid}"):
        pid -= 1
    return pid


@pytest.fixture
def stubborn(tmp_path):
    """stubborn(n, tag) -> [Popen]: Python processes that ignore SIGTERM,
    returned once they do (they say so).  Killed at teardown."""
    started = []

    def start(n, tag="stubborn"):
        batch = []
        for i in range(n):
            p = subprocess.Popen([sys.executable, "-c", STUBBORN, f"{tag}-{i}"],
                                 stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            started.append(p)
            assert p.stdout.readline() == b"ready\n"
            batch.append(p)
        return batch

    yield start
    for p in started:
        p.kill()
        p.wait()
        p.stdout.close()


def kill_json(run, scenario, *args, env=None):
    r = run(["kill", "--output", "json", *args], scenario=scenario, env=env)
    doc = json.loads(r.out) if r.out else None
    return r, doc


# ---- ending processes -----------------------------------------------------------------------


def test_graceful_termination(run, spawn_procs):
    p, = spawn_procs(1)
    comm, started = p.comm, p.start_time_rfc3339()
    r, doc = kill_json(run, gpu_scenario([p.pid]), "--pid", p.pid)
    assert r.rc == 0, r.err
    assert r.err == ""
    assert p.popen.wait(timeout=10) == -signal.SIGTERM
    proc, = doc["processes"]
    assert proc["pid"] == p.pid
    assert proc["result"] == "terminated"
    assert proc["signals"] == ["SIGTERM"]
    assert proc["gpus"] == [0]
    assert proc["role"] == "target"
    assert proc["target_pid"] == p.pid
    assert proc["name"] == comm
    assert proc["cmdline"] == p.cmdline
    assert proc["start_time"] == started
    assert proc["reason"] is None
    assert isinstance(proc["ended_after_s"], float)
    assert doc["signal"] == "SIGTERM" and doc["force"] is False and doc["dry_run"] is False
    assert doc["timeout_secs"] == 5   # default_timeout_secs


def test_table_output_and_gpus(run, spawn_procs):
    a, b = spawn_procs(2)
    r = run(["kill", "--pid", f"{a.pid},{b.pid}"], scenario=gpu_scenario([a.pid], [a.pid, b.pid]))
    assert r.rc == 0, r.err
    rows = {int(line.split("│")[1]): line for line in r.out.splitlines()
            if line.startswith("│") and line.split("│")[1].strip().isdigit()}
    assert set(rows) == {a.pid, b.pid}
    assert "0,1" in rows[a.pid] and "terminated after" in rows[a.pid]
    assert a.popen.wait(timeout=10) == -signal.SIGTERM
    assert b.popen.wait(timeout=10) == -signal.SIGTERM


def test_signal_option(run, spawn_procs):
    p, = spawn_procs(1)
    r, doc = kill_json(run, gpu_scenario([p.pid]), "--pid", p.pid, "--signal", "INT")
    assert r.rc == 0, r.err
    assert doc["signal"] == "SIGINT"
    assert doc["processes"][0]["signals"] == ["SIGINT"]
    assert p.popen.wait(timeout=10) == -signal.SIGINT


def test_stubborn_process_survives_without_force(run, stubborn):
    p, = stubborn(1)
    r, doc = kill_json(run, gpu_scenario([p.pid]), "--pid", p.pid, "--timeout-secs", "1")
    assert r.rc == 1
    assert "did not end" in r.err and "--force" in r.err
    proc, = doc["processes"]
    assert proc["result"] == "still_running"
    assert proc["signals"] == ["SIGTERM"]
    assert proc["ended_after_s"] is None
    assert alive(p.pid)


def test_force_escalates_to_sigkill(run, stubborn):
    p, = stubborn(1)
    r, doc = kill_json(run, gpu_scenario([p.pid]), "--pid", p.pid, "--timeout-secs", "1",
                       "--force")
    assert r.rc == 0, r.err
    proc, = doc["processes"]
    assert proc["result"] == "killed"
    assert proc["signals"] == ["SIGTERM", "SIGKILL"]
    assert proc["ended_after_s"] >= 1.0
    assert p.wait(timeout=10) == -signal.SIGKILL


# ---- --filter and --batch ----------------------------------------------------------------------


def test_filter_without_batch_lists_and_changes_nothing(run, stubborn, spawn_procs):
    procs = stubborn(2, tag="batchme")
    other, = spawn_procs(1)
    scen = gpu_scenario([p.pid for p in procs] + [other.pid])
    r = run(["kill", "--filter", "batchme"], scenario=scen)
    assert r.rc == 3
    assert "matches 2 processes" in r.err and "--batch" in r.err
    for p in procs:
        assert str(p.pid) in r.out
    assert str(other.pid) not in r.out
    r, doc = kill_json(run, scen, "--filter", "batchme")
    assert r.rc == 3
    assert doc["batch_needed"] is True
    assert [p["result"] for p in doc["processes"]] == ["matched", "matched"]
    assert all(alive(p.pid) for p in procs) and alive(other.pid)


def test_batch_waits_for_all_at_once(run, stubborn):
    """Several processes that ignore SIGTERM cost one timeout, not one each."""
    procs = stubborn(4, tag="parallel")
    scen = gpu_scenario([p.pid for p in procs])
    timeout = 2
    start = time.monotonic()
    r, doc = kill_json(run, scen, "--filter", r"parallel-\d", "--batch", "--timeout-secs",
                       timeout)
    took = time.monotonic() - start
    assert r.rc == 1
    assert [p["result"] for p in doc["processes"]] == ["still_running"] * 4
    # one after another would take at least 4 timeouts; the rest is slack for a loaded machine
    assert took < 4 * timeout - 1, f"{took:.1f} s for 4 processes: not waited on in parallel"
    assert all(alive(p.pid) for p in procs)

    start = time.monotonic()
    r, doc = kill_json(run, scen, "--filter", r"parallel-\d", "--batch", "--timeout-secs", 1,
                       "--force")
    took = time.monotonic() - start
    assert r.rc == 0, r.err
    assert [p["result"] for p in doc["processes"]] == ["killed"] * 4
    assert took < 4 * 1 - 0.5, f"{took:.1f} s: escalation was not in parallel"
    for p in procs:
        assert p.wait(timeout=10) == -signal.SIGKILL


def test_filter_matching_nothing(run, spawn_procs):
    p, = spawn_procs(1)
    r = run(["kill", "--filter", "no-such-thing", "--batch"], scenario=gpu_scenario([p.pid]))
    assert r.rc == 1
    assert "no GPU process matches 'no-such-thing'" in r.err
    assert alive(p.pid)


def test_filter_matching_only_exited_processes(run):
    """A zombie is still listed by the GPU but has ended: nothing to signal."""
    p = subprocess.Popen(["/bin/sh", "-c", "exit 0"])
    try:
        deadline = time.monotonic() + 10
        while alive(p.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        r = run(["kill", "--filter", "^sh$", "--batch"], scenario=gpu_scenario([p.pid]))
        assert r.rc == 1
        assert "the 1 GPU process matching '^sh$' has exited" in r.err
    finally:
        p.wait()


def test_filter_only_chooses_gpu_processes(run, spawn_procs):
    on_gpu, off_gpu = spawn_procs(2)
    r, doc = kill_json(run, gpu_scenario([on_gpu.pid]), "--filter", "gpuctl-test", "--batch")
    assert r.rc == 0, r.err
    assert [p["pid"] for p in doc["processes"]] == [on_gpu.pid]
    assert on_gpu.popen.wait(timeout=10) == -signal.SIGTERM
    assert alive(off_gpu.pid)


# ---- --tree and --group --------------------------------------------------------------------------


def children_of(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


@pytest.fixture
def launcher():
    """launcher(new_group) -> (Popen, [child pids]): a shell with two
    sleeping children, as a job launcher with its workers."""
    started = []

    def start(new_group=False):
        # After `wait` the shell stays (as a sleep): when the children die
        # first it must not exit 0 before its own signal arrives.
        p = subprocess.Popen(["/bin/sh", "-c",
                              "sleep 300 & sleep 300 & echo up; wait; exec sleep 300"],
                             stdout=subprocess.PIPE, start_new_session=new_group)
        started.append(p)
        assert p.stdout.readline() == b"up\n"
        deadline = time.monotonic() + 10
        while len(children_of(p.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        kids = children_of(p.pid)
        assert len(kids) == 2
        started.extend(kids)
        return p, kids

    yield start
    for item in started:
        try:
            if isinstance(item, int):
                os.kill(item, signal.SIGKILL)
            else:
                item.kill()
                item.wait()
                item.stdout.close()
        except ProcessLookupError:
            pass


def test_tree_ends_descendants_children_first(run, launcher):
    sh, kids = launcher()
    r, doc = kill_json(run, gpu_scenario([sh.pid]), "--pid", sh.pid, "--tree")
    assert r.rc == 0, r.err
    procs = doc["processes"]
    assert [p["pid"] for p in procs[:2]] == sorted(kids)   # children first
    assert procs[2]["pid"] == sh.pid
    assert [p["role"] for p in procs] == ["descendant", "descendant", "target"]
    assert all(p["target_pid"] == sh.pid for p in procs)
    assert all(p["result"] == "terminated" for p in procs)
    assert procs[0]["gpus"] == []          # not on a GPU, ended all the same
    assert sh.wait(timeout=10) != 0
    for k in kids:
        assert wait_gone(k)


def test_without_tree_children_stay(run, launcher):
    sh, kids = launcher()
    r, doc = kill_json(run, gpu_scenario([sh.pid]), "--pid", sh.pid)
    assert r.rc == 0, r.err
    assert [p["pid"] for p in doc["processes"]] == [sh.pid]
    sh.wait(timeout=10)
    assert all(alive(k) for k in kids)


def test_group_ends_the_process_group(run, launcher):
    sh, kids = launcher(new_group=True)
    r, doc = kill_json(run, gpu_scenario([sh.pid]), "--pid", sh.pid, "--group")
    assert r.rc == 0, r.err
    roles = {p["pid"]: p["role"] for p in doc["processes"]}
    assert roles == {sh.pid: "target", kids[0]: "group", kids[1]: "group"}
    assert doc["group"] is True and doc["tree"] is False
    sh.wait(timeout=10)
    for k in kids:
        assert wait_gone(k)


def test_group_containing_gpuctl_is_refused(run, spawn_procs):
    """gpuctl runs in the test's process group; so does a plain child."""
    p, = spawn_procs(1)
    r = run(["kill", "--pid", p.pid, "--group"], scenario=gpu_scenario([p.pid]))
    assert r.rc == 3
    assert "it is gpuctl itself" in r.err
    assert "in the process group of target" in r.err
    assert "nothing was signalled" in r.err
    assert alive(p.pid)


# ---- refusals --------------------------------------------------------------------------------------


def test_pid_1_is_refused(run):
    r = run(["kill", "--pid", "1"], scenario=gpu_scenario([1]))
    assert r.rc == 3
    assert "refusing to signal process 1" in r.err and "init process" in r.err
    assert r.out == ""


def test_pid_1_off_the_gpu_is_refused_without_suggesting_force(run):
    r = run(["kill", "--pid", "1"], scenario=gpu_scenario([]))
    assert r.rc == 3
    assert "init process" in r.err and "--force" not in r.err, r.err
    r = run(["kill", "--pid", "1", "--force"], scenario=gpu_scenario([]))
    assert r.rc == 3 and "init process" in r.err and "--force" not in r.err, r.err


def test_dry_run_of_sigkill_does_not_deny_sigkill(run, spawn_procs):
    p, = spawn_procs(1)
    r = run(["kill", "--pid", p.pid, "--signal", "KILL", "--dry-run"], scenario=gpu_scenario([p.pid]))
    assert r.rc == 0, r.err
    first = r.out.splitlines()[0]
    assert first.startswith("Dry run: would send SIGKILL to 1 process") and "no SIGKILL" not in first
    r = run(["kill", "--pid", p.pid, "--dry-run"], scenario=gpu_scenario([p.pid]))
    assert "without --force, no SIGKILL after it" in r.out.splitlines()[0]


def test_kernel_thread_is_refused(run):
    with open("/proc/2/stat") as f:
        flags = int(f.read().rsplit(")", 1)[1].split()[6])
    if not flags & 0x00200000:
        pytest.skip("pid 2 is not a kernel thread here (a container's pid namespace)")
    r = run(["kill", "--pid", "2", "--force"], scenario=gpu_scenario([2]))
    assert r.rc == 3
    assert "kernel thread" in r.err


def test_self_is_refused(gpuctl_bin, gpuctl_env, scenario):
    """`exec` makes the shell's pid gpuctl's own."""
    env = gpuctl_env(scenario(gpu_scenario([])))
    p = subprocess.run(["/bin/sh", "-c", 'exec "$0" kill --force --pid $$', str(gpuctl_bin)],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 3, p.stderr
    assert "it is gpuctl itself" in p.stderr


def test_parent_is_refused(gpuctl_bin, gpuctl_env, scenario):
    env = gpuctl_env(scenario(gpu_scenario([])))
    p = subprocess.run(["/bin/sh", "-c", '"$0" kill --force --pid $$; exit $?', str(gpuctl_bin)],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 3, p.stderr
    assert "it is gpuctl's parent" in p.stderr


def test_not_on_a_gpu_is_refused_unless_forced(run, spawn_procs):
    p, = spawn_procs(1)
    other, = spawn_procs(1)
    r = run(["kill", "--pid", p.pid], scenario=gpu_scenario([other.pid]))
    assert r.rc == 3
    assert f"process {p.pid} ({p.comm}) is not using a GPU" in r.err
    assert "--force" in r.err
    assert alive(p.pid)
    r, doc = kill_json(run, gpu_scenario([other.pid]), "--pid", p.pid, "--force")
    assert r.rc == 0, r.err
    assert doc["processes"][0]["gpus"] == []
    assert p.popen.wait(timeout=10) == -signal.SIGTERM


def test_one_refusal_stops_everything(run, spawn_procs):
    ok, off = spawn_procs(2)
    r = run(["kill", "--pid", ok.pid, off.pid], scenario=gpu_scenario([ok.pid]))
    assert r.rc == 3
    assert f"process {off.pid}" in r.err
    assert alive(ok.pid) and alive(off.pid)


def test_nonexistent_pid(run, spawn_procs):
    pid = free_pid()
    r = run(["kill", "--pid", pid], scenario=gpu_scenario([pid]))
    assert r.rc == 1
    assert f"no process with pid {pid}" in r.err


def test_other_users_process_exit_4(unprivileged, spawn_procs, self_user):
    """Run as nobody, gpuctl may not signal the test's own (root's) process."""
    p, = spawn_procs(1)
    r = unprivileged.run(["kill", "--pid", p.pid], gpu_scenario([p.pid]))
    assert r.rc == 4, r
    assert f"process {p.pid} ({p.comm}) owned by user {self_user}" in r.err
    assert "permission denied" in r.err
    assert alive(p.pid)
    r = unprivileged.run(["kill", "--filter", "gpuctl-test", "--batch", "--force"],
                         gpu_scenario([p.pid]))
    assert r.rc == 4, r
    assert alive(p.pid)


def test_no_gpu_source(run, spawn_procs):
    p, = spawn_procs(1)
    broken = {"init_error": "DRIVER_NOT_LOADED"}
    r = run(["kill", "--pid", p.pid], scenario=broken)
    assert r.rc == 2
    assert "cannot tell whether the processes use a GPU" in r.err and "--force" in r.err
    assert alive(p.pid)
    r = run(["kill", "--filter", "gpuctl", "--batch", "--force"], scenario=broken)
    assert r.rc == 2
    assert alive(p.pid)
    r = run(["kill", "--pid", p.pid, "--force"], scenario=broken)
    assert r.rc == 0, r.err
    assert p.popen.wait(timeout=10) == -signal.SIGTERM


# ---- --dry-run ----------------------------------------------------------------------------------------


def test_dry_run_changes_nothing(run, stubborn, launcher):
    p, = stubborn(1)
    sh, kids = launcher()
    scen = gpu_scenario([p.pid, sh.pid])
    r = run(["kill", "--pid", p.pid, sh.pid, "--tree", "--force", "--dry-run"], scenario=scen)
    assert r.rc == 0, r.err
    assert r.out.startswith("Dry run: would send SIGTERM to 4 processes")
    assert "SIGKILL" in r.out.splitlines()[0]
    r, doc = kill_json(run, scen, "--pid", p.pid, sh.pid, "--tree", "--dry-run")
    assert r.rc == 0, r.err
    assert doc["dry_run"] is True
    assert len(doc["processes"]) == 4
    assert {x["result"] for x in doc["processes"]} == {"would_signal"}
    assert all(x["signals"] == [] for x in doc["processes"])
    time.sleep(0.2)
    assert alive(p.pid) and alive(sh.pid) and all(alive(k) for k in kids)


def test_dry_run_still_refuses(run, spawn_procs):
    p, = spawn_procs(1)
    r = run(["kill", "--pid", p.pid, "--dry-run"], scenario=gpu_scenario([]))
    assert r.rc == 3
    assert "not using a GPU" in r.err


# ---- usage ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, words", [
    ([], "either --pid or --filter"),
    (["--pid", "1", "--filter", "x"], "either --pid or --filter"),
    (["--pid"], "needs at least one value"),
    (["--pid", "abc"], "'abc' is not a process id"),
    (["--pid", "0"], "'0' is not a process id"),
    (["--filter", "("], "invalid pattern"),
    (["--pid", "5", "--signal", "NOPE"], "not a signal name"),
    (["--pid", "5", "--signal", "0"], "not a signal name"),
    (["--pid", "5", "--timeout-secs", "0"], "--timeout-secs"),
    (["--pid", "5", "--timeout-secs", "soon"], "--timeout-secs"),
    (["--pid", "5", "--output", "csv"], "not supported by kill"),
    (["--pid", "5", "--frob"], "unknown option '--frob'"),
    (["--pid", "5", "--signal"], "needs a value"),
])
def test_bad_usage(run, args, words):
    r = run(["kill", *args], scenario=gpu_scenario([]))
    assert r.rc == 3, r
    assert words in r.err
    assert r.out == ""


def test_help(run):
    r = run(["kill", "--help"])
    assert r.rc == 0
    assert r.out.startswith("usage: gpuctl kill")
    assert run(["help", "kill"]).out == r.out


def test_filter_that_pcre2_gives_up_on_is_not_reported_as_no_match(run, spawn_procs):
    """(a+)+$ against a long run of a's ending in b backtracks past PCRE2's
    match limit: that is said (and nothing is signalled), not "no GPU
    process matches"."""
    p, = spawn_procs(1, argv=python_sleeper_argv("a" * 40 + "b"))
    r = run(["kill", "--filter", "(a+)+$"], scenario=gpu_scenario([p.pid]))
    assert r.rc == 3, r.err
    assert "could not be matched against every process" in r.err and "limit" in r.err, r.err
    assert "no GPU process matches" not in r.err
    assert p.popen.poll() is None
