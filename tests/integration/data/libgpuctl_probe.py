"""Drives libgpuctl through ctypes and prints what it saw as JSON.

Run in a child process by test_libgpuctl.py, so that each test gets a fresh
library (and a fresh fake NVML, whose state is per process) and a crash
cannot take pytest down with it.

    python3 libgpuctl_probe.py LIB snapshot          one snapshot, every field
    python3 libgpuctl_probe.py LIB open              only gpuctl_open
    python3 libgpuctl_probe.py LIB twice NEW.json    snapshot, replace the
        scenario file ($FAKE_NVML_SCENARIO) with NEW.json, snapshot again;
        both are read after the second is taken
    python3 libgpuctl_probe.py LIB edges             argument checking

The field numbers are those of include/gpuctl/gpuctl.h, written out here on
purpose: this is what an application compiled against the header passes.
"""

import ctypes
import json
import os
import shutil
import sys
import time

DEVICE_U64 = {"INDEX": 0, "MEM_TOTAL_BYTES": 1, "MEM_USED_BYTES": 2, "MEM_FREE_BYTES": 3,
              "POWER_MW": 4, "POWER_LIMIT_MW": 5, "CLOCK_GRAPHICS_MHZ": 6, "CLOCK_SM_MHZ": 7,
              "CLOCK_MEM_MHZ": 8, "ECC_VOLATILE_UNCORRECTED": 9, "PCIE_RX_KBPS": 10,
              "PCIE_TX_KBPS": 11, "MIG_INSTANCE_COUNT": 12}
DEVICE_DOUBLE = {"UTIL_GPU_PCT": 100, "UTIL_MEM_PCT": 101, "UTIL_ENC_PCT": 102,
                 "UTIL_DEC_PCT": 103, "FAN_PCT": 104, "TEMP_C": 105}
DEVICE_STRING = {"NAME": 200, "UUID": 201, "PCI_BUS_ID": 202, "VENDOR": 203, "DRIVER": 204,
                 "DRIVER_VERSION": 205, "STATUS": 206}
PROCESS_U64 = {"PID": 0, "DEVICE_INDEX": 1, "GPU_MEM_BYTES": 2, "UID": 3, "PPID": 4,
               "HOST_RSS_BYTES": 5, "GPU_INSTANCE_ID": 6, "COMPUTE_INSTANCE_ID": 7}
PROCESS_DOUBLE = {"SM_PCT": 100, "MEM_BW_PCT": 101, "CPU_PCT": 102, "START_TIME": 103,
                  "ELAPSED_S": 104}
PROCESS_STRING = {"TYPE": 200, "USER": 201, "NAME": 202, "CMDLINE": 203, "CONTAINER_KIND": 204,
                  "CONTAINER_ID": 205}

P = ctypes.c_void_p


def load(path):
    lib = ctypes.CDLL(path)
    lib.gpuctl_version.restype = ctypes.c_char_p
    lib.gpuctl_open.argtypes = [ctypes.POINTER(P), ctypes.c_char_p, ctypes.c_size_t]
    lib.gpuctl_close.argtypes = [P]
    lib.gpuctl_snapshot_take.argtypes = [P, ctypes.POINTER(P), ctypes.c_char_p, ctypes.c_size_t]
    lib.gpuctl_snapshot_free.argtypes = [P]
    for name in ("gpuctl_device_count", "gpuctl_process_count"):
        getattr(lib, name).argtypes = [P]
        getattr(lib, name).restype = ctypes.c_size_t
    for kind in ("device", "process"):
        getattr(lib, f"gpuctl_{kind}_u64").argtypes = [P, ctypes.c_size_t, ctypes.c_int,
                                                        ctypes.POINTER(ctypes.c_uint64)]
        getattr(lib, f"gpuctl_{kind}_double").argtypes = [P, ctypes.c_size_t, ctypes.c_int,
                                                           ctypes.POINTER(ctypes.c_double)]
        getattr(lib, f"gpuctl_{kind}_string").argtypes = [P, ctypes.c_size_t, ctypes.c_int]
        getattr(lib, f"gpuctl_{kind}_string").restype = ctypes.c_char_p
    return lib


def text(b):
    return None if b is None else b.decode("utf-8", errors="replace")


def get_u64(lib, kind, snap, i, field):
    v = ctypes.c_uint64(0xDEADBEEF)
    rc = getattr(lib, f"gpuctl_{kind}_u64")(snap, i, field, ctypes.byref(v))
    return [rc, v.value if rc == 0 else None]


def get_double(lib, kind, snap, i, field):
    v = ctypes.c_double(-12345.0)
    rc = getattr(lib, f"gpuctl_{kind}_double")(snap, i, field, ctypes.byref(v))
    return [rc, v.value if rc == 0 else None]


def get_string(lib, kind, snap, i, field):
    return text(getattr(lib, f"gpuctl_{kind}_string")(snap, i, field))


def dump(lib, snap):
    out = {"device_count": lib.gpuctl_device_count(snap),
           "process_count": lib.gpuctl_process_count(snap), "devices": [], "processes": []}
    tables = [("device", out["devices"], DEVICE_U64, DEVICE_DOUBLE, DEVICE_STRING),
              ("process", out["processes"], PROCESS_U64, PROCESS_DOUBLE, PROCESS_STRING)]
    for kind, items, u64, dbl, strs in tables:
        for i in range(out[f"{kind}_count"]):
            item = {}
            item.update({k: get_u64(lib, kind, snap, i, f) for k, f in u64.items()})
            item.update({k: get_double(lib, kind, snap, i, f) for k, f in dbl.items()})
            item.update({k: get_string(lib, kind, snap, i, f) for k, f in strs.items()})
            items.append(item)
    return out


def open_handle(lib):
    g = P()
    err = ctypes.create_string_buffer(512)
    rc = lib.gpuctl_open(ctypes.byref(g), err, len(err))
    return rc, g, err.value.decode()


def take(lib, g):
    s = P()
    err = ctypes.create_string_buffer(512)
    rc = lib.gpuctl_snapshot_take(g, ctypes.byref(s), err, len(err))
    if rc != 0:
        raise SystemExit(f"gpuctl_snapshot_take: {rc}: {err.value.decode()}")
    return s


def edges(lib, g):
    s = take(lib, g)
    n, m = lib.gpuctl_device_count(s), lib.gpuctl_process_count(s)
    v64, vd = ctypes.c_uint64(), ctypes.c_double()
    result = {
        "device_u64_index_out_of_range": lib.gpuctl_device_u64(s, n, 0, ctypes.byref(v64)),
        "device_double_index_out_of_range": lib.gpuctl_device_double(s, n, 100, ctypes.byref(vd)),
        "device_string_index_out_of_range": text(lib.gpuctl_device_string(s, n, 200)),
        "process_u64_index_out_of_range": lib.gpuctl_process_u64(s, m, 0, ctypes.byref(v64)),
        "process_double_index_out_of_range": lib.gpuctl_process_double(s, m, 100, ctypes.byref(vd)),
        "process_string_index_out_of_range": text(lib.gpuctl_process_string(s, m, 200)),
        "device_u64_wrong_type": lib.gpuctl_device_u64(s, 0, 200, ctypes.byref(v64)),
        "device_double_wrong_type": lib.gpuctl_device_double(s, 0, 0, ctypes.byref(vd)),
        "device_string_wrong_type": text(lib.gpuctl_device_string(s, 0, 100)),
        "process_u64_wrong_type": lib.gpuctl_process_u64(s, 0, 100, ctypes.byref(v64)),
        "process_double_wrong_type": lib.gpuctl_process_double(s, 0, 200, ctypes.byref(vd)),
        "device_u64_unknown_field": lib.gpuctl_device_u64(s, 0, 99, ctypes.byref(v64)),
        "device_u64_null_out": lib.gpuctl_device_u64(s, 0, 0, None),
        "process_double_null_out": lib.gpuctl_process_double(s, 0, 100, None),
        "device_count_null": lib.gpuctl_device_count(None),
        "process_count_null": lib.gpuctl_process_count(None),
        "device_string_null_snapshot": text(lib.gpuctl_device_string(None, 0, 200)),
        "device_u64_null_snapshot": lib.gpuctl_device_u64(None, 0, 0, ctypes.byref(v64)),
        "snapshot_take_null_handle": lib.gpuctl_snapshot_take(None, ctypes.byref(P()), None, 0),
        "snapshot_take_null_out": lib.gpuctl_snapshot_take(g, None, None, 0),
        "open_null_out": lib.gpuctl_open(None, None, 0),
        "internal_symbols_visible": [name for name in ("snapshot_take", "config_load",
                                                       "nvml_processes", "procfs_open")
                                     if hasattr(lib, name)],
    }
    lib.gpuctl_snapshot_free(s)
    lib.gpuctl_snapshot_free(None)
    lib.gpuctl_close(None)
    return result


def main():
    lib = load(sys.argv[1])
    mode = sys.argv[2]
    report = {"version": text(lib.gpuctl_version())}
    rc, g, err = open_handle(lib)
    report.update(open_rc=rc, open_err=err, handle_null=not g.value)
    if rc == 0 and mode == "snapshot":
        s = take(lib, g)
        report["snapshot"] = dump(lib, s)
        lib.gpuctl_snapshot_free(s)
    elif rc == 0 and mode == "twice":
        first = take(lib, g)
        scenario = os.environ["FAKE_NVML_SCENARIO"]
        shutil.copyfile(sys.argv[3], scenario + ".new")
        os.replace(scenario + ".new", scenario)
        time.sleep(0.05)    # past FAKE_NVML_RECHECK_MS, so the fake looks again
        second = take(lib, g)
        report["first"], report["second"] = dump(lib, first), dump(lib, second)
        lib.gpuctl_snapshot_free(first)
        lib.gpuctl_snapshot_free(second)
    elif rc == 0 and mode == "edges":
        report["edges"] = edges(lib, g)
    if rc == 0:
        lib.gpuctl_close(g)
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
