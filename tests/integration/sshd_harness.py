"""A real OpenSSH server for the tests of `gpuctl --remote` and
bench/remote: started as a daemon on free 127.0.0.1 ports with host and
user keys made in a temporary folder, a known_hosts file seeded for it,
and an ssh_config naming host aliases that point at it.

Each alias reaches sshd on its own port; the wrapper script given to gpuctl
as --remote-path picks the fake NVML scenario by the port the connection
came in on (the last field of SSH_CONNECTION), so three "hosts" show three
different machines without touching sshd's environment handling.
"""

import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

SSHD = "/usr/sbin/sshd"


def free_ports(n):
    """n distinct free ports: each socket stays bound until all are picked,
    so the kernel cannot hand the same port out twice."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def keygen(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "gpuctl-test",
                    "-f", str(path)], check=True, stdout=subprocess.DEVNULL)
    return pathlib.Path(str(path) + ".pub").read_text().split()[:2]


def why_sshd_cannot_run():
    """None when this machine can start the test sshd, else the reason."""
    if not os.path.exists(SSHD):
        return f"{SSHD} is not installed (openssh-server; scripts/install-deps.sh)"
    if not shutil.which("ssh") or not shutil.which("ssh-keygen"):
        return "ssh or ssh-keygen is not installed (openssh-client)"
    if os.getuid() == 0 and not os.path.isdir("/run/sshd"):
        return "/run/sshd (sshd's privilege separation directory) is missing; " \
               "scripts/install-deps.sh makes it"
    return None


class Sshd:
    """aliases: {name: scenario path}; each gets its own port.  Also
    'closed' (a port nobody listens on), 'wrongkey' (alias of the first
    host whose known_hosts entry holds another key) and 'newkey' (alias of
    the first host that known_hosts does not know)."""

    def __init__(self, folder, gpuctl_bin, nvml_lib, aliases, extra_env=None,
                 password_auth=False, one_port=False):
        self.dir = pathlib.Path(folder)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.gpuctl_bin = pathlib.Path(gpuctl_bin)
        self.user = "root" if os.getuid() == 0 else os.environ.get("USER", "nobody")
        # sshd listens on at most 16 sockets: many aliases share one port.
        # 'closed' is a port held bound without listening for the server's
        # life: a connection to it is refused, and no one else can take it.
        self.closed = socket.socket()
        self.closed.bind(("127.0.0.1", 0))
        self.closed_port = self.closed.getsockname()[1]
        ports = free_ports(1 if one_port else len(aliases))
        self.ports = {name: ports[0 if one_port else i] for i, name in enumerate(aliases)}
        self.log = self.dir / "sshd.log"
        host_pub = keygen(self.dir / "host_key")
        other_pub = keygen(self.dir / "other_host_key")
        user_pub = keygen(self.dir / "id_ed25519")
        (self.dir / "authorized_keys").write_text(" ".join(user_pub) + "\n")
        known = [f"[127.0.0.1]:{p} {' '.join(host_pub)}" for p in set(self.ports.values())]
        known.append(f"wrongkey {' '.join(other_pub)}")
        self.known_hosts = self.dir / "known_hosts"
        self.known_hosts.write_text("\n".join(known) + "\n")
        self._write_wrapper(aliases, nvml_lib, extra_env or {})
        self._write_sshd_config(password_auth)
        self._write_ssh_config(aliases)
        self.proc = None

    def _write_wrapper(self, aliases, nvml_lib, extra_env):
        home = self.dir / "remote-home"
        (home / "xdg").mkdir(parents=True, exist_ok=True)
        (home / "sys").mkdir(exist_ok=True)
        by_port = {}
        for name, path in aliases.items():
            by_port.setdefault(self.ports[name], path)
        cases = "\n".join(f"    {port}) scenario='{path}' ;;" for port, path in by_port.items())
        env_lines = "\n".join(f"export {k}='{v}'" for k, v in extra_env.items())
        self.wrapper = self.dir / "gpuctl-remote"
        self.wrapper.write_text(f"""#!/bin/sh
# The remote gpuctl: the fake NVML scenario of the alias this came in on.
port=${{SSH_CONNECTION##* }}
case $port in
{cases}
    *) echo "no scenario for port $port" >&2; exit 1 ;;
esac
export FAKE_NVML_SCENARIO="$scenario"
export GPUCTL_NVML_LIBRARY='{nvml_lib}'
export HOME='{home}' XDG_CONFIG_HOME='{home}/xdg' GPUCTL_SYS_ROOT='{home}/sys' LANG=C.UTF-8 TZ=UTC
export XDG_DATA_HOME="{home}/data-$port"    # each host its own audit history
{env_lines}
exec '{self.gpuctl_bin}' "$@"
""")
        self.wrapper.chmod(0o755)

    def _write_sshd_config(self, password_auth):
        ports = "\n".join(f"Port {p}" for p in sorted(set(self.ports.values())))
        self.sshd_config = self.dir / "sshd_config"
        self.sshd_config.write_text(f"""{ports}
ListenAddress 127.0.0.1
HostKey {self.dir}/host_key
PidFile {self.dir}/sshd.pid
AuthorizedKeysFile {self.dir}/authorized_keys
PermitRootLogin {"yes" if password_auth else "prohibit-password"}
PubkeyAuthentication yes
PasswordAuthentication {"yes" if password_auth else "no"}
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxSessions 100
MaxStartups 200:30:400
LogLevel VERBOSE
PrintMotd no
Subsystem sftp internal-sftp
""")

    def _write_ssh_config(self, aliases):
        self.ssh_config = self.dir / "ssh_config"
        common = (f"Host *\n  User {self.user}\n  IdentityFile {self.dir}/id_ed25519\n"
                  f"  IdentitiesOnly yes\n  UserKnownHostsFile {self.known_hosts}\n"
                  f"  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n")
        hosts = "".join(f"Host {name}\n  HostName 127.0.0.1\n  Port {port}\n"
                        for name, port in self.ports.items())
        first = next(iter(self.ports.values()))
        hosts += f"Host closed\n  HostName 127.0.0.1\n  Port {self.closed_port}\n"
        hosts += (f"Host wrongkey\n  HostName 127.0.0.1\n  Port {first}\n"
                  f"  HostKeyAlias wrongkey\n")
        # A host whose key known_hosts does not hold yet.
        hosts += (f"Host newkey\n  HostName 127.0.0.1\n  Port {first}\n"
                  f"  HostKeyAlias newkey\n")
        # ssh takes the first value it finds: the specific hosts go first.
        self.ssh_config.write_text(hosts + common)

    def start(self):
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.sshd_config),
                                      "-E", str(self.log)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sshd exited: " + self.log.read_text(errors="replace"))
            if all(self._listening(p) for p in set(self.ports.values())):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("sshd did not listen within 15 s: " +
                           self.log.read_text(errors="replace"))

    @staticmethod
    def _listening(port):
        with socket.socket() as s:
            s.settimeout(0.2)
            return s.connect_ex(("127.0.0.1", port)) == 0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.closed.close()


def short_runtime_dir():
    """A private XDG_RUNTIME_DIR short enough for ControlPath sockets."""
    return tempfile.mkdtemp(prefix="gr")
