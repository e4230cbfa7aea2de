"""The command line itself: help, version, exit codes, bad input, pipes,
terminals and colour."""

import datetime
import fcntl
import json
import os
import re
import signal
import subprocess
import termios
import time

import pytest

from conftest import REPO, device, parse_tables, read_until_eof


@pytest.fixture
def one_gpu(scenario):
    return scenario({"devices": [device(0)]})


def project_version():
    text = (REPO / "meson.build").read_text()
    return re.search(r"version\s*:\s*'([^']+)'", text).group(1)


# ---- help -----------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["help"]])
def test_overview_help(run, args):
    r = run(args)
    assert (r.rc, r.err) == (0, "")
    assert r.out.startswith("usage: gpuctl COMMAND [OPTIONS]\n")
    for command in ("list", "config", "help"):
        assert re.search(rf"^  {command} ", r.out, re.M), command
    assert "Exit status: 0 success, 1 error, 2 GPU library failure, 3 invalid arguments" in r.out


def test_no_arguments_prints_overview_and_exits_3(run):
    r = run([])
    assert r.rc == 3
    assert r.out.startswith("usage: gpuctl COMMAND")


@pytest.mark.parametrize("command", ["list", "config"])
def test_command_help_same_both_ways(run, command):
    a = run(["help", command])
    b = run([command, "--help"])
    c = run([command, "-h"])
    assert (a.rc, b.rc, c.rc) == (0, 0, 0)
    assert a.out == b.out == c.out
    assert a.out.startswith(f"usage: gpuctl {command}")


def test_help_list_names_every_option(run):
    out = run(["help", "list"]).out
    for option in ("--details", "--output", "--containers", "--watch", "--ascii", "--no-color",
                   "--vendor", "--only", "--only-visible", "--compute", "--graphics", "--user",
                   "--pid", "--filter"):
        assert re.search(rf"^  {option}\b", out, re.M), option


def test_help_needs_no_gpu(run, scenario):
    # help never touches NVML: it works where the driver is broken.
    r = run(["list", "--help"], scenario=scenario({"init_error": "DRIVER_NOT_LOADED"}))
    assert (r.rc, r.err) == (0, "")


def test_help_for_unknown_command_exits_3(run):
    r = run(["help", "nosuch"])
    assert r.rc == 3
    assert r.out == ""
    assert "no such command 'nosuch'" in r.err


# ---- version ----------------------------------------------------------------------------

VERSION_LINE = re.compile(r"^gpuctl (\S+) \(git (\S+), built (\d{4}-\d{2}-\d{2})\)\n$")


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_format(run, flag):
    r = run([flag])
    assert (r.rc, r.err) == (0, "")
    m = VERSION_LINE.match(r.out)
    assert m, r.out
    version, revision, built = m.groups()
    assert version == project_version()
    assert re.fullmatch(r"[0-9a-f]{7,40}\+?|v?\d[\w.\-+]*|unknown", revision), revision
    day = datetime.date.fromisoformat(built)
    assert datetime.date(2024, 1, 1) <= day <= datetime.date.today() + datetime.timedelta(days=1)


def _in_git_checkout():
    try:
        p = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--git-dir"], capture_output=True,
                           timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return p.returncode == 0


def test_version_names_git_revision_in_a_checkout(run):
    if not _in_git_checkout():
        pytest.skip("not a git checkout (or no git): the revision may rightly be 'unknown'")
    revision = VERSION_LINE.match(run(["--version"]).out).group(2)
    assert revision != "unknown"
    # `git describe` gives TAG-N-gHASH after a tag, HASH without; "+" marks local changes.
    commit = revision.rstrip("+").rsplit("-g", 1)[-1]
    assert re.fullmatch(r"[0-9a-f]{7,40}", commit), revision
    # The build may be older than HEAD; the commit must exist all the same.
    p = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{commit}^{{commit}}"],
                       capture_output=True, timeout=10)
    assert p.returncode == 0, f"{commit} is not a commit of this repository"


# ---- unknown commands and options ---------------------------------------------------------


@pytest.mark.parametrize("args, words", [
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["--frobnicate"], "unknown option '--frobnicate'"),
    (["--details", "list"], "unknown option '--details'"),
    (["list", "--frobnicate"], "unknown option '--frobnicate'"),
    (["list", "extra"], "unexpected argument 'extra'"),
    (["list", "--config"], "needs a value"),
    (["list", "--log-level"], "needs a value"),
    (["list", "--log-level", "loud"], "--log-level"),
    (["config"], "missing action"),
    (["config", "frob"], "unknown action 'frob'"),
    (["config", "show", "--frob"], "unknown option '--frob'"),
    (["config", "show", "--output", "xml"], "--output"),
])
def test_bad_usage_exits_3(run, one_gpu, args, words):
    r = run(args, scenario=one_gpu)
    assert r.rc == 3, r
    assert r.out == ""
    assert r.err.startswith("gpuctl: ")
    assert words in r.err
    assert "See 'gpuctl" in r.err


def test_nonexistent_pid_exits_1(run, one_gpu):
    pid = 999999
    while os.path.exists(f"/proc/{pid}"):
        pid -= 1
    r = run(["list", "--pid", str(pid)], scenario=one_gpu)
    assert r.rc == 1
    assert r.out == ""
    assert f"no process with pid {pid}" in r.err


def test_log_level_debug_reports_sources(run, one_gpu):
    r = run(["list", "--log-level", "debug"], scenario=one_gpu)
    assert r.rc == 0
    assert "gpuctl: debug: source nvml started" in r.err
    quiet = run(["list"], scenario=one_gpu)
    assert quiet.err == ""


# ---- pipes -------------------------------------------------------------------------------


def test_closed_pipe_is_a_quiet_write_error(gpuctl_bin, gpuctl_env, one_gpu):
    """`gpuctl list | head` where head has already gone: no SIGPIPE death, no
    sanitizer report, exit 1 (a write error) and nothing on stderr."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        p = subprocess.run([str(gpuctl_bin), "list", "--details"], env=gpuctl_env(one_gpu),
                           stdout=write_end, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(write_end)
    assert p.returncode == 1, p.stderr
    assert p.stderr == b""


def test_reader_closing_mid_output(gpuctl_bin, gpuctl_env, scenario):
    """The reader takes one line and goes away while gpuctl is still writing
    (its output is bigger than the pipe): exit 1, quietly."""
    ghosts = [{"pid": 4000000 + i, "used_memory": (i + 1) << 20} for i in range(600)]
    path = scenario({"devices": [device(0, processes={"compute": ghosts})]})
    # F_SETPIPE_SZ (1031): one page, so gpuctl must block; set before it
    # starts, since a pipe already holding more than a page cannot shrink
    fd, w = os.pipe()
    fcntl.fcntl(w, 1031, 4096)
    p = subprocess.Popen([str(gpuctl_bin), "list", "--details"], env=gpuctl_env(path),
                         stdout=w, stderr=subprocess.PIPE)
    os.close(w)
    first = b""
    while not first.endswith(b"\n"):
        first += os.read(fd, 1)
    os.close(fd)
    rc = p.wait(timeout=60)
    err = p.stderr.read()
    p.stderr.close()
    assert first.split()[0].decode() == os.uname().nodename
    assert rc == 1, err
    assert err == b""


def _wait_until_writer_blocks(fd, pid, timeout=30):
    """Waits until the writer on the other side of fd is blocked on a full
    pipe: nothing more arrives although it writes every 50 ms (and, where the
    kernel shows it, it sleeps in pipe_write)."""
    deadline = time.monotonic() + timeout
    history = []
    while True:
        assert time.monotonic() < deadline, "the writer never blocked"
        queued = int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), "little")
        history = (history + [queued])[-4:]
        try:
            with open(f"/proc/{pid}/wchan") as f:
                wchan = f.read()
        except OSError:
            wchan = ""
        if len(history) == 4 and len(set(history)) == 1 and queued > 0 and (
                "pipe_write" in wchan or wchan in ("", "0")):
            return
        time.sleep(0.1)


def _wait_until_signal_handled(pid, signo, timeout=30):
    bit = 1 << (signo - 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/status") as f:
                masks = [int(line.split()[1], 16) for line in f
                         if line.startswith(("SigPnd:", "ShdPnd:"))]
        except OSError:
            return
        if not any(m & bit for m in masks):
            return
        time.sleep(0.01)
    pytest.fail(f"signal {signo} still pending after {timeout} s")


def test_watch_interrupted_while_output_is_blocked(gpuctl_bin, gpuctl_env, scenario):
    """Ctrl-C while a --watch frame waits on a full pipe: the write must not
    fail with EINTR (exit 1, 'Interrupted system call'); the frame finishes
    once the reader drains and gpuctl stops with 0."""
    path = scenario({"devices": [device(i) for i in range(4)]})
    p = subprocess.Popen([str(gpuctl_bin), "list", "--watch", "0.05", "--output", "json"],
                         env=gpuctl_env(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        fd = p.stdout.fileno()
        # stdio writes at most a 4 KiB buffer at a time: such a write to a
        # full pipe blocks before moving a byte, so a signal makes it EINTR.
        _wait_until_writer_blocks(fd, p.pid)
        p.send_signal(signal.SIGINT)
        # Drain only once the handler has run: a reader that frees space first
        # would let the write finish before the signal is even looked at.
        _wait_until_signal_handled(p.pid, signal.SIGINT)
        rest = read_until_eof(fd, 30)
        rc = p.wait(timeout=30)
        err = p.stderr.read().decode()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    assert rest.endswith(b"}\n")
    assert (rc, err) == (0, "")


# ---- terminals and colour ------------------------------------------------------------------

ESC = b"\x1b["


def test_colour_on_a_terminal_by_default(run_pty, one_gpu):
    r = run_pty(["list"], scenario=one_gpu)
    assert r.rc == 0, r.err
    assert b"\x1b[1m" in r.out, "the host name is bold on a terminal"
    assert r.out.rstrip().endswith(b"\xe2\x94\x98"), "ends with the table's bottom-right corner"


@pytest.mark.parametrize("args, env", [
    (["--no-color"], {}),
    ([], {"NO_COLOR": "1"}),
    ([], {"NO_COLOR": "yes please"}),
    ([], {"TERM": "dumb"}),
    ([], {"GPUCTL_USE_COLORS": "false"}),
])
def test_no_colour_when_asked(run_pty, one_gpu, args, env):
    r = run_pty(["list", "--details", *args], scenario=one_gpu, env=env)
    assert r.rc == 0, r.err
    assert ESC not in r.out
    assert b"NVIDIA H100" in r.out


def test_no_colour_when_not_a_terminal(run, one_gpu):
    r = run(["list", "--details"], scenario=one_gpu)
    assert r.rc == 0
    assert "\x1b" not in r.out


def test_config_file_use_colors_false(run_pty, one_gpu, tmp_path):
    (tmp_path / "xdg" / "gpuctl").mkdir(parents=True)
    (tmp_path / "xdg" / "gpuctl" / "config.toml").write_text("use_colors = false\n")
    r = run_pty(["list"], scenario=one_gpu)
    assert r.rc == 0, r.err
    assert ESC not in r.out


def test_terminal_width_is_honoured(run_pty, scenario, spawn_procs):
    long, = spawn_procs(1, ["/bin/sleep", "300", *["0"] * 150])
    path = scenario({"devices": [device(0, processes={"compute": [
        {"pid": long.pid, "used_memory": 1 << 20}]})]})
    r = run_pty(["list", "--details", "--no-color"], scenario=path)
    assert r.rc == 0, r.err
    lines = r.out.decode().splitlines()
    assert max(len(line) for line in lines) <= 200, "run_pty's terminal is 200 columns"
    assert "…" in r.out.decode(), "the long command line is cut to fit"


def test_ascii_output_is_pure_ascii(run, scenario, spawn_procs):
    p, = spawn_procs(1)
    mig = device(0, mig={"current": True, "max_devices": 7, "devices": [
        {"name": "MIG 1g.10gb", "uuid": "MIG-00000000-0000-0000-0000-000000000001",
         "gpu_instance_id": 7, "compute_instance_id": 0,
         "memory": {"total": 10 << 30, "used": 1 << 30},
         "processes": {"compute": [{"pid": p.pid, "used_memory": 1 << 30}]}}]},
        temperature={"gpu": 88, "thresholds": {"slowdown": 89}})
    # Data is outside input: a non-ASCII name must not leak through either.
    path = scenario({"devices": [mig, device(1, name="Tesla \u00fcber \u5927", temperature={"gpu": 81})]})
    r = run(["list", "--details", "--ascii"], scenario=path)
    assert r.rc == 0, r.err
    assert "Tesla ?ber ??" in r.out
    raw = r.out.encode()
    assert all(b < 0x80 for b in raw), [c for c in r.out if ord(c) >= 0x80]
    assert "TEMP(C)" in r.out and "`-7.0" in r.out
    gpus, procs = parse_tables(r.out)
    assert [row["GPU"] for row in gpus] == ["0", "`-7.0", "1"]
    assert procs[0]["PID"] == str(p.pid)
    fancy = run(["list", "--details"], scenario=path)
    assert "┌" in fancy.out and "└7.0" in fancy.out and "TEMP(°C)" in fancy.out


def test_table_width_setting_fits_the_table(run, scenario, spawn_procs):
    long, = spawn_procs(1, ["/bin/sleep", "300", *["0"] * 60])
    path = scenario({"devices": [device(0, processes={"compute": [
        {"pid": long.pid, "used_memory": 1 << 20}]})]})
    wide = run(["list", "--details"], scenario=path)
    assert long.cmdline in wide.out, "not a terminal and no table_width: nothing is cut"
    narrow = run(["list", "--details"], scenario=path, env={"GPUCTL_TABLE_WIDTH": "110"})
    assert narrow.rc == 0, narrow.err
    table_lines = [line for line in narrow.out.splitlines()[1:]]
    assert max(len(line) for line in table_lines) <= 110
    assert long.cmdline not in narrow.out


def test_table_width_80_keeps_the_gpu_name_and_command_readable(run, scenario, spawn_procs):
    """GPUCTL_TABLE_WIDTH=80 list --details printed 103-column GPU lines; now
    counters give way (ECC, PIDS, CONTAINER, ...) and the name stays whole."""
    proc, = spawn_procs(1, ["/bin/sleep", "300", "0", "0"])
    path = scenario({"devices": [device(0, name="NVIDIA H100 80GB HBM3", processes={
        "compute": [{"pid": proc.pid, "used_memory": 1 << 30}]})]})
    r = run(["list", "--details"], scenario=path, env={"GPUCTL_TABLE_WIDTH": "80"})
    assert r.rc == 0, r.err
    lines = r.out.splitlines()[1:]
    assert max(len(line) for line in lines) <= 80, r.out
    assert "NVIDIA H100 80GB HBM3" in r.out
    assert "MEM_USED/TOTAL" in r.out and "UTIL(%)" in r.out
    assert "ECC(volatile)" not in r.out and "CONTAINER" not in r.out
    assert proc.cmdline in r.out, r.out


def test_json_output_has_no_escapes_or_box_drawing(run, one_gpu):
    r = run(["list", "--output", "json", "--details"], scenario=one_gpu)
    assert r.rc == 0
    json.loads(r.out)
    assert "\x1b" not in r.out and "│" not in r.out
