"""`gpuctl top`: the interactive monitor driven in tmux (send-keys,
capture-pane) against the fake NVML and real processes, plus --once and
option validation without a terminal.

Every test uses its own tmux server (`tmux -L <unique>`) and kills it at
teardown.  Waits poll the pane with generous deadlines: the machine may be
loaded, and nothing here asserts a duration."""

import os
import pathlib
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

from conftest import (GiB, MiB, device, write_json_atomically, check_no_sanitizer_report,
                      hung_driver_scenarios)

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
WAIT = 60          # seconds: a loaded 2-core box running ASan builds


def full_blocks(screen):
    """Whether GPU blocks are in full mode (their bandwidth bar line)."""
    return re.search(r"^  MBW ", screen, re.M) is not None


def proc(pid, mem_mib):
    return {"pid": pid, "used_memory": mem_mib * MiB}


class Top:
    """gpuctl top in a private tmux server."""

    def __init__(self, tmp_path, argv, env, width=160, height=50, alt_screen=True):
        self.sock = f"gpuctl-top-{uuid.uuid4().hex[:12]}"
        self.tmp = tmp_path
        self.rc_file = tmp_path / f"rc-{self.sock}"
        self.err_file = tmp_path / f"err-{self.sock}"
        envs = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
        cmd = (f"env -i {envs} {' '.join(shlex.quote(str(a)) for a in argv)} "
               f"2>{shlex.quote(str(self.err_file))}; echo $? > {shlex.quote(str(self.rc_file))}; "
               f"stty -a > {shlex.quote(str(self.rc_file))}.stty; sleep 600")
        # alternate-screen off: the pane keeps whatever the program leaves,
        # as the Linux console does (set before the program starts)
        pre = [] if alt_screen else ["start-server", ";", "set-option", "-g", "alternate-screen",
                                     "off", ";"]
        self.tmux(*pre, "new-session", "-d", "-x", str(width), "-y", str(height), cmd)

    def tmux(self, *args, check=True):
        return subprocess.run([TMUX, "-L", self.sock, *args], check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=WAIT).stdout

    def screen(self, escapes=False):
        args = ["capture-pane", "-p", "-t", "0"] + (["-e"] if escapes else [])
        return self.tmux(*args).decode("utf-8", errors="replace")

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "0", *keys)

    def literal(self, text):
        self.tmux("send-keys", "-t", "0", "-l", text)

    def wait(self, pred, what, timeout=WAIT):
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if pred(text):
                return text
            if self.rc_file.exists() and self.rc_file.read_text().strip():
                break
            time.sleep(0.1)
        err = self.err_file.read_text() if self.err_file.exists() else ""
        pytest.fail(f"timed out waiting for {what}; screen:\n{text}\nstderr:\n{err}")

    def wait_text(self, text, timeout=WAIT):
        return self.wait(lambda s: text in s, repr(text), timeout)

    def exit_code(self, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.rc_file.exists() and self.rc_file.read_text().strip():
                err = self.err_file.read_text()
                check_no_sanitizer_report(err)
                return int(self.rc_file.read_text())
            time.sleep(0.1)
        pytest.fail(f"gpuctl top did not exit; screen:\n{self.screen()}")

    def table_pids(self, screen=None):
        """The pids of the process table, top to bottom (of screen, a
        capture the caller holds, or of a new one)."""
        lines = (self.screen() if screen is None else screen).splitlines()
        heads = [i for i, l in enumerate(lines) if re.search(r"\bPID\b.*COMMAND", l)]
        if not heads:
            return []            # another screen, or a moment before the first frame
        head = heads[0]
        pids = []
        for line in lines[head + 1:]:
            m = re.match(r"^[ *][ >#]\s*(\d+(?::\d+)?|-)\s+(\d+)\s", line)
            if not m:
                break
            pids.append(int(m.group(2)))
        return pids

    def selected_pid(self, screen=None):
        for line in (self.screen() if screen is None else screen).splitlines():
            m = re.match(r"^[ *]>\s*(?:\d+(?::\d+)?|-)\s+(\d+)\s", line)
            if m:
                return int(m.group(1))
        return None

    def pane_flag(self, name):
        """A tmux format of the pane: cursor_flag (cursor shown), alternate_on."""
        return self.tmux("display-message", "-p", "-t", "0", f"#{{{name}}}").decode().strip()

    def pid(self):
        """gpuctl's pid: the child of the pane's shell (env execs it)."""
        shell = int(self.pane_flag("pane_pid"))
        kids = pathlib.Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
        return int(kids[0])

    def kill(self):
        self.tmux("kill-server", check=False)


@pytest.fixture
def top(tmp_path, gpuctl_bin, gpuctl_env, scenario):
    started = []
    make_scenario = scenario

    def start(scenario, *args, env=None, width=160, height=50, term="screen-256color",
              alt_screen=True):
        if isinstance(scenario, dict):
            scenario = make_scenario(scenario)
        e = gpuctl_env(scenario, {"TERM": term, "FAKE_NVML_RECHECK_MS": 0, **(env or {})})
        t = Top(tmp_path, [gpuctl_bin, "top", *args], e, width, height, alt_screen)
        started.append(t)
        return t

    yield start
    for t in started:
        t.kill()


def scenario_for(ps, per_gpu=None):
    """One GPU per group of processes; memory 100, 200, ... MiB in spawn order."""
    groups = per_gpu or [ps]
    devs, k = [], 0
    for i, group in enumerate(groups):
        plist = []
        for p in group:
            k += 1
            plist.append(proc(p.pid, 100 * k))
        devs.append(device(i, processes={"compute": plist}))
    return {"devices": devs}


# ---- without a terminal ------------------------------------------------------------------


def test_once_prints_one_frame(run, spawn_procs):
    ps = spawn_procs(2)
    r = run(["top", "--once"], scenario=scenario_for(ps))
    assert r.rc == 0, r.err
    assert r.out.startswith("gpuctl top")
    assert "NVIDIA H100 80GB HBM3" in r.out and "GPU 0" in r.out
    for col in "GPU PID USER TYPE GPU-MEM %SM %GMBW %CPU %MEM TIME COMMAND".split():
        assert col in r.out
    for p in ps:
        assert re.search(rf"\b{p.pid}\b.*gpuctl-test", r.out)
    assert "\x1b" not in r.out                      # not a terminal: no colour
    r1 = run(["top", "-1", "--ascii"], scenario=scenario_for(ps))
    assert r1.rc == 0 and all(ord(ch) < 128 for ch in r1.out), r1.out
    rc = run(["top", "--once", "--force-color"], scenario=scenario_for(ps))
    assert "\x1b[" in rc.out
    rn = run(["top", "--once", "--force-color", "--monitor", "compact"],
             scenario=scenario_for(ps))
    assert not full_blocks(rn.out) and full_blocks(r.out)


def test_once_filters(run, spawn_procs):
    ps = spawn_procs(3)
    sc = scenario_for(ps, per_gpu=[ps[:2], ps[2:]])
    r = run(["top", "--once", "--only", "1"], scenario=sc)
    assert r.rc == 0, r.err
    assert "GPU 1" in r.out and "GPU 0 " not in r.out
    assert str(ps[2].pid) in r.out and str(ps[0].pid) not in r.out
    r = run(["top", "--once", "--pid", str(ps[1].pid)], scenario=sc)
    assert str(ps[1].pid) in r.out and str(ps[0].pid) not in r.out
    r = run(["top", "--once", "--graphics"], scenario=sc)
    assert "No GPU process." in r.out


@pytest.mark.parametrize("args,env,message", [
    (["--interval", "0.1"], {}, "--interval"),
    (["--interval", "abc"], {}, "--interval"),
    (["--monitor", "huge"], {}, "display mode"),
    (["--gpu-util-thresh", "80", "10"], {}, "TH1 < TH2"),
    (["--mem-util-thresh", "10", "100"], {}, "threshold"),
    (["--gpu-util-thresh", "10"], {}, "two values"),
    (["--no-color", "--force-color"], {}, "contradict"),
    (["--bogus"], {}, "unknown option"),
    ([], {"GPUCTL_MONITOR_MODE": "tiny"}, "GPUCTL_MONITOR_MODE"),
    ([], {"GPUCTL_WATCH_INTERVAL": "0.1"}, "watch_interval_secs"),
    ([], {"GPUCTL_MONITOR_THEME": "pink"}, "GPUCTL_MONITOR_THEME"),
    ([], {"GPUCTL_GPU_UTILIZATION_THRESHOLDS": "50"}, "GPUCTL_GPU_UTILIZATION_THRESHOLDS"),
    ([], {"GPUCTL_MEMORY_UTILIZATION_THRESHOLDS": "90,20"}, "GPUCTL_MEMORY_UTILIZATION"),
])
def test_invalid_values_refused_before_the_screen(run, args, env, message):
    r = run(["top", "--once", *args], scenario={"devices": [device(0)]}, env=env)
    assert r.rc == 3, (r.out, r.err)
    assert message in r.err
    assert r.out == ""


def test_valid_environment_and_flags(run):
    env = {"GPUCTL_MONITOR_MODE": "compact", "GPUCTL_GPU_UTILIZATION_THRESHOLDS": "5 50",
           "GPUCTL_MEMORY_UTILIZATION_THRESHOLDS": "5,50", "GPUCTL_MONITOR_THEME": "light"}
    r = run(["top", "--once"], scenario={"devices": [device(0)]}, env=env)
    assert r.rc == 0, r.err
    assert "[compact]" in r.out and not full_blocks(r.out)
    r = run(["top", "--once", "--monitor", "full"], scenario={"devices": [device(0)]}, env=env)
    assert "[full]" in r.out and full_blocks(r.out)         # the flag wins


def test_once_in_the_c_locale_is_ascii(run, spawn_procs):
    ps = spawn_procs(2)
    r = run(["top", "--once"], scenario=scenario_for(ps), env={"LANG": None, "LC_ALL": "C"})
    assert r.rc == 0, r.err
    assert "GPU 0" in r.out and str(ps[0].pid) in r.out
    assert all(ord(ch) < 128 for ch in r.out), [ch for ch in r.out if ord(ch) >= 128]
    r = run(["top", "--once"], scenario=scenario_for(ps), env={"LC_ALL": "C.UTF-8"})
    assert "▲" in r.out or "│" in r.out


def test_needs_a_terminal(run):
    r = run(["top"], scenario={"devices": [device(0)]})
    assert r.rc != 0 and "terminal" in r.err


# ---- in tmux -----------------------------------------------------------------------------


def test_keys_navigation_modes_and_help(top, spawn_procs):
    ps = spawn_procs(4)
    t = top(scenario_for(ps), "--interval", "0.5")
    t.wait_text("COMMAND")
    s = t.wait(lambda s: t.table_pids(s) == [p.pid for p in ps], "the processes in spawn order")
    assert t.selected_pid(s) is None
    t.keys("Down")
    t.wait(lambda s: t.selected_pid() == ps[0].pid, "first selected")
    for key, want in [("Down", 1), ("Tab", 2), ("BTab", 1), ("M-j", 2), ("M-k", 1),
                      ("End", 3), ("Home", 0), ("NPage", 3), ("PPage", 0), ("]", 3),
                      ("[", 0), ("Up", 0)]:
        t.keys(key)
        t.wait(lambda s, want=want: t.selected_pid() == ps[want].pid, f"{key} selects {want}")
    t.keys("Escape")
    t.wait(lambda s: t.selected_pid() is None, "Esc clears the selection")
    # tags
    t.keys("Down", "Space")
    t.wait(lambda s: re.search(rf"^\*.*\b{ps[0].pid}\b", s, re.M), "a tagged row")
    # modes
    t.keys("c")
    t.wait(lambda s: "[compact" in s and not full_blocks(s), "compact mode")
    t.keys("f")
    t.wait(lambda s: "[full" in s and full_blocks(s), "full mode")
    t.keys("a")
    t.wait_text("[auto")
    # help
    for key in ("h", "?"):
        t.keys(key)
        # the whole screen, not a capture taken while the terminal was
        # still receiving it (the last line is there)
        help_text = t.wait(lambda s: "gpuctl top - keys" in s and "to go back" in s,
                           "the whole help screen")
        for binding in ("Ctrl-R", "F5", "Alt-k", "Shift-Tab", "PgUp", "Esc", "Space",
                        "I  T  K", "tree view", "Enter", "o + n u p g s b c m t", "PCRE2",
                        "mouse"):
            assert binding in help_text
        t.keys("q")
        t.wait_text("COMMAND")
    # redraw keys keep the screen whole
    for key in ("r", "C-r", "F5"):
        t.keys(key)
        t.wait(lambda s: s.startswith("gpuctl top") and "COMMAND" in s, f"redraw {key}")
    # the command scrolls horizontally
    t.keys("Right", "Right")
    t.wait(lambda s: re.search(rf"\b{ps[1].pid}\b.*\sest-1 300", s), "command scrolled")
    t.keys("^")
    t.wait(lambda s: re.search(rf"\b{ps[1].pid}\b.*gpuctl-test-1 300", s), "command at start")
    t.keys("q")
    assert t.exit_code() == 0


def test_command_scrolls_to_its_end(top, spawn_procs):
    long = spawn_procs(1, argv=[sys.executable, "-c", "import time; time.sleep(300)",
                                "x" * 300, "THE-END"])[0]
    t = top(scenario_for([long]), "--interval", "0.5", width=120)
    s = t.wait(lambda s: str(long.pid) in s and "time.sleep" in s, "the row and its command")
    assert "THE-END" not in s
    t.keys("$")
    t.wait(lambda s: re.search(r"x THE-END$", s, re.M) and "time.sleep" not in s, "the end")
    t.keys("^")
    t.wait(lambda s: "time.sleep" in s and "THE-END" not in s, "the start again")
    t.keys("Right")
    t.wait(lambda s: "time.sleep" in s and sys.executable not in s, "scrolled right")
    t.keys("Left")
    t.wait(lambda s: sys.executable in s, "scrolled back")


def test_sorting(top, spawn_procs):
    ps = spawn_procs(3)
    # memory: ps[0] 300, ps[1] 100, ps[2] 200 MiB
    sc = {"devices": [device(0, processes={"compute": [proc(ps[0].pid, 300), proc(ps[1].pid, 100),
                                                       proc(ps[2].pid, 200)]})]}
    t = top(sc, "--interval", "0.5")
    t.wait(lambda s: all(str(p.pid) in s for p in ps), "the processes")
    by_pid = sorted(p.pid for p in ps)
    by_mem = [ps[1].pid, ps[2].pid, ps[0].pid]
    # nvitop's directions: quantities descend on the lower-case letter
    t.keys("o", "g")
    t.wait(lambda s: t.table_pids() == by_mem[::-1] and "sort GPU-MEM▼" in s, "o g descends")
    t.keys("o", "G")
    t.wait(lambda s: t.table_pids() == by_mem and "sort GPU-MEM▲" in s, "o G ascends")
    t.keys("/")
    t.wait(lambda s: t.table_pids() == by_mem[::-1], "/ reverses")
    t.keys("o", "p")
    t.wait(lambda s: t.table_pids() == by_pid[::-1] and "sort PID▼" in s, "o p descends")
    t.keys("o", "P")
    t.wait(lambda s: t.table_pids() == by_pid and "sort PID▲" in s, "o P ascends")
    t.keys(".")                    # PID -> USER
    t.wait_text("sort USER")
    t.keys(".")                    # USER -> GPU-MEM
    t.wait(lambda s: "sort GPU-MEM" in s and t.table_pids() == by_mem, ". moves right")
    t.keys(",", ",")
    t.wait(lambda s: "sort PID" in s and t.table_pids() == by_pid, ", moves left")
    for letter, name, mark in zip("nusbcmt", ["GPU", "USER", "%SM", "%GMBW", "%CPU", "%MEM", "TIME"],
                                  "▲▲▼▼▼▼▼"):
        t.keys("o", letter)
        t.wait_text(f"sort {name}{mark}")
        t.keys("o", letter.upper())
        t.wait_text(f"sort {name}{'▼' if mark == '▲' else '▲'}")
    t.keys("q")
    assert t.exit_code() == 0


def test_alt_keys_are_one_key(top, spawn_procs):
    """Alt-x is read as one key (ESC x within the escape delay), never as Esc
    and then x: Alt-K pages instead of clearing the selection and asking for
    SIGKILL, Alt-h scrolls instead of opening the help."""
    ps = spawn_procs(4)
    long = spawn_procs(1, argv=[sys.executable, "-c", "import time; time.sleep(300)",
                                "y" * 300, "TAIL-MARK"])
    # xterm's entry: SGR mouse reports (kmous=\E[<), which carry Shift on the wheel
    t = top(scenario_for(ps + long), "--interval", "0.5", width=120, term="xterm-256color")
    t.wait(lambda s: len(t.table_pids()) == 5, "the processes")
    t.keys("Down", "Down")
    t.wait(lambda s: t.selected_pid() == ps[1].pid, "second selected")
    t.keys("M-J")
    t.wait(lambda s: t.selected_pid() == long[0].pid, "Alt-J pages down")
    t.keys("M-K")
    s = t.wait(lambda s: t.selected_pid(s) == ps[0].pid, "Alt-K pages up")
    assert "select or tag a process first" not in s
    assert "Send SIGKILL" not in s
    t.keys("M-j")
    t.wait(lambda s: t.selected_pid() == ps[1].pid, "Alt-j")
    # sideways: Alt-l, Alt-h (not the help screen), Ctrl-E, Ctrl-A
    t.keys("M-l", "M-l")
    t.wait(lambda s: re.search(rf"\b{ps[1].pid}\b.*\sest-1 300", s), "Alt-l scrolls right")
    t.keys("M-h")
    s = t.wait(lambda s: re.search(rf"\b{ps[1].pid}\b.*\stl-test-1 300", s) and
               t.selected_pid(s) == ps[1].pid, "Alt-h scrolls left")
    assert "gpuctl top - keys" not in s
    t.keys("C-e")
    t.wait(lambda s: re.search(r"y TAIL-MARK$", s, re.M), "Ctrl-E: the end")
    t.keys("C-a")
    s = t.wait(lambda s: re.search(rf"\b{ps[1].pid}\b.*gpuctl-test-1 300", s), "Ctrl-A: the start")
    # Shift-wheel (SGR report: button 64 + 1 for down, + 4 for Shift) scrolls sideways
    lines = s.splitlines()
    row = next(i for i, l in enumerate(lines) if re.search(rf"\b{ps[1].pid}\b", l))
    t.literal(f"\x1b[<{64 + 1 + 4};12;{row + 1}M")
    s = t.wait(lambda s: re.search(rf"\b{ps[1].pid}\b.*\stl-test-1 300", s),
               "Shift-wheel scrolls right")
    assert t.selected_pid(s) == ps[1].pid                # not moved by that wheel
    t.keys("q")
    assert t.exit_code() == 0


def test_ctrl_c_interrupts_the_selection_or_quits(top, spawn_procs):
    ps = spawn_procs(2)
    t = top(scenario_for(ps), "--interval", "0.5")
    t.wait(lambda s: len(t.table_pids()) == 2, "the processes")
    t.keys("Down", "C-c")
    t.wait_text(f"Send SIGINT to pid {ps[0].pid}")
    t.keys("y")
    t.wait_text("SIGINT sent to 1 process")
    assert ps[0].popen.wait(timeout=WAIT) == -signal.SIGINT
    assert ps[1].popen.poll() is None
    t.keys("Escape")
    t.wait(lambda s: t.selected_pid() is None, "nothing selected")
    t.keys("C-c")
    assert t.exit_code() == 0
    assert ps[1].popen.poll() is None


def test_help_scrolls_on_a_small_terminal(top, spawn_procs):
    ps = spawn_procs(1)
    t = top(scenario_for(ps), "--interval", "0.5", width=80, height=24)
    t.wait_text(str(ps[0].pid))
    t.keys("h")
    s = t.wait(lambda s: "gpuctl top - keys" in s and
               (s.split("\n") + [""] * 24)[23].startswith("lines "),
               "the help screen with its footer")
    assert "mouse  " not in s                            # the last binding is below
    last = s.split("\n")[23]
    assert re.match(r"lines 1-22 of \d+: ", last), last  # no stray cell from the main screen
    t.keys("End")
    s = t.wait_text("mouse  ")
    assert "gpuctl top - keys" in s
    t.keys("Home")
    t.wait(lambda s: "mouse  " not in s and "  q  " in s, "back at the top")
    t.keys("NPage")
    t.wait(lambda s: "  q  " not in s, "a page down")
    t.keys("q")
    t.wait_text("COMMAND")
    t.keys("q")
    assert t.exit_code() == 0


def test_filter_prompt(top, spawn_procs):
    ps = spawn_procs(2)
    py = spawn_procs(1, argv=[sys.executable, "-c", "import time; time.sleep(300)",
                              "filter-me-please"])
    t = top(scenario_for(ps + py), "--interval", "0.5")
    t.wait(lambda s: str(py[0].pid) in s and str(ps[0].pid) in s, "the processes")
    t.keys("F")
    t.wait_text("Filter (PCRE2")
    t.literal("filter-me-pl.*se")
    t.keys("Enter")
    t.wait(lambda s: t.table_pids() == [py[0].pid] and "filter: filter-me-pl.*se" in s, "filtered")
    t.keys("F")
    t.literal("(")                 # appended: "filter-me-pl.*se(" is invalid
    t.keys("Enter")
    t.wait(lambda s: "invalid filter" in s, "the pattern error")
    assert t.table_pids() == [py[0].pid]          # the old filter stays
    t.keys("F", "C-u", "Enter")
    t.wait(lambda s: len(t.table_pids()) == 3 and "filter:" not in s, "filter cleared")
    # matches the user name too
    t.keys("F")
    t.literal(f"^{ps[0].user}$")
    t.keys("Enter")
    t.wait(lambda s: len(t.table_pids()) == 3 and "filter: ^" in s, "user filter")
    t.keys("F")
    t.literal("zz-no-such")
    t.keys("Enter")
    t.wait_text("No process matches the filter.")
    t.keys("q")
    assert t.exit_code() == 0


def spawn_child_under_shell(spawn_procs, script="/bin/sleep 300 & wait"):
    """A shell (not on a GPU) and the process it started: (shell, child pid)."""
    parent = spawn_procs(1, argv=["/bin/sh", "-c", script])[0]
    deadline = time.monotonic() + WAIT
    child = None
    while child is None and time.monotonic() < deadline:
        kids = pathlib.Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()
        child = int(kids[0]) if kids else None
        time.sleep(0.05)
    assert child
    return parent, child


def test_tree_env_and_process_screens(top, spawn_procs):
    # a shell (not on a GPU) that launched the GPU process
    parent, child = spawn_child_under_shell(
        spawn_procs, "GPUCTL_TOP_MARK=env-seen /bin/sleep 300 & echo $! > /dev/null; wait")
    sc = {"devices": [device(0, processes={"compute": [proc(child, 500)]})]}
    t = top(sc, "--interval", "0.5")
    s = t.wait(lambda s: child in t.table_pids(s), "the GPU process")
    assert parent.pid not in t.table_pids(s)
    t.keys("t")
    s = t.wait(lambda s: {parent.pid, child} <= set(t.table_pids(s)) and "└─ " in s,
               "the tree view")
    pids = t.table_pids(s)
    assert pids.index(parent.pid) < pids.index(child)
    t.keys("t")
    t.wait(lambda s: t.table_pids() == [child], "the flat view again")
    t.keys("Down", "e")
    t.wait_text(f"Environment of pid {child}")
    t.wait_text("GPUCTL_TOP_MARK=env-seen")
    t.keys("q")
    t.wait_text("COMMAND")
    t.keys("Enter")
    # a capture can land mid-redraw: wait for the whole screen, not its first line
    titles = (f"Process {child}", "CPU %", "Host memory", "GPU memory: 500MiB", "SM %")
    t.wait(lambda s: all(title in s for title in titles), "the process screen")
    t.keys("Escape")
    t.wait_text("COMMAND")
    t.keys("q")
    assert t.exit_code() == 0


def test_tree_ancestors_show_their_cpu(top, spawn_procs):
    parent, child = spawn_child_under_shell(spawn_procs)
    t = top({"devices": [device(0, processes={"compute": [proc(child, 500)]})]},
            "--interval", "0.25", "--no-color")
    t.wait_text(str(child))
    t.keys("t")
    # the ancestor's row: GPU, TYPE, GPU-MEM, %SM, %GMBW are "-"; then %CPU
    cpu = re.compile(rf"^[ *][ >]\s*-\s+{parent.pid}\s+\S+\s+-\s+-\s+-\s+-\s+(\d+\.\d)\s", re.M)
    t.wait(lambda s: cpu.search(s), "a CPU % on the ancestor's row")
    t.keys("q")
    assert t.exit_code() == 0


def test_process_screen_graphs_have_a_scale(top, spawn_procs):
    ps = spawn_procs(1)
    t = top({"devices": [device(0, processes={"compute": [proc(ps[0].pid, 500)]})]},
            "--interval", "0.25")
    t.wait_text(str(ps[0].pid))
    t.keys("Down", "Enter")
    # the whole screen in one capture: the CPU graph above, SM % below
    s = t.wait(lambda s: re.search(r"GPU memory: 500MiB .*\(graph 0 - 1000MiB\)", s) and
               re.search(r"CPU %: .*\(graph 0 - 100%\)", s) and "SM %" in s and
               re.search(r"[\u2801-\u28ff]", s.split("GPU memory:")[1].split("SM %")[0]),
               "the GPU memory graph with its scale")
    box = s.split("GPU memory:")[1].split("SM %")[0].split("\n")[1:-1]
    assert box and not re.search(r"[\u2801-\u28ff]", box[0]), box      # half height: top empty
    t.keys("q", "q")
    assert t.exit_code() == 0


def test_signal_prompt_for_a_process_without_a_name(top):
    t = top({"devices": [device(0, processes={"compute": [proc(999999, 10)]})]},
            "--interval", "0.5")
    t.wait(lambda s: 999999 in t.table_pids(), "the row")
    t.keys("Down", "T")
    t.wait_text("Send SIGTERM to pid 999999? [y/N]")
    t.keys("n")


def test_status_message_goes_after_a_while(top, spawn_procs):
    ps = spawn_procs(1)
    t = top(scenario_for(ps), "--interval", "0.5")
    t.wait_text(str(ps[0].pid))
    t.keys("e")
    t.wait_text("select a process first")
    t.wait(lambda s: "select a process first" not in s and
           s.rstrip().split("\n")[-1].startswith("q quit"), "the hint line back")
    t.keys("q")
    assert t.exit_code() == 0


def test_signals_are_delivered(top, spawn_procs):
    ps = spawn_procs(4)
    t = top(scenario_for(ps), "--interval", "0.5")
    t.wait(lambda s: all(str(p.pid) in s for p in ps), "the processes")
    t.keys("Down", "T")
    t.wait_text(f"Send SIGTERM to pid {ps[0].pid}")
    t.keys("n")
    t.wait_text("cancelled")
    assert ps[0].popen.poll() is None
    t.keys("T")
    t.wait_text("[y/N]")
    t.keys("y")
    t.wait_text("SIGTERM sent to 1 process")
    assert ps[0].popen.wait(timeout=WAIT) == -signal.SIGTERM
    # two tagged processes get SIGKILL
    t.keys("Home", "Down", "Space", "Space")
    t.keys("K")
    t.wait_text("Send SIGKILL to 2 tagged processes")
    t.keys("y")
    t.wait_text("SIGKILL sent to 2 processes")
    assert ps[1].popen.wait(timeout=WAIT) == -signal.SIGKILL
    assert ps[2].popen.wait(timeout=WAIT) == -signal.SIGKILL
    t.keys("Escape", "End", "I")
    t.wait_text("Send SIGINT")
    t.keys("y")
    t.wait_text("SIGINT sent")
    assert ps[3].popen.wait(timeout=WAIT) == -signal.SIGINT
    t.keys("q")
    assert t.exit_code() == 0


def test_signals_refused_in_readonly(top, spawn_procs):
    ps = spawn_procs(1)
    t = top(scenario_for(ps), "--readonly", "--interval", "0.5")
    t.wait_text(str(ps[0].pid))
    t.wait_text("read-only")
    for key in ("K", "T", "I"):
        t.keys("Down", key, "y")
        t.wait_text("read-only mode: signals are disabled")
    time.sleep(0.5)
    assert ps[0].popen.poll() is None
    t.keys("q")
    assert t.exit_code() == 0


def test_signal_refused_for_pid_1_shows_the_reason(top, spawn_procs):
    # pid 1 on a GPU (a scenario can claim it): the kill checks refuse it
    t = top({"devices": [device(0, processes={"compute": [proc(1, 10)]})]}, "--interval", "0.5")
    t.wait(lambda s: 1 in t.table_pids(), "pid 1 listed")
    t.keys("Down", "T", "y")
    t.wait_text("SIGTERM not sent")


def test_selection_cleared_when_process_exits_and_lost_gpu(top, spawn_procs, scenario):
    ps = spawn_procs(2)
    data = scenario_for(ps, per_gpu=[ps[:1], ps[1:]])
    path = scenario(data)
    t = top(path, "--interval", "0.25")
    t.wait(lambda s: all(str(p.pid) in s for p in ps), "the processes")
    t.keys("Down")
    t.wait(lambda s: t.selected_pid() == ps[0].pid, "selected")
    ps[0].popen.kill()
    ps[0].popen.wait()
    data["devices"][0]["processes"]["compute"] = []
    write_json_atomically(path, data)
    t.wait(lambda s: "selection cleared" in s and t.selected_pid() is None, "selection cleared")
    # GPU 1 falls off the bus
    lost = ["nvmlDeviceGetMemoryInfo", "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetTemperature",
            "nvmlDeviceGetPowerUsage", "nvmlDeviceGetComputeRunningProcesses"]
    data["devices"][1]["errors"] = {fn: "GPU_IS_LOST" for fn in lost}
    write_json_atomically(path, data)
    t.wait(lambda s: re.search(r"GPU 1 .*LOST", s), "GPU 1 shown as lost")
    t.keys("q")
    assert t.exit_code() == 0


def test_keys_answer_while_the_driver_stalls(top, spawn_procs, scenario):
    ps = spawn_procs(1)
    data = scenario_for(ps)
    path = scenario(data)
    t = top(path, "--interval", "0.25")
    t.wait_text(str(ps[0].pid))
    # stuck for the rest of the test (ten minutes), so keys that answer at
    # all answer while the sample hangs, however slow this machine is
    data["delays_ms"] = {"nvmlDeviceGetUtilizationRates": 600000}
    write_json_atomically(path, data)
    t.wait(lambda s: "STALE" in s and "driver busy" in s, "the stale mark")
    # keys still answer while the sample is stuck in the driver
    t.keys("h")
    t.wait(lambda s: "gpuctl top - keys" in s, "the help screen")
    t.keys("q")
    t.wait(lambda s: "COMMAND" in s and "driver busy" in s, "back, still stalled")
    t.keys("c")
    t.wait(lambda s: "[compact" in s and "driver busy" in s, "compact mode, still stalled")
    t.keys("q")
    assert t.exit_code() == 0


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
def test_resize_redraws_cleanly(top, spawn_procs, size):
    ps = spawn_procs(3)
    t = top(scenario_for(ps), "--interval", "0.5", width=100, height=30)
    t.wait_text("COMMAND")
    w, h = size
    t.tmux("resize-window", "-t", "0", "-x", str(w), "-y", str(h))

    def clean(s):
        lines = s.split("\n")
        return (len(lines) >= h and lines[0].startswith("gpuctl top")
                and sum("COMMAND" in l for l in lines) == 1
                and lines[h - 1].startswith(("q quit", "pid"))
                and all(len(l) <= w for l in lines) and "\ufffd" not in s
                and all(str(p.pid) in s for p in ps))
    t.wait(clean, f"a clean {w}x{h} screen")
    t.keys("q")
    assert t.exit_code() == 0


def test_ascii_and_no_colour(top, spawn_procs):
    ps = spawn_procs(2)
    t = top(scenario_for(ps), "--ascii", "--no-color", "--monitor", "full", "--interval", "0.5")
    t.wait(lambda s: full_blocks(s) and str(ps[1].pid) in s, "the screen")
    t.keys("Down", "t")
    s = t.wait(lambda s: "`- " in s or "|- " in s, "an ASCII tree")
    assert all(ord(ch) < 128 for ch in s), s
    coloured = re.compile(r"\x1b\[[0-9;]*(?:3[0-7]|38|9[0-7]|4[0-7])[;m]")
    assert not coloured.search(t.screen(escapes=True))
    t.keys("q")
    assert t.exit_code() == 0
    c = top(scenario_for(ps), "--interval", "0.5")
    c.wait_text(str(ps[1].pid))
    c.wait(lambda s: coloured.search(c.screen(escapes=True)), "colour without --no-color")
    n = top(scenario_for(ps), "--interval", "0.5", env={"NO_COLOR": "1"})
    n.wait_text(str(ps[1].pid))
    assert not coloured.search(n.screen(escapes=True))


@pytest.mark.parametrize("term", ["xterm", "screen-256color", "linux"])
def test_terminal_types_and_sigterm_restore(top, spawn_procs, term):
    ps = spawn_procs(1)
    t = top(scenario_for(ps), "--interval", "0.5", term=term)
    t.wait_text(str(ps[0].pid))
    # this pane's gpuctl, not the newest one on the machine (another run's)
    os.kill(t.pid(), signal.SIGTERM)
    assert t.exit_code() == 0
    stty = pathlib.Path(str(t.rc_file) + ".stty")
    deadline = time.monotonic() + WAIT
    while not (stty.exists() and stty.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    modes = stty.read_text().split()
    assert "icanon" in modes and "echo" in modes, modes     # the terminal is restored


@pytest.mark.parametrize("how", ["q after a resize", "SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT",
                                 "crash in the sampling thread"])
def test_terminal_restored_on_every_exit_path(top, spawn_procs, scenario, how):
    """The tty modes, the cursor, the alternate screen and the pane's text
    after each way out; tmux's alternate-screen is off so, as on the Linux
    console, any frame left behind would stay visible."""
    ps = spawn_procs(1)
    data = scenario_for(ps)
    path = scenario(data)
    t = top(path, "--interval", "0.25", width=100, height=30, alt_screen=False)
    t.wait_text(str(ps[0].pid))
    assert t.pane_flag("cursor_flag") == "0"
    want_rc = 0
    if how == "q after a resize":
        t.tmux("resize-window", "-t", "0", "-x", "80", "-y", "24")
        t.wait(lambda s: len(s.split("\n")[0]) <= 80 and "COMMAND" in s, "the smaller frame")
        t.keys("q")
    elif how.startswith("SIG"):
        os.kill(t.pid(), getattr(signal, how))
    else:
        data["abort_in"] = "nvmlDeviceGetUtilizationRates"
        write_json_atomically(path, data)
        want_rc = 128 + signal.SIGABRT
    rc_text = None
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and not rc_text:
        rc_text = t.rc_file.read_text().strip() if t.rc_file.exists() else None
        time.sleep(0.1)
    assert rc_text and int(rc_text) == want_rc, (rc_text, t.err_file.read_text())
    stty = pathlib.Path(str(t.rc_file) + ".stty")
    while not (stty.exists() and stty.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    modes = stty.read_text().split()
    assert "icanon" in modes and "echo" in modes and "isig" in modes, modes
    assert re.search(r"\bintr = \^C;", stty.read_text()), stty.read_text()

    # gpuctl has exited, but tmux may not have read its last bytes from the
    # pane yet: poll until the pane shows them (or the deadline passes)
    def restored():
        s = t.screen()
        return (t.pane_flag("cursor_flag") == "1" and t.pane_flag("alternate_on") == "0"
                and "COMMAND" not in s and not re.search(r"^gpuctl top  ", s, re.M)
                and not re.search(rf"\b{ps[0].pid}\b", s))
    deadline = time.monotonic() + WAIT
    while not restored() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert t.pane_flag("cursor_flag") == "1"
    assert t.pane_flag("alternate_on") == "0"
    s = t.screen()
    assert "COMMAND" not in s and not re.search(r"^gpuctl top  ", s, re.M), s
    assert not re.search(rf"\b{ps[0].pid}\b", s), s


def test_unknown_terminal_is_refused_without_a_leak(top, spawn_procs):
    """TERM naming no terminfo entry: a clear error, and (under the
    sanitizer build) no leak report; ncurses' own unfreeable block is
    suppressed in lsan.supp."""
    ps = spawn_procs(1)
    t = top(scenario_for(ps), "--interval", "0.5", term="unknown-term")
    assert t.exit_code() != 0                     # exit_code() fails on a sanitizer report
    err = t.err_file.read_text()
    assert "cannot start the terminal (TERM=unknown-term)" in err and "Sanitizer" not in err, err


def test_suspend_and_resume(tmp_path, gpuctl_bin, gpuctl_env, spawn_procs, scenario):
    ps = spawn_procs(1)
    env = gpuctl_env(scenario(scenario_for(ps)), {"TERM": "xterm-256color", "PS1": "READY$ "})
    sock = f"gpuctl-top-{uuid.uuid4().hex[:12]}"
    envs = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
    tm = lambda *a: subprocess.run([TMUX, "-L", sock, *a], stdout=subprocess.PIPE, check=True,
                                   timeout=WAIT).stdout.decode("utf-8", "replace")
    tm("new-session", "-d", "-x", "120", "-y", "40", f"env -i {envs} /bin/bash --norc -i")
    try:
        def wait(pred, what):
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline:
                s = tm("capture-pane", "-p", "-t", "0")
                if pred(s):
                    return s
                time.sleep(0.1)
            pytest.fail(f"timed out waiting for {what}:\n{s}")
        wait(lambda s: "READY$" in s, "the shell")
        tm("send-keys", "-t", "0", "-l", f"{gpuctl_bin} top --interval 0.5")
        tm("send-keys", "-t", "0", "Enter")
        wait(lambda s: str(ps[0].pid) in s and "COMMAND" in s, "the monitor")
        tm("send-keys", "-t", "0", "C-z")
        wait(lambda s: "Stopped" in s and "COMMAND" not in s, "the shell after Ctrl-Z")
        tm("send-keys", "-t", "0", "-l", "fg")
        tm("send-keys", "-t", "0", "Enter")
        wait(lambda s: str(ps[0].pid) in s and "COMMAND" in s, "the monitor again")
        tm("send-keys", "-t", "0", "h")
        wait(lambda s: "gpuctl top - keys" in s, "keys work after fg")
        tm("send-keys", "-t", "0", "q", "q")
        wait(lambda s: "COMMAND" not in s and s.rstrip().endswith("READY$"), "the prompt")
    finally:
        subprocess.run([TMUX, "-L", sock, "kill-server"], check=False)


def test_mouse_click_and_wheel(top, spawn_procs):
    ps = spawn_procs(3)
    t = top(scenario_for(ps), "--interval", "0.5")
    s = t.wait(lambda s: t.table_pids(s) == [p.pid for p in ps], "the processes")
    lines = s.splitlines()
    row = next(i for i, l in enumerate(lines) if re.search(rf"\b{ps[1].pid}\b", l))
    # X10 mouse reports, as screen-256color's kmous (\E[M) announces: a press
    # and release of button 1 at column 11 of that row, then a wheel step down
    pos = chr(32 + 11) + chr(32 + row + 1)
    t.literal("\x1b[M" + chr(32 + 0) + pos + "\x1b[M" + chr(32 + 3) + pos)
    t.wait(lambda s: t.selected_pid() == ps[1].pid, "a click selects the row")
    t.literal("\x1b[M" + chr(32 + 65) + pos)
    t.wait(lambda s: t.selected_pid() == ps[2].pid, "the wheel moves the selection")


def test_mig_instances_have_their_own_rows(run, spawn_procs):
    ps = spawn_procs(2)
    mig = {"current": True, "pending": True, "max_devices": 7, "devices": [
        {"name": "NVIDIA A100-SXM4-40GB MIG 3g.20gb", "uuid": f"MIG-0000000{i}-5e6f-5a7b-8c9d-0e1f2a3b4c5d",
         "gpu_instance_id": i + 1, "compute_instance_id": 0,
         "memory": {"total": 20 * GiB, "used": (i + 1) * GiB},
         "processes": {"compute": [proc(ps[i].pid, 700 + i)], "graphics": []}} for i in range(2)]}
    sc = {"devices": [device(0, name="NVIDIA A100-SXM4-40GB", mig=mig)]}
    r = run(["top", "--once"], scenario=sc)
    assert r.rc == 0, r.err
    assert "MIG On" in r.out
    rows = [l for l in r.out.splitlines() if l.lstrip().startswith("MIG ")]
    assert len(rows) == 2, r.out
    assert rows[0].lstrip().startswith("MIG 1/0") and "1.00GiB / 20.0GiB" in rows[0]
    assert rows[1].lstrip().startswith("MIG 2/0") and "2.00GiB / 20.0GiB" in rows[1]
    for p in ps:
        assert re.search(rf"\b{p.pid}\b", r.out)


def mig_scenario(ps):
    """An A100 in MIG mode, one process on each of its two 3g.20gb instances."""
    mig = {"current": True, "pending": True, "max_devices": 7, "devices": [
        {"name": "NVIDIA A100-SXM4-40GB MIG 3g.20gb",
         "uuid": f"MIG-0000000{i}-5e6f-5a7b-8c9d-0e1f2a3b4c5d",
         "gpu_instance_id": i + 1, "compute_instance_id": 0,
         "memory": {"total": 20 * GiB, "used": (i + 1) * GiB},
         "processes": {"compute": [proc(ps[i].pid, 700 + i)], "graphics": []}} for i in range(2)]}
    return {"devices": [device(0, name="NVIDIA A100-SXM4-40GB", mig=mig)]}


def test_mig_process_rows_name_their_instance(run, spawn_procs):
    ps = spawn_procs(2)
    r = run(["top", "--once"], scenario=mig_scenario(ps))
    assert r.rc == 0, r.err
    for i, p in enumerate(ps):
        assert re.search(rf"^[ *] +0:{i} +{p.pid}\b", r.out, re.M), r.out
    rows = [l for l in r.out.splitlines() if l.lstrip().startswith("MIG ")]
    assert rows[0].lstrip().startswith("MIG 1/0 3g.20gb "), rows


def test_only_visible_narrows_to_a_mig_instance(run, spawn_procs):
    ps = spawn_procs(2)
    env = {"CUDA_VISIBLE_DEVICES": "MIG-00000001-5e6f-5a7b-8c9d-0e1f2a3b4c5d"}
    for flag in ("-ov", "--only-visible"):
        r = run(["top", "--once", flag], scenario=mig_scenario(ps), env=env)
        assert r.rc == 0, r.err
        assert re.search(rf"\b{ps[1].pid}\b", r.out) and not re.search(rf"\b{ps[0].pid}\b", r.out), r.out
        rows = [l.strip() for l in r.out.splitlines() if l.lstrip().startswith("MIG ")]
        assert len(rows) == 1 and rows[0].startswith("MIG 2/0"), rows
    r = run(["top", "--once"], scenario=mig_scenario(ps), env=env)     # without -ov: all
    assert all(re.search(rf"\b{p.pid}\b", r.out) for p in ps)


def test_layout_at_80x24_keeps_command_and_gpu_name_readable(top, spawn_procs):
    ps = spawn_procs(2, argv=[sys.executable, "-c", "import time; time.sleep(300)", "train.py"])
    sc = scenario_for(ps)
    sc["devices"][0]["power"] = {"usage_mw": 412000, "enforced_limit_mw": 700000,
                                 "management_limit_mw": 700000}
    t = top(sc, "--interval", "0.5", width=80, height=24)
    s = t.wait(lambda s: all(re.search(rf"\b{p.pid}\b", s) for p in ps) and
               s.split("\n")[23].startswith("q quit"), "the processes")
    lines = s.split("\n")
    assert "NVIDIA H100 80GB HBM3" in s, s                       # the whole GPU name
    for p in ps:
        line = next(l for l in lines if re.search(rf"\b{p.pid}\b", l))
        assert f"{sys.executable} -c" in line, line              # a readable command
    assert len(lines[23].rstrip()) < 80 and lines[23].startswith("q quit"), lines[23]
    t.keys("f")
    s = t.wait(lambda s: "[full" in s and full_blocks(s) and re.search(r"^GPU 0.*Pwr", s, re.M),
               "full mode")
    gpu = next(l for l in s.split("\n") if l.startswith("GPU 0"))
    assert re.search(r"Pwr 412W / 700W", gpu) and "NVIDIA H100 80GB HBM3" in gpu, gpu
    t.keys("c")
    s = t.wait(lambda s: "[compact" in s and not full_blocks(s) and len(t.table_pids(s)) == 2,
               "compact mode")
    assert all(len(l) <= 80 for l in s.split("\n"))
    t.keys("q")
    assert t.exit_code() == 0


@pytest.mark.parametrize("size", [(60, 15), (50, 12), (40, 10)])
def test_layout_degrades_cleanly_down_to_40x10(top, spawn_procs, size):
    w, h = size
    ps = spawn_procs(2)
    sc = mig_scenario(ps)
    sc["devices"].insert(0, device(1, processes={"compute": []}))
    t = top(sc, "--interval", "0.5", width=w, height=h)
    # one capture holds a whole frame: the hint line is drawn with it
    s = t.wait(lambda s: re.search(rf"\b{ps[0].pid}\b", s) and
               s.split("\n")[h - 1].startswith("q quit"), "a process row")
    lines = s.split("\n")
    assert "COMMAND" in s, s
    glued = [r"\dC\d", r"(?:MiB|GiB)[A-Za-z0-9]", r"\d%[A-Za-z0-9]", r"\dgb?\d"]
    for line in lines:
        for pat in glued:
            assert not re.search(pat, line), (pat, line, s)
        if line.lstrip().startswith("MIG "):
            assert re.match(r"^  MIG \d/\d 3g\.20gb +MEM", line), line
        if line.startswith("GPU 1"):
            assert "A100" in line and re.search(r" \d+(?:\.\d+)?(?:MiB|GiB)\b", line), line
    t.keys("q")
    assert t.exit_code() == 0


def test_other_users_processes_are_dimmed(top, spawn_procs):
    if os.getuid() != 0:
        pytest.skip("starting another user's process needs root")
    mine = spawn_procs(1)[0]
    theirs = spawn_procs(1, user="nobody")[0]
    t = top(scenario_for([mine, theirs]), "--interval", "0.5", "--no-color")
    t.wait(lambda s: str(mine.pid) in s and str(theirs.pid) in s and "nobody" in s, "both")
    dim = re.compile(r"\x1b\[[0-9;]*\b2[;m]")

    def rows(s):
        """(their row, my row) of one capture with escapes, when it shows both."""
        lines = s.splitlines()
        theirs_ = [l for l in lines if re.search(rf"\b{theirs.pid}\b", l)]
        mine_ = [l for l in lines if re.search(rf"\b{mine.pid}\b", l)]
        return (theirs_[0], mine_[0]) if theirs_ and mine_ else None
    deadline = time.monotonic() + WAIT
    both = rows(t.screen(escapes=True))
    while not both and time.monotonic() < deadline:
        time.sleep(0.1)
        both = rows(t.screen(escapes=True))
    assert both, t.screen()
    their_line, my_line = both
    assert dim.search(their_line), repr(their_line)
    assert not dim.search(my_line), repr(my_line)


@pytest.mark.parametrize("how", ["flag", "env"])
def test_light_theme_changes_the_palette(top, spawn_procs, how):
    ps = spawn_procs(1)
    # utilisation 10% between thresholds 5 and 50: drawn as moderate
    args = ["--interval", "0.5", "--gpu-util-thresh", "5", "50", "--monitor", "full"]
    dark = top(scenario_for(ps), *args)
    light = top(scenario_for(ps), *args, *(["--light"] if how == "flag" else []),
                env={"GPUCTL_MONITOR_THEME": "light"} if how == "env" else None)
    util_line = lambda t: next((l for l in t.screen(escapes=True).splitlines() if "UTIL" in l), "")
    dark.wait(lambda s: re.search(r"\x1b\[[0-9;]*33m", util_line(dark)), "yellow bars (dark)")
    light.wait(lambda s: re.search(r"\x1b\[[0-9;]*35m", util_line(light)), "magenta bars (light)")
    assert not re.search(r"\x1b\[[0-9;]*35m", util_line(dark))
    assert not re.search(r"\x1b\[[0-9;]*33m", util_line(light))


def test_quits_on_q_while_the_driver_hangs(top, spawn_procs, scenario):
    """A sample stuck in NVML past default_timeout_secs marks the GPU STALE
    (the last good values stay on screen) and q still quits: the stuck call
    is left behind, never waited for (it would hang for ten minutes)."""
    ps = spawn_procs(1)
    calm, hung = hung_driver_scenarios({"compute": [proc(ps[0].pid, 100)]})
    path = scenario(calm)
    t = top(path, "--interval", "0.25", env={"GPUCTL_DEFAULT_TIMEOUT": 1})
    # calm: a frame with the process and without the stale mark
    t.wait(lambda s: str(ps[0].pid) in s and not re.search(r"^GPU 0 .*STALE", s, re.M),
           "GPU 0 fresh, its process listed")
    write_json_atomically(path, hung)
    # the last good sample is still shown under the stale mark
    t.wait(lambda s: re.search(r"^GPU 0 .*STALE", s, re.M) and str(ps[0].pid) in s,
           "GPU 0 marked stale, its process still listed")
    t.keys("q")
    assert t.exit_code() == 0
