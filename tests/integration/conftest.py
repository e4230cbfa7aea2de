"""Shared fixtures for the integration tests of the gpuctl binary and libgpuctl.

The tests run the real binary against tests/fake-nvml, a libnvidia-ml.so.1
driven by a JSON scenario, and against real processes they start, so every
layer below the CLI (dlopen, NVML fallbacks, /proc parsing, filters,
rendering) is exercised as a user would meet it.

Paths come from the environment that scripts/run-tests.sh sets, with
defaults for a plain `/usr/bin/python3 -m pytest tests/integration`:

  GPUCTL_BIN     the gpuctl binary             (default <repo>/build/gpuctl)
  FAKE_NVML_DIR  the fake NVML's build folder  (default <dir of GPUCTL_BIN>/tests/fake-nvml)
  FAKE_NVML_LIB  the fake library              (default FAKE_NVML_DIR/libnvidia-ml.so.1)
  FAKE_NVML_LEGACY_LIB  its old-driver variant (default FAKE_NVML_DIR/legacy/libnvidia-ml.so.1)
  GPUCTL_LIB     libgpuctl for the ctypes tests (default <FAKE_NVML_DIR>/../../src/lib/libgpuctl.so.0,
                 i.e. the library of the same, uninstrumented, build as the fake)

Every run of gpuctl gets a clean environment: HOME and XDG_CONFIG_HOME point
into the test's temporary folder (the user's configuration is never read),
NO_COLOR, COLUMNS, CUDA_VISIBLE_DEVICES and GPUCTL_* from the caller do not
leak in, and only the sanitizer settings are passed through.
"""

import collections
import json
import os
import pathlib
import pwd
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def _path_from_env(name, default):
    value = os.environ.get(name)
    return pathlib.Path(value) if value else pathlib.Path(default)


GPUCTL_BIN = _path_from_env("GPUCTL_BIN", REPO / "build" / "gpuctl")
FAKE_NVML_DIR = _path_from_env("FAKE_NVML_DIR", GPUCTL_BIN.parent / "tests" / "fake-nvml")
FAKE_NVML_LIB = _path_from_env("FAKE_NVML_LIB", FAKE_NVML_DIR / "libnvidia-ml.so.1")
FAKE_NVML_LEGACY_LIB = _path_from_env("FAKE_NVML_LEGACY_LIB",
                                      FAKE_NVML_LIB.parent / "legacy" / "libnvidia-ml.so.1")
LIBGPUCTL = _path_from_env("GPUCTL_LIB",
                           FAKE_NVML_LIB.parent.parent.parent / "src" / "lib" / "libgpuctl.so.0")
FIXTURES = REPO / "tests" / "fixtures"

DATA = pathlib.Path(__file__).resolve().parent / "data"

# What a sanitizer prints when it finds something; its exit code (99 under
# scripts/run-tests.sh) already fails the test, the text makes it obvious.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "ERROR: UndefinedBehaviorSanitizer")
PASSED_THROUGH = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "ASAN_SYMBOLIZER_PATH",
                  "LLVM_SYMBOLIZER_PATH")

MiB = 1 << 20
GiB = 1 << 30

# Started in the background by a shell without job control (`make test &`
# in a script, some CI runners), this process ignores SIGINT and SIGQUIT,
# and so would every program it starts: the tests that interrupt gpuctl or
# a process it signals would then fail for a reason outside gpuctl.  With a
# handler here, exec gives each child the default action again.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGQUIT) == signal.SIG_IGN:
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)

Result = collections.namedtuple("Result", "rc out err")


def check_no_sanitizer_report(err):
    for mark in SANITIZER_MARKS:
        assert mark not in err, f"sanitizer report on stderr:\n{err}"


# ---- paths -------------------------------------------------------------------


@pytest.fixture(scope="session")
def gpuctl_bin():
    if not GPUCTL_BIN.is_file():
        pytest.skip(f"gpuctl is not built: {GPUCTL_BIN} does not exist "
                    "(run `ninja -C build` or set GPUCTL_BIN)")
    return GPUCTL_BIN


@pytest.fixture(scope="session")
def fake_lib():
    if not FAKE_NVML_LIB.is_file():
        pytest.skip(f"the fake NVML is not built: {FAKE_NVML_LIB} does not exist "
                    "(run `ninja -C build` or set FAKE_NVML_DIR / FAKE_NVML_LIB)")
    return FAKE_NVML_LIB


@pytest.fixture(scope="session")
def legacy_lib():
    if not FAKE_NVML_LEGACY_LIB.is_file():
        pytest.skip(f"the legacy fake NVML is not built: {FAKE_NVML_LEGACY_LIB} does not exist")
    return FAKE_NVML_LEGACY_LIB


@pytest.fixture(scope="session")
def libgpuctl_path(fake_lib):
    if not LIBGPUCTL.is_file():
        pytest.skip(f"libgpuctl is not built: {LIBGPUCTL} does not exist (set GPUCTL_LIB)")
    # An ASan-instrumented library cannot be loaded into an uninstrumented
    # Python; the sanitizer pass covers the same code through the binary.
    if b"libasan.so" in LIBGPUCTL.read_bytes():
        pytest.skip(f"{LIBGPUCTL} is built with ASan; ctypes needs an uninstrumented build")
    return LIBGPUCTL


@pytest.fixture(scope="session")
def self_user():
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


# ---- scenarios -----------------------------------------------------------------


def write_json_atomically(path, data):
    """Writes data as JSON next to path, then renames it over path, the way
    the fake NVML wants a scenario changed under a running program."""
    path = pathlib.Path(path)
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


@pytest.fixture
def scenario(tmp_path):
    """scenario(data) writes data (a dict) as a scenario file and returns its path."""
    counter = iter(range(1000))

    def make(data, name=None):
        path = tmp_path / (name or f"scenario-{next(counter)}.json")
        write_json_atomically(path, data)
        return path

    return make


def device(index, **fields):
    """A realistic H100 as the fake NVML describes it, distinct per index.
    Keyword arguments replace top-level fields; None removes one."""
    d = {
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": f"GPU-{index:08x}-1111-2222-3333-44445555{index:04x}",
        "minor_number": index,
        "pci": {"bus_id": f"00000000:{0x18 + index * 0x10:02X}:00.0", "device_id": "0x233010DE",
                "subsystem_id": "0x16C110DE"},
        "memory": {"total": 80 * GiB, "reserved": 512 * MiB, "used": (1000 + 100 * index) * MiB},
        "bar1": {"total": 128 * GiB, "used": 50 * MiB},
        "utilization": {"gpu": 10 + index, "memory": 5 + index},
        "encoder": {"utilization": 0},
        "decoder": {"utilization": index},
        "temperature": {"gpu": 40 + index,
                        "thresholds": {"shutdown": 92, "slowdown": 89, "mem_max": 95, "gpu_max": 87}},
        "power": {"usage_mw": 100000 + index * 1000, "enforced_limit_mw": 700000,
                  "management_limit_mw": 700000},
        "fans": [],
        "clocks": {"graphics": 1755, "sm": 1755, "memory": 2619, "video": 1590},
        "max_clocks": {"graphics": 1980, "sm": 1980, "memory": 2619, "video": 1755},
        "pcie": {"generation": 5, "width": 16, "max_generation": 5, "max_width": 16,
                 "tx_kbps": 1000 + index, "rx_kbps": 2000 + index},
        "ecc": {"volatile": {"corrected": index, "uncorrected": 0},
                "aggregate": {"corrected": 0, "uncorrected": 0}},
        "persistence_mode": True,
        "display_active": False,
        "compute_mode": "DEFAULT",
        "pstate": 0,
        "mig": {"current": False, "pending": False, "max_devices": 7},
        "processes": {"compute": [], "graphics": [], "mps": []},
    }
    for key, value in fields.items():
        if value is None:
            d.pop(key, None)
        else:
            d[key] = value
    return d


@pytest.fixture
def make_device():
    return device


# ---- running gpuctl --------------------------------------------------------------


def base_env(tmp_path, lib):
    home = tmp_path / "home"
    xdg = tmp_path / "xdg"
    home.mkdir(exist_ok=True)
    xdg.mkdir(exist_ok=True)
    # An empty sys tree: the DRM source finds no card, so a machine's own
    # GPUs (an NVIDIA card's DRM node on the GPU host) never join a test
    # written for the fake NVML.  DRM tests point it at tests/fixtures/drm.
    no_sys = tmp_path / "empty-sys-root"
    no_sys.mkdir(exist_ok=True)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(xdg),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "GPUCTL_NVML_LIBRARY": str(lib),
        "GPUCTL_SYS_ROOT": str(no_sys),
    }
    for name in PASSED_THROUGH:
        if name in os.environ:
            env[name] = os.environ[name]
    # library leaks gpuctl cannot free, each named and explained in the file
    supp = f"suppressions={pathlib.Path(__file__).resolve().parent / 'lsan.supp'}"
    env["LSAN_OPTIONS"] = f"{env['LSAN_OPTIONS']}:{supp}" if env.get("LSAN_OPTIONS") else supp
    return env


@pytest.fixture
def gpuctl_env(tmp_path, fake_lib):
    """env(scenario=None, **extra) -> the clean environment a gpuctl run gets.
    An extra value of None removes the variable."""

    def make(scenario=None, extra=None, lib=None):
        env = base_env(tmp_path, lib or fake_lib)
        if scenario is not None:
            env["FAKE_NVML_SCENARIO"] = str(scenario)
        for key, value in (extra or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        return env

    return make


@pytest.fixture
def run(gpuctl_bin, gpuctl_env, scenario):
    """run(args, scenario=None, env=None, input=None, lib=None) -> Result(rc, out, err).

    scenario: a path, or a dict written as a scenario file first.  env: extra
    variables (None removes one).  lib: another NVML library path.  Output is
    decoded as UTF-8 (a decoding error fails the test: gpuctl writes UTF-8)."""

    def go(args, scenario=None, env=None, input=None, lib=None, timeout=60, stdout=None):
        if isinstance(scenario, dict):
            scenario = make_scenario(scenario)
        proc = subprocess.run([str(gpuctl_bin), *[str(a) for a in args]],
                              env=gpuctl_env(scenario, env, lib), input=input,
                              stdout=stdout if stdout is not None else subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)
        out = proc.stdout.decode("utf-8") if proc.stdout is not None else ""
        err = proc.stderr.decode("utf-8", errors="replace")
        check_no_sanitizer_report(err)
        assert proc.returncode >= 0, f"gpuctl died of signal {-proc.returncode}: {err}"
        return Result(proc.returncode, out, err)

    make_scenario = scenario
    return go


class Unprivileged:
    """Runs gpuctl as another user through setpriv(1): that user's uid and
    gid, no supplementary groups.  `dir` is a world-readable folder for what
    that user must read (scenario, configuration, helper scripts), since the
    test's own tmp_path is private to root."""

    def __init__(self, gpuctl_bin, lib, setpriv, folder):
        self.gpuctl_bin = gpuctl_bin
        self.lib = lib
        self.setpriv = setpriv
        self.dir = folder
        self.counter = 0

    def run(self, args, scenario, user="nobody", env=None, timeout=60):
        """scenario: a dict, written into `dir`.  env: extra variables."""
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            pytest.skip(f"there is no user '{user}' to run gpuctl as")
        self.counter += 1
        path = self.dir / f"scenario-{self.counter}.json"
        write_json_atomically(path, scenario)
        path.chmod(0o644)
        full_env = base_env(self.dir, self.lib)
        full_env["FAKE_NVML_SCENARIO"] = str(path)
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = str(value)
        cmd = [self.setpriv, f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups",
               str(self.gpuctl_bin), *[str(a) for a in args]]
        proc = subprocess.run(cmd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, cwd="/")
        err = proc.stderr.decode("utf-8", errors="replace")
        check_no_sanitizer_report(err)
        assert proc.returncode >= 0, f"gpuctl died of signal {-proc.returncode}: {err}"
        return Result(proc.returncode, proc.stdout.decode("utf-8"), err)


@pytest.fixture
def unprivileged(gpuctl_bin, fake_lib):
    """An Unprivileged runner; skips the test unless it runs as root with
    setpriv (util-linux) installed."""
    if os.getuid() != 0:
        pytest.skip("running gpuctl as another user needs root")
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("setpriv (util-linux) is not installed")
    folder = pathlib.Path(tempfile.mkdtemp(prefix="gpuctl-unprivileged-"))
    folder.chmod(0o755)
    yield Unprivileged(gpuctl_bin, fake_lib, setpriv, folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def list_json(run):
    """list_json(scenario, *args, env=None) -> the parsed document of
    `gpuctl list --output json ARGS`, asserting exit 0 and a quiet stderr."""

    def go(scenario, *args, env=None, lib=None):
        r = run(["list", "--output", "json", *args], scenario=scenario, env=env, lib=lib)
        assert r.rc == 0, r.err
        assert r.err == ""
        return json.loads(r.out)

    return go


# ---- real processes --------------------------------------------------------------


class SpawnedProcess:
    def __init__(self, popen, argv, user):
        self.popen = popen
        self.pid = popen.pid
        self.argv = argv
        self.user = user

    @property
    def cmdline(self):
        return " ".join(self.argv)

    @property
    def comm(self):
        with open(f"/proc/{self.pid}/stat") as f:
            text = f.read()
        return text[text.index("(") + 1:text.rindex(")")]

    def start_time_rfc3339(self):
        """The start time as procfs computes it: btime + starttime / HZ."""
        with open(f"/proc/{self.pid}/stat") as f:
            text = f.read()
        ticks = int(text[text.rindex(")") + 2:].split()[19])
        with open("/proc/stat") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith("btime "))
        secs = btime + ticks / os.sysconf("SC_CLK_TCK")
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(secs)))


@pytest.fixture
def spawn_procs(self_user):
    """spawn_procs(n, argv=None, user=None) -> [SpawnedProcess], killed at teardown.

    Default: `sleep 300` with argv[0] set to "gpuctl-test-<i>" (cheap, and
    recognisable in a command line).  argv: a command whose elements may hold
    "{i}"; it is run as given.  user: run as that user (needs root)."""
    started = []

    def spawn(n, argv=None, user=None):
        batch = []
        for i in range(n):
            if argv is None:
                args, exe = [f"gpuctl-test-{len(started)}", "300"], "/bin/sleep"
            else:
                args, exe = [a.replace("{i}", str(i)) for a in argv], None
            kwargs = {}
            if user is not None and user != self_user:
                kwargs = {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}
            # Popen returns once exec has happened (it waits on its error
            # pipe), so /proc already shows the final command line.
            p = subprocess.Popen(args, executable=exe, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 cwd="/", **kwargs)
            proc = SpawnedProcess(p, args, user or self_user)
            started.append(proc)
            batch.append(proc)
        return batch

    yield spawn
    for proc in started:
        proc.popen.kill()
    for proc in started:
        proc.popen.wait()


def python_sleeper_argv(*extra):
    """argv of a Python process that sleeps, with a recognisable command line."""
    import sys
    return [sys.executable, "-c", "import time; time.sleep(300)", *extra]


# ---- reading output ----------------------------------------------------------------


BORDER_START = ("┌", "├", "└", "+")
ROW_START = ("│", "|")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def parse_tables(text):
    """The tables in gpuctl's table output, each a list of {header: cell}.

    A row is a header when it follows a border that does not follow a row
    (the top border), which holds for the box-drawing and ASCII styles."""
    tables = []
    lines = [ANSI.sub("", line) for line in text.splitlines()]
    prev = prev2 = "text"
    for line in lines:
        kind = ("border" if line.startswith(BORDER_START)
                else "row" if line.startswith(ROW_START) else "text")
        if kind == "row":
            sep = line[0]
            cells = [c.strip() for c in line.strip()[1:-1].split(sep)]
            if prev == "border" and prev2 != "row":
                tables.append({"header": cells, "rows": []})
            else:
                tables[-1]["rows"].append(dict(zip(tables[-1]["header"], cells)))
        prev2, prev = prev, kind
    return [t["rows"] for t in tables]


class LineReader:
    """Reads lines from a pipe with a deadline (no threads)."""

    def __init__(self, fd):
        self.fd = fd
        self.buf = b""
        self.eof = False

    def readline(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf and not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete line within {timeout} s (have {self.buf[:200]!r})")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 65536)
                self.eof = not chunk
                self.buf += chunk
        if b"\n" not in self.buf:
            line, self.buf = self.buf, b""
            return line.decode()
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode() + "\n"


def read_until_eof(fd, timeout):
    """Everything left on fd until its end, or TimeoutError."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"output did not end within {timeout} s")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:      # a pty's master reads EIO once the slave side is closed
            return data
        if not chunk:
            return data
        data += chunk


def interrupt_and_wait(proc, timeout=20):
    proc.send_signal(signal.SIGINT)
    return proc.wait(timeout=timeout)


@pytest.fixture
def run_pty(gpuctl_bin, gpuctl_env, scenario):
    """run_pty(args, scenario=None, env=None, until=None, timeout=30) ->
    Result(rc, out, err) with stdout (and stdin) on a 200-column pseudo
    terminal.  out is the raw bytes the terminal received.  With until
    (bytes), the command is interrupted with SIGINT once until has appeared
    in its output (for --watch)."""
    import fcntl
    import pty
    import struct
    import termios

    def go(args, scenario=None, env=None, until=None, timeout=30):
        if isinstance(scenario, dict):
            scenario = make_scenario(scenario)
        full_env = gpuctl_env(scenario, {"TERM": "xterm-256color", **(env or {})})
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        try:
            proc = subprocess.Popen([str(gpuctl_bin), *map(str, args)], env=full_env,
                                    stdin=slave, stdout=slave, stderr=subprocess.PIPE)
        finally:
            os.close(slave)
        try:
            out = b""
            if until is not None:
                deadline = time.monotonic() + timeout
                while until not in out:
                    left = deadline - time.monotonic()
                    assert left > 0, f"{until!r} did not appear on the terminal: {out[-500:]!r}"
                    ready, _, _ = select.select([master], [], [], left)
                    if ready:
                        out += os.read(master, 65536)
                proc.send_signal(signal.SIGINT)
            out += read_until_eof(master, timeout)
            rc = proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)
        err = proc.stderr.read().decode("utf-8", errors="replace")
        proc.stderr.close()
        check_no_sanitizer_report(err)
        assert rc >= 0, f"gpuctl died of signal {-rc}: {err}"
        return Result(rc, out, err)

    make_scenario = scenario
    return go


def hung_driver_scenarios(processes=None):
    """(calm, hung): tests/fake-nvml/scenarios/hung-driver.json without and
    with its ten-minute delay; rename hung over calm to wedge the driver
    under a running gpuctl.  processes: the GPU's process lists."""
    hung = json.loads((REPO / "tests/fake-nvml/scenarios/hung-driver.json").read_text())
    if processes is not None:
        hung["devices"][0]["processes"] = processes
    calm = {k: v for k, v in hung.items() if k != "delays_ms"}
    return calm, hung
