"""`gpuctl reset` end to end: the fake NVML for the GPUs, real processes on
them, and a stand-in `nvidia-smi` on PATH that records how it was called.

The real nvidia-smi is never needed: PATH is the test's own.  Only an
NVIDIA device can come from the fake NVML, so the other vendors' "not
supported" answers are covered by the unit tests (tests/unit/test_reset.c).
"""

import json
import os
import signal
import subprocess
import sys

import pytest

from conftest import MiB, device

SMI_OK = """#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_SMI_LOG"
echo "GPU $3 was successfully reset."
echo "All done."
"""

SMI_FAILS = """#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_SMI_LOG"
echo "Unable to reset this GPU because it's being used by some other process" \
     "(e.g. nvidia-persistenced)."
echo "1 device is currently being used by one or more other processes." >&2
exit 255
"""

STUBBORN = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(300)")


def machine(*pids_per_gpu):
    return {"devices": [device(i, processes={"compute": [{"pid": p, "used_memory": 64 * MiB}
                                                         for p in pids]})
                        for i, pids in enumerate(pids_per_gpu)]}


def bus_id(index):
    """device(index)'s bus id as gpuctl writes it."""
    return f"0000:{0x18 + index * 0x10:02x}:00.0"


def install_smi(folder, script):
    folder.mkdir(exist_ok=True)
    path = folder / "nvidia-smi"
    path.write_text(script)
    path.chmod(0o755)
    return folder


@pytest.fixture
def smi(tmp_path):
    """smi(script) -> env for gpuctl with that nvidia-smi first on PATH;
    smi.calls() -> the argument lines it was called with."""
    log = tmp_path / "smi.log"

    class Smi:
        def __call__(self, script=SMI_OK):
            folder = install_smi(tmp_path / "bin", script)
            return {"PATH": f"{folder}:/usr/bin:/bin", "FAKE_SMI_LOG": str(log)}

        def calls(self):
            return log.read_text().splitlines() if log.exists() else []

    return Smi()


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except FileNotFoundError:
        return False
    return text[text.rindex(")") + 2] != "Z"


needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="a reset needs root; run the tests as root (CI does)")


# ---- the reset ------------------------------------------------------------------------------------


@needs_root
def test_reset_runs_nvidia_smi_with_the_bus_id(run, smi):
    r = run(["reset", "--gpu", "1"], scenario=machine([], []), env=smi())
    assert r.rc == 0, r.err
    assert smi.calls() == [f"--gpu-reset -i {bus_id(1)}"]
    assert f"GPU 1 (NVIDIA H100 80GB HBM3, {bus_id(1)}): reset" in r.out
    assert "was successfully reset." in r.out
    assert r.err == ""


@needs_root
def test_reset_all(run, smi):
    r = run(["reset", "--all"], scenario=machine([], [], []), env=smi())
    assert r.rc == 0, r.err
    assert smi.calls() == [f"--gpu-reset -i {bus_id(i)}" for i in range(3)]


@needs_root
def test_failing_nvidia_smi_output_is_in_the_error(run, smi):
    r = run(["reset", "--gpu", "0"], scenario=machine([]), env=smi(SMI_FAILS))
    assert r.rc == 1
    assert "resetting GPU 0 failed" in r.err
    assert f"--gpu-reset -i {bus_id(0)} exited with status 255" in r.err
    assert "being used by some other process" in r.err
    assert "currently being used by one or more other processes" in r.err
    assert "reset\n" not in r.out


# ---- refusals -------------------------------------------------------------------------------------


@needs_root
def test_active_processes_refuse_the_reset(run, smi, spawn_procs):
    a, b = spawn_procs(2)
    r = run(["reset", "--gpu", "0"], scenario=machine([a.pid, b.pid]), env=smi())
    assert r.rc == 3
    assert "GPU 0 (NVIDIA H100 80GB HBM3, 0000:18:00.0) has 2 active processes" in r.err
    assert str(a.pid) in r.err and a.cmdline in r.err
    assert "--force" in r.err
    assert smi.calls() == []
    assert alive(a.pid) and alive(b.pid)


@needs_root
def test_processes_on_other_gpus_do_not_matter(run, smi, spawn_procs):
    p, = spawn_procs(1)
    r = run(["reset", "--gpu", "1"], scenario=machine([p.pid], []), env=smi())
    assert r.rc == 0, r.err
    assert alive(p.pid)


@needs_root
def test_force_ends_the_processes_first(run, smi, spawn_procs):
    meek, = spawn_procs(1)
    stubborn = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE)
    try:
        assert stubborn.stdout.readline() == b"ready\n"
        r = run(["reset", "--gpu", "0", "--force", "--timeout-secs", "1"],
                scenario=machine([meek.pid, stubborn.pid]), env=smi())
        assert r.rc == 0, r.err
        assert meek.popen.wait(timeout=10) == -signal.SIGTERM
        assert stubborn.wait(timeout=10) == -signal.SIGKILL
        assert "terminated after" in r.out and "killed after" in r.out
        assert smi.calls() == [f"--gpu-reset -i {bus_id(0)}"]
    finally:
        stubborn.kill()
        stubborn.wait()
        stubborn.stdout.close()


@needs_root
def test_force_still_refuses_protected_processes(run, smi):
    r = run(["reset", "--gpu", "0", "--force"], scenario=machine([1]), env=smi())
    assert r.rc == 3
    assert "init process" in r.err
    assert "no GPU was reset" in r.err
    assert smi.calls() == []


@needs_root
def test_force_with_a_process_this_host_cannot_see(run, smi):
    pid = 999999
    while os.path.exists(f"/proc/{pid}"):
        pid -= 1
    r = run(["reset", "--gpu", "0", "--force"], scenario=machine([pid]), env=smi())
    assert r.rc == 0, r.err
    assert f"process {pid} on GPU 0 cannot be signalled from here" in r.err
    assert smi.calls() == [f"--gpu-reset -i {bus_id(0)}"]


def test_unknown_index(run, smi):
    r = run(["reset", "--gpu", "0", "2"], scenario=machine([], []), env=smi())
    assert r.rc == 3
    assert "no GPU with index 2: this machine has GPUs 0-1" in r.err
    assert smi.calls() == []


def test_without_nvidia_smi_exit_5(run, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run(["reset", "--gpu", "0"], scenario=machine([]), env={"PATH": str(empty)})
    assert r.rc == 5
    assert "nvidia-smi" in r.err and "not on PATH" in r.err


def test_not_root_exit_4(unprivileged):
    folder = install_smi(unprivileged.dir / "bin", SMI_OK)
    log = unprivileged.dir / "smi.log"
    r = unprivileged.run(["reset", "--gpu", "0"], machine([]),
                         env={"PATH": f"{folder}:/usr/bin:/bin", "FAKE_SMI_LOG": log})
    assert r.rc == 4, r
    assert "resetting GPU 0 needs root" in r.err
    assert not log.exists()


def test_no_gpu_source(run, smi):
    r = run(["reset", "--all"], scenario={"init_error": "DRIVER_NOT_LOADED"}, env=smi())
    assert r.rc == 2
    assert smi.calls() == []


def test_no_gpus_at_all(run, smi):
    r = run(["reset", "--all"], scenario={"devices": []}, env=smi())
    assert r.rc == 1
    assert "no GPU to reset" in r.err


@pytest.mark.parametrize("args, words", [
    ([], "either --gpu or --all"),
    (["--gpu", "0", "--all"], "either --gpu or --all"),
    (["--gpu"], "needs at least one value"),
    (["--gpu", "x"], "'x' is not a GPU index"),
    (["--all", "--timeout-secs", "0"], "--timeout-secs"),
    (["--all", "--frob"], "unknown option '--frob'"),
])
def test_bad_usage(run, smi, args, words):
    r = run(["reset", *args], scenario=machine([]), env=smi())
    assert r.rc == 3, r
    assert words in r.err
    assert smi.calls() == []


def test_help(run):
    r = run(["reset", "--help"])
    assert r.rc == 0
    assert r.out.startswith("usage: gpuctl reset")


# ---- --output json ----------------------------------------------------------------------------


def json_of(r):
    return json.loads(r.out)


@needs_root
def test_json_document_of_a_reset(run, smi):
    r = run(["reset", "--gpu", "1", "--output", "json"], scenario=machine([], []), env=smi())
    assert r.rc == 0, r.err
    assert r.err == ""
    doc = json_of(r)
    assert doc["force"] is False and doc["processes"] == []
    g, = doc["gpus"]
    assert (g["gpu"], g["name"], g["pci_bus_id"]) == (1, "NVIDIA H100 80GB HBM3", bus_id(1))
    assert g["uuid"].startswith("GPU-")
    assert g["command"].endswith(f"nvidia-smi --gpu-reset -i {bus_id(1)}")
    assert g["result"] == "reset" and g["error"] is None
    assert "was successfully reset." in g["output"]
    assert smi.calls() == [f"--gpu-reset -i {bus_id(1)}"]


@needs_root
def test_json_a_failed_reset_is_in_the_document_and_the_exit_code(run, smi):
    r = run(["reset", "--all", "-o", "json"], scenario=machine([], []), env=smi(SMI_FAILS))
    assert r.rc == 1
    doc = json_of(r)
    assert [g["result"] for g in doc["gpus"]] == ["failed", "failed"]
    g = doc["gpus"][0]
    assert f"--gpu-reset -i {bus_id(0)} exited with status 255" in g["error"]
    assert "being used by some other process" in g["output"]
    assert "resetting GPU 0 failed" in r.err and "resetting GPU 1 failed" in r.err


@needs_root
def test_json_force_lists_the_processes_ended_first(run, smi, spawn_procs):
    meek, = spawn_procs(1)
    r = run(["reset", "--gpu", "0", "--force", "--output", "json"],
            scenario=machine([meek.pid]), env=smi())
    assert r.rc == 0, r.err
    assert meek.popen.wait(timeout=10) == -signal.SIGTERM
    doc = json_of(r)
    assert doc["force"] is True
    p, = doc["processes"]
    assert (p["pid"], p["gpus"], p["result"]) == (meek.pid, [0], "terminated")
    assert doc["gpus"][0]["result"] == "reset"


@needs_root
def test_json_a_process_that_ignores_sigterm_is_killed_before_the_reset(run, smi):
    stubborn = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE)
    try:
        assert stubborn.stdout.readline() == b"ready\n"
        r = run(["reset", "--gpu", "0", "--force", "--timeout-secs", "1", "--output", "json"],
                scenario=machine([stubborn.pid]), env=smi())
        assert r.rc == 0, r.err
        doc = json_of(r)
        assert doc["processes"][0]["result"] == "killed"
        assert doc["processes"][0]["signals"] == ["SIGTERM", "SIGKILL"]
    finally:
        stubborn.kill()
        stubborn.wait()
        stubborn.stdout.close()


@needs_root
def test_json_compact_with_ndjson_from_the_environment(run, smi):
    r = run(["reset", "--gpu", "0"], scenario=machine([]),
            env={**smi(), "GPUCTL_OUTPUT_FORMAT": "ndjson"})
    assert r.rc == 0, r.err
    assert r.out.count("\n") == 1
    assert json_of(r)["gpus"][0]["result"] == "reset"


@needs_root
def test_json_a_refusal_prints_nothing_on_stdout(run, smi, spawn_procs):
    a, = spawn_procs(1)
    r = run(["reset", "--gpu", "0", "--output", "json"], scenario=machine([a.pid]), env=smi())
    assert r.rc == 3
    assert r.out == ""
    assert "has 1 active process" in r.err
    assert smi.calls() == [] and alive(a.pid)


def test_output_formats_other_than_table_and_json_are_refused(run, smi):
    r = run(["reset", "--all", "--output", "csv"], scenario=machine([]), env=smi())
    assert r.rc == 3
    assert "--output csv is not supported by reset; use table or json" in r.err
    assert smi.calls() == []
