#!/bin/sh
# Runs every suite against the normal build, then again against the
# ASan + UBSan build, and ends with one line: "N passed, N failed[, N skipped]".
# Usage: scripts/run-tests.sh BUILD_DIR ASAN_BUILD_DIR
set -u
build=${1:-build}
asan=${2:-build-asan}
top=$(cd "$(dirname "$0")/.." && pwd)
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT INT TERM

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=99"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=99"

run_suites() {   # $1 = label, $2 = build dir
    label=$1 dir=$2
    echo "== $label: unit and fuzz-seed tests ($dir)"
    meson test -C "$dir" --no-rebuild --print-errorlogs --suite unit --suite fuzz \
        >"$results/$label-meson.out" 2>&1
    tail -n 12 "$results/$label-meson.out"
    cp "$dir/meson-logs/testlog.json" "$results/$label-testlog.json" 2>/dev/null
    echo "== $label: integration tests"
    # The fake NVML of the normal build serves both passes: ctypes cannot load
    # an ASan-instrumented library into an uninstrumented Python.
    GPUCTL_BIN="$top/$dir/gpuctl" \
    FAKE_NVML_DIR="$top/$build/tests/fake-nvml" \
    FAKE_NVML_LIB="$top/$build/tests/fake-nvml/libnvidia-ml.so.1" \
        /usr/bin/python3 -m pytest -q -p no:cacheprovider \
        --junitxml="$results/$label-pytest.xml" "$top/tests/integration" "$top/tests/hw" \
        2>&1 | tail -n 25
}

run_suites normal "$build"

# The dashboard in Debian's Chromium (tests/browser), once, on the normal
# build: the browser, not the sanitizers, is what these tests exercise.
echo "== normal: browser tests of the dashboard"
GPUCTL_BIN="$top/$build/gpuctl" \
FAKE_NVML_DIR="$top/$build/tests/fake-nvml" \
FAKE_NVML_LIB="$top/$build/tests/fake-nvml/libnvidia-ml.so.1" \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    --junitxml="$results/browser-pytest.xml" "$top/tests/browser" 2>&1 | tail -n 15

run_suites asan "$asan"

# The recorder's lock-free ring and dictionaries under ThreadSanitizer: a
# build of their own unit test only (three source files), so it stays fast.
tsan=${TSAN_BUILD:-build-tsan}
echo "== tsan: the trace ring under concurrent producers ($tsan)"
if { [ -f "$tsan/build.ninja" ] || meson setup "$tsan" -Db_sanitize=thread -Db_lundef=false \
        -Dbuildtype=debugoptimized >"$results/tsan-setup.out" 2>&1; } &&
   ninja -C "$tsan" tests/unit/test_trace_ring >"$results/tsan-build.out" 2>&1; then
    TSAN_OPTIONS="halt_on_error=1:exitcode=66" \
        meson test -C "$tsan" --no-rebuild --print-errorlogs trace_ring \
        >"$results/tsan-meson.out" 2>&1
    tail -n 6 "$results/tsan-meson.out"
    cp "$tsan/meson-logs/testlog.json" "$results/tsan-testlog.json" 2>/dev/null
else
    tail -n 20 "$results/tsan-setup.out" "$results/tsan-build.out" 2>/dev/null
fi
/usr/bin/python3 "$top/scripts/summarize-tests.py" "$results"
