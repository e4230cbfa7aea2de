"""`gpuctl select` end to end: the binary, the fake NVML and real processes.

Each test describes GPUs whose free memory and utilisation it chooses,
runs `gpuctl select` as a user would, and checks the exact bytes printed,
the exit status and, when too few devices qualify, the reason on stderr.
--wait is exercised by rewriting the scenario under a running gpuctl, and
the command form by running a shell that reports what it was given.
"""

import os
import pwd
import signal
import subprocess
import time

import pytest

from conftest import GiB, MiB, device, write_json_atomically


def gpu(index, free_gib, total_gib=80, util=0, mem_util=0, **fields):
    """A GPU with exactly free_gib GiB free (nothing reserved)."""
    total = total_gib * GiB
    free = int(free_gib * GiB)
    given = {"memory": {"total": total, "used": total - free, "reserved": 0},
             "utilization": {"gpu": util, "memory": mem_util}}
    given.update(fields)
    return device(index, **given)


def mig_gpu(index, free_gib):
    """A GPU in MIG mode with one 20 GiB MIG device per entry of free_gib."""
    migs = [{"uuid": f"MIG-{index:02x}{slot:06x}-aaaa-5bbb-8ccc-dddddddddddd",
             "name": "NVIDIA A100-SXM4-40GB MIG 3g.20gb",
             "gpu_instance_id": slot + 1, "compute_instance_id": 0,
             "memory": {"total": 20 * GiB, "used": int((20 - f) * GiB)}}
            for slot, f in enumerate(free_gib)]
    return device(index, mig={"current": True, "devices": migs}, utilization=None)


def uuid(index):
    return device(index)["uuid"]


@pytest.fixture
def select(run):
    """select(devices, *args, env=None) -> Result of `gpuctl select ARGS`."""

    def go(devices, *args, env=None, **kw):
        return run(["select", *args], scenario={"devices": devices}, env=env, **kw)

    return go


def ok(r):
    assert r.rc == 0, r.err
    assert r.err == ""
    return r.out


def too_few(r):
    """Exit 1, nothing on stdout, one line of reason on stderr: the reason."""
    assert r.rc == 1, (r.out, r.err)
    assert r.out == ""
    assert r.err.startswith("gpuctl: not enough devices: ") and r.err.count("\n") == 1, r.err
    return r.err[len("gpuctl: not enough devices: "):].rstrip("\n")


# ---- order --------------------------------------------------------------------


def test_every_gpu_best_first(select):
    out = ok(select([gpu(0, 10), gpu(1, 50), gpu(2, 30)]))
    assert out == "1,2,0\n"


def test_ties_less_used_then_utilisation_then_higher_index(select):
    devices = [
        gpu(0, 40, total_gib=80),               # 40 used
        gpu(1, 40, total_gib=60),               # 20 used: first
        gpu(2, 40, total_gib=80, util=9),
        gpu(3, 40, total_gib=80, util=5, mem_util=7),
        gpu(4, 40, total_gib=80, util=5, mem_util=3),
        gpu(5, 40, total_gib=80),               # same as 0: the higher index first
    ]
    assert ok(select(devices)) == "1,5,0,4,3,2\n"


# ---- constraints ------------------------------------------------------------------


@pytest.mark.parametrize("size", ["5GiB", "5120M", "5G", "5120MiB", str(5 * GiB), "5 GiB"])
def test_min_free_memory_sizes(select, size):
    devices = [gpu(0, 5), gpu(1, 5 - 1 / GiB), gpu(2, 6)]
    assert ok(select(devices, "--min-free-memory", size)) == "2,0\n"
    assert ok(select(devices, "-f", size)) == "2,0\n"


def test_sizes_with_k_m_g_are_binary(select):
    # 5000M is 5000 MiB, not 5 GB: a GPU with 4.9 GiB free (5017 MiB) has it.
    devices = [gpu(0, 4.9), gpu(1, 4.8)]
    assert ok(select(devices, "-f", "5000M")) == "0\n"


def test_min_total_memory(select):
    devices = [gpu(0, 10, total_gib=40), gpu(1, 5, total_gib=80), gpu(2, 1, total_gib=80)]
    assert ok(select(devices, "--min-total-memory", "80GiB")) == "1,2\n"
    assert ok(select(devices, "-t", "41G")) == "1,2\n"


def test_max_gpu_utilization(select):
    devices = [gpu(0, 10, util=30), gpu(1, 20, util=31), gpu(2, 5, util=0)]
    assert ok(select(devices, "--max-gpu-utilization", "30")) == "0,2\n"
    assert ok(select(devices, "-G", "0")) == "2\n"


def test_max_memory_utilization(select):
    devices = [gpu(0, 10, mem_util=50), gpu(1, 20, mem_util=51), gpu(2, 5)]
    assert ok(select(devices, "--max-memory-utilization", "50")) == "0,2\n"
    assert ok(select(devices, "-M", "49")) == "2\n"


def test_constraints_combine(select):
    devices = [gpu(0, 30, util=90), gpu(1, 8, util=10), gpu(2, 20, util=10, total_gib=40),
               gpu(3, 25, util=10, mem_util=80)]
    out = ok(select(devices, "-f", "10GiB", "-t", "41GiB", "-G", "50", "-M", "50"))
    assert out == ""   # min-count 0: an empty selection is no error, and prints nothing
    out = ok(select(devices, "-f", "10GiB", "-G", "50", "-M", "50"))
    assert out == "2\n"


def test_tolerance_loosens_and_sorts_last(select):
    devices = [gpu(0, 4), gpu(1, 3.9), gpu(2, 5), gpu(3, 6)]
    assert ok(select(devices, "-f", "5GiB")) == "3,2\n"
    # 20% off 5 GiB is 4 GiB: GPU 0 joins, after the devices that need no loosening.
    assert ok(select(devices, "-f", "5GiB", "--tolerance", "20")) == "3,2,0\n"
    # Utilisation limits move by TOL points.
    devices = [gpu(0, 50, util=40), gpu(1, 10, util=30), gpu(2, 60, util=41)]
    assert ok(select(devices, "-G", "30", "--tolerance=10")) == "1,0\n"


def test_unknown_value_fails_its_constraint(select):
    devices = [gpu(0, 50), gpu(1, 60, utilization=None), gpu(2, 70, memory=None)]
    # No constraint on them: every device, the unknown values last.
    assert ok(select(devices)) == "1,0,2\n"
    assert ok(select(devices, "-G", "100")) == "0,2\n"
    assert ok(select(devices, "-f", "0")) == "1,0\n"
    reason = too_few(select(devices, "-G", "100", "-c", "3"))
    assert reason == ("only 2 of 3 devices qualify, 3 needed: --max-gpu-utilization 100 "
                      "excludes 1 (1 does not report GPU utilization)")


def test_lost_gpu_is_never_chosen(select):
    lost = gpu(1, 70, errors={"nvmlDeviceGetMemoryInfo": "GPU_IS_LOST"})
    devices = [gpu(0, 10), lost, gpu(2, 20)]
    assert ok(select(devices)) == "2,0\n"
    reason = too_few(select(devices, "-c", "3"))
    assert reason.endswith("3 needed: 1 is unusable (GPU 1: GPU is lost: the GPU has fallen "
                           "off the bus or needs a reset)")


# ---- counts -------------------------------------------------------------------------


def test_count_semantics(select):
    devices = [gpu(0, 10), gpu(1, 50), gpu(2, 30), gpu(3, 20)]
    assert ok(select(devices, "-n", "2")) == "1,2\n"
    assert ok(select(devices, "--count", "4")) == "1,2,3,0\n"
    assert ok(select(devices, "-C", "3")) == "1,2,3\n"
    assert ok(select(devices, "--max-count=1", "-c", "1")) == "1\n"
    assert ok(select(devices, "-c", "2")) == "1,2,3,0\n"
    assert ok(select(devices, "-C", "0")) == ""
    # --count wins over --min-count and --max-count, as in nvisel.
    assert ok(select(devices, "-c", "4", "-C", "4", "-n", "1")) == "1\n"
    assert ok(select(devices, "-c1", "-C2")) == "1,2\n"


def test_too_few_prints_nothing_and_names_the_worst_constraint(select):
    devices = [gpu(0, 1), gpu(1, 2), gpu(2, 50, util=90), gpu(3, 40)]
    reason = too_few(select(devices, "-c", "2", "-f", "10GiB", "-G", "50"))
    assert reason == ("only 1 of 4 devices qualifies, 2 needed: --min-free-memory 10.0GiB "
                      "excludes 2")
    reason = too_few(select(devices, "-n", "5"))
    assert reason == "only 4 of 4 devices qualify, 5 needed: there are only 4 devices"
    reason = too_few(select(devices, "-c", "1", "-f", "60GiB", "--tolerance", "10"))
    assert reason == ("0 of 4 devices qualify, 1 needed: --min-free-memory 60.0GiB "
                      "(54.0GiB with --tolerance 10) excludes 4")


def test_no_gpu_at_all(select):
    assert ok(select([])) == ""
    assert too_few(select([], "-c", "1")) == ("there is no NVIDIA GPU or MIG device to choose "
                                               "from; 1 needed")


# ---- MIG ----------------------------------------------------------------------------


def test_mig_device_forces_uuid(select):
    devices = [mig_gpu(0, [5, 15])]
    best = devices[0]["mig"]["devices"][1]["uuid"]
    assert ok(select(devices)) == best + "\n"
    assert ok(select(devices, "-O", "index")) == best + "\n"
    assert ok(select(devices, "-c", "1", "-f", "10GiB")) == best + "\n"


def test_mig_only_one_device_and_never_beside_whole_gpus(select):
    devices = [mig_gpu(0, [19, 18]), gpu(1, 3, total_gib=40)]
    # Whole GPUs meet --min-count 1, so the better MIG devices are passed over.
    assert ok(select(devices, "-c", "1")) == "1\n"
    reason = too_few(select([mig_gpu(0, [19, 18])], "-c", "2"))
    assert reason == ("2 of 2 devices qualify, 2 needed: a CUDA process can use only one MIG "
                      "device and no whole GPU beside it, so at most 1 can be chosen together")


def test_mig_devices_have_no_utilisation(select):
    reason = too_few(select([mig_gpu(0, [10])], "-c", "1", "-G", "50"))
    assert reason.endswith("--max-gpu-utilization 50 excludes 1 (1 does not report GPU "
                           "utilization)")


# ---- --inherit ----------------------------------------------------------------------


def four():
    return [gpu(i, 10 + i) for i in range(4)]


def test_inherit_from_the_environment(select):
    env = {"CUDA_VISIBLE_DEVICES": "0,2"}
    assert ok(select(four(), "--inherit", env=env)) == "2,0\n"
    # Without --inherit the variable does not restrict anything.
    assert ok(select(four(), env=env)) == "3,2,1,0\n"
    # Unset: every device, as for CUDA.
    assert ok(select(four(), "--inherit")) == "3,2,1,0\n"


def test_inherit_uuids_and_cuda_rules(select):
    env = {"CUDA_VISIBLE_DEVICES": f"{uuid(1)},{uuid(3)[:12]}"}
    assert ok(select(four(), "--inherit", env=env)) == "3,1\n"
    assert ok(select(four(), "--inherit", env={"CUDA_VISIBLE_DEVICES": "1,x,3"})) == "1\n"
    assert ok(select(four(), "--inherit", env={"CUDA_VISIBLE_DEVICES": "1,3,1"})) == ""


def test_inherit_given_value(select):
    env = {"CUDA_VISIBLE_DEVICES": "0"}
    assert ok(select(four(), "--inherit=1,3", env=env)) == "3,1\n"
    assert ok(select(four(), "--inherit", "2,1", "-c", "1", env=env)) == "2,1\n"


def test_inherit_empty_names_nothing(select):
    reason = too_few(select(four(), "--inherit", "-c", "1", env={"CUDA_VISIBLE_DEVICES": ""}))
    assert reason == "CUDA_VISIBLE_DEVICES='' names no device (--inherit); 1 needed"


def test_inherit_mig_uuid(select):
    devices = [mig_gpu(0, [15, 5]), gpu(1, 1)]
    weaker = devices[0]["mig"]["devices"][1]["uuid"]
    assert ok(select(devices, "--inherit", env={"CUDA_VISIBLE_DEVICES": weaker})) == weaker + "\n"
    assert ok(select(devices, "--inherit", env={"CUDA_VISIBLE_DEVICES": "1"})) == "1\n"


# ---- --account-as-free --------------------------------------------------------------


def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture
def busy_gpus(spawn_procs):
    """GPU 0: 2 GiB free, with 30 GiB held by two of the caller's processes;
    GPU 1: 10 GiB free, with 40 GiB held by one of the caller's processes."""
    mine = spawn_procs(3)
    devices = [
        gpu(0, 2, processes={"compute": [{"pid": mine[0].pid, "used_memory": 20 * GiB},
                                         {"pid": mine[1].pid, "used_memory": 10 * GiB}]}),
        gpu(1, 10, processes={"compute": [{"pid": mine[2].pid, "used_memory": 40 * GiB}]}),
    ]
    return devices


def test_account_as_free_counts_the_callers_processes(select, busy_gpus, self_user):
    assert ok(select(busy_gpus, "-f", "20GiB")) == ""
    assert ok(select(busy_gpus, "-f", "20GiB", "--account-as-free")) == "1,0\n"
    assert ok(select(busy_gpus, "-f", "20GiB", "--account-as-free", self_user)) == "1,0\n"
    assert ok(select(busy_gpus, "-f", "40GiB", "--account-as-free")) == "1\n"
    # Someone else's name: the caller's memory stays used.
    assert ok(select(busy_gpus, "-f", "20GiB", "--account-as-free", "nosuchuser")) == ""
    assert ok(select(busy_gpus, "-f", "20GiB", "--account-as-free",
                     f"nosuchuser,{self_user}")) == "1,0\n"


def test_account_as_free_ignores_other_users(select, spawn_procs, self_user):
    if os.getuid() != 0 or not _user_exists("nobody"):
        pytest.skip("starting a process as another user needs root and a 'nobody' user")
    other, = spawn_procs(1, user="nobody")
    mine, = spawn_procs(1)
    devices = [gpu(0, 2, processes={"compute": [{"pid": other.pid, "used_memory": 30 * GiB}]}),
               gpu(1, 2, processes={"compute": [{"pid": mine.pid, "used_memory": 30 * GiB}]})]
    assert ok(select(devices, "-f", "20GiB", "--account-as-free")) == "1\n"
    assert ok(select(devices, "-f", "20GiB", "--account-as-free", "nobody")) == "0\n"
    assert ok(select(devices, "-f", "20GiB", "--account-as-free", "nobody", self_user)) == "1,0\n"


# ---- output ------------------------------------------------------------------------


def test_output_formats_and_separators(select):
    devices = [gpu(0, 10), gpu(1, 30), gpu(2, 20)]
    assert ok(select(devices, "-O", "uuid")) == f"{uuid(1)},{uuid(2)},{uuid(0)}\n"
    assert ok(select(devices, "--format=uuid", "-n", "1")) == f"{uuid(1)}\n"
    assert ok(select(devices, "--sep", " ")) == "1 2 0\n"
    assert ok(select(devices, "--sep=::")) == "1::2::0\n"
    assert ok(select(devices, "--newline")) == "1\n2\n0\n"


def test_null_output_bytes(run):
    data = {"devices": [gpu(0, 10), gpu(1, 30), gpu(2, 20)]}
    for flag in ("--null", "-0"):
        r = run(["select", flag], scenario=data, stdout=subprocess.PIPE)
        assert r.rc == 0 and r.err == ""
        assert r.out == "1\x002\x000\x00"
    r = run(["select", "-0", "-O", "uuid", "-n", "2"], scenario=data)
    assert r.out == f"{uuid(1)}\x00{uuid(2)}\x00"
    # An empty selection prints no bytes at all, so xargs -0 runs nothing.
    r = run(["select", "-0", "-C", "0"], scenario=data)
    assert (r.rc, r.out) == (0, "")


@pytest.mark.parametrize("args, message", [
    (["-f", "lots"], "--min-free-memory"),
    (["-f", "-5G"], "--min-free-memory"),
    (["-G", "101"], "--max-gpu-utilization: '101' is not a whole percentage"),
    (["-M", "x"], "--max-memory-utilization"),
    (["--tolerance", "150"], "--tolerance"),
    (["-c", "-1"], "--min-count"),
    (["-c", "3", "-C", "2"], "--max-count 2 is below --min-count 3"),
    (["-O", "json"], "--format: 'json' is not index or uuid"),
    (["--sep", ""], "--sep: the separator cannot be empty"),
    (["--sep", ";", "--null"], "exclude each other"),
    (["--newline", "-0"], "exclude each other"),
    (["--null=yes"], "takes no value"),
    (["--wait", "0"], "unexpected argument '0'"),
    (["--wait=-1"], "--wait: '-1' is not a number of seconds"),
    (["--bogus"], "unknown option '--bogus'"),
    (["true"], "unexpected argument 'true' (put a command after '--')"),
    (["--"], "'--' must be followed by a command"),
    (["--newline", "--", "true"], "with a command the selection goes to CUDA_VISIBLE_DEVICES"),
    (["-f"], "option '-f' needs a value"),
])
def test_invalid_arguments(select, args, message):
    r = select([gpu(0, 10)], *args)
    assert r.rc == 3, (args, r.err)
    assert r.out == ""
    assert message in r.err
    assert "See 'gpuctl help select'." in r.err


def test_help(run):
    r = run(["select", "--help"])
    assert r.rc == 0
    assert r.out.startswith("usage: gpuctl select")
    assert r.out == run(["help", "select"]).out


def test_no_gpu_library_is_exit_2(run):
    r = run(["select"], scenario={"init_error": "DRIVER_NOT_LOADED"})
    assert r.rc == 2
    assert r.out == ""


# ---- --wait -----------------------------------------------------------------------


def test_wait_until_memory_is_freed(gpuctl_bin, gpuctl_env, scenario):
    full = {"devices": [gpu(0, 1), gpu(1, 2)]}
    path = scenario(full)
    p = subprocess.Popen([str(gpuctl_bin), "select", "-c", "1", "-f", "10GiB", "--wait", "0.1"],
                         env=gpuctl_env(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = p.stderr.readline()               # it has looked, and waits
        time.sleep(1)   # more looks at the same state; not needed for correctness
        assert p.poll() is None, "gpuctl gave up instead of waiting"
        write_json_atomically(path, {"devices": [gpu(0, 1), gpu(1, 30)]})
        out, err = p.communicate(timeout=30)
        err = first + err
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 0, err
    assert out == b"1\n"
    # The reason is said once while it stays the same.
    assert err.decode() == ("gpuctl: waiting: 0 of 2 devices qualify, 1 needed: "
                            "--min-free-memory 10.0GiB excludes 2\n")


def test_wait_at_the_configured_interval(gpuctl_bin, gpuctl_env, scenario):
    path = scenario({"devices": [gpu(0, 1)]})
    env = gpuctl_env(path, {"GPUCTL_WATCH_INTERVAL": "0.1"})
    p = subprocess.Popen([str(gpuctl_bin), "select", "-c", "1", "-f", "10GiB", "--wait"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert p.stderr.readline().startswith(b"gpuctl: waiting: ")   # it has looked once
        write_json_atomically(path, {"devices": [gpu(0, 20)]})
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert (p.returncode, out) == (0, b"0\n"), err


def test_wait_ends_on_ctrl_c(gpuctl_bin, gpuctl_env, scenario):
    path = scenario({"devices": [gpu(0, 1)]})
    p = subprocess.Popen([str(gpuctl_bin), "select", "-n", "1", "-f", "10GiB", "--wait", "0.1"],
                         env=gpuctl_env(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = p.stderr.readline().decode()
        assert first.startswith("gpuctl: waiting: ")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 1
    assert out == b""
    assert err.decode() == ("gpuctl: interrupted while waiting for devices; the last check "
                            "said: 0 of 1 device qualify, 1 needed: --min-free-memory 10.0GiB "
                            "excludes 1\n")


def test_wait_returns_at_once_when_enough_qualify(select):
    assert ok(select([gpu(0, 20)], "--wait", "-c", "1")) == "0\n"


# ---- running a command --------------------------------------------------------------


ECHO = ["--", "sh", "-c", "echo $CUDA_VISIBLE_DEVICES $CUDA_DEVICE_ORDER"]


def test_command_gets_the_selection(select):
    devices = [gpu(0, 10), gpu(1, 30), gpu(2, 20)]
    assert ok(select(devices, "-n", "2", *ECHO)) == "1,2 PCI_BUS_ID\n"
    assert ok(select(devices, "-n", "2", "-O", "uuid", *ECHO)) == \
        f"{uuid(1)},{uuid(2)} PCI_BUS_ID\n"
    # It replaces what the caller had.
    env = {"CUDA_VISIBLE_DEVICES": "0", "CUDA_DEVICE_ORDER": "FASTEST_FIRST"}
    assert ok(select(devices, "-n", "1", *ECHO, env=env)) == "1 PCI_BUS_ID\n"
    # Within what the caller had, with --inherit.
    assert ok(select(devices, "--inherit", *ECHO, env=env)) == "0 PCI_BUS_ID\n"


def test_command_with_a_mig_device_gets_its_uuid(select):
    devices = [mig_gpu(0, [5, 15])]
    best = devices[0]["mig"]["devices"][1]["uuid"]
    assert ok(select(devices, "-c", "1", *ECHO)) == f"{best} PCI_BUS_ID\n"


def test_command_exit_status_passes_through(select):
    r = select([gpu(0, 10)], "--", "sh", "-c", "exit 7")
    assert (r.rc, r.out, r.err) == (7, "", "")
    r = select([gpu(0, 10)], "--", "sh", "-c", "echo out; echo err >&2; exit 0")
    assert (r.rc, r.out, r.err) == (0, "out\n", "err\n")


def test_command_replaces_gpuctl(gpuctl_bin, gpuctl_env, scenario):
    path = scenario({"devices": [gpu(0, 10)]})
    p = subprocess.Popen([str(gpuctl_bin), "select", "--", "sh", "-c", "echo $$"],
                         env=gpuctl_env(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=30)
    assert (p.returncode, err) == (0, b"")
    assert int(out) == p.pid


def test_command_gets_default_sigpipe(select):
    # gpuctl ignores SIGPIPE for itself; the job must not inherit that.
    out = ok(select([gpu(0, 10)], "--", "cat", "/proc/self/status"))
    ignored = int(next(line.split()[1] for line in out.splitlines()
                       if line.startswith("SigIgn:")), 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1))


def test_command_not_run_when_too_few(select, tmp_path):
    marker = tmp_path / "ran"
    r = select([gpu(0, 1)], "-c", "1", "-f", "10GiB", "--", "touch", str(marker))
    assert too_few(r).endswith("--min-free-memory 10.0GiB excludes 1")
    assert not marker.exists()


def test_command_needs_one_device_by_default(select, tmp_path):
    """With a command, nothing qualifying is a failure (exit 1, command not
    run) unless -c 0 says running on no GPU is fine."""
    marker = tmp_path / "ran"
    r = select([gpu(0, 1)], "-f", "10GiB", "--", "touch", str(marker))
    assert too_few(r).endswith("--min-free-memory 10.0GiB excludes 1")
    assert not marker.exists()
    r = select([gpu(0, 1)], "-f", "10GiB", "-c", "0", *ECHO)
    assert ok(r) == "PCI_BUS_ID\n"   # CUDA_VISIBLE_DEVICES is empty: no GPU


def test_command_not_found_or_not_runnable(select, tmp_path):
    r = select([gpu(0, 10)], "--", "/nonexistent/gpuctl-test-command")
    assert r.rc == 127
    assert "cannot run '/nonexistent/gpuctl-test-command'" in r.err
    plain = tmp_path / "not-a-program"
    plain.write_text("data\n")
    r = select([gpu(0, 10)], "--", str(plain))
    assert r.rc == 126


def test_wait_then_command(gpuctl_bin, gpuctl_env, scenario):
    path = scenario({"devices": [gpu(0, 1), gpu(1, 1)]})
    p = subprocess.Popen([str(gpuctl_bin), "select", "-n", "1", "-f", "10GiB", "--wait", "0.1",
                          *ECHO], env=gpuctl_env(path), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        assert p.stderr.readline().decode().startswith("gpuctl: waiting: ")
        write_json_atomically(path, {"devices": [gpu(0, 12), gpu(1, 1)]})
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert (p.returncode, out, err) == (0, b"0 PCI_BUS_ID\n", b"")
