"""`gpuctl mcp` driven by the official MCP SDK client (@modelcontextprotocol/sdk,
Client with StdioClientTransport and StreamableHTTPClientTransport,
tests/mcp/client.mjs) against the fake NVML and real processes: every tool
listed and called, every resource read, the same JSON as the CLI's
documents; over HTTP also sessions, statuses, Origin and the token.

The SDK comes from npm into tests/mcp/node_modules (scripts/install-deps.sh
runs `npm ci` there); without it, or without node, these tests are skipped
with the reason.
"""

import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import MiB, device, check_no_sanitizer_report

HERE = pathlib.Path(__file__).resolve().parent
CLIENT_DIR = HERE.parent / "mcp"
CLIENT = CLIENT_DIR / "client.mjs"
SDK = CLIENT_DIR / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json"


@pytest.fixture(scope="session")
def node():
    path = shutil.which("node")
    if not path:
        pytest.skip("node is not installed (apt-get install nodejs npm)")
    if not SDK.is_file():
        pytest.skip(f"the MCP SDK is not installed: {SDK} is missing "
                    "(scripts/install-deps.sh runs npm ci in tests/mcp)")
    return path


@pytest.fixture
def sdk_session(node, gpuctl_bin, gpuctl_env, scenario, tmp_path):
    """sdk_session(scenario_dict, calls=[], reads=[], args=["mcp"]) -> the
    client's report (see tests/mcp/client.mjs)."""

    def go(data, calls=(), reads=(), args=("mcp",), all_resources=False, extra_env=None):
        env = gpuctl_env(scenario(data), extra_env)
        env["PATH"] = f"{pathlib.Path(node).parent}:{env['PATH']}"
        plan = {"command": str(gpuctl_bin), "args": list(args), "calls": list(calls),
                "reads": list(reads), "all_resources": all_resources}
        proc = subprocess.run([node, str(CLIENT), json.dumps(plan)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                              cwd=CLIENT_DIR)
        err = proc.stderr.decode("utf-8", errors="replace")
        check_no_sanitizer_report(err)
        assert proc.returncode == 0, err
        return json.loads(proc.stdout)

    return go


def two_gpus(pid):
    return {"driver_version": "550.54.15",
            "devices": [device(0, processes={"compute": [{"pid": pid, "used_memory": 512 * MiB}]}),
                        device(1)]}


def structured(call):
    assert "error" not in call, call
    result = call["result"]
    assert result.get("isError") is not True, result
    text = json.loads(result["content"][0]["text"])
    assert text == result["structuredContent"]
    return result["structuredContent"]


def test_the_sdk_client_connects_lists_and_calls_the_read_tools(sdk_session, run):
    me = os.getpid()
    report = sdk_session(two_gpus(me), calls=[
        {"name": "list_gpus", "arguments": {}},
        {"name": "get_gpu_status", "arguments": {"gpu_id": 0}},
        {"name": "list_processes", "arguments": {"gpu_id": 0}},
    ])
    assert report["server"]["name"] == "gpuctl"
    names = {t["name"] for t in report["tools"]}
    assert {"list_gpus", "get_gpu_status", "list_processes"} <= names
    for tool in report["tools"]:
        assert tool["inputSchema"]["type"] == "object"
        assert tool["outputSchema"]["type"] == "object"
        assert "readOnlyHint" in tool["annotations"]
    gpus = structured(report["calls"][0])
    assert [g["gpu_index"] for g in gpus["gpus"]] == [0, 1]
    status = structured(report["calls"][1])
    assert [g["gpu_index"] for g in status["gpus"]] == [0]
    assert [p["pid"] for p in status["procs"]] == [me]
    procs = structured(report["calls"][2])
    assert [p["pid"] for p in procs["procs"]] == [me]
    # The same document as the CLI prints (the time stamp aside).
    cli = json.loads(run(["list", "--output", "json"], scenario=two_gpus(me)).out)
    for doc in (cli, gpus):
        doc.pop("ts")
    assert [g["name"] for g in gpus["gpus"]] == [g["name"] for g in cli["gpus"]]
    assert gpus["gpus"][1] == cli["gpus"][1]


def test_a_bad_argument_and_a_missing_gpu_are_tool_errors(sdk_session):
    report = sdk_session(two_gpus(os.getpid()), calls=[
        {"name": "get_gpu_status", "arguments": {"gpu_id": 7}},
        {"name": "get_gpu_status", "arguments": {"gpu_id": -1}},
        {"name": "list_processes", "arguments": {"filter": "("}},
    ])
    missing, negative, regex = (c["result"] for c in report["calls"])
    assert missing["isError"] is True
    assert missing["content"][0]["text"] == "no GPU 7: this machine has GPUs 0-1"
    assert negative["isError"] is True and "gpu_id" in negative["content"][0]["text"]
    assert regex["isError"] is True


def test_every_resource_and_the_template_read_as_json(sdk_session):
    me = os.getpid()
    report = sdk_session(two_gpus(me), all_resources=True,
                         reads=["gpu://gpus/1", "gpu://gpus/9"])
    uris = {r["uri"] for r in report["resources"]}
    assert {"gpu://list", "gpu://processes"} <= uris
    assert report["templates"][0]["uriTemplate"] == "gpu://gpus/{index}"
    reads = {r["uri"]: r for r in report["reads"]}
    for uri in uris:
        content = reads[uri]["result"]["contents"][0]
        assert content["mimeType"] == "application/json"
        json.loads(content["text"])
    one = json.loads(reads["gpu://gpus/1"]["result"]["contents"][0]["text"])
    assert [g["gpu_index"] for g in one["gpus"]] == [1]
    assert reads["gpu://gpus/9"]["error"]["code"] == -32002
    processes = json.loads(reads["gpu://processes"]["result"]["contents"][0]["text"])
    assert [p["pid"] for p in processes["procs"]] == [me]


def test_stdout_carries_only_protocol_messages(gpuctl_bin, gpuctl_env, scenario):
    env = gpuctl_env(scenario(two_gpus(os.getpid())), {"GPUCTL_LOG_LEVEL": "debug"})
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "list_gpus", "arguments": {}}},
    ]
    text = "".join(json.dumps(m) + "\n" for m in lines) + "not json\n"
    proc = subprocess.run([str(gpuctl_bin), "--log-level", "debug", "mcp"], env=env,
                          input=text.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60)
    check_no_sanitizer_report(proc.stderr.decode(errors="replace"))
    assert proc.returncode == 0
    replies = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [r.get("id") for r in replies] == [1, 2, None]
    assert replies[2]["error"]["code"] == -32700
    assert all(r["jsonrpc"] == "2.0" for r in replies)


def test_mcp_rejects_an_unknown_option(run):
    result = run(["mcp", "--bogus"])
    assert result.rc == 3
    assert "--bogus" in result.err


READ_TOOLS = {"list_gpus", "get_gpu_status", "list_processes", "select_gpus", "audit_summary",
              "scan_rogue_activity", "test_policies"}
DESTRUCTIVE_TOOLS = {"kill_gpu_process", "kill_processes_by_name", "reset_gpu"}
ALL_TOOLS = READ_TOOLS | DESTRUCTIVE_TOOLS | {"create_user_policy"}


@pytest.fixture
def sleepers():
    """sleepers(n) -> [Popen] of `sleep 300`, killed at teardown."""
    started = []

    def make(n):
        procs = [subprocess.Popen(["sleep", "300"]) for _ in range(n)]
        started.extend(procs)
        return procs

    yield make
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait()


def gpu_with(pids):
    return {"driver_version": "550.54.15",
            "devices": [device(0, processes={"compute": [{"pid": p, "used_memory": 256 * MiB}
                                                         for p in pids]}),
                        device(1)]}


def text_of(call):
    return call["result"]["content"][0]["text"]


def test_every_tool_is_listed_with_its_hints_and_generated_schemas(sdk_session):
    report = sdk_session(gpu_with([]))
    tools = {t["name"]: t for t in report["tools"]}
    assert set(tools) == ALL_TOOLS
    for name in READ_TOOLS:
        assert tools[name]["annotations"]["readOnlyHint"] is True, name
    for name in DESTRUCTIVE_TOOLS:
        hints = tools[name]["annotations"]
        assert hints["readOnlyHint"] is False and hints["destructiveHint"] is True, name
    assert tools["create_user_policy"]["annotations"]["idempotentHint"] is True
    # gpu-kill's argument names, described by the option tables.
    kill = tools["kill_gpu_process"]["inputSchema"]
    assert kill["required"] == ["pid"]
    assert kill["properties"]["pid"]["type"] == "integer"
    assert kill["properties"]["pid"]["maximum"] == 4194304
    assert "SIGKILL" in kill["properties"]["force"]["description"]
    assert set(tools["reset_gpu"]["inputSchema"]["properties"]) == {"gpu_id", "force"}
    assert set(tools["create_user_policy"]["inputSchema"]["properties"]) == {
        "username", "memory_limit_gb", "utilization_limit_pct", "process_limit"}
    assert set(tools["kill_processes_by_name"]["inputSchema"]["properties"]) == {"pattern",
                                                                                   "force"}
    assert set(tools["select_gpus"]["inputSchema"]["properties"]) == {
        "count", "min_free_gb", "max_util_pct"}
    assert tools["select_gpus"]["inputSchema"]["properties"]["max_util_pct"]["maximum"] == 100
    # The snapshot schema names the field table's keys with their help.
    gpu = tools["list_gpus"]["outputSchema"]["properties"]["gpus"]["items"]["properties"]
    assert gpu["mem_used_mb"]["type"] == ["integer", "null"]
    assert gpu["mem_used_mb"]["description"]


def test_the_report_tools_answer_with_the_cli_documents(sdk_session, run):
    report = sdk_session(gpu_with([]), calls=[
        {"name": "select_gpus", "arguments": {"count": 1, "min_free_gb": 1}},
        {"name": "audit_summary", "arguments": {"hours": 2}},
        {"name": "scan_rogue_activity", "arguments": {"hours": 1}},
        {"name": "test_policies", "arguments": {}},
    ])
    select, audit, rogue, policies = (structured(c) for c in report["calls"])
    assert select["enough"] is True and select["cuda_visible_devices"] in ("0", "1")
    assert audit["samples"] == 0 and audit["top_users"] == []
    assert rogue["findings"] == [] and rogue["scanned"]["live"] is True
    assert policies["violations"] == []


def test_create_user_policy_writes_guard_toml_and_is_idempotent(sdk_session, tmp_path):
    call = {"name": "create_user_policy",
            "arguments": {"username": "alice", "memory_limit_gb": 8, "process_limit": 2}}
    report = sdk_session(gpu_with([]), calls=[call, call, {
        "name": "create_user_policy", "arguments": {"username": "bob",
                                                   "utilization_limit_pct": 150}}],
        reads=["gpu://policies"])
    first, second, bad = report["calls"]
    assert structured(first) == structured(second)
    assert bad["result"]["isError"] is True
    assert "utilization_limit_pct" in text_of(bad)
    guard = (tmp_path / "xdg" / "gpuctl" / "guard.toml").read_text()
    assert "alice" in guard and "bob" not in guard
    policies = json.loads(report["reads"][0]["result"]["contents"][0]["text"])
    assert policies == structured(first)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except FileNotFoundError:
        return False
    return text[text.rindex(")") + 2] != "Z"


def test_kill_gpu_process_ends_a_real_process(sdk_session, sleepers):
    victim, = sleepers(1)
    report = sdk_session(gpu_with([victim.pid]), calls=[
        {"name": "kill_gpu_process", "arguments": {"pid": victim.pid}}])
    doc = structured(report["calls"][0])
    assert [p["pid"] for p in doc["processes"]] == [victim.pid]
    assert doc["processes"][0]["result"] == "terminated"
    assert victim.wait(timeout=10) == -15


def test_pid_1_and_a_process_off_the_gpu_are_refused(sdk_session, sleepers):
    bystander, = sleepers(1)
    report = sdk_session(gpu_with([1]), calls=[
        {"name": "kill_gpu_process", "arguments": {"pid": 1}},
        {"name": "kill_gpu_process", "arguments": {"pid": 1, "force": True}},
        {"name": "kill_gpu_process", "arguments": {"pid": bystander.pid}},
    ])
    one, forced, off_gpu = report["calls"]
    for call in (one, forced):
        assert call["result"]["isError"] is True
        assert "pid 1" in text_of(call) or "process 1" in text_of(call), text_of(call)
        assert "nothing was signalled" in text_of(call)
        assert "\n" not in text_of(call)
    assert off_gpu["result"]["isError"] is True and "force" in text_of(off_gpu)
    assert alive(bystander.pid)


def test_kill_by_name_lists_first_and_ends_with_force(sdk_session, sleepers):
    procs = sleepers(2)
    pids = sorted(p.pid for p in procs)
    report = sdk_session(gpu_with(pids), calls=[
        {"name": "kill_processes_by_name", "arguments": {"pattern": "^sleep"}},
        {"name": "kill_processes_by_name", "arguments": {"pattern": "no-such-program"}},
    ])
    listed = structured(report["calls"][0])
    assert sorted(p["pid"] for p in listed["processes"]) == pids
    assert all(alive(p) for p in pids)
    assert report["calls"][1]["result"]["isError"] is True
    assert text_of(report["calls"][1]) == "no GPU process matches 'no-such-program'"
    report = sdk_session(gpu_with(pids), calls=[
        {"name": "kill_processes_by_name", "arguments": {"pattern": "^sleep", "force": True}}])
    done = structured(report["calls"][0])
    assert sorted(p["pid"] for p in done["processes"]) == pids
    for p in procs:
        assert p.wait(timeout=10) in (-15, -9)


def test_reset_gpu_fails_as_a_tool_error_with_one_line(sdk_session, sleepers):
    busy, = sleepers(1)
    report = sdk_session(gpu_with([busy.pid]), calls=[
        {"name": "reset_gpu", "arguments": {"gpu_id": 5}},
        {"name": "reset_gpu", "arguments": {"gpu_id": 0}},
    ])
    missing, used = report["calls"]
    assert text_of(missing) == "no GPU 5: this machine has GPUs 0-1"
    assert used["result"]["isError"] is True and "\n" not in text_of(used)
    assert alive(busy.pid)


def test_read_only_offers_no_tool_that_changes_anything(sdk_session, sleepers):
    victim, = sleepers(1)
    report = sdk_session(gpu_with([victim.pid]), args=["mcp", "--read-only"], calls=[
        {"name": "kill_gpu_process", "arguments": {"pid": victim.pid}},
        {"name": "list_gpus", "arguments": {}}])
    assert {t["name"] for t in report["tools"]} == READ_TOOLS
    assert report["calls"][0]["error"]["code"] == -32602
    structured(report["calls"][1])
    assert alive(victim.pid)


def test_every_listed_resource_reads(sdk_session):
    report = sdk_session(gpu_with([]), all_resources=True)
    uris = [r["uri"] for r in report["resources"]]
    assert uris == ["gpu://list", "gpu://processes", "gpu://audit", "gpu://policies",
                    "gpu://rogue-detection"]
    for read in report["reads"]:
        assert "error" not in read, read
        json.loads(read["result"]["contents"][0]["text"])


# ---- Streamable HTTP (gpuctl mcp --http) -------------------------------------------


@pytest.fixture
def http_server(gpuctl_bin, gpuctl_env, scenario, tmp_path):
    """http_server(scenario_dict, token=None, args=()) -> base URL of a
    `gpuctl mcp --http` on 127.0.0.1 and a free port, stopped at teardown."""
    started = []

    def go(data, token=None, args=()):
        extra = {"GPUCTL_TOKEN": token} if token else None
        env = gpuctl_env(scenario(data), extra)
        err = open(tmp_path / f"http-{len(started)}.err", "w+")
        proc = subprocess.Popen([str(gpuctl_bin), "mcp", "--http", "--listen", "127.0.0.1:0",
                                 *args], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
        started.append((proc, err))
        deadline = time.monotonic() + 60          # an ASan build on a loaded machine
        while time.monotonic() < deadline:
            err.seek(0)
            m = re.search(r"port (\d+)", err.read())
            if m or proc.poll() is not None:
                break
            time.sleep(0.01)
        assert m, f"gpuctl mcp --http did not start: {open(err.name).read()}"
        return f"http://127.0.0.1:{m.group(1)}"

    yield go
    for proc, err in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        err.seek(0)
        check_no_sanitizer_report(err.read())
        err.close()


def http_session(node, url, calls=(), reads=(), token=None, all_resources=False):
    plan = {"url": url + "/mcp", "token": token, "calls": list(calls), "reads": list(reads),
            "all_resources": all_resources}
    proc = subprocess.run([node, str(CLIENT), json.dumps(plan)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120, cwd=CLIENT_DIR)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout)


def test_the_sdk_client_over_streamable_http(node, http_server, sleepers):
    victim, = sleepers(1)
    url = http_server(gpu_with([victim.pid]), token="s3cret")
    report = http_session(node, url, token="s3cret", all_resources=True, calls=[
        {"name": "get_gpu_status", "arguments": {"gpu_id": 0}},
        {"name": "kill_gpu_process", "arguments": {"pid": victim.pid}}])
    assert re.fullmatch(r"[0-9a-f]{32}", report["sessionId"])
    assert report["protocolVersion"] == "2025-11-25"
    assert {t["name"] for t in report["tools"]} == ALL_TOOLS
    status, killed = report["calls"]
    assert [p["pid"] for p in structured(status)["procs"]] == [victim.pid]
    assert structured(killed)["processes"][0]["result"] == "terminated"
    assert victim.wait(timeout=10) == -15
    for read in report["reads"]:
        assert "error" not in read, read


def test_over_http_tools_that_change_anything_need_the_token(node, http_server, sleepers):
    victim, = sleepers(1)
    url = http_server(gpu_with([victim.pid]), token="s3cret")
    report = http_session(node, url, calls=[
        {"name": "kill_gpu_process", "arguments": {"pid": victim.pid}},
        {"name": "list_gpus", "arguments": {}}])
    refused, listed = report["calls"]
    assert refused["result"]["isError"] is True
    assert "bearer token" in text_of(refused)
    structured(listed)
    assert alive(victim.pid)


def post(url, body, session=None, headers=None):
    h = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if session:
        h["Mcp-Session-Id"] = session
    h.update(headers or {})
    req = urllib.request.Request(url + "/mcp", data=json.dumps(body).encode(), headers=h,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def request(url, method, session=None):
    h = {"Mcp-Session-Id": session} if session else {}
    req = urllib.request.Request(url, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                         "clientInfo": {"name": "t", "version": "1"}}}


def test_streamable_http_statuses(http_server):
    url = http_server(gpu_with([]))
    status, _, body = request(url + "/health", "GET")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, headers, _ = request(url + "/mcp", "GET")
    assert status == 405 and headers["Allow"] == "POST, DELETE"
    status, headers, body = post(url, INITIALIZE)
    assert status == 200
    session = headers["Mcp-Session-Id"]
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    assert post(url, ping)[0] == 400
    assert post(url, ping, "f" * 32)[0] == 404
    assert post(url, ping, session)[0] == 200
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    status, _, body = post(url, note, session)
    assert status == 202 and body == b""
    assert post(url, ping, session, {"MCP-Protocol-Version": "2025-06-18"})[0] == 400
    assert post(url, ping, session, {"Accept": "application/json"})[0] == 406
    assert post(url, ping, session, {"Origin": "http://evil.example"})[0] == 403
    assert request(url + "/mcp", "DELETE", session)[0] == 204
    assert post(url, ping, session)[0] == 404
    status, _, body = post(url, {
        "jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}}},
        headers={"MCP-Protocol-Version": "2026-07-28"})
    assert status == 200 and json.loads(body)["result"]["resultType"] == "complete"


def test_a_non_loopback_address_without_a_token_is_refused(run):
    result = run(["mcp", "--http", "--listen", "0.0.0.0:0"])
    assert result.rc == 3
    assert "token" in result.err


# ---- /mcp on gpuctl serve ---------------------------------------------------------


@pytest.fixture
def serve(gpuctl_bin, gpuctl_env, scenario):
    """serve(scenario_dict, token=None) -> base URL of `gpuctl serve` on
    127.0.0.1 and a free port, stopped at teardown."""
    started = []

    def go(data, token=None):
        env = gpuctl_env(scenario(data), {"GPUCTL_TOKEN": token} if token else None)
        proc = subprocess.Popen([str(gpuctl_bin), "serve", "--listen", "127.0.0.1:0",
                                 "--interval", "0.2"], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append(proc)
        line = proc.stderr.readline().decode("utf-8", "replace")
        assert "listening on" in line, line + proc.stderr.read().decode(errors="replace")
        return f"http://127.0.0.1:{int(line.rsplit(':', 1)[1])}"

    yield go
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        check_no_sanitizer_report(err.decode(errors="replace"))


def test_gpuctl_serve_carries_the_mcp_endpoint(node, serve, sleepers):
    victim, bystander = sleepers(2)
    url = serve(gpu_with([victim.pid, bystander.pid]), token="t0ken")
    report = http_session(node, url, token="t0ken", calls=[
        {"name": "list_processes", "arguments": {"gpu_id": 0}},
        {"name": "kill_gpu_process", "arguments": {"pid": victim.pid}}],
        reads=["gpu://gpus/0"])
    assert {t["name"] for t in report["tools"]} == ALL_TOOLS
    listed, killed = report["calls"]
    assert sorted(p["pid"] for p in structured(listed)["procs"]) == sorted(
        [victim.pid, bystander.pid])
    assert structured(killed)["processes"][0]["result"] == "terminated"
    assert victim.wait(timeout=10) == -15
    assert "error" not in report["reads"][0]
    # Without the token the same server lists and reads, and kills nothing.
    report = http_session(node, url, calls=[
        {"name": "kill_gpu_process", "arguments": {"pid": bystander.pid}}])
    assert report["calls"][0]["result"]["isError"] is True
    assert "bearer token" in text_of(report["calls"][0])
    assert alive(bystander.pid)
    assert request(url + "/mcp", "GET")[0] == 405


def test_mcp_port_chooses_the_port_without_listen(gpuctl_bin, gpuctl_env, scenario, tmp_path):
    path = scenario(gpu_with([]))
    # The port is free when picked, but something else on the machine may
    # take it before gpuctl binds it: then a fresh port, a few times.
    for attempt in range(5):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = gpuctl_env(path, {"MCP_PORT": port})
        with open(tmp_path / f"err-{attempt}", "w+") as err:
            proc = subprocess.Popen([str(gpuctl_bin), "mcp", "--http"], env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err)
            try:
                deadline = time.monotonic() + 60  # an ASan build on a loaded machine
                while time.monotonic() < deadline:
                    err.seek(0)
                    if f"port {port}" in err.read() or proc.poll() is not None:
                        break
                    time.sleep(0.01)
                err.seek(0)
                said = err.read()
                if proc.poll() is not None and "Address already in use" in said:
                    continue
                assert f"port {port}" in said, said
                status, _, body = request(f"http://127.0.0.1:{port}/health", "GET")
                assert status == 200 and json.loads(body)["sessions"] == 0
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    assert proc.wait(timeout=20) == 0
            err.seek(0)
            check_no_sanitizer_report(err.read())
            return
    pytest.fail("every port picked was taken before gpuctl could bind it")
