"""The DRM source end to end: the real binary on the fixture machines of
tests/fixtures/drm (sysfs and /proc trees in the kernel's formats, see its
README), alone and beside the fake NVML.

One-shot `list` shows what one read gives (engine rates unknown); rates are
checked through `list --watch --output json` while the test rewrites the
fixture's fdinfo and hwmon files between frames, in a private copy of the
tree.
"""

import importlib.util
import json
import os
import shutil
import subprocess

import pytest

from conftest import (FIXTURES, LineReader, device, interrupt_and_wait, parse_tables,
                      read_until_eof)

DRM = FIXTURES / "drm"
KiB = 1024

_spec = importlib.util.spec_from_file_location("make_trees", DRM / "make_trees.py")
trees = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(trees)


def machine_env(root, nvml=False, pci_ids="/nonexistent/pci.ids"):
    env = {"GPUCTL_SYS_ROOT": root, "GPUCTL_PROC_ROOT": root, "GPUCTL_PCI_IDS": pci_ids}
    if not nvml:
        env["GPUCTL_NVML_LIBRARY"] = "/nonexistent/libnvidia-ml.so.1"
    return env


@pytest.fixture
def drm_json(run, scenario):
    """drm_json(machine, *args, nvml_devices=None) -> the parsed `list -o json`
    of a fixture machine; with nvml_devices, the fake NVML shows those."""

    def go(machine, *args, nvml_devices=None, root=None):
        root = root or DRM / machine
        path = scenario({"devices": nvml_devices or []})
        r = run(["list", "--output", "json", *args], scenario=path,
                env=machine_env(root, nvml=nvml_devices is not None))
        assert r.rc == 0, r.err
        assert r.err == ""
        return json.loads(r.out)

    return go


def by_pid(doc):
    return {p["pid"]: p for p in doc["procs"]}


# ---- amdgpu -------------------------------------------------------------------------


def test_amdgpu_devices(drm_json):
    doc = drm_json("amdgpu")
    assert [s["name"] for s in doc["sources"]] == ["nvml", "drm"]
    assert doc["sources"][1]["started"] is True
    big, old = doc["gpus"]
    assert (big["gpu_index"], old["gpu_index"]) == (0, 1)
    assert {k: big[k] for k in ("name", "vendor", "driver", "pci_bus_id", "uuid")} == {
        "name": "AMD Radeon RX 7900 XTX", "vendor": "amd", "driver": "amdgpu",
        "pci_bus_id": "0000:04:00.0", "uuid": "4c2d4a1c8e9f0a1b"}
    assert big["util_pct"] == 37 and big["mem_util_pct"] == 12
    assert big["mem_total_mb"] == 25753026560 >> 20 and big["mem_used_mb"] == 1104146432 >> 20
    assert big["gtt_total_mb"] == 33554432000 >> 20 and big["gtt_used_mb"] == 33492992 >> 20
    assert (big["temp_c"], big["temp_hotspot_c"], big["temp_mem_c"]) == (45, 52, 60)
    assert (big["temp_slowdown_c"], big["temp_shutdown_c"]) == (100, 105)
    assert big["power_w"] == pytest.approx(48.123) and big["power_limit_w"] == 303
    assert (big["fan_rpm"], big["fan_pct"]) == (1180, 20)
    assert big["clocks"]["graphics_mhz"] == 2482 and big["clocks"]["mem_mhz"] == 1249
    assert big["pcie"]["gen"] == 4 and big["pcie"]["width"] == 16
    assert big["ecc_volatile"] is None and big["status"] is None
    # the card without hwmon: listed, its hwmon fields unknown
    assert old["name"] == "amdgpu 1002:73bf" and old["util_pct"] == 5
    for key in ("temp_c", "power_w", "power_limit_w", "fan_rpm", "fan_pct", "mem_util_pct"):
        assert old[key] is None, key
    assert old["clocks"]["graphics_mhz"] is None


def test_amdgpu_processes(drm_json):
    doc = drm_json("amdgpu")
    procs = by_pid(doc)
    # 4400 shares client 4 with 4100 (counted once, under 4100); 4300 went
    # away, 4301 closed its descriptor, 4600's GPU is not on this machine,
    # 4500 has no DRM descriptor
    assert sorted(procs) == [4100, 4200]
    blender = procs[4100]
    assert blender["gpu_index"] == 0 and blender["proc_name"] == "blender"
    assert blender["cmdline"] == "blender scene.blend" and blender["uid"] == 1000
    assert blender["used_mem_bytes"] == (44564 + 1024) * KiB   # client 4 once + client 5
    assert blender["used_sys_mem_bytes"] == (2392 + 512) * KiB
    assert blender["type"] == "C+G"
    assert blender["engines_pct"] == {"compute": None, "gfx": None}   # one-shot: no rate
    assert blender["sm_pct"] is None
    # the amdgpu format of kernels 5.14-5.18 gives percentages directly
    old = procs[4200]
    assert old["gpu_index"] == 1 and old["used_mem_bytes"] == 23896 * KiB
    assert old["used_sys_mem_bytes"] == 1264 * KiB
    assert (old["sm_pct"], old["dec_pct"], old["type"]) == (12.5, 40.2, "G")
    assert doc["gpus"][0]["pids"] == 1 and doc["gpus"][1]["pids"] == 1


def test_names_from_pci_ids(run):
    r = run(["list", "--output", "json"],
            env=machine_env(DRM / "i915", pci_ids=DRM / "pci.ids"))
    assert r.rc == 0, r.err
    names = [g["name"] for g in json.loads(r.out)["gpus"]]
    assert names == ["Raptor Lake-P [Iris Xe Graphics]", "DG2 [Arc A770]"]


def test_amdgpu_table(run):
    r = run(["list", "--details"], env=machine_env(DRM / "amdgpu"))
    assert r.rc == 0, r.err
    devices, processes = parse_tables(r.out)
    assert [d["NAME"] for d in devices] == ["AMD Radeon RX 7900 XTX", "amdgpu 1002:73bf"]
    assert devices[1]["TEMP(°C)"] == "N/A"
    assert [(p["GPU"], p["PID"]) for p in processes] == [("0", "4100"), ("1", "4200")]


# ---- Intel -----------------------------------------------------------------------------


def test_i915_machine(drm_json):
    doc = drm_json("i915")
    igpu, arc = doc["gpus"]
    assert (igpu["pci_bus_id"], arc["pci_bus_id"]) == ("0000:00:02.0", "0000:03:00.0")
    assert igpu["vendor"] == arc["vendor"] == "intel"
    assert igpu["clocks"]["graphics_mhz"] == 350 and igpu["clocks"]["graphics_max_mhz"] == 1450
    assert igpu["temp_c"] is None and igpu["power_w"] is None     # no hwmon on an iGPU
    # one read gives energy, not power; no busy file, so utilisation is the
    # clients' sum, which needs two reads
    assert arc["power_w"] is None and arc["util_pct"] is None
    assert arc["power_limit_w"] == 190 and arc["fan_rpm"] == 1500
    procs = by_pid(doc)
    # an integrated GPU's memory is system memory
    assert procs[5100]["used_mem_bytes"] == procs[5100]["used_sys_mem_bytes"] == 6044 * KiB
    assert procs[5100]["type"] == "G"
    assert sorted(procs[5100]["engines_pct"]) == ["copy", "render", "video", "video-enhance"]
    assert procs[5200]["used_mem_bytes"] == 204800 * KiB           # local0
    assert procs[5200]["used_sys_mem_bytes"] == 1024 * KiB


def test_xe_machine(drm_json):
    doc = drm_json("xe")
    gpu, = doc["gpus"]
    assert gpu["driver"] == "xe" and gpu["vendor"] == "intel"
    assert gpu["mem_total_mb"] == 12288
    assert gpu["clocks"]["graphics_mhz"] == 2050 and gpu["clocks"]["graphics_max_mhz"] == 2850
    assert (gpu["temp_c"], gpu["temp_mem_c"]) == (48, 56)
    assert gpu["power_limit_w"] == 150 and gpu["fan_rpm"] == 0
    p, = doc["procs"]
    assert p["pid"] == 6100 and p["proc_name"] == "llama-server"
    assert p["used_mem_bytes"] == 23992 * KiB and p["used_sys_mem_bytes"] == 440 * KiB
    assert sorted(p["engines_pct"]) == ["bcs", "ccs", "rcs", "vcs", "vecs"]
    assert p["type"] == "G"                    # busy only on rcs


# ---- NVIDIA beside AMD ----------------------------------------------------------------------


def test_mixed_machine_nvml_owns_the_nvidia_card(drm_json):
    doc = drm_json("mixed", nvml_devices=[device(0)])
    nv, amd = doc["gpus"]
    assert (nv["gpu_index"], nv["vendor"], nv["uuid"]) == (0, "nvidia", device(0)["uuid"])
    assert nv["pci_bus_id"] == "0000:18:00.0" and nv["name"] == "NVIDIA H100 80GB HBM3"
    assert (amd["gpu_index"], amd["vendor"], amd["pci_bus_id"]) == (1, "amd", "0000:04:00.0")
    # the nvidia-drm client belongs to a card NVML owns: not listed twice
    assert [(p["pid"], p["gpu_index"]) for p in doc["procs"]] == [(7100, 1)]


def test_mixed_machine_without_nvml_shows_sysfs_view(drm_json):
    doc = drm_json("mixed")
    amd, nv = doc["gpus"]
    assert (amd["gpu_index"], amd["pci_bus_id"]) == (0, "0000:04:00.0")
    assert (nv["gpu_index"], nv["vendor"], nv["pci_bus_id"]) == (1, "nvidia", "0000:18:00.0")
    assert nv["name"] == "nvidia 10de:2330" and nv["driver_version"] == "550.54.15"
    assert nv["mem_total_mb"] is None and nv["temp_c"] is None
    assert [(p["pid"], p["gpu_index"]) for p in doc["procs"]] == [(7100, 0), (7200, 1)]


@pytest.mark.parametrize("vendor, expected", [
    ("amd", ["amd"]), ("nvidia", ["nvidia"]), ("intel", []), ("all", ["nvidia", "amd"]),
    ("amd,nvidia", ["nvidia", "amd"]),
])
def test_vendor_filter(drm_json, vendor, expected):
    doc = drm_json("mixed", "--vendor", vendor, nvml_devices=[device(0)])
    assert [g["vendor"] for g in doc["gpus"]] == expected
    shown = {g["gpu_index"] for g in doc["gpus"]}
    assert all(p["gpu_index"] in shown for p in doc["procs"])
    assert bool(doc["procs"]) == ("amd" in expected)


def test_indices_are_unique_and_stable(drm_json):
    first = drm_json("mixed", nvml_devices=[device(0)])
    again = drm_json("mixed", nvml_devices=[device(0)])
    key = [(g["gpu_index"], g["pci_bus_id"]) for g in first["gpus"]]
    assert key == [(g["gpu_index"], g["pci_bus_id"]) for g in again["gpus"]]
    assert len({i for i, _ in key}) == len(key)
    only = drm_json("mixed", "--only", "1", nvml_devices=[device(0)])
    assert [g["pci_bus_id"] for g in only["gpus"]] == ["0000:04:00.0"]


@pytest.mark.parametrize("args", [["--vendor", "apple"], ["--vendor", "amd,apple"],
                                  ["--vendor", "amd", "apple"]])
def test_vendor_apple_is_unsupported_on_linux(run, args):
    r = run(["list", *args], env=machine_env(DRM / "amdgpu"))
    assert r.rc == 5
    assert r.out == ""
    assert "Apple Silicon" in r.err and "only supported on macOS" in r.err


def test_no_drm_cards_says_why_with_nvml_absent(run, tmp_path):
    empty = tmp_path / "root"
    (empty / "sys").mkdir(parents=True)
    r = run(["list"], env=machine_env(empty))
    assert r.rc == 2
    assert "no DRM GPU was found in" in r.err and "GPUCTL_NVML_LIBRARY" in r.err


# ---- rates between frames of --watch --------------------------------------------------------


def copy_machine(name, tmp_path):
    dst = tmp_path / name
    shutil.copytree(DRM / name, dst, symlinks=True)
    return dst


def replace_file(path, text):
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(text)
    os.replace(tmp, path)


class Watch:
    """`gpuctl list --watch SEC --output json` on a tree; frame() is the next
    document."""

    def __init__(self, gpuctl_bin, gpuctl_env, scenario, root, interval="0.2"):
        env = gpuctl_env(scenario({"devices": []}), machine_env(root))
        self.p = subprocess.Popen([str(gpuctl_bin), "list", "--watch", interval, "--output",
                                   "json"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.lines = LineReader(self.p.stdout.fileno())

    def frame(self):
        return json.loads(self.lines.readline(30))

    def until(self, test, frames=300):
        for _ in range(frames):
            doc = self.frame()
            if test(doc):
                return doc
        pytest.fail("no frame showed the change")

    def stop(self):
        try:
            rc = interrupt_and_wait(self.p)
            read_until_eof(self.p.stdout.fileno(), 30)
            err = self.p.stderr.read().decode()
        finally:
            if self.p.poll() is None:
                self.p.kill()
                self.p.wait()
            self.p.stdout.close()
            self.p.stderr.close()
        assert (rc, err) == (0, "")


@pytest.fixture
def watch(gpuctl_bin, gpuctl_env, scenario):
    started = []

    def go(root):
        w = Watch(gpuctl_bin, gpuctl_env, scenario, root)
        started.append(w)
        return w

    yield go
    for w in started:
        if w.p.poll() is None:
            w.p.kill()
            w.p.wait()


def test_xe_cycles_rate_power_and_device_util(watch, tmp_path):
    root = copy_machine("xe", tmp_path)
    fdinfo = root / "proc/6100/fdinfo/11"
    energy = root / "sys/devices/pci0000:00/0000:03:00.0/hwmon/hwmon3/energy1_input"
    w = watch(root)
    first = w.frame()
    assert first["procs"][0]["engines_pct"]["rcs"] is None
    assert first["gpus"][0]["power_w"] is None
    # rcs busy for half the GPU clock's ticks; 4 ccs engines, one of them 40 % busy
    replace_file(fdinfo, trees.xe_fdinfo(11, "0000:03:00.0", 28257900 + 500000,
                                         7655183225 + 1000000, ccs_cycles=400000))
    doc = w.until(lambda d: d["procs"][0]["engines_pct"]["rcs"] is not None)
    engines = doc["procs"][0]["engines_pct"]
    assert engines["rcs"] == pytest.approx(50.0)
    assert engines["ccs"] == pytest.approx(10.0)
    assert engines["bcs"] == 0
    assert doc["procs"][0]["sm_pct"] == pytest.approx(50.0)      # the busiest engine
    assert doc["procs"][0]["type"] == "C+G"
    assert doc["gpus"][0]["util_pct"] == pytest.approx(50.0)     # from its clients
    # 100 J more: power shows in the frame that saw the change (0 W in
    # frames where the counter stood still)
    replace_file(energy, "1087654321\n")
    w.until(lambda d: (d["gpus"][0]["power_w"] or 0) > 0)
    w.stop()


def test_ns_rate_counter_backwards_and_process_exit(watch, tmp_path):
    root = copy_machine("amdgpu", tmp_path)
    pdev = "0000:04:00.0"
    client4 = [root / "proc/4100/fdinfo/5", root / "proc/4100/fdinfo/6",
               root / "proc/4400/fdinfo/5"]

    def set_client4(compute_ns):
        for path in client4:
            replace_file(path, trees.amdgpu_fdinfo(4, pdev, compute_ns))

    set_client4(20 * 10**9)
    w = watch(root)
    first = w.frame()
    assert by_pid(first)[4100]["engines_pct"]["compute"] is None
    # the counter goes backwards (the usage-stats spec allows it): 0 %, not a wrap
    set_client4(1 * 10**9)
    doc = w.until(lambda d: by_pid(d)[4100]["engines_pct"]["compute"] is not None)
    assert by_pid(doc)[4100]["engines_pct"]["compute"] == 0
    # catching up to 1 ms past the old value counts from the old value (1 ms
    # of work), not from the smaller one (19 s: 100 %)
    set_client4(20 * 10**9 + 10**6)
    doc = w.until(lambda d: by_pid(d)[4100]["engines_pct"]["compute"] != 0)
    assert 0 < by_pid(doc)[4100]["engines_pct"]["compute"] < 50
    # glxgears exits: gone from the next frames, no error
    shutil.rmtree(root / "proc/4200")
    doc = w.until(lambda d: 4200 not in by_pid(d))
    assert doc["gpus"][1]["pids"] == 0
    w.stop()


# ---- reset through amdgpu's debugfs ------------------------------------------------------------


def test_amd_reset_reads_debugfs_recover(run, tmp_path):
    if os.getuid() != 0:
        pytest.skip("gpuctl reset needs root")
    root = copy_machine("amdgpu", tmp_path)
    for pid in (root / "proc").iterdir():       # no processes: nothing to refuse or end
        if pid.name.isdigit():
            shutil.rmtree(pid)
    dri = root / "sys/kernel/debug/dri"
    for minor, bus in (("1", "0000:04:00.0"), ("128", "0000:04:00.0")):
        (dri / minor).mkdir(parents=True)
        (dri / minor / "name").write_text(f"amdgpu dev={bus} unique={bus}\n")
    (dri / "1" / "amdgpu_gpu_recover").write_text("gpu recover\n")
    r = run(["reset", "--gpu", "0"], env=machine_env(root))
    assert r.rc == 0, r.err
    assert r.out.splitlines() == ["GPU 0 (AMD Radeon RX 7900 XTX, 0000:04:00.0): reset",
                                  "  gpu recover"]
    # the second card has no debugfs folder: unsupported, named
    r = run(["reset", "--gpu", "1"], env=machine_env(root))
    assert r.rc == 5
    assert "0000:0a:00.0" in r.err and r.out == ""
