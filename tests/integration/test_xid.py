"""XID errors end to end: the fake NVML's event API (tests/fake-nvml,
fake_events.c) driven through ctypes, then gpuctl reading it through
nvmlEventSetWait_v2 into `list --output json` and the `/metrics` of a real
`gpuctl serve` on a free 127.0.0.1 port (test_serve's fixture), scraped with
curl and checked with promtool.  A driver without the event API (the legacy fake) gives no XID
data: null in JSON, no series, no error.
"""

import calendar
import ctypes
import json
import shutil
import subprocess
import time

import pytest

from conftest import device, write_json_atomically
from test_serve import start_server  # noqa: F401 (the fixture: a real server on 127.0.0.1)

SUCCESS, INVALID_ARGUMENT, NOT_SUPPORTED, TIMEOUT, GPU_IS_LOST = 0, 2, 3, 10, 15
XID_CRITICAL = 0x8
EVENT_API = ("nvmlEventSetCreate", "nvmlDeviceGetSupportedEventTypes", "nvmlDeviceRegisterEvents",
             "nvmlEventSetWait", "nvmlEventSetWait_v2", "nvmlEventSetFree")


class EventData(ctypes.Structure):
    _fields_ = [("device", ctypes.c_void_p), ("eventType", ctypes.c_ulonglong),
                ("eventData", ctypes.c_ulonglong), ("gpuInstanceId", ctypes.c_uint),
                ("computeInstanceId", ctypes.c_uint)]


class EventDataV1(ctypes.Structure):
    _fields_ = [("device", ctypes.c_void_p), ("eventType", ctypes.c_ulonglong),
                ("eventData", ctypes.c_ulonglong)]


def xid_scenario(first=(), second=(79,)):
    """GPU 0 supports XID events and raised `first`, GPU 1 raised `second`,
    GPU 2 has no XID support at all."""
    return {"devices": [device(0, xid_errors=list(first)), device(1, xid_errors=list(second)),
                        device(2)]}


# ---- the fake NVML's event API ---------------------------------------------------------


@pytest.fixture
def nvml(fake_lib, tmp_path, monkeypatch):
    """nvml(scenario dict) -> the fake library initialised on it (shut down after)."""
    lib = ctypes.CDLL(str(fake_lib))
    monkeypatch.setenv("FAKE_NVML_RECHECK_MS", "0")
    path = tmp_path / "events.json"

    def init(data):
        write_json_atomically(path, data)
        monkeypatch.setenv("FAKE_NVML_SCENARIO", str(path))
        assert lib.nvmlInit_v2() == SUCCESS
        return lib, path

    yield init
    while lib.nvmlShutdown() == SUCCESS:
        pass


def handle(lib, index):
    h = ctypes.c_void_p()
    assert lib.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(index), ctypes.byref(h)) == SUCCESS
    return h


def new_set(lib):
    s = ctypes.c_void_p()
    assert lib.nvmlEventSetCreate(ctypes.byref(s)) == SUCCESS
    return s


def wait(lib, event_set, timeout_ms=0, v1=False):
    data = EventDataV1() if v1 else EventData()
    fn = lib.nvmlEventSetWait if v1 else lib.nvmlEventSetWait_v2
    rc = fn(event_set, ctypes.byref(data), ctypes.c_uint(timeout_ms))
    return rc, data


def test_fake_reports_xid_support_only_where_the_scenario_has_xids(nvml):
    lib, _ = nvml(xid_scenario())
    types = ctypes.c_ulonglong(12345)
    for index, expected in ((0, XID_CRITICAL), (1, XID_CRITICAL), (2, 0)):
        assert lib.nvmlDeviceGetSupportedEventTypes(handle(lib, index), ctypes.byref(types)) == SUCCESS
        assert types.value == expected
    s = new_set(lib)
    assert lib.nvmlDeviceRegisterEvents(handle(lib, 2), ctypes.c_ulonglong(XID_CRITICAL), s) == NOT_SUPPORTED
    assert lib.nvmlDeviceRegisterEvents(handle(lib, 1), ctypes.c_ulonglong(XID_CRITICAL), None) == \
        INVALID_ARGUMENT
    assert lib.nvmlEventSetFree(s) == SUCCESS
    assert lib.nvmlEventSetFree(s) == INVALID_ARGUMENT   # freed twice


def test_fake_delivers_each_listed_xid_once_per_set_then_times_out(nvml):
    lib, _ = nvml(xid_scenario(first=(13,), second=(79, 48)))
    s = new_set(lib)
    for index in (0, 1):
        assert lib.nvmlDeviceRegisterEvents(handle(lib, index), ctypes.c_ulonglong(XID_CRITICAL),
                                            s) == SUCCESS
    got = []
    for _ in range(3):
        rc, ev = wait(lib, s)
        assert rc == SUCCESS
        assert ev.eventType == XID_CRITICAL
        assert ev.gpuInstanceId == 0xFFFFFFFF and ev.computeInstanceId == 0xFFFFFFFF
        got.append((ev.device, ev.eventData))
    assert got == [(handle(lib, 0).value, 13), (handle(lib, 1).value, 79), (handle(lib, 1).value, 48)]
    assert wait(lib, s)[0] == TIMEOUT
    assert wait(lib, s, timeout_ms=30)[0] == TIMEOUT
    # a second set has its own cursor; the plain call writes the old layout
    s2 = new_set(lib)
    assert lib.nvmlDeviceRegisterEvents(handle(lib, 1), ctypes.c_ulonglong(XID_CRITICAL), s2) == SUCCESS
    rc, ev = wait(lib, s2, v1=True)
    assert rc == SUCCESS and ev.eventData == 79 and ev.device == handle(lib, 1).value
    assert lib.nvmlEventSetFree(s) == SUCCESS and lib.nvmlEventSetFree(s2) == SUCCESS


def test_fake_raises_xids_appended_to_a_rewritten_scenario(nvml):
    lib, path = nvml(xid_scenario(second=(79,)))
    s = new_set(lib)
    assert lib.nvmlDeviceRegisterEvents(handle(lib, 1), ctypes.c_ulonglong(XID_CRITICAL), s) == SUCCESS
    assert wait(lib, s)[1].eventData == 79
    assert wait(lib, s)[0] == TIMEOUT
    write_json_atomically(path, xid_scenario(second=(79, 94)))
    rc, ev = wait(lib, s, timeout_ms=2000)
    assert rc == SUCCESS and ev.eventData == 94
    assert lib.nvmlEventSetFree(s) == SUCCESS


def test_fake_injects_errors_into_the_event_calls(nvml):
    data = xid_scenario()
    data["errors"] = {"nvmlEventSetWait": "GPU_IS_LOST"}
    lib, _ = nvml(data)
    s = new_set(lib)
    assert lib.nvmlDeviceRegisterEvents(handle(lib, 1), ctypes.c_ulonglong(XID_CRITICAL), s) == SUCCESS
    assert wait(lib, s)[0] == GPU_IS_LOST
    assert lib.nvmlEventSetFree(s) == SUCCESS


def test_legacy_fake_has_no_event_api(legacy_lib):
    lib = ctypes.CDLL(str(legacy_lib))
    for name in EVENT_API:
        assert not hasattr(lib, name), name


# ---- gpuctl list -----------------------------------------------------------------------


def xid_fields(doc):
    return {g["gpu_index"]: (g["xid_last"], g["xid_count"], g["xid_last_time"]) for g in doc["gpus"]}


def test_list_json_shows_an_xid_on_the_gpu_that_raised_it(run):
    before = time.time()
    r = run(["list", "--output", "json"], scenario=xid_scenario(second=(79,)))
    assert r.rc == 0, r.err
    xids = xid_fields(json.loads(r.out))
    assert xids[0] == (0, 0, None)          # watched, none raised
    last, count, when = xids[1]
    assert (last, count) == (79, 1)
    stamp = calendar.timegm(time.strptime(when, "%Y-%m-%dT%H:%M:%SZ"))
    assert before - 2 <= stamp <= time.time() + 2
    assert xids[2] == (None, None, None)    # no XID support: unknown, not 0


def test_a_driver_without_the_event_api_gives_null_xids_and_no_error(run, legacy_lib):
    r = run(["list", "--output", "json"], scenario=xid_scenario(second=(79,)), lib=legacy_lib)
    assert r.rc == 0, r.err
    assert r.err == ""
    assert set(xid_fields(json.loads(r.out)).values()) == {(None, None, None)}


# ---- gpuctl serve: /metrics --------------------------------------------------------------


def scrape(server):
    """The /metrics text, fetched with curl."""
    out = subprocess.run(["curl", "-sS", "--max-time", "20", f"http://127.0.0.1:{server.port}/metrics"],
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout.decode()


def samples(text, family):
    return [l for l in text.splitlines() if l.startswith(family + "{")]


def scrape_until(server, predicate):
    """The first /metrics text that satisfies predicate (bounded: 20 s)."""
    for _ in range(200):
        text = scrape(server)
        if predicate(text):
            return text
        time.sleep(0.1)
    raise AssertionError("the metrics never showed it:\n" + text)


def test_metrics_export_the_xid_as_dcgm_does_and_count_new_ones(start_server, scenario):
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    path = scenario(xid_scenario(second=(79,)))
    server = start_server(path)
    text = scrape_until(server, lambda t: samples(t, "DCGM_FI_DEV_XID_ERRORS"))
    assert "# TYPE DCGM_FI_DEV_XID_ERRORS gauge" in text.splitlines()
    dcgm = {l.split('gpu="')[1].split('"')[0]: l for l in samples(text, "DCGM_FI_DEV_XID_ERRORS")}
    assert set(dcgm) == {"0", "1"}           # GPU 2 cannot report XIDs: no sample
    assert dcgm["1"].startswith('DCGM_FI_DEV_XID_ERRORS{gpu="1",UUID="GPU-00000001-')
    assert 'device="nvidia1"' in dcgm["1"] and 'Hostname="' in dcgm["1"]
    assert dcgm["1"].endswith(',err_code="79"} 79')
    assert dcgm["0"].endswith(',err_code="0"} 0')
    assert "# TYPE gpuctl_xid_errors_total counter" in text.splitlines()
    total = samples(text, "gpuctl_xid_errors_total")
    assert [l for l in total if l.startswith('gpuctl_xid_errors_total{gpu="1",')][0].endswith(" 1")
    assert not [l for l in total if 'gpu="2"' in l]
    assert len(samples(text, "gpuctl_xid_last_time_seconds")) == 1

    promtool = shutil.which("promtool")
    if promtool:
        body = text.encode()
        r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
        problems = (r.stdout + r.stderr).decode()
        assert r.returncode in (0, 3), problems          # 3: lint, which DCGM's names earn
        assert all(l.startswith("DCGM_") for l in problems.splitlines() if l.strip()), problems
        own = "\n".join(l for l in text.splitlines() if "DCGM_" not in l) + "\n"
        r = subprocess.run([promtool, "check", "metrics"], input=own.encode(), capture_output=True,
                           timeout=60)
        assert r.returncode == 0, (r.stdout + r.stderr).decode()

    # the GPU raises another XID while the server runs
    write_json_atomically(path, xid_scenario(second=(79, 48)))
    text = scrape_until(server, lambda t: any(l.startswith('gpuctl_xid_errors_total{gpu="1",')
                                              and l.endswith(" 2")
                                              for l in samples(t, "gpuctl_xid_errors_total")))
    dcgm = [l for l in samples(text, "DCGM_FI_DEV_XID_ERRORS") if 'gpu="1"' in l]
    assert len(dcgm) == 1 and dcgm[0].endswith(',err_code="48"} 48'), dcgm
    server.stop()


def test_metrics_without_the_event_api_have_no_xid_series(start_server, scenario, legacy_lib):
    server = start_server(scenario(xid_scenario(second=(79,))),
                          env={"GPUCTL_NVML_LIBRARY": str(legacy_lib)})
    text = server.get("/metrics")[2].decode()
    assert samples(text, "DCGM_FI_DEV_GPU_TEMP")
    for family in ("DCGM_FI_DEV_XID_ERRORS", "gpuctl_xid_errors_total", "gpuctl_xid_last",
                   "gpuctl_xid_last_time_seconds"):
        assert samples(text, family) == [], family
    assert "xid" not in server.stop().lower()
