"""`gpuctl compare`: verdicts (the exit status CI reads), the table and
JSON, and refusals, on hand-written reports and on a real `run --json`."""

import json

import pytest

from test_run import MEMLOAD


def report(tmp_path, name, total, groups, method="cgroup-v2", group_by="command"):
    doc = {"command": ["x"], "max_total_rss_kib": total, "duration_seconds": 1.0,
           "method": method, "group_by": group_by,
           "processes": [{"pid": 1, "ppid": 0, "command": "x", "max_rss_kib": total}],
           "groups": [{"name": n, "process_count": 1, "total_peak_kib": v}
                      for n, v in groups.items()]}
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_no_regression_exits_0(run, tmp_path):
    base = report(tmp_path, "b.json", 100000, {"cc1": 80000, "make": 2000})
    cand = report(tmp_path, "c.json", 105000, {"cc1": 84000, "make": 2100})
    r = run(["compare", base, cand])
    assert r.rc == 0, r.err
    assert "no regression (threshold 10.0%)" in r.out
    assert "+5.0%" in r.out


def test_total_growth_beyond_threshold_exits_1(run, tmp_path):
    base = report(tmp_path, "b.json", 100000, {})
    cand = report(tmp_path, "c.json", 130000, {})
    r = run(["compare", base, cand])
    assert r.rc == 1
    assert "REGRESSION" in r.out and "+30.0%" in r.out
    assert run(["compare", "--threshold", "35", base, cand]).rc == 0


def test_a_group_regression_alone_fails(run, tmp_path):
    base = report(tmp_path, "b.json", 100000, {"cc1": 50000, "ld": 1000})
    cand = report(tmp_path, "c.json", 100000, {"cc1": 50000, "ld": 2000, "new": 9999})
    r = run(["compare", "--json", base, cand])
    assert r.rc == 1
    doc = json.loads(r.out)
    rows = {row["name"]: row for row in doc["rows"]}
    assert rows["ld"]["regression"] is True and rows["ld"]["delta_pct"] == 100.0
    assert rows["new"]["gated"] is False and rows["new"]["base"] is None
    assert rows["max_total_rss_kib"]["regression"] is False
    assert doc["regression"] is True and doc["threshold_pct"] == 10.0


def test_warnings_when_reports_measured_differently(run, tmp_path):
    base = report(tmp_path, "b.json", 100, {}, method="cgroup-v2")
    cand = report(tmp_path, "c.json", 100, {}, method="sampled-rss", group_by="exe")
    r = run(["compare", base, cand])
    assert r.rc == 0
    assert "measured the total differently" in r.err
    assert "group processes differently" in r.err


def test_bad_input(run, tmp_path):
    good = report(tmp_path, "g.json", 1, {})
    bad = tmp_path / "bad.json"
    bad.write_text('{"max_total_rss_kib": 1,}')
    r = run(["compare", good, bad])
    assert r.rc == 1 and "bad.json:1:" in r.err
    notrun = tmp_path / "n.json"
    notrun.write_text('{"devices": []}')
    r = run(["compare", good, notrun])
    assert r.rc == 1 and "not a gpuctl run report" in r.err
    r = run(["compare", good, tmp_path / "missing.json"])
    assert r.rc == 1 and "missing.json" in r.err
    assert run(["compare", good]).rc == 3
    assert run(["compare", good, good, good]).rc == 3
    assert run(["compare", "--threshold", "-1", good, good]).rc == 3


def test_real_reports(run, tmp_path):
    if not MEMLOAD.is_file():
        pytest.skip(f"the test workload is not built: {MEMLOAD}")
    small = run(["run", "--json", "--quiet", "--", MEMLOAD, "alloc", "8", "50"])
    big = run(["run", "--json", "--quiet", "--", MEMLOAD, "alloc", "64", "50"])
    assert small.rc == 0 and big.rc == 0
    (tmp_path / "s.json").write_text(small.out)
    (tmp_path / "b.json").write_text(big.out)
    assert run(["compare", tmp_path / "s.json", tmp_path / "s.json"]).rc == 0
    r = run(["compare", tmp_path / "s.json", tmp_path / "b.json"])
    assert r.rc == 1 and "memload" in r.out
    assert run(["compare", tmp_path / "b.json", tmp_path / "s.json"]).rc == 0
