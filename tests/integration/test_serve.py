"""`gpuctl serve` end to end: the real server on a free 127.0.0.1 port
against the fake NVML and real processes, hit by real clients (urllib,
curl, python3-websockets, promtool and a real Prometheus).

The server is started with --listen 127.0.0.1:0 and says the port it got
on stderr; every test stops it with SIGTERM and expects a clean exit.
"""

import asyncio
import json
import os
import pathlib
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import MiB, check_no_sanitizer_report, device
from test_list import stable   # a document without the host facts that move
from test_reset import SMI_OK, bus_id, install_smi

websockets = pytest.importorskip("websockets")


def proc(pid, mem_mib):
    return {"pid": pid, "used_memory": mem_mib * MiB}


class Server:
    """A running `gpuctl serve`; url is http(s)://127.0.0.1:PORT."""

    def __init__(self, popen, port, scheme="http", context=None):
        self.popen = popen
        self.context = context
        self.port = port
        self.url = f"{scheme}://127.0.0.1:{port}"
        self.ws_url = f"{'wss' if scheme == 'https' else 'ws'}://127.0.0.1:{port}/ws"

    def get(self, path, headers=None, context=None, method="GET", data=None):
        """(status, headers, body bytes) of one request."""
        req = urllib.request.Request(self.url + path, headers=headers or {}, method=method,
                                     data=data)
        context = context or self.context
        try:
            with urllib.request.urlopen(req, timeout=20, context=context) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, path, **kw):
        status, _, body = self.get(path, **kw)
        return status, json.loads(body)

    def wait_for_sample(self):
        deadline = time.monotonic() + 60          # an ASan build on a loaded machine
        while time.monotonic() < deadline:
            status, _, _ = self.get("/health")
            if status == 200:
                return
            time.sleep(0.05)
        raise AssertionError("no sample within 60 s")

    def stop(self):
        self.popen.send_signal(signal.SIGTERM)
        _, err = self.popen.communicate(timeout=30)
        err = err.decode("utf-8", "replace")
        check_no_sanitizer_report(err)
        assert self.popen.returncode == 0, err
        return err


@pytest.fixture
def start_server(gpuctl_bin, gpuctl_env):
    """start_server(scenario, *args, env=None) -> Server, stopped at teardown."""
    servers = []

    def start(scenario, *args, env=None, scheme="http", context=None, expect_start=True):
        p = subprocess.Popen([str(gpuctl_bin), "serve", "--listen", "127.0.0.1:0",
                              "--interval", "0.2", *[str(a) for a in args]],
                             env=gpuctl_env(scenario, env), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not expect_start:
            _, err = p.communicate(timeout=30)
            return p.returncode, err.decode("utf-8", "replace")
        line = p.stderr.readline().decode("utf-8", "replace")
        if "listening on" not in line:
            p.kill()
            rest = p.communicate(timeout=30)[1].decode("utf-8", "replace")
            raise AssertionError(f"the server did not start: {line}{rest}")
        server = Server(p, int(line.rsplit(":", 1)[1]), scheme, context)
        servers.append(server)
        server.wait_for_sample()
        return server

    yield start
    for s in servers:
        if s.popen.poll() is None:
            s.stop()


@pytest.fixture
def two_gpus(spawn_procs, scenario):
    a, b = spawn_procs(2)
    devs = [device(0, processes={"compute": [proc(a.pid, 3000)], "graphics": [], "mps": []}),
            device(1, processes={"compute": [proc(b.pid, 500)], "graphics": [], "mps": []})]
    path = scenario({"driver_version": "550.54.15", "nvml_version": "12.550.54.15",
                     "cuda_driver_version": 12040, "devices": devs})
    return {"scenario": path, "a": a, "b": b}


# ---- the JSON API ------------------------------------------------------------------


def test_snapshot_is_the_document_list_prints(run, start_server, two_gpus):
    server = start_server(two_gpus["scenario"])
    status, doc = server.json("/api/v1/snapshot")
    assert status == 200
    r = run(["list", "--details", "--output", "json"], scenario=two_gpus["scenario"])
    assert r.rc == 0, r.err
    assert stable(doc) == stable(json.loads(r.out))
    assert {p["pid"] for p in doc["procs"]} == {two_gpus["a"].pid, two_gpus["b"].pid}
    server.stop()


def test_gpus_routes_and_their_errors(start_server, two_gpus):
    server = start_server(two_gpus["scenario"])
    status, doc = server.json("/api/v1/gpus")
    assert status == 200
    assert [g["gpu_index"] for g in doc["gpus"]] == [0, 1]
    assert doc["procs"] == []
    status, doc = server.json("/api/v1/gpus/1")
    assert status == 200
    assert [g["gpu_index"] for g in doc["gpus"]] == [1]
    assert [p["pid"] for p in doc["procs"]] == [two_gpus["b"].pid]
    status, doc = server.json("/api/v1/gpus/7")
    assert status == 404
    assert doc["error"]["code"] == "not_found"
    assert "7" in doc["error"]["message"]
    status, doc = server.json("/api/v1/gpus/x")
    assert status == 400
    status, doc = server.json("/api/v1/nothing")
    assert status == 404
    status, doc = server.json("/api/v1/gpus", method="DELETE")
    assert status == 405
    server.stop()


def test_processes_take_the_list_filters(start_server, two_gpus):
    server = start_server(two_gpus["scenario"])
    a = two_gpus["a"].pid
    status, doc = server.json(f"/api/v1/processes?pid={a}")
    assert status == 200
    assert [p["pid"] for p in doc["procs"]] == [a]
    status, doc = server.json("/api/v1/processes?only=1")
    assert [p["gpu_index"] for p in doc["procs"]] == [1]
    status, doc = server.json("/api/v1/snapshot?vendor=amd")
    assert status == 200 and doc["gpus"] == [] and doc["procs"] == []
    status, doc = server.json("/api/v1/snapshot?filter=gpuctl-test-1")
    assert [p["pid"] for p in doc["procs"]] == [two_gpus["b"].pid]
    # bad values read as the CLI's options read
    status, doc = server.json("/api/v1/processes?pid=abc")
    assert status == 400
    assert "abc" in doc["error"]["message"]
    status, doc = server.json("/api/v1/snapshot?filter=(")
    assert status == 400
    status, doc = server.json("/api/v1/snapshot?colour=red")
    assert status == 400
    assert "colour" in doc["error"]["message"]
    server.stop()


def test_health_and_openapi(start_server, two_gpus):
    server = start_server(two_gpus["scenario"])
    status, doc = server.json("/health")
    assert status == 200
    assert doc["status"] == "ok"
    assert doc["seq"] >= 1
    assert doc["last_sample"].endswith("Z")
    status, doc = server.json("/api/v1/openapi.json")
    assert status == 200
    assert doc["openapi"].startswith("3.1")
    for path in ("/health", "/api/v1/snapshot", "/api/v1/gpus/{index}", "/metrics", "/ws",
                 "/api/v1/kill", "/api/v1/reset", "/api/v1/select", "/api/v1/audit/summary",
                 "/api/v1/rogue", "/api/v1/policies", "/api/v1/policies/test", "/api/v1/audit"):
        assert path in doc["paths"], path
    server.stop()


def test_curl_sees_json_and_security_headers(start_server, two_gpus):
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    server = start_server(two_gpus["scenario"])
    r = subprocess.run(["curl", "-sS", "-i", server.url + "/api/v1/gpus"],
                       capture_output=True, timeout=30, text=True)
    assert r.returncode == 0, r.stderr
    head, body = r.stdout.split("\n\n", 1)   # text mode turned CRLF into LF
    assert head.startswith("HTTP/1.1 200")
    assert "Content-Type: application/json" in head
    assert "X-Content-Type-Options: nosniff" in head
    assert json.loads(body)["gpus"]
    server.stop()


# ---- safety ------------------------------------------------------------------------


def test_non_loopback_without_token_is_refused_at_start(start_server, two_gpus):
    # refused before binding: nothing listens on the other address
    rc, err = start_server(two_gpus["scenario"], "--listen", "0.0.0.0:0", expect_start=False)
    assert rc == 3, err
    assert "without a token" in err


def test_token_file_must_hold_a_token(start_server, two_gpus, tmp_path):
    empty = tmp_path / "token"
    empty.write_text("\n")
    rc, err = start_server(two_gpus["scenario"], "--token-file", empty, expect_start=False)
    assert rc == 3
    assert "token" in err
    rc, err = start_server(two_gpus["scenario"], "--token-file", tmp_path / "missing",
                           expect_start=False)
    assert rc == 3
    assert "missing" in err


def raw_request(port, data, read=True):
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(data)
        if not read:
            return b""
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                head = b"".join(chunks).split(b"\r\n\r\n", 1)
                length = [l for l in head[0].split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if length and len(head[1]) >= int(length[0].split(b":")[1]):
                    break
        return b"".join(chunks)


def test_oversized_bodies_and_headers_are_refused(start_server, two_gpus):
    server = start_server(two_gpus["scenario"])
    r = raw_request(server.port, b"POST /api/v1/snapshot HTTP/1.1\r\nHost: x\r\n"
                                 b"Content-Length: 5000000\r\n\r\n")
    assert r.startswith(b"HTTP/1.1 413"), r[:200]
    assert b'"too_large"' in r
    many = b"".join(b"X-Filler-%d: x\r\n" % i for i in range(100))
    r = raw_request(server.port, b"GET /health HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert r.startswith(b"HTTP/1.1 431"), r[:200]
    status, _, _ = server.get("/health")
    assert status == 200
    server.stop()


def test_a_slow_client_does_not_stall_others(start_server, two_gpus):
    """slowloris: one byte a second of a request head, while others are served."""
    server = start_server(two_gpus["scenario"])
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    head = b"GET /api/v1/snapshot HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    served = 0
    for i in range(4):
        slow.send(head[i:i + 1])
        status, _, body = server.get("/api/v1/snapshot")
        assert status == 200 and json.loads(body)["gpus"]
        served += 1
        time.sleep(1)
    slow.close()
    assert served == 4
    server.stop()


def test_a_thousand_idle_connections_are_held_and_others_served(start_server, two_gpus):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 1200:
        pytest.skip(f"the descriptor limit ({hard}) is below 1,200")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    server = start_server(two_gpus["scenario"])
    idle = []
    try:
        for _ in range(1000):
            idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=20))
        status, doc = server.json("/health")
        assert status == 200 and doc["status"] == "ok"
        status, _, _ = server.get("/metrics")
        assert status == 200
    finally:
        for s in idle:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    status, _, _ = server.get("/health")
    assert status == 200
    server.stop()


# ---- TLS ---------------------------------------------------------------------------


@pytest.fixture
def self_signed(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_tls_with_a_self_signed_certificate(start_server, two_gpus, self_signed, tmp_path):
    cert, key = self_signed
    ctx = ssl.create_default_context(cafile=str(cert))
    server = start_server(two_gpus["scenario"], "--tls-cert", cert, "--tls-key", key,
                          scheme="https", context=ctx)
    status, _, body = server.get("/api/v1/gpus")
    assert status == 200
    assert len(json.loads(body)["gpus"]) == 2
    # plain HTTP to the TLS port gets nothing useful
    with pytest.raises(Exception):
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=5).read()

    async def one_message():
        async with websockets.connect(server.ws_url, ssl=ctx) as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), 20))

    msg = asyncio.run(one_message())
    assert msg["type"] == "snapshot"
    server.stop()


def test_tls_refuses_a_key_that_does_not_parse(start_server, two_gpus, self_signed, tmp_path):
    cert, _ = self_signed
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    rc, err = start_server(two_gpus["scenario"], "--tls-cert", cert, "--tls-key", bad,
                           expect_start=False)
    assert rc == 3, err
    assert "PEM" in err


# ---- /ws -----------------------------------------------------------------------------


def test_ws_sends_a_snapshot_per_sample(start_server, two_gpus):
    server = start_server(two_gpus["scenario"])

    async def session():
        async with websockets.connect(server.ws_url) as ws:
            msgs = [json.loads(await asyncio.wait_for(ws.recv(), 20)) for _ in range(3)]
            await ws.close()
            return msgs, ws.close_code

    msgs, code = asyncio.run(session())
    assert [m["type"] for m in msgs] == ["snapshot"] * 3
    seqs = [m["seq"] for m in msgs]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert {p["pid"] for p in msgs[0]["data"]["procs"]} == {two_gpus["a"].pid, two_gpus["b"].pid}
    assert code == 1000
    server.stop()


def test_ws_refuses_an_oversized_message(start_server, two_gpus):
    server = start_server(two_gpus["scenario"])

    async def session():
        async with websockets.connect(server.ws_url, max_size=None) as ws:
            await ws.recv()
            await ws.send("x" * (200 * 1024))
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 20)
            except websockets.ConnectionClosed as e:
                return e.code

    assert asyncio.run(session()) == 1009
    server.stop()


def test_ws_refuses_another_sites_page(start_server, two_gpus):
    server = start_server(two_gpus["scenario"])

    async def attempt(origin):
        async with websockets.connect(server.ws_url, origin=origin) as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), 20))["type"]

    with pytest.raises(websockets.InvalidStatusCode) as e:
        asyncio.run(attempt("http://evil.example"))
    assert e.value.status_code == 403
    assert asyncio.run(attempt(f"http://127.0.0.1:{server.port}")) == "snapshot"
    server.stop()


def test_ws_serves_two_hundred_clients_at_once(start_server, two_gpus):
    server = start_server(two_gpus["scenario"])

    async def client():
        async with websockets.connect(server.ws_url) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 30))
            second = json.loads(await asyncio.wait_for(ws.recv(), 30))
            return second["seq"] > first["seq"]

    async def crowd():
        return await asyncio.gather(*[client() for _ in range(200)])

    results = asyncio.run(crowd())
    assert results == [True] * 200
    status, doc = server.json("/health")
    assert status == 200
    server.stop()


# ---- /metrics --------------------------------------------------------------------------


def dcgm_lint_only(problems):
    """promtool's lint remarks that DCGM's own names and labels earn."""
    return all(line.startswith("DCGM_") for line in problems.splitlines() if line.strip())


def test_metrics_pass_promtool(start_server, two_gpus, tmp_path):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    server = start_server(two_gpus["scenario"])
    status, headers, body = server.get("/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    a = two_gpus["a"].pid
    assert f'gpuctl_process_memory_used_bytes{{gpu="0"' in text
    assert f'pid="{a}"' in text
    assert 'DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-00000000-1111-2222-3333-444455550000"' in text
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                       timeout=60)
    problems = (r.stdout + r.stderr).decode()
    # 1 would be a parse error; 3 is lint, which only DCGM's names may earn
    assert r.returncode in (0, 3), problems
    assert dcgm_lint_only(problems), problems
    own = "\n".join(l for l in text.splitlines() if "DCGM_" not in l) + "\n"
    r = subprocess.run([promtool, "check", "metrics"], input=own.encode(),
                       capture_output=True, timeout=60)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()
    server.stop()


def test_metrics_process_cap(start_server, two_gpus):
    server = start_server(two_gpus["scenario"], "--metrics-max-processes", "1")
    _, _, body = server.get("/metrics")
    text = body.decode()
    assert f'pid="{two_gpus["a"].pid}"' in text      # 3000 MiB: kept
    assert f'pid="{two_gpus["b"].pid}"' not in text  # 500 MiB: dropped
    assert "gpuctl_metrics_processes_dropped 1\n" in text
    server.stop()


def test_metrics_pcie_replay_counter_when_the_driver_gives_it(run, start_server, scenario,
                                                               legacy_lib):
    devs = [device(0, pcie={"generation": 4, "width": 16, "replay_counter": 17}),
            device(1, pcie={"generation": 4, "width": 16})]
    path = scenario({"devices": devs})
    server = start_server(path)
    _, _, body = server.get("/metrics")
    lines = body.decode().splitlines()
    dcgm = [l for l in lines if l.startswith("DCGM_FI_DEV_PCIE_REPLAY_COUNTER{")]
    assert len(dcgm) == 1 and 'gpu="0"' in dcgm[0] and dcgm[0].endswith(" 17"), dcgm
    own = [l for l in lines if l.startswith("gpuctl_pcie_replays_total{")]
    assert len(own) == 1 and 'gpu="0"' in own[0] and own[0].endswith(" 17"), own
    assert "# TYPE gpuctl_pcie_replays_total counter" in lines
    server.stop()
    # an export-only field: list's document is unchanged
    r = run(["list", "--details", "--output", "json"], scenario=path)
    assert r.rc == 0, r.err
    for g in json.loads(r.out)["gpus"]:
        keys = set(g) | set(g["pcie"] if isinstance(g.get("pcie"), dict) else ())
        assert not [k for k in keys if "replay" in k], g
    # a driver without nvmlDeviceGetPcieReplayCounter: unknown, no series
    server = start_server(path, env={"GPUCTL_NVML_LIBRARY": str(legacy_lib)})
    _, _, body = server.get("/metrics")
    text = body.decode()
    assert "DCGM_FI_DEV_GPU_TEMP{" in text
    assert "DCGM_FI_DEV_PCIE_REPLAY_COUNTER{" not in text and "gpuctl_pcie_replays_total{" not in text
    server.stop()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_real_prometheus_scrapes_dcgm_and_process_series(start_server, two_gpus, tmp_path):
    prometheus = shutil.which("prometheus")
    if not prometheus:
        pytest.skip("prometheus is not installed")
    server = start_server(two_gpus["scenario"])
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: gpuctl
    static_configs:
      - targets: ['127.0.0.1:{server.port}']
""")
    prom = subprocess.Popen([prometheus, f"--config.file={config}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    a = two_gpus["a"].pid

    def query(q):
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.loads(r.read())["data"]["result"]
        except (urllib.error.URLError, ConnectionError):
            return []

    try:
        util = procs = []
        deadline = time.monotonic() + 120         # Prometheus starts, then scrapes each second
        while time.monotonic() < deadline:
            util = query('DCGM_FI_DEV_GPU_UTIL{gpu="1"}')
            procs = query(f'gpuctl_process_memory_used_bytes{{pid="{a}"}}')
            if util and procs:
                break
            time.sleep(0.5)
        assert util, "Prometheus never got DCGM_FI_DEV_GPU_UTIL"
        assert util[0]["metric"]["modelName"] == "NVIDIA H100 80GB HBM3"
        assert float(util[0]["value"][1]) == 11
        assert procs, "Prometheus never got the per-process series"
        assert float(procs[0]["value"][1]) == 3000 * MiB
        assert procs[0]["metric"]["command"] == "sleep"   # the comm of the spawned sleeper
    finally:
        prom.terminate()
        prom.wait(timeout=30)
    server.stop()



# ---- POST /api/v1/kill -------------------------------------------------------------------


def post_kill(server, body, token=None, origin=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if origin:
        headers["Origin"] = origin
    status, _, raw = server.get("/api/v1/kill", headers=headers, method="POST",
                                data=json.dumps(body).encode())
    return status, json.loads(raw)


def test_kill_without_the_token_changes_nothing(start_server, two_gpus, tmp_path):
    a = two_gpus["a"]
    server = start_server(two_gpus["scenario"])
    status, doc = post_kill(server, {"pids": [a.pid]})
    assert status == 403
    assert "without a token" in doc["error"]["message"]
    server.stop()
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    server = start_server(two_gpus["scenario"], "--token-file", token)
    status, doc = post_kill(server, {"pids": [a.pid]})
    assert status == 401
    status, doc = post_kill(server, {"pids": [a.pid]}, token="wrong")
    assert status == 403 and doc["error"]["code"] == "forbidden"
    status, doc = post_kill(server, {"pids": [a.pid]}, token="s3cret-token",
                            origin="http://evil.example")
    assert status == 403 and "another site" in doc["error"]["message"]
    assert a.popen.poll() is None
    server.stop()


def test_kill_ends_a_gpu_process_with_the_token(start_server, two_gpus):
    a = two_gpus["a"]
    server = start_server(two_gpus["scenario"], env={"GPUCTL_TOKEN": "t0ken"})
    status, doc = post_kill(server, {"pids": [a.pid], "dry_run": True}, token="t0ken")
    assert status == 200, doc
    assert doc["dry_run"] is True
    assert [p["result"] for p in doc["processes"]] == ["would_signal"]
    assert a.popen.poll() is None
    status, doc = post_kill(server, {"pids": [a.pid], "timeout_secs": 10}, token="t0ken",
                            origin=server.url)
    assert status == 200, doc
    assert doc["processes"][0]["pid"] == a.pid
    assert doc["processes"][0]["result"] == "terminated"
    assert doc["processes"][0]["gpus"] == [0]
    assert a.popen.wait(timeout=10) == -15
    assert two_gpus["b"].popen.poll() is None
    server.stop()


def test_kill_refuses_what_the_cli_refuses(start_server, two_gpus, spawn_procs):
    other, = spawn_procs(1)   # not on a GPU
    server = start_server(two_gpus["scenario"], env={"GPUCTL_TOKEN": "t0ken"})
    status, doc = post_kill(server, {"pids": [other.pid]}, token="t0ken")
    assert status == 400, doc
    assert "not using a GPU" in doc["error"]["message"]
    assert other.popen.poll() is None
    status, doc = post_kill(server, {"filter": "gpuctl-test-1"}, token="t0ken")
    assert status == 200   # without batch: what would be signalled
    assert [p["pid"] for p in doc["processes"]] == [two_gpus["b"].pid]
    assert two_gpus["b"].popen.poll() is None
    for body, word in (({}, "either pids or filter"), ({"pids": [1], "filter": "x"}, "either"),
                       ({"pids": "x"}, "pids"), ({"pids": [other.pid], "colour": 1}, "colour"),
                       ({"pids": [other.pid], "timeout_secs": -1}, "timeout_secs"),
                       ({"pids": [other.pid], "signal": "NOPE"}, "signal")):
        status, doc = post_kill(server, body, token="t0ken")
        assert status == 400, (body, doc)
        assert word in doc["error"]["message"], (body, doc)
    status, _, raw = server.get("/api/v1/kill", headers={"Authorization": "Bearer t0ken"},
                                method="POST", data=b"{not json")
    assert status == 400 and b"not JSON" in raw
    assert other.popen.poll() is None
    server.stop()


# ---- select, audit, rogue, policies, reset ----------------------------------------------


def test_select_audit_rogue_and_policies_answer_their_documents(start_server, two_gpus):
    server = start_server(two_gpus["scenario"])
    status, doc = server.json("/api/v1/select?count=2")
    assert status == 200, doc
    assert doc["enough"] is True and doc["cuda_visible_devices"] in ("0,1", "1,0")
    status, doc = server.json("/api/v1/select?count=3")
    assert status == 200 and doc["enough"] is False
    status, doc = server.json("/api/v1/select?count=x")
    assert status == 400 and "count" in doc["error"]["message"]
    status, doc = server.json("/api/v1/select?colour=1")
    assert status == 400 and "colour" in doc["error"]["message"]
    status, doc = server.json("/api/v1/audit/summary?hours=2")
    assert status == 200 and doc["samples"] == 0 and len(doc["hourly"]) == 24
    status, doc = server.json("/api/v1/rogue?hours=1")
    assert status == 200 and doc["scanned"]["live"] is True and doc["findings"] == []
    status, doc = server.json("/api/v1/policies")
    assert status == 200 and "global" in doc
    status, _, raw = server.get("/api/v1/policies/test", method="POST", data=b"")
    assert status == 200 and json.loads(raw)["violations"] == []
    server.stop()


def test_select_takes_the_options_of_gpuctl_select(run, start_server, two_gpus):
    server = start_server(two_gpus["scenario"])
    # GPU 0 is 10 % busy, GPU 1 11 %; both have 80 GiB in all
    for query, args in [("max_gpu_utilization=10", ["--max-gpu-utilization", "10"]),
                        ("max-gpu-utilization=10&tolerance=10",
                         ["--max-gpu-utilization", "10", "--tol", "10"]),
                        ("count=1&max_memory_utilization=5",
                         ["--count", "1", "--max-memory-utilization", "5"]),
                        ("min_free_memory=70GiB&max_count=1",
                         ["--min-free-memory", "70GiB", "--max-count", "1"]),
                        ("min_total_memory=81G", ["--min-total-memory", "81G"]),
                        ("format=uuid&count=2", ["--format", "uuid", "--count", "2"])]:
        status, doc = server.json("/api/v1/select?" + query)
        assert status == 200, (query, doc)
        r = run(["select"] + args, scenario=two_gpus["scenario"])
        assert r.rc == 0, r.err
        assert doc["cuda_visible_devices"] == r.out.strip(), query
    # the MCP tool's names stay as aliases
    status, doc = server.json("/api/v1/select?max_util_pct=10&min_free_gb=1")
    assert status == 200 and doc["cuda_visible_devices"] == "0", doc
    status, doc = server.json("/api/v1/select?max_util=10&min_free=1G")
    assert status == 200 and doc["cuda_visible_devices"] == "0", doc
    status, doc = server.json("/api/v1/select?min_count=1&min_free_memory=79GiB")
    assert status == 200 and doc["enough"] is False and doc["cuda_visible_devices"] == ""
    # bad values are refused with the sentence the CLI prints
    for query, args in [("max_gpu_utilization=101", ["--max-gpu-utilization", "101"]),
                        ("count=x", ["--count", "x"]),
                        ("format=name", ["--format", "name"]),
                        ("min_free_memory=lots", ["--min-free-memory", "lots"]),
                        ("min_count=2&max_count=1", ["--min-count", "2", "--max-count", "1"])]:
        status, doc = server.json("/api/v1/select?" + query)
        assert status == 400, (query, doc)
        r = run(["select"] + args, scenario=two_gpus["scenario"])
        assert r.rc != 0 and doc["error"]["message"] in r.err, (doc, r.err)
    status, doc = server.json("/api/v1/select?sep=;")
    assert status == 400 and "--sep" in doc["error"]["message"]
    server.stop()


def post(server, path, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, _, raw = server.get(path, headers=headers, method="POST",
                                data=json.dumps(body).encode())
    return status, json.loads(raw)


def test_reset_needs_the_token_and_refuses_a_busy_gpu(start_server, two_gpus):
    server = start_server(two_gpus["scenario"], env={"GPUCTL_TOKEN": "t0ken"})
    status, doc = post(server, "/api/v1/reset", {"gpu_id": 0})
    assert status == 401
    status, doc = post(server, "/api/v1/reset", {"gpu_id": 0}, token="t0ken")
    # busy (a process runs on it), or no nvidia-smi here to reset with
    assert (status, doc["error"]["code"]) in ((409, "conflict"), (422, "unsupported")), doc
    status, doc = post(server, "/api/v1/reset", {"gpu_id": 9}, token="t0ken")
    assert status == 404, doc
    status, doc = post(server, "/api/v1/reset", {"gpu": 0, "all": True}, token="t0ken")
    assert status == 400, doc
    assert two_gpus["a"].popen.poll() is None
    server.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="a reset needs root; run the tests as root (CI does)")
def test_reset_takes_gpu_or_all_and_force_as_gpuctl_reset(start_server, two_gpus, tmp_path):
    folder = install_smi(tmp_path / "bin", SMI_OK)
    log = tmp_path / "smi.log"
    server = start_server(two_gpus["scenario"], env={
        "GPUCTL_TOKEN": "t0ken", "PATH": f"{folder}:/usr/bin:/bin", "FAKE_SMI_LOG": str(log)})
    # a process runs on each GPU: refused without force, nothing reset
    for body in ({"gpu": 0}, {"gpu": [1, 0]}, {"gpu_id": 1}, {"all": True}):
        status, doc = post(server, "/api/v1/reset", body, token="t0ken")
        assert status == 409 and "force" in doc["error"]["message"], (body, doc)
    # the CLI's checks of what to reset
    for body, words in [({}, "either gpu or all"), ({"gpu": 0, "all": True}, "either gpu or all"),
                        ({"gpu": 5000}, "--gpu: '5000'"), ({"gpu": "0"}, "index"),
                        ({"gpu": []}, "GPU indices"), ({"all": "yes"}, "true or false"),
                        ({"all": True, "colour": 1}, "colour")]:
        status, doc = post(server, "/api/v1/reset", body, token="t0ken")
        assert status == 400 and words in doc["error"]["message"], (body, doc)
    status, doc = post(server, "/api/v1/reset", {"gpu": [0, 9]}, token="t0ken")
    assert status == 404 and "9" in doc["error"]["message"], doc
    assert not log.exists()
    assert two_gpus["a"].popen.poll() is None and two_gpus["b"].popen.poll() is None
    # with force the processes end first, then every GPU is reset in index order
    status, doc = post(server, "/api/v1/reset", {"all": True, "force": True}, token="t0ken")
    assert status == 200, doc
    assert doc["force"] is True
    assert [(g["gpu"], g["result"]) for g in doc["gpus"]] == [(0, "reset"), (1, "reset")]
    assert {p["pid"] for p in doc["processes"]} == {two_gpus["a"].pid, two_gpus["b"].pid}
    assert log.read_text().splitlines() == [f"--gpu-reset -i {bus_id(0)}",
                                            f"--gpu-reset -i {bus_id(1)}"]
    assert two_gpus["a"].popen.wait(timeout=10) == -signal.SIGTERM
    assert two_gpus["b"].popen.wait(timeout=10) == -signal.SIGTERM
    server.stop()


def put_policies(server, doc, token="t0ken"):
    status, _, raw = server.get("/api/v1/policies", method="PUT", data=json.dumps(doc).encode(),
                                headers={"Authorization": f"Bearer {token}"} if token else {})
    return status, json.loads(raw)


def test_policies_are_replaced_whole_or_not_at_all(start_server, two_gpus, tmp_path):
    server = start_server(two_gpus["scenario"], env={"GPUCTL_TOKEN": "t0ken"})
    status, doc = server.json("/api/v1/policies")
    assert status == 200 and doc["global"]["enabled"] is False
    doc["global"]["enabled"] = True
    doc["global"]["grace_period_secs"] = 120
    status, _ = put_policies(server, doc, token=None)
    assert status == 401
    status, saved = put_policies(server, doc)
    assert status == 200, saved
    assert saved["global"]["enabled"] is True and saved["global"]["grace_period_secs"] == 120
    toml = (tmp_path / "xdg" / "gpuctl" / "guard.toml").read_text()
    assert "grace_period_secs = 120" in toml
    bad = json.loads(json.dumps(doc))
    bad["global"]["grace_period_secs"] = -5
    status, err = put_policies(server, bad)
    assert status == 400, err
    assert "grace_period_secs" in err["error"]["message"]
    assert "nothing was changed" in err["error"]["message"]
    assert (tmp_path / "xdg" / "gpuctl" / "guard.toml").read_text() == toml
    status, doc = server.json("/api/v1/policies")
    assert doc["global"]["grace_period_secs"] == 120
    status, _, raw = server.get("/api/v1/policies", method="PUT", data=b"[1]",
                                headers={"Authorization": "Bearer t0ken"})
    assert status == 400
    server.stop()


def test_the_history_routes_see_the_samples_lists_spooled(run, start_server, two_gpus,
                                                          tmp_path):
    """A one-shot list appends its sample to the spool next to the database
    (issue 13); the server's history routes fold it in before reading."""
    sc = two_gpus["scenario"]
    assert run(["list"], scenario=sc).rc == 0            # creates the database
    server = start_server(sc)
    for _ in range(3):
        assert run(["list", "--output", "json"], scenario=sc).rc == 0
    spool = tmp_path / "home" / ".local" / "share" / "gpuctl" / "audit.db-spool"
    assert spool.stat().st_size > 0
    status, doc = server.json("/api/v1/audit?hours=1")
    assert status == 200, doc
    assert len({p["time"] for p in doc["processes"]}) == 4
    assert spool.stat().st_size == 0
    assert run(["list"], scenario=sc).rc == 0
    status, doc = server.json("/api/v1/audit/summary?hours=1")
    assert status == 200 and doc["samples"] == 5, doc
    server.stop()


def test_audit_records_are_the_cli_documents(run, start_server, two_gpus):
    r = run(["list"], scenario=two_gpus["scenario"])   # records one sample (the default)
    assert r.rc == 0, r.err
    server = start_server(two_gpus["scenario"])
    status, doc = server.json("/api/v1/audit?hours=1")
    assert status == 200, doc
    assert {p["pid"] for p in doc["processes"]} == {two_gpus["a"].pid, two_gpus["b"].pid}
    r = run(["audit", "--hours", "1", "--output", "json"], scenario=two_gpus["scenario"])
    assert r.rc == 0, r.err
    cli = json.loads(r.out)
    assert [p["pid"] for p in doc["processes"]] == [p["pid"] for p in cli["processes"]]
    status, doc = server.json("/api/v1/audit?hours=1&gpus=true")
    assert status == 200 and [g["gpu"] for g in doc["gpus"]] == [0, 1]
    status, doc = server.json(f"/api/v1/audit?hours=1&user=nobody-such")
    assert status == 200 and doc["processes"] == []
    for query, word in (("hours=x", "hours"), ("process=(", "pattern"), ("colour=1", "colour")):
        status, doc = server.json(f"/api/v1/audit?{query}")
        assert status == 400 and word in doc["error"]["message"], (query, doc)
    server.stop()


def test_ws_subscribe_narrows_what_a_client_gets(start_server, two_gpus):
    server = start_server(two_gpus["scenario"])

    async def session():
        async with websockets.connect(server.ws_url) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 20))
            await ws.send(json.dumps({"subscribe": {"gpus": [1], "processes": False}}))
            narrowed = []
            while len(narrowed) < 3:
                m = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if [g["gpu_index"] for g in m["data"]["gpus"]] == [1]:
                    narrowed.append(m)
            await ws.send(json.dumps({"subscribe": {"gpus": ["x"]}}))
            while True:
                m = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if m["type"] == "error":
                    break
            after = json.loads(await asyncio.wait_for(ws.recv(), 20))
            return first, narrowed, m, after

    first, narrowed, err, after = asyncio.run(session())
    assert [g["gpu_index"] for g in first["data"]["gpus"]] == [0, 1]
    assert all(m["data"]["procs"] == [] for m in narrowed)
    assert len({m["seq"] for m in narrowed}) >= 2
    assert "gpus" in err["error"]["message"]
    # a bad subscription keeps the last good one
    assert after["type"] == "snapshot" and [g["gpu_index"] for g in after["data"]["gpus"]] == [1]
    server.stop()
