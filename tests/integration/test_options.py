"""The option tables end to end: both spellings (`--name value`,
`--name=value`) on every converted command, gpu-kill's top-level form
(`gpuctl --list --details`, `--kill --pid N`, `--guard --guard-*`),
nvitop's short options for `top`, global options before the command, and
-h/-V after any command."""

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO, MiB, device

STUBBORN = "import time; print('ready', flush=True); time.sleep(300)"


@pytest.fixture
def two_gpus(scenario):
    return scenario({"devices": [device(0), device(1)]})


def gpu_names(table):
    return re.findall(r"^│\s+(\d+) │", table, re.M)


# ---- gpu-kill's operations as flags -------------------------------------------------------


def test_list_flag_is_the_list_command(run, two_gpus):
    a = run(["--list", "--details"], scenario=two_gpus)
    b = run(["list", "--details"], scenario=two_gpus)
    assert (a.rc, a.err) == (0, "")
    strip = lambda s: s.split("\n", 1)[1]          # the first line carries the time
    assert strip(a.out) == strip(b.out)
    assert "PID" in a.out


def test_operation_flag_may_follow_other_options(run, two_gpus):
    r = run(["--output", "json", "--list"], scenario=two_gpus)
    assert r.rc == 0, r.err
    assert len(json.loads(r.out)["gpus"]) == 2


def test_kill_flag_ends_the_process(run, scenario):
    p = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"ready\n"
        sc = scenario({"devices": [device(0, processes={"compute": [
            {"pid": p.pid, "used_memory": 64 * MiB}]})]})
        r = run(["--kill", "--pid", str(p.pid), "--timeout-secs=5"], scenario=sc)
        assert r.rc == 0, r.err
        assert p.wait(timeout=20) == -15
    finally:
        p.kill()
        p.wait()


def test_guard_flags_with_gpu_kill_spellings(run, tmp_path):
    r = run(["--guard", "--guard-add-group", "g", "--guard-group-members", "a,b",
             "--guard-group-memory-limit", "32"])
    assert r.rc == 0, r.err
    r = run(["guard", "--export-config"])
    groups = json.loads(r.out)["group_policies"]
    assert groups["g"]["members"] == ["a", "b"]
    assert groups["g"]["total_memory_limit_gb"] == 32


def test_guard_done_when_line(run):
    r = run(["guard", "--guard-add-group", "g", "--guard-group-members", "a,b",
             "--guard-group-memory-limit", "32"])
    assert r.rc == 0, r.err
    text = run(["guard", "--config"]).out
    assert "[group_policies.g]" in text and 'members = ["a", "b"]' in text


def test_guard_gpu_prefixed_limits(run, scenario):
    sc = scenario({"devices": [device(0)]})
    r = run(["guard", "--guard-add-gpu", "0", "--guard-gpu-memory-limit=40",
             "--guard-gpu-utilization-limit", "90", "--guard-gpu-reserved-memory", "8",
             "--guard-gpu-allowed-users", "alice,bob"], scenario=sc)
    assert r.rc == 0, r.err
    gpu = json.loads(run(["guard", "--export-config"]).out)["gpu_policies"]["0"]
    assert gpu["max_memory_gb"] == 40 and gpu["max_utilization_pct"] == 90
    assert gpu["reserved_memory_gb"] == 8 and gpu["allowed_users"] == ["alice", "bob"]


def test_group_limit_without_a_group_is_refused(run):
    r = run(["guard", "--add-user", "a", "--guard-group-memory-limit", "3"])
    assert r.rc == 3 and "goes with --add-group" in r.err
    assert run(["guard", "--export-config"]).out.count('"a"') == 0


# ---- global options before the command, -h and -V after it ----------------------------------


def test_log_level_before_the_command(run, two_gpus):
    r = run(["--log-level", "debug", "list"], scenario=two_gpus)
    assert r.rc == 0
    assert "gpuctl: debug: source nvml started" in r.err
    r = run(["--log-level=debug", "--list"], scenario=two_gpus)
    assert "gpuctl: debug: source nvml started" in r.err


def test_global_log_level_value_is_checked(run, two_gpus):
    r = run(["--log-level", "loud", "list"], scenario=two_gpus)
    assert r.rc == 3 and "--log-level" in r.err


ALL_COMMANDS = ["list", "top", "select", "kill", "reset", "run", "compare", "watch", "plot",
                "audit", "guard", "trace", "analyze", "config"]


@pytest.mark.parametrize("command", ALL_COMMANDS)
@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version_after_any_command(run, command, flag):
    r = run([command, flag])
    assert (r.rc, r.err) == (0, "")
    assert r.out.startswith("gpuctl ")


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_help_is_the_same_every_way(run, command):
    a, b, c = run(["help", command]), run([command, "--help"]), run([command, "-h"])
    assert (a.rc, b.rc, c.rc) == (0, 0, 0)
    assert a.out == b.out == c.out
    assert a.out.startswith(f"usage: gpuctl {command}")


# ---- --name=value everywhere ------------------------------------------------------------------


def test_list_output_equals_json(run, two_gpus):
    r = run(["list", "--output=json"], scenario=two_gpus)
    assert r.rc == 0, r.err
    assert [g["gpu_index"] for g in json.loads(r.out)["gpus"]] == [0, 1]


def test_list_only_equals(run, two_gpus):
    r = run(["list", "--only=1", "--output", "json"], scenario=two_gpus)
    assert [g["gpu_index"] for g in json.loads(r.out)["gpus"]] == [1]


def test_kill_pid_equals_and_dry_run(run, scenario):
    p = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"ready\n"
        sc = scenario({"devices": [device(0, processes={"compute": [
            {"pid": p.pid, "used_memory": 64 * MiB}]})]})
        r = run(["kill", f"--pid={p.pid}", "--dry-run", "--output=json"], scenario=sc)
        assert r.rc == 0, r.err
        assert str(p.pid) in r.out
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()


def test_config_output_equals_json(run):
    r = run(["config", "show", "--output=json"])
    assert r.rc == 0, r.err
    assert "keys" in json.loads(r.out)


@pytest.mark.parametrize("args, message", [
    (["watch", "--interval=abc"], "--interval: 'abc' is not a number of seconds"),
    (["compare", "a.json", "b.json", "--threshold=x"],
     "--threshold: 'x' is not a percentage from 0 to 1000000"),
    (["run", "--interval=5", "--", "true"],
     "--interval: '5' is not a whole number of milliseconds from 10 to 3600000"),
    (["run", "-i5", "true"], "--interval: '5' is not a whole number of milliseconds"),
    (["trace", "--ring-mb=0", "--", "true"], "--ring-mb: '0' is not a size in MiB (1 to 4096)"),
    (["analyze", "dir", "--top=x"], "--top: 'x' is not a count"),
    (["analyze", "dir", "--output=xml"], "--output: 'xml' is not table or json"),
    (["plot", "--pid=x", "a.csv"], "--pid: 'x' is not a process id"),
    (["select", "--format=json"], "--format: 'json' is not index or uuid"),
])
def test_equals_form_reaches_the_same_checks(run, args, message):
    r = run(args)
    assert r.rc == 3, (r.out, r.err)
    assert message in r.err


def test_value_errors_exit_3_with_one_message(run, two_gpus):
    r = run(["list", "--only=x"], scenario=two_gpus)
    assert r.rc == 3 and "--only: 'x' is not a GPU index" in r.err
    r = run(["list", "--details=yes"], scenario=two_gpus)
    assert r.rc == 3 and "option '--details' takes no value" in r.err
    r = run(["top", "-p", "0"], scenario=two_gpus)
    assert r.rc == 3 and "--pid: '0' is not a process id" in r.err


# ---- nvitop's spellings for top ----------------------------------------------------------------


def test_top_only_visible_compact(run, two_gpus):
    r = run(["top", "-1", "-ov", "-m", "compact"], scenario=two_gpus,
            env={"CUDA_VISIBLE_DEVICES": "1"})
    assert r.rc == 0, r.err
    assert "[compact]" in r.out
    assert re.search(r"^GPU 1 ", r.out, re.M) and not re.search(r"^GPU 0 ", r.out, re.M)


def test_top_only_short_and_equals(run, two_gpus):
    for args in (["-o", "0"], ["--only=0"], ["-o=0"]):
        r = run(["top", "--once", "--monitor=compact", *args], scenario=two_gpus)
        assert r.rc == 0, r.err
        assert re.search(r"^GPU 0 ", r.out, re.M) and not re.search(r"^GPU 1 ", r.out, re.M)


def test_top_monitor_without_mode_keeps_the_environment(run, two_gpus):
    r = run(["top", "-1", "-m"], scenario=two_gpus, env={"GPUCTL_MONITOR_MODE": "compact"})
    assert r.rc == 0, r.err
    assert "[compact]" in r.out


def test_nvitop_monitor_mode_is_a_fallback(run, two_gpus):
    r = run(["top", "-1"], scenario=two_gpus, env={"NVITOP_MONITOR_MODE": "compact,colorful"})
    assert "[compact]" in r.out
    r = run(["top", "-1"], scenario=two_gpus,
            env={"NVITOP_MONITOR_MODE": "compact", "GPUCTL_MONITOR_MODE": "full"})
    assert "[full]" in r.out


def test_top_filters_by_short_options(run, scenario, spawn_procs):
    ps = spawn_procs(2)
    sc = scenario({"devices": [device(0, processes={
        "compute": [{"pid": ps[0].pid, "used_memory": 64 * MiB}],
        "graphics": [{"pid": ps[1].pid, "used_memory": 64 * MiB}]})]})
    r = run(["top", "-1", "-c"], scenario=sc)
    assert str(ps[0].pid) in r.out and str(ps[1].pid) not in r.out
    r = run(["top", "-1", "-g"], scenario=sc)
    assert str(ps[1].pid) in r.out and str(ps[0].pid) not in r.out
    r = run(["top", "-1", "-p", str(ps[1].pid)], scenario=sc)
    assert str(ps[1].pid) in r.out and str(ps[0].pid) not in r.out
    r = run(["top", "-1", "-u", "nosuchuser"], scenario=sc)
    assert str(ps[0].pid) not in r.out and str(ps[1].pid) not in r.out
    r = run(["top", "-1", "-u"], scenario=sc)
    assert str(ps[0].pid) in r.out


def test_top_ascii_short(run, two_gpus):
    r = run(["top", "-1", "-U"], scenario=two_gpus)
    assert r.rc == 0, r.err
    assert all(ord(c) < 128 for c in r.out)


# ---- reset, audit and select ----------------------------------------------------------------------


def test_reset_flag_is_the_reset_command(run, two_gpus):
    r = run(["--reset"], scenario=two_gpus)
    assert r.rc == 3 and "either --gpu or --all" in r.err
    r = run(["--reset", "--gpu=x"], scenario=two_gpus)
    assert r.rc == 3 and "--gpu: 'x' is not a GPU index" in r.err


def test_audit_flags_with_gpu_kill_spellings(run, two_gpus):
    assert run(["list"], scenario=two_gpus).rc == 0          # records a sample
    a = run(["--audit", "--audit-summary", "--audit-hours", "12", "--audit-user", "nobody",
             "--audit-process=python", "--output=json"])
    b = run(["audit", "--summary", "--hours=12", "--user", "nobody", "--process", "python",
             "--output", "json"])
    assert (a.rc, b.rc) == (0, 0), a.err + b.err
    assert json.loads(a.out).keys() == json.loads(b.out).keys()
    r = run(["--audit", "--audit-hours", "x"])
    assert r.rc == 3 and "--hours" in r.err


def test_audit_rogue_flag(run, two_gpus):
    r = run(["--audit", "--rogue", "--output=json"], scenario=two_gpus)
    assert r.rc == 0, r.err
    json.loads(r.out)
    r = run(["audit", "--rogue", "--summary"], scenario=two_gpus)
    assert r.rc == 3 and "--summary does not go with --rogue" in r.err


def test_select_nvisel_spellings(run, two_gpus):
    r = run(["select", "-s", ";", "-c1"], scenario=two_gpus)
    assert r.rc == 0, r.err
    assert sorted(r.out.strip().split(";")) == ["0", "1"]
    r = run(["select", "--separator=:", "--tol=20", "-n", "2"], scenario=two_gpus)
    assert r.rc == 0, r.err
    assert sorted(r.out.strip().split(":")) == ["0", "1"]
    r = run(["select", "--tol", "150"], scenario=two_gpus)
    assert r.rc == 3 and "--tolerance: '150' is not a whole percentage" in r.err


# ---- help, man page and completions come from the tables ----------------------------------------


@pytest.fixture(scope="module")
def generated(gpuctl_bin):
    """The build's gpuctl-optgen outputs and every (command, spelling) of the tables."""
    build = gpuctl_bin.parent
    optgen = build / "gpuctl-optgen"
    gen = build / "src" / "cli" / "generated"
    if not optgen.is_file() or not gen.is_dir():
        pytest.skip(f"gpuctl-optgen or its outputs are not built in {build}")
    out = subprocess.run([str(optgen), "spellings"], check=True, capture_output=True,
                         text=True, timeout=30).stdout
    pairs = [tuple(line.split("\t")) for line in out.splitlines()]
    assert len(pairs) > 100, "the tables name every option of the converted commands"
    return {"pairs": pairs, "man": (gen / "gpuctl.1").read_text(),
            "bash": gen / "gpuctl", "zsh": (gen / "_gpuctl").read_text()}


def man_section(man, command):
    start = man.index(f'.SS "gpuctl {command}"')
    end = man.find(".SS ", start + 4)
    return man[start:end if end > 0 else len(man)]


def test_every_spelling_is_in_the_help(run, generated):
    helps = {}
    for command, spelling in generated["pairs"]:
        if command not in helps:
            helps[command] = run(["help", command]).out
        assert re.search(rf"(^|[\s,(]){re.escape(spelling)}([\s,)=\[]|$)", helps[command], re.M), \
            (command, spelling)


def test_every_spelling_is_in_the_man_page(generated):
    for command, spelling in generated["pairs"]:
        section = man_section(generated["man"], command)
        assert "\\fB" + spelling.replace("-", "\\-") + "\\fR" in section, (command, spelling)


def test_every_spelling_is_in_the_zsh_completion(generated):
    zsh = generated["zsh"]
    for command, spelling in generated["pairs"]:
        start = zsh.index(f"_gpuctl_{command}() {{")
        body = zsh[start:zsh.index("\n}\n", start)]
        assert re.search(rf"'\*?{re.escape(spelling)}=?\[", body), (command, spelling)


def test_bash_completion_offers_every_spelling(generated):
    commands = sorted({c for c, _ in generated["pairs"]})
    script = f"source {generated['bash']}\n"
    for command in commands:
        script += (f"COMP_WORDS=(gpuctl {command} -); COMP_CWORD=2; _gpuctl; "
                   f"echo \"{command}:${{COMPREPLY[*]}}\"\n")
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], check=True,
                         capture_output=True, text=True, timeout=30).stdout
    offered = {line.split(":", 1)[0]: set(line.split(":", 1)[1].split())
               for line in out.splitlines()}
    for command, spelling in generated["pairs"]:
        assert spelling in offered[command], (command, spelling)


def test_bash_completion_completes_choices_and_gpu_kill_form(generated):
    script = (f"source {generated['bash']}\n"
              "COMP_WORDS=(gpuctl top -m ''); COMP_CWORD=3; _gpuctl; echo \"${COMPREPLY[*]}\"\n"
              "COMP_WORDS=(gpuctl --log-level debug --guard --guard-group-m); COMP_CWORD=4; "
              "_gpuctl; echo \"${COMPREPLY[*]}\"\n")
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], check=True,
                         capture_output=True, text=True, timeout=30).stdout.splitlines()
    assert out[0].split() == ["auto", "full", "compact"]
    assert set(out[1].split()) == {"--guard-group-members", "--guard-group-memory-limit"}


def test_committed_man_page_is_the_generated_one(generated):
    """docs/gpuctl.1 carries the option reference the tables generate: after a
    table changes, copy build/src/cli/generated/gpuctl.1 over it."""
    assert (REPO / "docs" / "gpuctl.1").read_text() == generated["man"]


def test_top_interactive_only_visible_compact(tmp_path, gpuctl_bin, gpuctl_env, scenario):
    """The done-when line `gpuctl top -ov -m compact`, on a real terminal."""
    top = pytest.importorskip("test_top")
    if top.TMUX is None:
        pytest.skip("tmux is not installed")
    sc = scenario({"devices": [device(0), device(1)]})
    env = gpuctl_env(sc, {"TERM": "screen-256color", "CUDA_VISIBLE_DEVICES": "1",
                          "FAKE_NVML_RECHECK_MS": 0})
    t = top.Top(tmp_path, [gpuctl_bin, "top", "-ov", "-m", "compact"], env)
    try:
        screen = t.wait(lambda s: "[compact]" in s and re.search(r"^GPU 1 ", s, re.M),
                        "the compact screen with GPU 1")
        assert not re.search(r"^GPU 0 ", screen, re.M)
        t.keys("q")
        assert t.exit_code() == 0
    finally:
        t.kill()


def test_man_page_markup_keeps_words_and_entries_apart():
    """Roff slips that render as run-together text: each synopsis line is
    broken from the last, each variable of ENVIRONMENT is its own .TP entry,
    and an alternating-font macro never gets a bare "'s" word (".BR top 's
    display mode" renders as "top'sdisplaymode")."""
    lines = (REPO / "docs" / "gpuctl.1").read_text().split("\n")
    syn = lines.index(".SH SYNOPSIS")
    syn_end = next(i for i in range(syn + 1, len(lines)) if lines[i].startswith(".SH "))
    starts = [i for i in range(syn + 2, syn_end) if lines[i].startswith(".B gpuctl")]
    assert starts and all(lines[i - 1] == ".br" for i in starts), \
        [lines[i] for i in starts if lines[i - 1] != ".br"]
    env = lines.index(".SH ENVIRONMENT")
    env_end = next(i for i in range(env + 1, len(lines)) if lines[i].startswith(".SH "))
    entries = [i for i in range(env + 1, env_end) if re.match(r"\.BR? GPUCTL_", lines[i])]
    assert entries and all(lines[i - 1] == ".TP" for i in entries), \
        [lines[i] for i in entries if lines[i - 1] != ".TP"]
    assert not [l for l in lines if re.match(r"\.(BR|RB|IR|RI|BI|IB) \S+ 's ", l)]
