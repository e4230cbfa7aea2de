"""gpuctl trace and gpuctl analyze, run as a user runs them.

Without a GPU: trace runs the job, forwards its status and reports that no
CUDA driver is present; analyze computes its figures from logs written
here, skips corrupt lines, writes the HTML timeline, and keeps its memory
flat on a 1 GiB log.
"""

import json
import os
import pathlib
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
GPUCTL = os.environ.get("GPUCTL_BIN") or str(REPO / "build" / "gpuctl")
GNU_TIME = "/usr/bin/time"


def env(tmp_path):
    e = {k: v for k, v in os.environ.items()
         if k.startswith(("ASAN_", "UBSAN_", "LSAN_")) or k in ("PATH", "LANG")}
    e.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"), NO_COLOR="1")
    return e


def gpuctl(tmp_path, *args, timeout=120):
    return subprocess.run([GPUCTL, *args], capture_output=True, text=True,
                          env=env(tmp_path), timeout=timeout)


def kernel(name, start, end, device=0, stream=7, scope=("train",)):
    return json.dumps({"type": "kernel", "name": name, "demangled": name, "start_ns": start,
                       "end_ns": end, "duration_ns": end - start, "device": device,
                       "context": 1, "stream": stream, "correlation": 1, "grid": [128, 1, 1],
                       "block": [256, 1, 1], "registers": 32, "static_smem": 0,
                       "dynamic_smem": 0, "local_mem_per_thread": 0,
                       "scope": list(scope) if scope is not None else None}) + "\n"


def write_trace(d, prefix="t", kernel_lines=(), scope_lines=(), system_lines=(), summary=True):
    header = json.dumps({"type": "header", "version": 1, "host": "h", "pid": 7,
                         "command": ["./job", "--x"]}) + "\n"
    summ = json.dumps({"type": "summary", "records": {}, "ring_drops": 1, "cupti_drops": 2,
                       "name_drops": 0, "unattributed_kernels": 0}) + "\n"
    for kind, lines in (("kernel", kernel_lines), ("scope", scope_lines),
                        ("system", system_lines)):
        with open(d / f"{prefix}.{kind}.ndjson", "w") as f:
            f.write(header)
            f.writelines(lines)
            if summary:
                f.write(summ)


def test_trace_without_driver_runs_job_and_says_so(tmp_path):
    out = tmp_path / "logs"
    p = gpuctl(tmp_path, "trace", "--output", str(out), "--", "/bin/true")
    assert p.returncode == 0, p.stderr
    assert "no CUDA driver" in p.stderr
    assert "nothing was recorded" in p.stderr
    p = gpuctl(tmp_path, "trace", "-o", str(out), "--", "sh", "-c", "exit 7")
    assert p.returncode == 7
    p = gpuctl(tmp_path, "trace", "-o", str(out), "--", "sh", "-c", "kill -TERM $$")
    assert p.returncode == 128 + 15


def test_trace_usage_errors(tmp_path):
    assert gpuctl(tmp_path, "trace").returncode == 3
    p = gpuctl(tmp_path, "trace", "--ring-mb", "0", "--", "/bin/true")
    assert p.returncode == 3 and "--ring-mb" in p.stderr
    p = gpuctl(tmp_path, "trace", "--prefix", "a/b", "--", "/bin/true")
    assert p.returncode == 3
    p = gpuctl(tmp_path, "trace", "--bogus", "--", "/bin/true")
    assert p.returncode == 3


def test_trace_refuses_to_overwrite(tmp_path):
    write_trace(tmp_path, prefix="gpuctl-trace")
    p = gpuctl(tmp_path, "trace", "-o", str(tmp_path), "--", "/bin/true")
    assert p.returncode == 1
    assert "already holds a trace" in p.stderr


def test_analyze_figures_and_corrupt_lines(tmp_path):
    kernels = [kernel("gemm", 1000, 1100, scope=("train", "step")),
               kernel("gemm", 1300, 1400, scope=("train", "step")),
               kernel("relu", 1500, 1600, scope=("train",)),
               '{"type":"kernel","name":"gemm","start_ns":1\n',     # killed mid-write
               "\x00\x01garbage\n"]
    scopes = [json.dumps({"type": "scope", "name": "step", "path": ["train", "step"],
                          "depth": 2, "thread": 1, "start_ns": 1000, "end_ns": 1500}) + "\n",
              json.dumps({"type": "scope", "name": "train", "path": ["train"], "depth": 1,
                          "thread": 1, "start_ns": 1000, "end_ns": 2000}) + "\n"]
    system = [json.dumps({"type": "device", "t_ns": 2000, "index": 0, "util_gpu_pct": 80,
                          "mem_used_bytes": 5 << 30, "mem_total_bytes": 80 << 30}) + "\n",
              json.dumps({"type": "host", "t_ns": 2000, "cpu_pct": 12.5}) + "\n"]
    write_trace(tmp_path, kernel_lines=kernels, scope_lines=scopes, system_lines=system)
    p = gpuctl(tmp_path, "analyze", str(tmp_path), "--output", "json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    s = r["summary"]
    assert s["command"] == "./job --x"
    assert s["duration_ns"] == 1000
    assert s["kernels"] == 3
    assert s["kernel_time_ns"] == 300
    assert s["gpu_busy_pct"] == pytest.approx(30.0)
    assert s["gpu_util_mean_pct"] == pytest.approx(80.0)
    assert s["vram_peak_bytes"] == 5 << 30
    assert s["host_cpu_mean_pct"] == pytest.approx(12.5)
    assert s["dropped"] == {"ring": 1, "cupti": 2, "names": 0, "unattributed_kernels": 0}
    assert s["corrupt_lines"] == 2
    assert [(x["path"], x["calls"], x["total_ns"], x["self_ns"], x["kernels"], x["gpu_ns"])
            for x in r["scopes"]] == [(["train"], 1, 1000, 500, 3, 300),
                                      (["train", "step"], 1, 500, 500, 2, 200)]
    hot = r["hotspots"]
    assert [(h["name"], h["count"], h["total_ns"]) for h in hot] == [("gemm", 2, 200),
                                                                    ("relu", 1, 100)]
    assert hot[0]["grid"] == [128, 1, 1] and hot[0]["block"] == [256, 1, 1]
    assert hot[0]["scopes"] == [{"path": ["train", "step"], "count": 2}]
    p = gpuctl(tmp_path, "analyze", str(tmp_path), "--top", "1")
    assert p.returncode == 0, p.stderr
    assert "gemm" in p.stdout and "relu" not in p.stdout.split("Hotspots")[1]
    assert "2 skipped" in p.stdout


def test_analyze_html_timeline(tmp_path):
    write_trace(tmp_path, kernel_lines=[kernel("k</script><b>", 10, 20)])
    html = tmp_path / "t.html"
    p = gpuctl(tmp_path, "analyze", str(tmp_path), "--html", str(html))
    assert p.returncode == 0, p.stderr
    text = html.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "<script src" not in text and "http" not in text
    assert text.count("</script>") == 1          # the name cannot close the script
    assert "k\\u003c/script>\\u003cb>" in text


def test_analyze_without_summary_and_errors(tmp_path):
    write_trace(tmp_path, kernel_lines=[kernel("k", 1, 2)], summary=False)
    p = gpuctl(tmp_path, "analyze", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "unknown (no summary" in p.stdout
    p = gpuctl(tmp_path, "analyze", str(tmp_path / "missing"))
    assert p.returncode != 0 and "missing" in p.stderr
    assert gpuctl(tmp_path, "analyze").returncode == 3


def peak_rss_kib(tmp_path, *args):
    out = tmp_path / "time.out"
    p = subprocess.run([GNU_TIME, "-f", "%M", "-o", str(out), GPUCTL, *args],
                       capture_output=True, text=True, env=env(tmp_path), timeout=600)
    assert p.returncode == 0, p.stderr
    return int(out.read_text().split()[-1]), p


@pytest.mark.skipif(not os.access(GNU_TIME, os.X_OK), reason="GNU time is not installed")
def test_analyze_memory_stays_flat_on_1gib(tmp_path):
    small, big = tmp_path / "small", tmp_path / "big"
    small.mkdir()
    big.mkdir()
    names = [f"kernel_{i}<float>" for i in range(50)]
    block = "".join(kernel(names[i % 50], 1000 * i, 1000 * i + 500, stream=i % 4,
                           scope=("epoch", f"layer{i % 8}")) for i in range(4000))
    write_trace(small, kernel_lines=[block])
    chunk = block.encode()
    with open(big / "t.kernel.ndjson", "wb") as f:
        f.write(b'{"type":"header","version":1}\n')
        written = 0
        while written < (1 << 30):
            f.write(chunk)
            written += len(chunk)
    for kind in ("scope", "system"):
        (big / f"t.{kind}.ndjson").write_text('{"type":"header","version":1}\n')
    rss_small, _ = peak_rss_kib(tmp_path, "analyze", str(small), "--output", "json")
    rss_big, p = peak_rss_kib(tmp_path, "analyze", str(big), "--output", "json")
    r = json.loads(p.stdout)
    assert r["summary"]["kernels"] == written // len(chunk) * 4000
    assert len(r["scopes"]) == 9
    # the same distinct kernels and scopes: the 1 GiB log may not cost more
    # than a few MiB beyond the small one
    assert rss_big - rss_small < 4096, (rss_small, rss_big)
    shutil.rmtree(big)


def test_analyze_into_a_closed_pipe_is_quiet(tmp_path):
    """`gpuctl analyze DIR | head -c1`: the reader has what it wanted; no
    "Broken pipe" message (the other commands are quiet there too)."""
    write_trace(tmp_path, kernel_lines=[kernel(f"k{i}", 1000 + i * 10, 1005 + i * 10)
                                        for i in range(2000)])
    for extra in ([], ["--output", "json"]):
        reader = subprocess.Popen(["head", "-c1"], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL)
        p = subprocess.run([GPUCTL, "analyze", str(tmp_path), *extra], stdout=reader.stdin,
                           stderr=subprocess.PIPE, text=True, env=env(tmp_path), timeout=120)
        reader.stdin.close()
        reader.wait(timeout=60)
        assert "Broken pipe" not in p.stderr, p.stderr
        assert p.stderr == "", p.stderr
