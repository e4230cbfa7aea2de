"""The cluster end to end: a real coordinator (`gpuctl serve --coordinator`)
on a free 127.0.0.1 port and real agents (`gpuctl agent`), each a separate
process with its own fake NVML scenario and real GPU processes.

Waits poll the coordinator's API until what is expected shows up, within a
bound; nothing asserts how long anything took.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import (MiB, check_no_sanitizer_report, device, parse_tables,
                      write_json_atomically)

TOKEN = "cluster-s3cret"


def proc(pid, mem_mib):
    return {"pid": pid, "used_memory": mem_mib * MiB}


def gpu(index, util, *procs):
    return device(index, utilization={"gpu": util, "memory": 1},
                  processes={"compute": list(procs), "graphics": [], "mps": []})


def stop(popen):
    popen.send_signal(signal.SIGTERM)
    _, err = popen.communicate(timeout=30)
    err = err.decode("utf-8", "replace")
    check_no_sanitizer_report(err)
    assert popen.returncode == 0, err
    return err


class Coordinator:
    def __init__(self, popen, port):
        self.popen = popen
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def request(self, path, method="GET", data=None, token=None):
        """(status, parsed JSON body)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        req = urllib.request.Request(self.url + path, method=method, headers=headers,
                                     data=data.encode() if isinstance(data, str) else data)
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def nodes(self):
        status, doc = self.request("/api/nodes")
        assert status == 200
        return {n["id"]: n for n in doc["nodes"]}

    def wait_for(self, what, check, timeout=60):
        """Polls check() (a truthy value ends it) every 50 ms, 60 s at most
        (ASan builds on a loaded machine)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = check()
            if got:
                return got
            time.sleep(0.05)
        raise AssertionError(f"the coordinator never showed {what}: {self.nodes()}")


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture
def cluster(gpuctl_bin, gpuctl_env, scenario, token_file):
    """cluster.coordinator(port=0, env=None) and cluster.agent(node_id, devices)."""
    procs = []

    class Cluster:
        scenario_of = {}

        def coordinator(self, port=0, env=None):
            sc = scenario({"devices": [device(0)]}, name="coordinator.json")
            p = subprocess.Popen([str(gpuctl_bin), "serve", "--coordinator",
                                  "--listen", f"127.0.0.1:{port}", "--interval", "0.2",
                                  "--token-file", str(token_file)],
                                 env=gpuctl_env(sc, env), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            line = p.stderr.readline().decode("utf-8", "replace")
            if "listening on" not in line:
                p.kill()
                raise AssertionError(f"the coordinator did not start: {line}"
                                     f"{p.communicate(timeout=30)[1].decode()}")
            procs.append(p)
            self.coord = Coordinator(p, int(line.rsplit(":", 1)[1]))
            return self.coord

        def node_server(self, node_id, devices):
            """The node's own `gpuctl serve` on the same scenario; its URL."""
            sc = scenario({"devices": devices}, name=f"{node_id}.json")
            p = subprocess.Popen([str(gpuctl_bin), "serve", "--listen", "127.0.0.1:0",
                                  "--interval", "0.2", "--token-file", str(token_file)],
                                 env=gpuctl_env(sc), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs.append(p)
            line = p.stderr.readline().decode("utf-8", "replace")
            assert "listening on" in line, line
            return f"http://127.0.0.1:{int(line.rsplit(':', 1)[1])}"

        def agent(self, node_id, devices, token=True, interval="0.2", api_url=None):
            sc = scenario({"devices": devices}, name=f"{node_id}.json")
            self.scenario_of[node_id] = sc
            args = [str(gpuctl_bin), "agent", "--coordinator", self.coord.url,
                    "--interval", interval, "--node-id", node_id, "--log-level", "info"]
            if api_url:
                args += ["--api-url", api_url]
            if token:
                args += ["--token-file", str(token_file)]
            p = subprocess.Popen(args, env=gpuctl_env(sc), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs.append(p)
            return p

    yield Cluster()
    # Every process is stopped, also when one of them misbehaves; the first
    # complaint is raised afterwards.
    failures = []
    for p in procs:
        if p.poll() is None:
            try:
                stop(p)
            except (AssertionError, subprocess.TimeoutExpired) as e:
                p.kill()
                p.wait()
                failures.append(e)
    if failures:
        raise failures[0]


def test_three_agents_register_with_their_real_host_name_and_push_in_sequence(
        cluster, spawn_procs):
    coord = cluster.coordinator()
    a, = spawn_procs(1)
    cluster.agent("node-1", [gpu(0, 50, proc(a.pid, 1000))])
    cluster.agent("node-2", [gpu(0, 10), gpu(1, 20)])
    cluster.agent("node-3", [gpu(0, 30)])
    # online is judged against 3 intervals (0.6 s): a push late on a loaded
    # machine makes a node stale for a moment, so it is part of the wait
    nodes = coord.wait_for("three nodes pushing", lambda: (
        (n := coord.nodes()) and len(n) == 3 and all((x["seq"] or 0) >= 3 for x in n.values())
        and all(x["status"] == "online" for x in n.values()) and n))
    assert sorted(nodes) == ["node-1", "node-2", "node-3"]
    for n in nodes.values():
        assert n["hostname"] == socket.gethostname()
        assert n["lost"] == 0 and n["refused"] == 0
        assert "127.0.0.1" not in n["addresses"]
        assert n["interval_s"] == 0.2
    assert [nodes[i]["gpus"] for i in ("node-1", "node-2", "node-3")] == [1, 2, 1]

    status, doc = coord.request("/api/nodes/node-1")
    assert status == 200
    assert [p["pid"] for p in doc["procs"]] == [a.pid]
    def all_online():
        status, snap = coord.request("/api/cluster/snapshot")
        assert status == 200
        return snap["totals"]["nodes_online"] == 3 and snap
    snap = coord.wait_for("three nodes online in the snapshot", all_online)
    assert snap["totals"]["nodes"] == 3 and snap["totals"]["gpus"] == 4
    assert {n["id"]: len(n["snapshot"]["gpus"]) for n in snap["nodes"]} == \
        {"node-1": 1, "node-2": 2, "node-3": 1}


def test_the_cluster_snapshot_carries_each_node_s_pushed_document_as_sent(cluster):
    coord = cluster.coordinator()
    status, _ = coord.request("/api/nodes/quiet/register", "POST", '{"interval_s": 60}',
                              token=TOKEN)
    assert status == 201
    agent = cluster.agent("node-1", [gpu(0, 50), gpu(1, 20)], interval="60")
    coord.wait_for("node-1's first push", lambda: (coord.nodes().get("node-1") or {}).get("seq"))
    status, snap = coord.request("/api/cluster/snapshot")
    assert status == 200
    by_id = {n["id"]: n for n in snap["nodes"]}
    assert by_id["quiet"]["snapshot"] is None and by_id["quiet"]["status"] == "online"
    status, node_doc = coord.request("/api/nodes/node-1")
    assert status == 200
    assert by_id["node-1"]["snapshot"] == node_doc
    assert [g["util_pct"] for g in node_doc["gpus"]] == [50, 20]
    assert snap["totals"]["nodes"] == 2 and snap["totals"]["gpus"] == 2
    agent.terminate()


def test_agents_register_again_by_themselves_after_a_coordinator_restart(cluster):
    coord = cluster.coordinator()
    port = coord.port
    cluster.agent("node-1", [gpu(0, 50)])
    cluster.agent("node-2", [gpu(0, 50)])
    coord.wait_for("both nodes", lambda: len(coord.nodes()) == 2)
    stop(coord.popen)
    coord = cluster.coordinator(port=port)
    coord.wait_for("both nodes back and online", lambda: (
        (n := coord.nodes()) and len(n) == 2 and all(x["seq"] for x in n.values())
        and all(x["status"] == "online" for x in n.values())))


def test_a_silent_node_turns_stale_then_offline_and_is_still_listed(cluster):
    coord = cluster.coordinator()
    agent = cluster.agent("node-1", [gpu(0, 50)])
    coord.wait_for("the node", lambda: coord.nodes().get("node-1", {}).get("seq"))
    stop(agent)
    coord.wait_for("it stale", lambda: coord.nodes()["node-1"]["status"] == "stale")
    coord.wait_for("it offline", lambda: coord.nodes()["node-1"]["status"] == "offline")
    status, doc = coord.request("/api/cluster/contention")
    assert status == 200
    assert doc["totals"]["nodes"] == 1 and doc["totals"]["nodes_skipped"] == 1


def test_pushes_without_the_token_are_refused(cluster):
    coord = cluster.coordinator()
    agent = cluster.agent("node-x", [gpu(0, 50)], token=False)
    status, doc = coord.request("/api/nodes/node-y/register", "POST",
                                '{"interval_s": 1}')
    assert status == 401 and doc["error"]["code"] == "unauthorized"
    status, doc = coord.request("/api/nodes/node-y/register", "POST",
                                '{"interval_s": 1}', token="wrong")
    assert status == 403 and doc["error"]["code"] == "forbidden"
    status, doc = coord.request("/api/nodes/node-y", "DELETE")
    assert status == 401
    time.sleep(1)
    assert coord.nodes() == {}
    err = stop(agent)
    assert "HTTP 401" in err


def test_a_push_that_does_not_decode_or_comes_out_of_order_is_refused_with_the_reason(
        cluster):
    coord = cluster.coordinator()
    status, doc = coord.request("/api/nodes/n1/snapshot?seq=1", "POST", "{}", token=TOKEN)
    assert status == 404 and "not registered" in doc["error"]["message"]
    status, doc = coord.request("/api/nodes/n1/register", "POST",
                                '{"hostname": "h1", "addresses": ["192.0.2.7"], '
                                '"interval_s": 30}', token=TOKEN)
    assert status == 201 and doc["created"] is True
    status, doc = coord.request("/api/nodes/n1/register", "POST", '{"interval_s": "x"}',
                                token=TOKEN)
    assert status == 400 and "interval_s" in doc["error"]["message"]
    status, doc = coord.request("/api/nodes/n1/register", "POST",
                                '{"interval_s": 1, "api_url": "file:///etc/passwd"}', token=TOKEN)
    assert status == 400 and "api_url" in doc["error"]["message"]
    status, doc = coord.request("/api/nodes/n1/snapshot?seq=2", "POST", '{"gpus": 7}',
                                token=TOKEN)
    assert status == 400
    assert doc["error"]["message"].endswith("gpus: expected an array, got an integer"), doc
    status, doc = coord.request("/api/nodes/n1/snapshot?seq=5", "POST", '{"gpus": []}',
                                token=TOKEN)
    assert status == 200 and doc["seq"] == 5
    status, doc = coord.request("/api/nodes/n1/snapshot?seq=5", "POST", '{"gpus": []}',
                                token=TOKEN)
    assert status == 409 and "not newer" in doc["error"]["message"]
    status, doc = coord.request("/api/nodes/n1/snapshot", "POST", '{"gpus": []}', token=TOKEN)
    assert status == 400 and "seq" in doc["error"]["message"]
    status, doc = coord.request("/api/nodes/bad!id/register", "POST", '{"interval_s": 1}',
                                token=TOKEN)
    assert status == 400 and "bad!id" in doc["error"]["message"]
    n1 = coord.nodes()["n1"]
    assert (n1["hostname"], n1["addresses"], n1["seq"], n1["refused"]) == \
        ("h1", ["192.0.2.7"], 5, 2)

    status, _ = coord.request("/api/nodes/n1", "DELETE", token=TOKEN)
    assert status == 200
    assert coord.nodes() == {}
    status, doc = coord.request("/api/nodes/n1")
    assert status == 404


def test_contention_finds_the_idle_gpu_and_names_the_command(cluster, spawn_procs,
                                                             self_user):
    # idle after 0.6 s, so the test needs no patience
    coord = cluster.coordinator(env={"GPUCTL_CLUSTER_IDLE_MINUTES": "0.01"})
    idle, busy, other = spawn_procs(3)
    cluster.agent("node-1", [gpu(0, 0, proc(idle.pid, 2000)), gpu(1, 90, proc(busy.pid, 4000))])
    cluster.agent("node-2", [gpu(0, 40, proc(other.pid, 3000)), gpu(1, 0)])

    def idle_found():
        status, doc = coord.request("/api/cluster/contention")
        return status == 200 and doc["idle_allocated_gpus"] and doc["totals"]["gpus"] == 4 \
            and doc
    doc = coord.wait_for("an idle GPU", idle_found)
    assert doc["totals"]["gpus_in_use"] == 3
    assert doc["totals"]["memory_held_bytes"] == 9000 * MiB
    assert doc["thresholds"]["idle_s"] == 0.6
    [found] = doc["idle_allocated_gpus"]
    assert (found["node"], found["gpu"], found["pids"], found["users"]) == \
        ("node-1", 0, [idle.pid], [self_user])
    assert found["memory_held_bytes"] == 2000 * MiB and found["utilization_pct"] == 0
    assert doc["blocked_gpus"] == []
    [user] = doc["users"]
    assert (user["user"], user["gpus"], user["gpu_memory_bytes"], user["processes"]) == \
        (self_user, 3, 9000 * MiB, 3)
    assert user["nodes"] == ["node-1", "node-2"]
    assert doc["fairness"]["fair_share_gpus"] == 4.0
    [rec] = doc["recommendations"]
    assert rec["kind"] == "release_idle_gpu"
    assert rec["command"] == f"gpuctl kill --pid {idle.pid}"
    assert rec["run_on"] == [socket.gethostname()]
    assert rec["evidence"]["finding"] == "idle_allocated_gpus[0]"


def test_list_cluster_draws_every_node_with_a_node_column(cluster, run, spawn_procs):
    coord = cluster.coordinator()
    a, b = spawn_procs(2)
    cluster.agent("node-1", [gpu(0, 50, proc(a.pid, 1000)), gpu(1, 20)])
    cluster.agent("node-2", [gpu(0, 70, proc(b.pid, 3000))])
    coord.wait_for("both nodes pushing", lambda: (
        (n := coord.nodes()) and len(n) == 2 and all(x["seq"] for x in n.values())))
    result = run(["list", "--cluster", coord.url, "--details"])
    assert result.rc == 0, result.err
    gpus, procs = parse_tables(result.out)
    assert [(r["NODE"], r["GPU"], r["PIDS"]) for r in gpus] == \
        [("node-1", "0", "1"), ("node-1", "1", "0"), ("node-2", "0", "1")]
    assert [(r["NODE"], r["PID"], r["GPU-MEM"]) for r in procs] == \
        [("node-1", str(a.pid), "1000MiB"), ("node-2", str(b.pid), "3000MiB")]

    # filters apply to every node
    result = run(["list", "--cluster", coord.url, "--details", "--pid", str(b.pid)])
    assert result.rc == 0, result.err
    assert [r["NODE"] for r in parse_tables(result.out)[1]] == ["node-2"]

    result = run(["list", "--cluster", coord.url, "--output", "json"])
    assert result.rc == 0, result.err
    doc = json.loads(result.out)
    assert doc["totals"]["gpus"] == 3
    assert [n["id"] for n in doc["nodes"]] == ["node-1", "node-2"]

    result = run(["list", "--cluster", "http://127.0.0.1:1"])
    assert result.rc != 0 and "127.0.0.1:1" in result.err


def test_rogue_scans_every_nodes_latest_snapshot(cluster, tmp_path):
    coord = cluster.coordinator()
    miner_exe = tmp_path / "xmrig"
    miner_exe.write_bytes(pathlib.Path("/bin/sleep").read_bytes())
    miner_exe.chmod(0o755)
    miner = subprocess.Popen([str(miner_exe), "300"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        cluster.agent("node-1", [gpu(0, 50)])
        cluster.agent("node-2", [gpu(0, 99, proc(miner.pid, 2000))])
        coord.wait_for("both nodes pushing", lambda: (
            (n := coord.nodes()) and len(n) == 2 and all(x["seq"] for x in n.values())))
        status, doc = coord.request("/api/cluster/rogue")
        assert status == 200
        assert doc["findings"] == 1
        reports = {n["node"]: n["report"] for n in doc["nodes"]}
        assert reports["node-1"]["findings"] == []
        assert reports["node-2"]["scanned"]["live_processes"] == 1
        [finding] = reports["node-2"]["findings"]
        assert (finding["pid"], finding["process"], finding["category"]) == \
            (miner.pid, "xmrig", "crypto_miner")
    finally:
        miner.kill()
        miner.wait()


def test_a_kill_on_node_2_is_forwarded_to_its_own_api_and_ends_the_process(
        cluster, spawn_procs):
    coord = cluster.coordinator()
    victim, bystander = spawn_procs(2)
    devices = [gpu(0, 50, proc(victim.pid, 1000), proc(bystander.pid, 500))]
    cluster.agent("node-1", [gpu(0, 10)])
    node2 = cluster.node_server("node-2", devices)
    cluster.agent("node-2", devices, api_url=node2)
    coord.wait_for("node-2 with its API", lambda: (
        coord.nodes().get("node-2", {}).get("api_url") == node2))

    body = json.dumps({"pids": [victim.pid], "timeout_secs": 10})
    status, doc = coord.request("/api/nodes/node-2/kill", "POST", body)
    assert status == 401                       # the token, always
    status, doc = coord.request("/api/nodes/node-1/kill", "POST", body, token=TOKEN)
    assert status == 422 and "--api-url" in doc["error"]["message"]
    status, doc = coord.request("/api/nodes/node-9/kill", "POST", body, token=TOKEN)
    assert status == 404

    status, doc = coord.request("/api/nodes/node-2/kill", "POST", body, token=TOKEN)
    assert status == 200, doc
    [ended] = doc["processes"]
    assert ended["pid"] == victim.pid
    assert victim.popen.wait(timeout=20) is not None
    assert bystander.popen.poll() is None

    # the node's refusal comes back as it is
    status, doc = coord.request("/api/nodes/node-2/kill", "POST", '{"pids": [1]}', token=TOKEN)
    assert status in (400, 403) and doc["error"]["message"]


def test_the_cluster_websocket_sends_events_and_only_what_changed(cluster, spawn_procs):
    websockets = pytest.importorskip("websockets")
    import asyncio

    coord = cluster.coordinator()
    a, = spawn_procs(1)

    async def session():
        async with websockets.connect(f"ws://127.0.0.1:{coord.port}/api/cluster/ws") as ws:
            async def next_message(match):
                for _ in range(100):
                    m = json.loads(await asyncio.wait_for(ws.recv(), 20))
                    if match(m):
                        return m
                raise AssertionError("no such message")

            hello = json.loads(await asyncio.wait_for(ws.recv(), 20))
            # the greeting also numbers the updates (a client that sees one
            # missing reconnects for the full state)
            assert (hello["type"], hello["nodes"], hello["update"]) == ("nodes", [], 0)
            agent = cluster.agent("node-1", [gpu(0, 50, proc(a.pid, 1000)), gpu(1, 20)])
            # an update a second: the join and the first push may fall into
            # two of them, so the events of every update up to the first
            # node data are the ones that count
            events = []
            first = await next_message(lambda m: events.extend(m["events"]) or m["nodes"])
            assert [(e["event"], e["node"]) for e in events] == [("joined", "node-1")]
            [node] = first["nodes"]
            assert node["node"] == "node-1" and node["seq"] >= 1
            assert [(g["gpu"], g["utilization_pct"], g["memory_held_bytes"])
                    for g in node["gpus"]] == [(0, 50.0, 1000 * MiB), (1, 20.0, 0)]

            # GPU 1 gets busier: the next change names only that GPU's utilisation
            write_json_atomically(cluster.scenario_of["node-1"],
                                  {"devices": [gpu(0, 50, proc(a.pid, 1000)), gpu(1, 80)]})
            change = await next_message(lambda m: m["nodes"])
            assert change["nodes"][0]["gpus"] == [{"gpu": 1, "utilization_pct": 80.0}]

            stop(agent)
            # (a push late on a loaded machine may have made it stale and
            # online again before: the stop's own stale event is the one)
            stale = await next_message(lambda m: any(e.get("status") == "stale"
                                                     for e in m["events"]))
            assert [(e["event"], e["node"], e["status"]) for e in stale["events"]] == \
                [("status", "node-1", "stale")]

    asyncio.run(session())


def test_the_openapi_document_lists_the_cluster_routes_only_on_a_coordinator(cluster, run):
    # The dashboard offers its cluster views from this document: a node must
    # not list routes that answer 404 there, a coordinator must list them all.
    coord = cluster.coordinator()
    status, doc = coord.request("/api/v1/openapi.json")
    assert status == 200
    cluster_paths = {p: set(item) - {"parameters", "x-gpuctl-coordinator"}
                     for p, item in doc["paths"].items() if item.get("x-gpuctl-coordinator")}
    assert cluster_paths == {
        "/api/nodes": {"get"}, "/api/nodes/{id}": {"get", "delete"},
        "/api/nodes/{id}/register": {"post"}, "/api/nodes/{id}/snapshot": {"post"},
        "/api/nodes/{id}/kill": {"post"}, "/api/nodes/{id}/reset": {"post"},
        "/api/cluster/snapshot": {"get"}, "/api/cluster/contention": {"get"},
        "/api/cluster/rogue": {"get"}, "/api/cluster/ws": {"get"}}
    assert "/api/v1/snapshot" in doc["paths"]
    node = cluster.node_server("node-1", [device(0)])
    with urllib.request.urlopen(node + "/api/v1/openapi.json", timeout=20) as r:
        paths = json.loads(r.read())["paths"]
    assert "/api/v1/snapshot" in paths
    assert not [p for p, item in paths.items() if item.get("x-gpuctl-coordinator")]
    assert not [p for p in paths if p.startswith(("/api/nodes", "/api/cluster"))]


def test_a_coordinator_without_a_gpu_source_lists_no_route_that_needs_samples(cluster, tmp_path):
    (tmp_path / "empty-sys").mkdir()
    coord = cluster.coordinator(env={"GPUCTL_NVML_LIBRARY": str(tmp_path / "no-libnvidia-ml.so.1"),
                                     "GPUCTL_SYS_ROOT": str(tmp_path / "empty-sys")})
    status, doc = coord.request("/api/v1/openapi.json")
    assert status == 200
    paths = doc["paths"]
    for path in ("/api/v1/snapshot", "/api/v1/gpus", "/api/v1/kill", "/metrics"):
        assert path not in paths, path
        assert coord.request(path)[0] in (503, 405), path      # it would answer 503
    for path in ("/health", "/api/v1/openapi.json", "/api/v1/audit/summary", "/ws",
                 "/api/nodes", "/api/cluster/ws", "/api/cluster/contention"):
        assert path in paths, path
