"""The cluster's commands beyond the agent: a coordinator on a head node
without GPUs (its /ws carrying the cluster messages), `gpuctl serve
--coordinator-url` (the node API and the agent in one process), and
`gpuctl top --cluster` (the monitor over the whole cluster, in tmux).

Real coordinators, agents and nodes on free 127.0.0.1 ports, real processes;
waits poll until what is expected shows up, within a bound.
"""

import asyncio
import json
import re
import signal
import subprocess

import pytest

from conftest import check_no_sanitizer_report
from test_cluster import TOKEN, cluster, gpu, proc, stop, token_file  # noqa: F401 (fixtures)


def no_gpu_env(tmp_path):
    """A machine without NVML and without a DRM GPU."""
    (tmp_path / "empty-sys").mkdir(exist_ok=True)
    return {"GPUCTL_NVML_LIBRARY": str(tmp_path / "no-libnvidia-ml.so.1"),
            "GPUCTL_SYS_ROOT": str(tmp_path / "empty-sys")}


async def first_message(url):
    websockets = pytest.importorskip("websockets")
    async with websockets.connect(url) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), 20))


def test_a_coordinator_without_a_gpu_source_serves_the_cluster_and_says_so(
        cluster, tmp_path):
    coord = cluster.coordinator(env=no_gpu_env(tmp_path))
    said = coord.popen.stderr.readline().decode()     # the line after "listening on"
    assert "no GPU source could start" in said and "serving the cluster routes only" in said
    status, doc = coord.request("/health")
    assert status == 200 and doc["status"] == "ok" and doc["last_sample"] is None
    # its own node routes say why they have nothing
    for path in ("/api/v1/snapshot", "/api/v1/gpus", "/metrics"):
        status, doc = coord.request(path)
        assert status == 503, path
        assert doc["error"]["code"] == "gpu_library"
        message = doc["error"]["message"]
        assert "no GPU source could start" in message and "/api/cluster/" in message

    cluster.agent("node-1", [gpu(0, 50), gpu(1, 20)])
    coord.wait_for("node-1 pushing", lambda: coord.nodes().get("node-1", {}).get("seq"))
    status, doc = coord.request("/api/cluster/snapshot")
    assert status == 200 and doc["totals"]["gpus"] == 2

    # /ws carries the cluster's messages here, as /api/cluster/ws does
    for path in ("/ws", "/api/cluster/ws"):
        hello = asyncio.run(first_message(f"ws://127.0.0.1:{coord.port}{path}"))
        assert hello["type"] == "nodes", path
        assert [n["id"] for n in hello["nodes"]] == ["node-1"]


def test_a_coordinator_with_a_gpu_source_keeps_ws_as_its_node_feed(cluster):
    coord = cluster.coordinator()
    cluster.agent("node-1", [gpu(0, 50)])
    coord.wait_for("node-1 pushing", lambda: coord.nodes().get("node-1", {}).get("seq"))
    assert asyncio.run(first_message(f"ws://127.0.0.1:{coord.port}/ws"))["type"] == "snapshot"
    hello = asyncio.run(first_message(f"ws://127.0.0.1:{coord.port}/api/cluster/ws"))
    assert hello["type"] == "nodes" and [n["id"] for n in hello["nodes"]] == ["node-1"]


@pytest.fixture
def serving_node(gpuctl_bin, gpuctl_env, scenario, token_file):  # noqa: F811
    """serving_node(coordinator_url, node_id, devices, *extra) -> (popen, its URL)."""
    started = []

    def start(coordinator_url, node_id, devices, *extra):
        sc = scenario({"devices": devices}, name=f"{node_id}-serve.json")
        p = subprocess.Popen([str(gpuctl_bin), "serve", "--listen", "127.0.0.1:0",
                              "--interval", "0.2", "--token-file", str(token_file),
                              "--coordinator-url", coordinator_url, "--node-id", node_id,
                              "--push-interval", "0.2", "--log-level", "info", *extra],
                             env=gpuctl_env(sc), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append(p)
        line = p.stderr.readline().decode("utf-8", "replace")
        assert "listening on" in line, line + p.communicate(timeout=30)[1].decode()
        return p, f"http://127.0.0.1:{int(line.rsplit(':', 1)[1])}"

    yield start
    # each is asked to stop first, so a slow one does not hold up the others
    for p in started:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in started:
        try:
            err = p.communicate(timeout=30)[1].decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise
        check_no_sanitizer_report(err)
        assert p.returncode == 0, err


def test_serve_with_a_coordinator_url_joins_and_a_forwarded_kill_ends_the_process(
        cluster, serving_node, spawn_procs):
    coord = cluster.coordinator()
    victim, bystander = spawn_procs(2)
    node, url = serving_node(coord.url, "node-2",
                             [gpu(0, 50, proc(victim.pid, 1000), proc(bystander.pid, 500))])
    got = coord.wait_for("node-2 with its API and a push", lambda: (
        (n := coord.nodes().get("node-2")) and n["seq"] and n))
    assert got["api_url"] == url
    assert got["interval_s"] == pytest.approx(0.2)

    # one process serves the node's API too, from the same samples
    status, doc = coord.request("/api/nodes/node-2")
    assert status == 200
    assert sorted(p["pid"] for p in doc["procs"]) == sorted([victim.pid, bystander.pid])

    body = json.dumps({"pids": [victim.pid], "timeout_secs": 10})
    status, doc = coord.request("/api/nodes/node-2/kill", "POST", body, token=TOKEN)
    assert status == 200, doc
    assert [p["pid"] for p in doc["processes"]] == [victim.pid]
    assert victim.popen.wait(timeout=20) is not None
    assert bystander.popen.poll() is None


def test_serve_refuses_agent_options_without_a_coordinator_url_and_bad_urls(run, tmp_path):
    r = run(["serve", "--listen", "127.0.0.1:0", "--node-id", "n1"])
    assert r.rc == 3 and "--coordinator-url" in r.err
    r = run(["serve", "--listen", "127.0.0.1:0", "--coordinator-url", "ftp://head:8080"])
    assert r.rc == 3 and "ftp://head:8080" in r.err
    r = run(["serve", "--listen", "127.0.0.1:0", "--coordinator-url", "http://head:8080",
             "--node-id", "bad id"])
    assert r.rc == 3 and "bad id" in r.err


# ---- top --cluster --------------------------------------------------------------------------

@pytest.fixture
def cluster_top(tmp_path, gpuctl_bin, gpuctl_env):
    """cluster_top(url, *args) -> the monitor in a private tmux server (test_top's Top)."""
    from test_top import TMUX, Top
    if TMUX is None:
        pytest.skip("tmux is not installed")
    started = []

    def start(url, *args):
        env = gpuctl_env(None, {"TERM": "screen-256color"})
        t = Top(tmp_path, [gpuctl_bin, "top", "--cluster", url, "--interval", "0.25", *args],
                env, 160, 50)
        started.append(t)
        return t

    yield start
    for t in started:
        t.kill()


def device_heads(screen):
    """The GPU blocks' heads: (node, GPU index) top to bottom."""
    return re.findall(r"^(node-\d) GPU (\d+)\s", screen, re.M)


def process_rows(screen):
    """The process table's (NODE, GPU, PID) rows, top to bottom."""
    return [(m[0], int(m[1]), int(m[2]))
            for m in re.findall(r"^[ *][ >](node-\d)\s+(\d+)\s+(\d+)\s", screen, re.M)]


def test_top_cluster_shows_every_nodes_gpus_and_processes_with_a_node_column(
        cluster, cluster_top, spawn_procs):
    coord = cluster.coordinator()
    a, b = spawn_procs(2)
    cluster.agent("node-1", [gpu(0, 50, proc(a.pid, 1000)), gpu(1, 20)])
    cluster.agent("node-2", [gpu(0, 70, proc(b.pid, 3000))])
    coord.wait_for("both nodes pushing", lambda: (
        (n := coord.nodes()) and len(n) == 2 and all(x["seq"] for x in n.values())))

    top = cluster_top(coord.url)
    top.wait(lambda s: (
        s.startswith(f"gpuctl top  cluster {coord.url}") and "read-only" in s.splitlines()[0]
        and device_heads(s) == [("node-1", "0"), ("node-1", "1"), ("node-2", "0")]
        and "NODES 2: 2 online, 0 stale, 0 offline   GPUs 3" in s
        and re.search(r"^\s+NODE\s+GPU.\s+PID USER", s, re.M)
        and process_rows(s) == [("node-1", 0, a.pid), ("node-2", 0, b.pid)]),
        "both nodes' GPUs and processes")
    # each node has its own pids: no tree across them
    top.keys("t")
    top.wait(lambda s: "no tree view across a cluster" in s and "sort GPU" in s
             and process_rows(s) == [("node-1", 0, a.pid), ("node-2", 0, b.pid)],
             "the tree view refused")
    top.keys("q")
    assert top.exit_code() == 0

    # --only names each node's own GPU indices
    only = cluster_top(coord.url, "--only", "1")
    only.wait(lambda s: (
        device_heads(s) == [("node-1", "1")] and "NODES 2: 2 online" in s
        and re.search(r"^\s+NODE\s+GPU.\s+PID USER", s, re.M) and "No GPU process." in s),
        "only GPU 1 of each node")


def test_top_cluster_says_in_its_header_when_the_coordinator_stops_answering(
        cluster, cluster_top):
    coord = cluster.coordinator()
    cluster.agent("node-1", [gpu(0, 50)])
    coord.wait_for("node-1 pushing", lambda: coord.nodes().get("node-1", {}).get("seq"))
    top = cluster_top(coord.url)
    top.wait(lambda s: device_heads(s) == [("node-1", "0")] and "STALE" not in s,
             "node-1's GPU, live")
    stop(coord.popen)
    top.wait(lambda s: (
        "STALE" in s.splitlines()[0] and "coordinator:" in s.splitlines()[0]
        and device_heads(s) == [("node-1", "0")]),
        "the header saying the coordinator stopped")
    top.keys("q")
    assert top.exit_code() == 0


def test_top_cluster_marks_a_silent_nodes_gpus_stale(cluster, cluster_top):
    coord = cluster.coordinator()
    cluster.agent("node-1", [gpu(0, 50)])
    quiet = cluster.agent("node-2", [gpu(0, 70)])
    coord.wait_for("both nodes pushing", lambda: (
        (n := coord.nodes()) and len(n) == 2 and all(x["seq"] for x in n.values())))
    top = cluster_top(coord.url)
    top.wait(lambda s: device_heads(s) == [("node-1", "0"), ("node-2", "0")]
             and "2 online, 0 stale" in s, "both nodes online")
    stop(quiet)

    def node_2_stale(s):
        heads = {m[0]: m[1] for m in re.findall(r"^(node-\d) GPU \d+ (.*)$", s, re.M)}
        return ("1 online, 1 stale" in s and "STALE" in heads.get("node-2", "")
                and "STALE" not in heads.get("node-1", "STALE")
                and "STALE" not in s.splitlines()[0])

    top.wait(node_2_stale, "node-2's GPU marked stale, the coordinator still answering")


def test_top_cluster_checks_its_arguments_and_the_coordinator_first(run):
    r = run(["top", "--cluster", "http://127.0.0.1:1", "--once"])
    assert r.rc == 3 and "list --cluster" in r.err
    r = run(["top", "--cluster", "http://127.0.0.1:1", "--only-visible"])
    assert r.rc == 3 and "CUDA_VISIBLE_DEVICES" in r.err
    r = run(["top", "--token-file", "/nonexistent"])
    assert r.rc == 3 and "--cluster" in r.err
    r = run(["top", "--cluster", "ftp://head:8080"])
    assert r.rc == 3 and "ftp://head:8080" in r.err
    r = run(["top", "--cluster", "http://127.0.0.1:1"])   # nothing listens on port 1
    assert r.rc == 1 and "http://127.0.0.1:1" in r.err and "coordinator" in r.err
