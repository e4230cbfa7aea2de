"""`gpuctl run`: the real binary following real process trees built from
tests/workloads/memload.c, whose processes report their own peaks.

The truth each test compares with is what the kernel told the process
itself just before it exited (its VmHWM and ru_maxrss) and, for a worker,
what wait4 told its parent (ru_maxrss at exit).  gpuctl must never report
less than the largest of these by more than one page.  It may report more
only by the kernel's own counter slack: the RSS high-water mark behind
ru_maxrss, taskstats and VmHWM is kept from per-CPU batched counters
(mm_struct's rss_stat: file, anon and shmem pages), so two readings of
"the same" peak can differ by up to the batch (32 pages or 2 x CPUs,
whichever is more) per counter on each CPU.  See
docs/design.md, "gpuctl run: what is exact".
"""

import collections
import json
import os
import pathlib
import re
import signal
import subprocess
import time

import pytest

from conftest import FAKE_NVML_DIR, check_no_sanitizer_report, device, write_json_atomically

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
NCPU = os.cpu_count() or 1
# file, anon and shmem pages are three counters, each batched per CPU
COUNTER_SLACK_KIB = 3 * PAGE_KIB * max(32, 2 * NCPU) * NCPU
MEMLOAD = pathlib.Path(os.environ.get("MEMLOAD_BIN",
                                      FAKE_NVML_DIR.parent / "workloads" / "memload"))


@pytest.fixture
def memload():
    if not MEMLOAD.is_file():
        pytest.skip(f"the test workload is not built: {MEMLOAD} (run ninja -C build)")
    return str(MEMLOAD)


@pytest.fixture
def truth(tmp_path):
    """truth.env -> extra environment; truth.read() -> {pid: {role, hwm, maxrss}}."""

    class Truth:
        path = tmp_path / "memload-report.txt"
        env = {"MEMLOAD_REPORT": str(path)}

        def read(self):
            out = {}
            if not self.path.exists():
                return out
            for line in self.path.read_text().splitlines():
                fields = dict(kv.split("=", 1) for kv in line.split())
                pid = int(fields["pid"])
                if fields["role"] == "reaped":       # what the parent's wait4 said
                    out.setdefault(pid, {})["reaped"] = int(fields["maxrss_kib"])
                    continue
                out.setdefault(pid, {}).update(role=fields["role"], hwm=int(fields["hwm_kib"]),
                                               maxrss=int(fields["maxrss_kib"]))
            return out

    return Truth()


def run_job(run, args, env=None, timeout=120):
    r = run(["run", "--json", "--quiet", *args], env=env, timeout=timeout)
    doc = json.loads(r.out) if r.out.strip() else None
    return r, doc


def procs_by_pid(doc):
    return {p["pid"]: p for p in doc["processes"]}


def assert_exact(proc, truth_entry):
    """Within a page of the same kernel figure the process (or its parent)
    was given; within the kernel's counter slack of every other one
    (module docstring)."""
    got, source = proc["max_rss_kib"], proc["peak_source"]
    same = {"vmhwm": "hwm", "wait4": "maxrss", "taskstats": "reaped", "rss": None}[source]
    if source == "vmhwm":
        # sampled while it lived: at least what it saw at the end
        assert got >= truth_entry["hwm"] - PAGE_KIB, (proc, truth_entry)
    elif same in truth_entry:
        assert abs(got - truth_entry[same]) <= PAGE_KIB, (proc, truth_entry)
    figures = [truth_entry[k] for k in ("hwm", "maxrss", "reaped") if k in truth_entry]
    assert max(figures) - COUNTER_SLACK_KIB <= got <= max(figures) + COUNTER_SLACK_KIB, (
        proc, truth_entry)


NO_CGROUP = {"GPUCTL_RUN_NO_CGROUP": "yes"}
# The real /sys, where the job's cgroup is made (the default test tree is empty).
REAL_SYS = {"GPUCTL_SYS_ROOT": "/"}

# ---- exactness ------------------------------------------------------------------------


def test_alloc_exact_peak_and_memwatch_keys(run, memload, truth):
    r, doc = run_job(run, ["-i", "100", "--", memload, "alloc", "64", "700"], env=truth.env)
    assert r.rc == 0, r.err
    for key in ("command", "start_time", "end_time", "duration_seconds", "interval_ms",
                "max_total_rss_kib", "processes", "exit_code", "samples", "groups", "method"):
        assert key in doc
    assert doc["command"] == [memload, "alloc", "64", "700"]
    assert doc["interval_ms"] == 100
    assert doc["exit_code"] == 0
    (pid, t), = truth.read().items()
    p = procs_by_pid(doc)[pid]
    for key in ("pid", "ppid", "command", "max_rss_kib", "first_seen", "last_seen"):
        assert key in p
    assert p["ppid"] > 0
    assert p["command"] == "memload"
    assert p["first_seen"].endswith("Z") and p["last_seen"].endswith("Z")
    assert_exact(p, t)
    assert p["max_rss_kib"] >= 64 * 1024
    assert doc["max_total_rss_kib"] >= 64 * 1024


def test_fallback_method_is_sampled_and_never_below_a_process_peak(run, memload, truth):
    r, doc = run_job(run, ["-i", "100", "--", memload, "alloc", "48", "600"],
                     env={**truth.env, **NO_CGROUP})
    assert r.rc == 0, r.err
    assert doc["method"] == "sampled-rss"
    assert doc["exact"] is False
    assert "GPUCTL_RUN_NO_CGROUP" in doc["method_note"]
    (pid, t), = truth.read().items()
    p = procs_by_pid(doc)[pid]
    assert_exact(p, t)
    assert doc["max_total_rss_kib"] >= p["max_rss_kib"]
    assert doc["sampled_max_total_kib"] <= doc["max_total_rss_kib"]


def test_cgroup_method_when_the_host_allows_it(run, memload, truth):
    r, doc = run_job(run, ["-i", "200", "--", memload, "alloc", "64", "300"],
                     env={**truth.env, **REAL_SYS})
    assert r.rc == 0, r.err
    if doc["method"].startswith("sampled"):
        pytest.skip(f"no memory cgroup can be created here: {doc['method_note']}")
    assert doc["method"] in ("cgroup-v2-anon", "cgroup-v1-anon")
    assert doc["exact"] is False          # sampled: the kernel keeps no anon high-water mark
    # The cgroup counts every anonymous page charged to the job once: the
    # 64 MiB the job touched, plus its own small overhead, but not libraries
    # already in memory.
    assert 64 * 1024 <= doc["max_total_rss_kib"] <= 64 * 1024 + 16 * 1024
    assert doc["cgroup_peak_kib"] >= 64 * 1024
    # The job's cgroup is gone afterwards: none is left by a gpuctl that has
    # exited (another gpuctl may be running: its own is still there).
    found = {p for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory")
             if os.path.isdir(root) for p in pathlib.Path(root).rglob("gpuctl-run-*")}
    assert not [p for p in found if not os.path.exists(f"/proc/{p.name.rsplit('-', 1)[1]}")]


@pytest.mark.parametrize("env", [REAL_SYS, NO_CGROUP], ids=["cgroup", "sampled"])
def test_page_cache_is_not_ram_the_job_needed(run, tmp_path, env):
    # dd writes 200 MiB through the page cache with a 1 MiB buffer: the job
    # needed a few MiB, whatever the cache (and the cgroup's mark) holds
    big = tmp_path / "big"
    r, doc = run_job(run, ["--max-total-rss", "64M", "--", "dd", "if=/dev/zero", f"of={big}",
                           "bs=1M", "count=200"], env=env)
    assert r.rc == 0, r.err                # the limit did not fire
    assert doc["limit_exceeded"] is None
    assert doc["max_total_rss_kib"] < 32 * 1024
    if doc["method"].startswith("cgroup"):
        assert doc["cgroup_peak_kib"] >= doc["max_total_rss_kib"]
    else:
        assert doc["cgroup_peak_kib"] is None


@pytest.mark.parametrize("env", [REAL_SYS, NO_CGROUP], ids=["cgroup", "sampled"])
def test_total_is_never_below_a_process_peak(run, env):
    # /bin/true ends before the first sample: the total is still at least
    # what its one process held
    r, doc = run_job(run, ["--", "true"], env=env)
    assert r.rc == 0, r.err
    assert doc["max_process_rss_kib"] > 0
    assert doc["max_total_rss_kib"] >= doc["max_process_rss_kib"]


def test_cgroup_unavailable_is_detected_and_explained(run, memload, tmp_path):
    sysroot = tmp_path / "sysroot"
    cg = sysroot / "sys" / "fs" / "cgroup"
    cg.mkdir(parents=True)
    (cg / "cgroup.controllers").write_text("cpu io memory pids\n")
    (cg / "cgroup.subtree_control").write_text("cpu\n")
    r, doc = run_job(run, ["--", memload, "alloc", "1", "10"],
                     env={"GPUCTL_SYS_ROOT": str(sysroot)})
    assert r.rc == 0, r.err
    assert doc["method"] == "sampled-rss"
    assert "memory controller is not enabled" in doc["method_note"]
    assert "not mounted" in doc["method_note"]      # no v1 memory hierarchy either

    # memory enabled, but the made directory is no cgroup (no cgroup.procs,
    # no memory.peak): refused, and the directory is removed again.
    (cg / "cgroup.subtree_control").write_text("cpu memory\n")
    r, doc = run_job(run, ["--", memload, "alloc", "1", "10"],
                     env={"GPUCTL_SYS_ROOT": str(sysroot)})
    assert r.rc == 0, r.err
    assert doc["method"] == "sampled-rss"
    assert "has no cgroup.procs" in doc["method_note"]
    assert not list(cg.glob("gpuctl-run-*"))


def test_five_ms_child_allocating_200_mib(run, memload, truth):
    r, doc = run_job(run, ["-i", "500", "--", memload, "alloc", "200", "5"],
                     env={**truth.env, **NO_CGROUP})
    assert r.rc == 0, r.err
    (pid, t), = truth.read().items()
    p = procs_by_pid(doc)[pid]
    assert_exact(p, t)
    assert p["max_rss_kib"] >= 200 * 1024
    assert p["reaped_by_gpuctl"] is True
    # Even sampled, the total is never below what one process held.
    assert doc["max_total_rss_kib"] >= 200 * 1024


def test_short_lived_grandchildren_come_from_exit_records(run, memload, truth):
    """Two 5 ms grandchildren under a shell that waits for them: no sample
    can see them and gpuctl does not reap them; the kernel's exit records
    carry their peaks."""
    r, doc = run_job(run, ["-i", "5000", "--", "sh", "-c",
                           f"{memload} alloc 200 5; {memload} alloc 100 5; true"],
                     env={**truth.env, **NO_CGROUP})
    assert r.rc == 0, r.err
    if not doc["exit_records"]:
        pytest.skip(f"no taskstats exit records here: {doc['exit_records_note']}")
    reported = truth.read()
    assert len(reported) == 2
    procs = procs_by_pid(doc)
    shell = doc["processes"][0]
    for pid, t in reported.items():
        p = procs[pid]
        assert p["peak_source"] == "taskstats"
        assert p["ppid"] == shell["pid"]
        assert p["command"] == "memload"
        assert_exact(p, t)
    peaks = sorted(procs[pid]["max_rss_kib"] for pid in reported)
    assert peaks[0] >= 100 * 1024 and peaks[1] >= 200 * 1024
    assert doc["max_total_rss_kib"] >= 200 * 1024


def test_hundreds_of_short_lived_grandchildren_are_all_listed(run):
    # 400 shells, each with two /bin/true and a sleep that no sample sees:
    # all come from exit records, whose parents (the shells) ended long
    # before most of them were placed
    script = ('for i in $(seq 400); do (sh -c "/bin/true & /bin/true & sleep 0.3; wait") & '
              'done; wait')
    r, doc = run_job(run, ["-i", "2000", "--", "sh", "-c", script], timeout=180)
    assert r.rc == 0, r.err
    if not doc["exit_records"]:
        pytest.skip(f"no taskstats exit records here: {doc['exit_records_note']}")
    commands = collections.Counter(p["command"] for p in doc["processes"])
    pids = [p["pid"] for p in doc["processes"]]
    assert len(pids) == len(set(pids))
    if doc["exit_records_lost"]:
        pytest.skip("the kernel dropped exit records: the report says so")
    assert commands["true"] == 800 and commands["sleep"] == 400 and commands["sh"] == 401


def test_without_exit_records_a_reaped_parent_still_bounds_the_total(run, memload):
    # what an unprivileged gpuctl has: no exit records, no cgroup.  The
    # 5 ms child of the shell is never sampled; the shell's wait4 peak (its
    # own and its reaped child's) is the floor of the total, and the
    # summary says the figures are lower bounds
    r = run(["run", "--json", "-i", "5000", "--", "sh", "-c", f"{memload} alloc 64 5; true"],
            env={"GPUCTL_RUN_NO_TASKSTATS": "1", **NO_CGROUP})
    assert r.rc == 0, r.err
    doc = json.loads(r.out)
    assert doc["lower_bound"] is True
    assert doc["max_total_rss_kib"] >= 64 * 1024
    assert "lower bounds" in r.err and "GPUCTL_RUN_NO_TASKSTATS" in r.err
    r, doc = run_job(run, ["--", "true"])
    if doc["exit_records"]:
        assert doc["lower_bound"] is False


def test_without_exit_records(run, memload, truth):
    r, doc = run_job(run, ["-i", "100", "--", memload, "alloc", "16", "300"],
                     env={**truth.env, "GPUCTL_RUN_NO_TASKSTATS": "1"})
    assert r.rc == 0, r.err
    assert doc["exit_records"] is False
    assert "GPUCTL_RUN_NO_TASKSTATS" in doc["exit_records_note"]
    (pid, t), = truth.read().items()
    assert_exact(procs_by_pid(doc)[pid], t)


def test_spike_shorter_than_the_interval(run, memload, truth):
    r, doc = run_job(run, ["-i", "1000", "--", memload, "spike", "150", "5", "1500"],
                     env={**truth.env, **NO_CGROUP})
    assert r.rc == 0, r.err
    (pid, t), = truth.read().items()
    p = procs_by_pid(doc)[pid]
    assert_exact(p, t)
    assert p["max_rss_kib"] >= 150 * 1024
    assert doc["max_total_rss_kib"] >= 150 * 1024


FORK_THEN_SLEEP = """
import os, sys, time
kids = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    kids.append(pid)
print(*kids, flush=True, file=sys.stderr)
time.sleep(float(sys.argv[1]))
if sys.argv[2] == "reap":
    for _ in kids:
        os.wait()
    time.sleep(0.5)
"""


def test_a_child_that_lingers_as_a_zombie_is_listed_once(run):
    # the children exit while their parent sleeps: known first from their
    # exit records, then found by the walk as zombies, then reaped by gpuctl
    # once the parent has gone
    r, doc = run_job(run, ["-i", "100", "--", "/usr/bin/python3", "-c", FORK_THEN_SLEEP, "1",
                           "leave"])
    assert r.rc == 0, r.err
    kids = [int(pid) for pid in r.err.split()]
    pids = [p["pid"] for p in doc["processes"]]
    assert len(pids) == len(set(pids))
    procs = procs_by_pid(doc)
    assert all(procs[kid]["reaped_by_gpuctl"] for kid in kids)
    assert doc["groups"][0]["process_count"] <= 4


def test_a_peak_never_read_is_null(run):
    # without exit records, a child seen only as a zombie and reaped by its
    # own parent has no peak gpuctl could read: unknown, not 0
    r, doc = run_job(run, ["-i", "100", "--", "/usr/bin/python3", "-c", FORK_THEN_SLEEP, "0.5",
                           "reap"], env={"GPUCTL_RUN_NO_TASKSTATS": "1"})
    assert r.rc == 0, r.err
    procs = procs_by_pid(doc)
    kids = [procs[int(pid)] for pid in r.err.split() if int(pid) in procs]
    assert kids, "no sample saw the zombies"
    for kid in kids:
        if kid["peak_source"] == "none":
            assert kid["max_rss_kib"] is None
        else:
            assert kid["max_rss_kib"] > 0


def test_workers_each_with_a_known_peak(run, memload, truth):
    r, doc = run_job(run, ["-i", "100", "--", memload, "workers", "4", "8", "1500"],
                     env=truth.env)
    assert r.rc == 0, r.err
    reported = truth.read()
    assert len(reported) == 5
    assert all("reaped" in t for t in reported.values() if t["role"] == "worker")
    procs = procs_by_pid(doc)
    workers = [pid for pid, t in reported.items() if t["role"] == "worker"]
    peaks = sorted(procs[pid]["max_rss_kib"] for pid in workers)
    for pid in workers:
        assert_exact(procs[pid], reported[pid])
    for i, peak in enumerate(peaks):
        assert (i + 1) * 8 * 1024 <= peak <= (i + 1) * 8 * 1024 + 4 * 1024
    parent = next(pid for pid, t in reported.items() if t["role"] == "parent")
    assert all(procs[pid]["ppid"] == parent for pid in workers)
    group = next(g for g in doc["groups"] if g["name"] == "memload")
    assert group["process_count"] == 5
    assert group["total_peak_kib"] == sum(procs[pid]["max_rss_kib"] for pid in reported)


def test_double_forked_daemon_stays_in_the_tree(run, memload, truth):
    start = time.monotonic()
    r, doc = run_job(run, ["-i", "100", "--", memload, "daemon", "32", "1500"], env=truth.env)
    assert r.rc == 0, r.err
    assert time.monotonic() - start >= 1.5          # gpuctl waited for the daemon
    reported = truth.read()
    daemon = next(pid for pid, t in reported.items() if t["role"] == "daemon")
    p = procs_by_pid(doc)[daemon]
    assert p["reaped_by_gpuctl"] is True            # it was re-parented to gpuctl
    assert_exact(p, reported[daemon])
    assert p["max_rss_kib"] >= 32 * 1024


def test_exec_changes_the_name_at_the_peak(run, memload, truth):
    r, doc = run_job(run, ["-i", "100", "--", memload, "exec", "20", "60", "600"], env=truth.env)
    assert r.rc == 0, r.err
    (pid, t), = truth.read().items()
    p = procs_by_pid(doc)[pid]
    assert p["command"] == "exe"
    assert p["cmdline"].startswith("exe-phase exec")
    assert p["max_rss_kib"] >= 60 * 1024
    assert_exact(p, t)


# ---- exit status -------------------------------------------------------------------------


def test_exit_codes(run, memload):
    r, doc = run_job(run, ["--", memload, "exit", "7"])
    assert r.rc == 7 and doc["exit_code"] == 7 and doc["signal"] is None
    r, doc = run_job(run, ["--", memload, "signal", "4", str(int(signal.SIGUSR1))])
    assert r.rc == 128 + signal.SIGUSR1
    assert doc["exit_code"] == 128 + signal.SIGUSR1
    assert doc["signal"] == signal.SIGUSR1


def test_command_not_found_and_bad_arguments(run):
    r = run(["run", "--", "/nonexistent/gpuctl-test-command"])
    assert r.rc == 127
    assert "/nonexistent/gpuctl-test-command" in r.err
    assert run(["run"]).rc == 3
    assert run(["run", "--max-total-rss", "lots", "--", "true"]).rc == 3
    assert run(["run", "--group-by", "colour", "--", "true"]).rc == 3
    assert run(["run", "-i", "0", "--", "true"]).rc == 3
    assert run(["run", "--kill-on-limit", "--", "true"]).rc == 3
    assert run(["run", "--bogus", "--", "true"]).rc == 3
    r = run(["run", "--", "true"], env={"GPUCTL_RUN_NO_CGROUP": "maybe"})
    assert r.rc == 1 and "GPUCTL_RUN_NO_CGROUP" in r.err


def test_total_limit_exits_10(run, memload):
    r, doc = run_job(run, ["-i", "100", "--max-total-rss", "32M", "--", memload, "alloc", "64",
                           "400"])
    assert r.rc == 10, r.err
    lim = doc["limit_exceeded"]
    assert lim["kind"] == "max-total-rss" and lim["exit_code"] == 10
    assert lim["limit_kib"] == 32 * 1024 and lim["value_kib"] > 32 * 1024
    assert lim["killed"] is False
    assert doc["exit_code"] == 0          # the job's own status is still reported


def test_per_process_limit_exits_11_and_names_the_process(run, memload, truth):
    r, doc = run_job(run, ["-i", "100", "--max-per-proc-rss", "16MiB", "--", memload, "workers",
                           "2", "12", "600"], env=truth.env)
    assert r.rc == 11, r.err
    lim = doc["limit_exceeded"]
    assert lim["kind"] == "max-per-proc-rss"
    big = next(pid for pid, t in truth.read().items() if t["role"] == "worker" and
               t["hwm"] > 16 * 1024)
    assert lim["pid"] == big
    assert lim["command"] == "memload"


@pytest.mark.parametrize("limit", ["--max-per-proc-rss", "--max-total-rss"])
def test_kill_on_limit_kills_a_double_forked_daemon(run, memload, limit):
    # the daemon crosses the limit the moment gpuctl first sees it, after
    # its launcher has gone: it is killed, not left to run its 20 s
    start = time.monotonic()
    r, doc = run_job(run, ["-i", "100", limit, "16M", "--kill-on-limit", "--", memload,
                           "daemon", "32", "20000"])
    assert r.rc in (10, 11), r.err
    assert time.monotonic() - start < 15
    assert doc["limit_exceeded"]["killed"] is True
    daemon = max(doc["processes"], key=lambda p: p["max_rss_kib"] or 0)
    assert daemon["reaped_by_gpuctl"] is True
    assert daemon["exit_code"] == 128 + signal.SIGKILL


def test_kill_on_limit_ends_the_job(run, memload):
    start = time.monotonic()
    r, doc = run_job(run, ["-i", "100", "--max-total-rss", "32M", "--kill-on-limit", "--", memload,
                           "alloc", "64", "60000"])
    assert r.rc == 10, r.err
    assert time.monotonic() - start < 50
    assert doc["limit_exceeded"]["killed"] is True
    assert doc["signal"] == signal.SIGKILL


def wait_for_child(pid, timeout=30):
    """The first child pid of pid, polling its children files."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = pathlib.Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            if text:
                return int(text[0])
        time.sleep(0.02)
    raise TimeoutError(f"process {pid} started no child")


def wait_for_comm(pid, comm, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pathlib.Path(f"/proc/{pid}/comm").read_text().strip() == comm:
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"process {pid} never became {comm}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_is_forwarded_and_the_report_still_written(gpuctl_bin, gpuctl_env, memload,
                                                          tmp_path, sig):
    csv_path = tmp_path / "procs.csv"
    proc = subprocess.Popen([str(gpuctl_bin), "run", "--json", "--csv", str(csv_path), "-i", "100",
                             "--", memload, "alloc", "16", "60000"],
                            env=gpuctl_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        child = wait_for_child(proc.pid)
        wait_for_comm(child, "memload")
        time.sleep(0.3)       # let a sample or two see it; not needed for correctness
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = err.decode()
    check_no_sanitizer_report(err)
    assert proc.returncode == 128 + sig, err
    doc = json.loads(out)
    assert doc["forwarded_signal"] == sig
    assert doc["signal"] == sig
    assert doc["exit_code"] == 128 + sig
    assert child in procs_by_pid(doc)
    assert f"{child}," in csv_path.read_text()
    assert "passed on to the job" in err


# ---- outputs -----------------------------------------------------------------------------------


def test_output_files_are_replaced_whole(gpuctl_bin, gpuctl_env, run, memload, tmp_path):
    # written beside and renamed at the end: while the job runs, and when it
    # cannot start at all, the old files are still there whole
    (tmp_path / "out").mkdir()
    outs = {name: tmp_path / "out" / name for name in ("p.csv", "t.csv", "r.html")}
    for path in outs.values():
        path.write_text("old report\n")
    args = ["--csv", outs["p.csv"], "--timeline", outs["t.csv"], "--html", outs["r.html"]]
    r = run(["run", *args, "--", "/nonexistent/gpuctl-test-command"])
    assert r.rc == 127
    assert all(p.read_text() == "old report\n" for p in outs.values())
    proc = subprocess.Popen([str(gpuctl_bin), "run", "--quiet", *map(str, args), "-i", "100", "--",
                             memload, "alloc", "4", "1500"],
                            env=gpuctl_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_comm(wait_for_child(proc.pid), "memload")
        assert all(p.read_text() == "old report\n" for p in outs.values())
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert outs["p.csv"].read_text().startswith("pid,ppid,command")
    assert outs["t.csv"].read_text().startswith("timestamp,")
    assert "</html>" in outs["r.html"].read_text()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(outs)


def test_csv_and_timeline(run, memload, tmp_path, truth):
    csv_path, tl_path = tmp_path / "p.csv", tmp_path / "t.csv"
    # the workers hold 1.5 s: a loaded ASan run still takes samples that see all three
    r, doc = run_job(run, ["-i", "100", "--csv", csv_path, "--timeline", tl_path, "--", memload,
                           "workers", "2", "4", "1500"], env=truth.env)
    assert r.rc == 0, r.err
    rows = csv_path.read_bytes().decode().split("\r\n")
    assert rows[0] == "pid,ppid,command,max_rss_kib,max_rss_mib,first_seen,last_seen"
    body = [row.split(",") for row in rows[1:] if row]
    assert len(body) == len(doc["processes"]) == 3
    for fields, p in zip(body, doc["processes"]):
        assert int(fields[0]) == p["pid"] and int(fields[3]) == p["max_rss_kib"]
        assert fields[4] == f"{p['max_rss_kib'] / 1024:.2f}"
        assert fields[5] == p["first_seen"]
    lines = tl_path.read_bytes().decode().split("\r\n")
    assert lines[0] == "timestamp,elapsed_seconds,total_rss_kib,total_rss_mib,process_count"
    samples = [line.split(",") for line in lines[1:] if line]
    assert len(samples) == doc["samples"] >= 3
    assert max(int(s[2]) for s in samples) == doc["sampled_max_total_kib"]
    assert max(int(s[4]) for s in samples) == 3
    elapsed = [float(s[1]) for s in samples]
    assert elapsed == sorted(elapsed)
    # at -i 100 the timestamps carry milliseconds, so a plot is not a staircase
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", s[0]) for s in samples), samples
    assert len({s[0] for s in samples}) == len(samples)


def test_human_summary_on_stderr(run, memload):
    r = run(["run", "-i", "100", "--", memload, "alloc", "8", "300"], env=NO_CGROUP)
    assert r.rc == 0
    assert r.out == ""
    assert "Max total RSS:" in r.err and "sampled" in r.err
    assert "Max per process:" in r.err
    assert "Per-process peak RSS:" in r.err and "Groups (by command):" in r.err
    q = run(["run", "--quiet", "--", memload, "exit", "0"])
    assert q.rc == 0 and q.err == "" and q.out == ""


def test_group_by(run, memload):
    r, doc = run_job(run, ["--group-by", "ppid", "-i", "100", "--", memload, "workers", "3", "1",
                           "400"])
    assert r.rc == 0
    assert doc["group_by"] == "ppid"
    parent = doc["processes"][0]["pid"]
    assert {"name": str(parent)}.items() <= next(g for g in doc["groups"]
                                                 if g["name"] == str(parent)).items()
    assert next(g for g in doc["groups"] if g["name"] == str(parent))["process_count"] == 3
    r, doc = run_job(run, ["--group-by", "exe", "--", memload, "alloc", "1", "300"])
    assert doc["groups"][0]["name"] == os.path.realpath(memload)


def test_pss(run, memload, truth):
    r, doc = run_job(run, ["--pss", "-i", "100", "--", memload, "alloc", "32", "600"],
                     env={**truth.env, **NO_CGROUP})
    assert r.rc == 0, r.err
    assert doc["method"] == "sampled-pss" and doc["pss"] is True
    (pid, t), = truth.read().items()
    p = procs_by_pid(doc)[pid]
    assert p["peak_source"] == "sampled-pss"
    # Private pages count whole, shared ones in part: PSS <= RSS peak.
    assert 32 * 1024 <= p["max_rss_kib"] <= t["hwm"]


def test_leak_heuristic(run, memload):
    args = ["--leak-min-growth", "50", "--leak-min-duration", "0.5", "-i", "50", "--"]
    r, doc = run_job(run, [*args, memload, "grow", "4", "16", "80"])
    assert r.rc == 0
    (p,) = doc["processes"]
    assert p["leak_suspect"] is True and p["leak_growth_pct"] >= 50
    r, doc = run_job(run, [*args, memload, "alloc", "16", "1200"])
    (p,) = doc["processes"]
    assert p["leak_suspect"] is False
    # The default minimum duration (60 s) keeps a short climb from being judged.
    r, doc = run_job(run, ["-i", "50", "--", memload, "grow", "4", "16", "80"])
    assert doc["processes"][0]["leak_suspect"] is False


def test_html_is_self_contained_and_escaped(run, memload, tmp_path):
    html = tmp_path / "r.html"
    r = run(["run", "--quiet", "--html", html, "-i", "100", "--", "sh", "-c",
             f"{memload} alloc 4 300; : '</script><img src=x>'"])
    assert r.rc == 0, r.err
    text = html.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "</script><img" not in text                 # the data cannot close its element
    assert text.count("<script") == text.count("</script>") == 2
    page, data = text.split("id=data>", 1)
    assert "&lt;/script&gt;&lt;img src=x&gt;" in page  # the summary table escapes it
    assert "<img" not in page and "src=" not in page.replace("&lt;img src=x&gt;", "")
    assert "href=" not in text and "@import" not in text and "url(" not in text
    assert 'id=stack' in text and 'id=lanes' in text and 'id=data' in text


def test_post_run_cmd_gets_the_report_path(run, memload, tmp_path):
    copy = tmp_path / "copy.json"
    r, doc = run_job(run, ["--post-run-cmd", f"cat > {copy} <", "--", memload, "alloc", "2",
                           "50"])
    assert r.rc == 0, r.err
    hooked = json.loads(copy.read_text())
    assert hooked["processes"] == doc["processes"]
    assert not list(pathlib.Path(os.environ.get("TMPDIR", "/tmp")).glob(
        f"gpuctl-run-*{doc['processes'][0]['pid']}*"))


def test_live_prints_plain_lines_without_a_terminal(run, memload):
    r = run(["run", "--live", "--quiet", "-i", "100", "--", memload, "alloc", "4", "1500"])
    assert r.rc == 0
    lines = [line for line in r.err.splitlines() if line.startswith("gpuctl run:")]
    assert lines and "\r" not in r.err
    assert "total" in lines[-1] and "peak" in lines[-1] and "top" in lines[-1]


def test_unwritable_output_fails_before_the_job_runs(run, memload, tmp_path, truth):
    r = run(["run", "--csv", tmp_path / "no" / "such" / "dir.csv", "--", memload, "alloc", "1",
             "10"], env=truth.env)
    assert r.rc == 1
    assert "cannot write" in r.err
    assert truth.read() == {}


# ---- GPU ---------------------------------------------------------------------------------------


def test_gpu_memory_of_the_tree_from_the_fake_nvml(gpuctl_bin, gpuctl_env, scenario, memload,
                                                   tmp_path):
    path = scenario({"devices": [device(0)]})
    proc = subprocess.Popen([str(gpuctl_bin), "run", "--gpu", "--json", "--quiet", "-i", "100",
                             "--timeline", str(tmp_path / "t.csv"), "--", memload, "alloc", "8",
                             "2500"],
                            env=gpuctl_env(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        child = wait_for_child(proc.pid)
        wait_for_comm(child, "memload")
        procs = {"compute": [{"pid": child, "used_memory": 3 << 30},
                             {"pid": 1, "used_memory": 5 << 30}]}
        write_json_atomically(path, {"devices": [device(0, processes=procs, process_utilization=[
            {"pid": child, "sm": 42}, {"pid": 1, "sm": 99}])]})
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = err.decode()
    check_no_sanitizer_report(err)
    assert proc.returncode == 0, err
    doc = json.loads(out)
    assert doc["gpu"] is True
    assert doc["gpu_total_peak_bytes"] == 3 << 30      # pid 1 is not in the tree
    p = procs_by_pid(doc)[child]
    assert p["gpu_mem_peak_bytes"] == 3 << 30
    assert p["gpu_sm_peak_pct"] == 42
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0].endswith(",gpu_mem_mib")
    assert "3072.00" in {line.split(",")[-1] for line in lines[1:]}


def test_gpu_memory_of_a_process_on_two_gpus_is_the_sum(gpuctl_bin, gpuctl_env, scenario,
                                                        memload):
    path = scenario({"devices": [device(0), device(1)]})
    proc = subprocess.Popen([str(gpuctl_bin), "run", "--gpu", "--json", "--quiet", "-i", "100",
                             "--", memload, "alloc", "8", "2500"],
                            env=gpuctl_env(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        child = wait_for_child(proc.pid)
        wait_for_comm(child, "memload")
        write_json_atomically(path, {"devices": [
            device(0, processes={"compute": [{"pid": child, "used_memory": 3 << 30}]}),
            device(1, processes={"compute": [{"pid": child, "used_memory": 1 << 30}]})]})
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = err.decode()
    check_no_sanitizer_report(err)
    assert proc.returncode == 0, err
    doc = json.loads(out)
    assert doc["gpu_total_peak_bytes"] == 4 << 30
    assert procs_by_pid(doc)[child]["gpu_mem_peak_bytes"] == 4 << 30
    assert doc["groups"][0]["gpu_mem_peak_bytes"] == 4 << 30


def test_gpu_without_a_driver_fails_before_running(run, memload, truth):
    r = run(["run", "--gpu", "--", memload, "alloc", "1", "10"], env=truth.env)
    assert r.rc == 2
    assert "--gpu" in r.err
    assert truth.read() == {}


@pytest.mark.parametrize("command", ["run", "compare"])
def test_help_same_both_ways_and_names_every_option(run, command):
    a, b = run(["help", command]), run([command, "--help"])
    assert (a.rc, b.rc) == (0, 0) and a.out == b.out
    assert a.out.startswith(f"usage: gpuctl {command}")
    options = {"run": ["--interval", "--json", "--quiet", "--csv", "--timeline", "--html",
                       "--group-by", "--max-total-rss", "--max-per-proc-rss", "--kill-on-limit",
                       "--gpu", "--pss", "--live", "--post-run-cmd", "--leak-min-growth",
                       "--leak-min-duration", "GPUCTL_RUN_NO_CGROUP"],
               "compare": ["--threshold", "--json"]}[command]
    for option in options:
        assert option in a.out
    assert f"  {command} " in run(["help"]).out


def test_argument_that_is_not_utf8_keeps_its_place_in_command(gpuctl_bin, gpuctl_env):
    """Each byte that is not UTF-8 becomes U+FFFD (docs/json/run.md); the
    argument is never dropped, and an empty one stays ""."""
    argv = [os.fsencode(gpuctl_bin), b"run", b"--json", b"--quiet", b"--", b"/bin/true",
            b"a\xffb", b"", b"ok"]
    proc = subprocess.run(argv, env=gpuctl_env(None, NO_CGROUP), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)
    check_no_sanitizer_report(proc.stderr.decode("utf-8", errors="replace"))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout.decode("utf-8"))
    assert doc["command"] == ["/bin/true", "a\ufffdb", "", "ok"]
