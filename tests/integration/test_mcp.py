"""`gpuctl mcp` driven by the official MCP SDK client (@modelcontextprotocol/sdk,
Client with StdioClientTransport, tests/mcp/client.mjs) against the fake NVML
and real processes: every tool listed and called, every resource read, the
same JSON as the CLI's documents.

The SDK comes from npm into tests/mcp/node_modules (scripts/install-deps.sh
runs `npm ci` there); without it, or without node, these tests are skipped
with the reason.
"""

import json
import os
import pathlib
import shutil
import subprocess

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
