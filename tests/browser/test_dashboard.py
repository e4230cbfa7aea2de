"""The dashboard in a real browser: Debian's Chromium, driven by
puppeteer-core (dashboard.mjs), against a real `gpuctl serve` on the fake
NVML with real processes, and a real coordinator (`gpuctl serve
--coordinator`) with two real agents on their own fake NVML scenarios.

Each test starts a server, hands dashboard.mjs a plan, and asserts on its
report (what the page showed, console errors, CSP violations) and on the
machine (which processes still run).  Screenshots at 390x844 and 1440x900
are saved in the test's temp dir; with GPUCTL_BROWSER_SHOTS=DIR a copy goes
there too, for a person to look at.
"""

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

from conftest import (  # noqa: E402,F401  (fixtures used by name)
    device, fake_lib, gpuctl_bin, gpuctl_env, run, scenario, self_user, spawn_procs)
from test_rogue import run_copy, started  # noqa: E402,F401
from test_serve import proc, start_server  # noqa: E402,F401
import test_cluster  # noqa: E402

NODE = shutil.which("node")
CHROMIUM = shutil.which("chromium")
PUPPETEER = HERE / "node_modules" / "puppeteer-core" / "package.json"

pytestmark = pytest.mark.skipif(
    not (NODE and CHROMIUM and PUPPETEER.exists()),
    reason="needs node, Debian's chromium and tests/browser/node_modules (scripts/install-deps.sh)")

TOKEN = "browser-test-token-0123456789"


def drive(plan, tmp_path, refused=()):
    """Runs dashboard.mjs with plan; returns its report after the checks
    every page must pass (no console error, no CSP violation, no failed
    request, the step list complete).  refused: the "PATH: STATUS" answers
    the test provokes on purpose (Chromium logs each as a console error).
    Once the report's server_gone_at is set (the test stopped the server
    for good), the page's failing reconnections are what it should do."""
    out = tmp_path / "browser"
    out.mkdir(exist_ok=True)
    plan = {"out": str(out), "chromium": CHROMIUM, **plan}
    r = subprocess.run([NODE, str(HERE / "dashboard.mjs"), json.dumps(plan)],
                       capture_output=True, text=True, timeout=240, cwd=HERE)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    shots = os.environ.get("GPUCTL_BROWSER_SHOTS")
    if shots:
        os.makedirs(shots, exist_ok=True)
        for f in report["shots"]:
            shutil.copy(f, shots)
    assert "failed" not in report, f"{report['failed']}\n{json.dumps(report, indent=1)}\n{r.stderr}"
    got = sorted(f.split("127.0.0.1:", 1)[1].split("/", 1)[1] for f in report["failed_requests"])
    assert got == sorted(r.lstrip("/") for r in refused), report["failed_requests"]
    gone = report.get("server_gone_at", len(report["console_errors"]))
    logged = [m for i, m in enumerate(report["console_errors"])
              if not (refused and m.startswith("Failed to load resource: the server responded"))
              and not (i >= gone and m.startswith("WebSocket connection to "))]
    assert logged == [], report["console_errors"]
    assert report["page_errors"] == [], report["page_errors"]
    assert report["csp"] == [], report["csp"]
    for f in report["shots"]:
        assert pathlib.Path(f).stat().st_size > 1000
    return report


@pytest.fixture
def node_machine(spawn_procs, scenario):
    """Two GPUs with a process each; GPU 1 reports no temperature."""
    a, b = spawn_procs(2)
    devs = [device(0, processes={"compute": [proc(a.pid, 3000), proc(b.pid, 700)],
                                 "graphics": [], "mps": []}),
            device(1, name="NVIDIA A100-SXM4-40GB", temperature=None)]
    data = {"driver_version": "550.54.15", "nvml_version": "12.550.54.15",
            "cuda_driver_version": 12040, "devices": devs}
    return {"data": data, "path": scenario(data, "live.json"), "a": a, "b": b}


def test_node_view_shows_the_scenario_and_follows_its_changes(start_server, node_machine,
                                                              tmp_path):
    server = start_server(node_machine["path"], "--interval", "0.5")
    changed = json.loads(json.dumps(node_machine["data"]))
    changed["devices"][1]["utilization"]["gpu"] = 77
    a, b = node_machine["a"], node_machine["b"]
    report = drive({"url": server.url + "/", "suite": "node", "gpus": [0, 1],
                    "pids": [a.pid, b.pid], "scenario": str(node_machine["path"]),
                    "next_scenario": changed, "changed_text": "77 %"}, tmp_path)

    assert report["gpu_titles"] == ["GPU 0 · NVIDIA H100 80GB HBM3", "GPU 1 · NVIDIA A100-SXM4-40GB"]
    g0, g1 = report["gpu_stats"]
    assert g0["Memory"] == "1.0 / 80.0 GiB"
    assert g0["Utilisation"] == "10 %"
    assert g0["Temperature"] == "40 °C"
    assert g0["Power"] == "100 W / 700 W"
    assert g0["Processes"] == "2"
    assert g1["Temperature"] == "N/A"          # unknown, never 0
    rows = {int(r[1]): r for r in report["proc_rows"]}
    assert set(rows) == {a.pid, b.pid}
    assert rows[a.pid][2] == a.user and rows[a.pid][4] == "2.9 GiB"
    assert rows[b.pid][4] == "700 MiB"
    assert report["sorted_pids"] == sorted(report["sorted_pids"], reverse=True)
    assert report["conn"] == "live"
    assert "#proc-filter" in report["tab_order"] and "button.sort" in report["tab_order"]
    assert report["sorted_by_keyboard"] == "ascending"
    assert report["overflow_390"] is False
    # seen by the second sample after the scenario file changed
    assert report["change_seen_after_samples"] <= 2
    print("figures:", json.dumps(report["timing"]))


def test_a_dropped_connection_says_since_when_and_comes_back(start_server, node_machine,
                                                             gpuctl_bin, gpuctl_env, tmp_path):
    server = start_server(node_machine["path"], "--interval", "0.5")
    a, b = node_machine["a"], node_machine["b"]
    argv = [str(gpuctl_bin), "serve", "--listen", f"127.0.0.1:{server.port}", "--interval", "0.5"]
    report = drive({"url": server.url + "/", "suite": "node", "gpus": [0, 1],
                    "pids": [a.pid, b.pid], "scenario": str(node_machine["path"]),
                    "next_scenario": node_machine["data"], "changed_text": "10 %",
                    "server_pid": server.popen.pid,
                    "restart": {"argv": argv, "env": gpuctl_env(node_machine["path"])}},
                   tmp_path)
    assert server.popen.wait(timeout=30) == 0
    assert report["down_text"].startswith("disconnected since ")
    assert report["down_dimmed"] is True
    assert report["down_when"].startswith("last sample ") and "not live" in report["down_when"]
    assert report["reconnected"] is True and report["up_dimmed"] is False


def test_served_files_carry_etag_gzip_and_a_strict_csp(start_server, node_machine):
    server = start_server(node_machine["path"])
    status, headers, body = server.get("/", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    import gzip
    assert b"<script type=\"module\" src=\"app.js\">" in gzip.decompress(body)
    etag = headers["ETag"]
    status, _, body = server.get("/", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert status == 304 and body == b""
    status, headers, body = server.get("/chart.min.js")
    assert status == 200 and "Content-Encoding" not in headers
    assert body.startswith(b"/*!\n * Chart.js v")
    status, headers, _ = server.get("/no-such-file.js")
    assert status == 404


def offers(server, path, method):
    """Whether the server's OpenAPI document lists the route (the page
    offers a view only then, and so do these tests)."""
    status, doc = server.json("/api/v1/openapi.json")
    return status == 200 and method in doc.get("paths", {}).get(path, {})


def token_file(tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


def test_killing_from_the_page_needs_the_token_and_ends_only_the_confirmed_process(
        start_server, node_machine, tmp_path):
    server = start_server(node_machine["path"], "--interval", "0.5",
                          "--token-file", token_file(tmp_path))
    if not offers(server, "/api/v1/kill", "post"):
        pytest.skip("this gpuctl serve offers no POST /api/v1/kill: the page shows no kill button")
    a, b = node_machine["a"], node_machine["b"]
    report = drive({"url": server.url + "/", "suite": "node", "gpus": [0, 1],
                    "pids": [a.pid, b.pid], "scenario": str(node_machine["path"]),
                    "next_scenario": node_machine["data"], "changed_text": "10 %",
                    "token": TOKEN, "kill_refused": a.pid, "kill_done": b.pid}, tmp_path)
    assert report["kill_buttons"] == 2
    assert f"(pid {a.pid})" in report["confirm_text"] and f"user {a.user}" in report["confirm_text"]
    assert "Nothing was sent" in report["refused_toast"]
    assert b.popen.wait(timeout=30) is not None          # ended by the page, with the token
    assert a.popen.poll() is None                         # asked for a token, given none
    assert report["kill_toast"].startswith(f"pid {b.pid}: ")
    assert report["token_kept"] is True


def test_a_policy_made_in_the_form_reaches_guard_toml_and_the_cli(start_server, node_machine,
                                                                  run, tmp_path):
    server = start_server(node_machine["path"], "--token-file", token_file(tmp_path))
    if not offers(server, "/api/v1/policies", "put"):
        pytest.skip("this gpuctl serve offers no PUT /api/v1/policies: the page shows no policies view")
    user = node_machine["a"].user
    report = drive({"url": server.url + "/", "suite": "policies", "token": TOKEN, "user": user,
                    "memory_limit_gb": 1, "missing_gpu": 9}, tmp_path,
                   refused=["/api/v1/policies: 400"])
    guard = (tmp_path / "xdg" / "gpuctl" / "guard.toml").read_text()
    assert report["switches_saved"] is True
    assert "enabled = true" in guard and "dry_run = false" in guard
    assert 'enforcement = "hard"' in guard
    assert f"[user_policies.{user}]" in guard or f'[user_policies."{user}"]' in guard
    assert report["user_row"][0] == "1"
    # The form refuses 150 % itself; the server refuses GPU 9, at the field.
    assert report["browser_error"]
    assert [e["id"] for e in report["server_errors"]] == ["pf-_key-error"]
    assert "9" in report["server_errors"][0]["text"]
    r = run(["guard", "--test-policies", "--output", "json"], scenario=node_machine["path"])
    assert r.rc == 0, r.err
    policies = {v["policy"] for v in json.loads(r.out)["violations"]}
    assert f"user:{user}" in policies
    assert "1 violation" in report["test_text"] or "violations" in report["test_text"]


def test_rogue_findings_and_the_audit_summary_render_what_the_server_says(
        start_server, run, scenario, spawn_procs, started, tmp_path):
    miner = run_copy(tmp_path, started, "bin/xmrig", "--url", "stratum+tcp://pool.example.org:3333")
    (honest,) = spawn_procs(1)
    sc = scenario({"devices": [device(0, processes={
        "compute": [proc(miner.pid, 2000), proc(honest.pid, 1000)], "graphics": [], "mps": []})]})
    r = run(["audit", "record", "--interval", "1", "--count", "2"], scenario=sc)
    assert r.rc == 0, r.err
    server = start_server(sc)
    if not (offers(server, "/api/v1/rogue", "get") and offers(server, "/api/v1/audit/summary", "get")):
        pytest.skip("this gpuctl serve offers no rogue scan or audit summary")
    expected = server.json("/api/v1/audit/summary?hours=24")[1]
    report = drive({"url": server.url + "/", "suite": "reports"}, tmp_path)

    assert "Rogue detection" in report["nav"] and "Audit" in report["nav"]
    mine = [f for f in report["findings"] if f"(pid {miner.pid})" in f["title"]]
    assert mine and mine[0]["title"].startswith("crypto miner · xmrig")
    assert mine[0]["risk"] == "critical"
    assert any("'xmrig' is a known miner" in e for e in mine[0]["evidence"])
    assert mine[0]["recommendation"] == f"gpuctl kill --pid {miner.pid}"
    assert not any(f"(pid {honest.pid})" in f["title"] for f in report["findings"])
    assert report["rescanned"] is True
    tables = {t["title"]: t["rows"] for t in report["audit_tables"]}
    users = {row[0]: row for row in tables["Top users"]}
    want = {u["user"]: u for u in expected["top_users"]}
    assert set(users) == set(want) and users
    for name, row in users.items():
        assert row[3] == str(want[name]["rows"])
    assert [row[2] for row in tables["GPUs"]] == ["NVIDIA H100 80GB HBM3"]
    assert report["audit_status"] != report["audit_status_1h"]
    assert report["overflow_rogue_390"] is False and report["overflow_audit_390"] is False


@pytest.fixture
def coordinator_with_agents(gpuctl_bin, gpuctl_env, scenario, tmp_path):
    """start(nodes, env) -> a test_cluster.Coordinator with one agent per
    node id of nodes ({id: (devices, with_api)}; with_api: the node also
    runs its own `gpuctl serve`, where the coordinator forwards kills).
    Returns (coordinator, {id: agent Popen}).  Everything is stopped at
    teardown."""
    procs = []
    tokens = tmp_path / "cluster-token"
    tokens.write_text(TOKEN + "\n")
    tokens.chmod(0o600)

    def spawn(args, sc, env=None):
        p = subprocess.Popen([str(gpuctl_bin), *args], env=gpuctl_env(sc, env),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        procs.append(p)
        return p

    def listening(p):
        line = p.stderr.readline().decode("utf-8", "replace")
        assert "listening on" in line, line
        return int(line.rsplit(":", 1)[1])

    def start(nodes, env=None):
        sc = scenario({"devices": [device(0)]}, name="coordinator.json")
        c = spawn(["serve", "--coordinator", "--listen", "127.0.0.1:0", "--interval", "0.5",
                   "--token-file", str(tokens)], sc, env)
        coord = test_cluster.Coordinator(c, listening(c))
        agents = {}
        for node_id, (devices, with_api) in nodes.items():
            nsc = scenario({"devices": devices}, name=f"{node_id}.json")
            args = ["agent", "--coordinator", coord.url, "--interval", "0.5",
                    "--node-id", node_id, "--token-file", str(tokens)]
            if with_api:
                api = spawn(["serve", "--listen", "127.0.0.1:0", "--interval", "0.5",
                             "--token-file", str(tokens)], nsc)
                args += ["--api-url", f"http://127.0.0.1:{listening(api)}"]
            agents[node_id] = spawn(args, nsc)
        return coord, agents

    yield start
    for p in procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_the_coordinator_page_shows_the_cluster_contention_and_acts_through_the_node(
        coordinator_with_agents, spawn_procs, tmp_path):
    idle, blocker, busy = spawn_procs(3)
    gpu = test_cluster.gpu
    node1 = [gpu(0, 0, proc(idle.pid, 2000)), gpu(1, 90)]            # GPU 0 idle, memory held
    for d in node1:
        del d["power"]                          # node-1 cannot tell its power: N/A, never 0
    node2 = [gpu(0, 7, proc(blocker.pid, 3000)), gpu(1, 50, proc(busy.pid, 1500))]  # GPU 0 blocked
    coord, agents = coordinator_with_agents(
        {"node-1": (node1, False), "node-2": (node2, True)},
        # idle after 0.6 s, held long enough after 0.06 s: no test waits an hour
        env={"GPUCTL_CLUSTER_IDLE_MINUTES": "0.01", "GPUCTL_CLUSTER_HOLD_MINUTES": "0.001"})
    coord.wait_for("two nodes with figures", lambda: all(
        n.get("seq") for n in coord.nodes().values()) and len(coord.nodes()) == 2)
    coord.wait_for("both findings", lambda: len(
        coord.request("/api/cluster/contention")[1]["recommendations"]) == 2)
    report = drive({"url": coord.url + "/", "suite": "cluster", "nodes": ["node-1", "node-2"],
                    "recommendations": 2, "token": TOKEN, "kill_node": "node-2",
                    "kill_pid": blocker.pid, "silent_node": "node-1",
                    "silent_agent_pid": agents["node-1"].pid,
                    "coordinator_pid": coord.popen.pid}, tmp_path)

    # a coordinator's page opens on the cluster, with the node views after it
    assert report["nav"][:3] == ["Cluster", "Contention", "Node"] and report["current"] == "Cluster"
    t = report["totals"]
    assert (t["Nodes"], t["Online"], t["Stale"], t["Offline"], t["GPUs"]) == ("2", "2", "0", "0", "4")
    # device(i) uses (1000 + 100 i) MiB of 80 GiB; power 100 + i W (node-2's
    # alone: node-1's is unknown); utilisation 0, 90, 7, 50
    assert t["Memory used / total"] == "4.1 / 320 GiB"
    assert t["Mean utilisation"] == "37 %" and t["Power · 2 of 4 GPUs"] == "201 W"
    rows = {r[0]: r[1:] for r in report["node_rows"]}
    assert set(rows) == {"node-1", "node-2"}
    assert rows["node-1"][2:] == ["online", "2", "45 %", "2.1 / 160 GiB", "N/A"]
    assert rows["node-2"][2:] == ["online", "2", "29 %", "2.1 / 160 GiB", "201 W"]
    assert report["cluster_conn"] == "live"
    assert report["tooltip"].startswith("node-1 ") and "GPU 0: utilisation 0 %" in report["tooltip"]
    assert "power N/A" in report["tooltip"]
    assert report["grid"]["width"] > 0 and report["grid"]["height"] > 0
    assert report["overflow_cluster_390"] is False and report["overflow_contention_390"] is False

    recs = {r["kind"]: r for r in report["recs"]}
    assert set(recs) == {"release idle gpu", "release blocked gpu"}
    assert recs["release idle gpu"]["command"] == f"gpuctl kill --pid {idle.pid}"
    assert recs["release idle gpu"]["target"] == "node-1 · GPU 0"
    assert any(e.startswith("idle for ") and e.endswith("(threshold 0.6 s)")
               for e in recs["release idle gpu"]["evidence"])
    # node-1's agent gave no API URL: the coordinator cannot forward there
    assert recs["release idle gpu"]["button"]["disabled"] is True
    blocked = recs["release blocked gpu"]
    assert blocked["command"] == f"gpuctl kill --pid {blocker.pid}"
    assert blocked["target"] == f"node-2 · GPU 0 · {blocker.user}"
    assert "utilisation 7 % (below 10 %)" in blocked["evidence"]
    assert "finding: blocked_gpus[0]" in blocked["evidence"]
    assert blocked["button"] == {"text": f"End pid {blocker.pid}", "disabled": False}
    host = socket.gethostname()
    assert [r[:2] for r in report["blocked_rows"]] == [[f"node-2 ({host}) · GPU 0", blocker.user]]
    assert [r[0] for r in report["idle_rows"]] == [f"node-1 ({host}) · GPU 0"]
    assert report["top_users"][0].startswith(f"{idle.user}: ")

    # asked for the token, given none: nothing signalled; then with it, ended
    assert f"pid {blocker.pid}" in report["confirm_text"] and f"user {blocker.user}" in report["confirm_text"]
    assert "node-2" in report["confirm_text"]
    assert "Nothing was sent" in report["refused_toast"] and report["alive_after_refusal"] is True
    assert report["kill_toast"].startswith(f"node node-2: pid {blocker.pid}: ")
    assert blocker.popen.wait(timeout=30) is not None
    assert idle.popen.poll() is None and busy.popen.poll() is None

    # node-1's agent stopped: stale, then offline, and the totals follow
    statuses = report["statuses"]
    assert any(s.startswith("stale since ") for s in statuses), statuses
    assert statuses[-1].startswith("offline since ") and "last seen " in statuses[-1]
    assert report["totals_after"]["Offline"] == "1" and report["totals_after"]["GPUs"] == "2"
    assert report["totals_after"]["Power"] == "201 W"         # every counted GPU's known

    assert report["cluster_down"].startswith("disconnected since ")
    assert report["cluster_dimmed"] is True
    assert coord.popen.wait(timeout=30) == 0
    print("figures:", json.dumps(report["timing"]))
