#!/usr/bin/python3
"""Adds up the results of every suite run by scripts/run-tests.sh.

cmocka executables count one result per test case (from their summary
lines); fuzz-seed runs count one each; pytest counts from its JUnit XML.
Prints "N passed, N failed[, N skipped]" and exits 1 on any failure or when
a suite produced no result at all.
"""
import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

CMOCKA_PASSED = re.compile(r"\[  PASSED  \] (\d+) test")
CMOCKA_FAILED = re.compile(r"\[  FAILED  \] (\d+) test")
CMOCKA_SKIPPED = re.compile(r"\[  SKIPPED \] (\d+) test")


def meson_counts(path):
    passed = failed = skipped = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            t = json.loads(line)
            out = (t.get("stdout") or "") + (t.get("stderr") or "")
            p = sum(int(n) for n in CMOCKA_PASSED.findall(out))
            fl = sum(int(n) for n in CMOCKA_FAILED.findall(out))
            s = sum(int(n) for n in CMOCKA_SKIPPED.findall(out))
            ok = t.get("result") == "OK"
            if t.get("result") == "SKIP":
                skipped += 1
            elif p + fl + s == 0:
                passed, failed = passed + ok, failed + (not ok)
            else:
                # A crash after some cases passed still counts as a failure.
                passed, skipped = passed + p, skipped + s
                failed += fl if (fl or ok) else 1
    return passed, failed, skipped


def junit_counts(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = failures = skipped = 0
    for s in suites:
        total += int(s.get("tests", 0))
        failures += int(s.get("failures", 0)) + int(s.get("errors", 0))
        skipped += int(s.get("skipped", 0))
    return total - failures - skipped, failures, skipped


def main(results):
    passed = failed = skipped = 0
    missing = []
    for label in ("normal", "asan"):
        for name, fn in ((f"{label}-testlog.json", meson_counts), (f"{label}-pytest.xml", junit_counts)):
            path = os.path.join(results, name)
            if not os.path.exists(path):
                missing.append(name)
                continue
            p, f, s = fn(path)
            passed, failed, skipped = passed + p, failed + f, skipped + s
    # The dashboard's browser tests (normal build only).
    path = os.path.join(results, "browser-pytest.xml")
    if os.path.exists(path):
        p, f, s = junit_counts(path)
        passed, failed, skipped = passed + p, failed + f, skipped + s
    else:
        missing.append("browser-pytest.xml")
    # The ThreadSanitizer run of the trace ring (scripts/run-tests.sh).
    path = os.path.join(results, "tsan-testlog.json")
    if os.path.exists(path):
        p, f, s = meson_counts(path)
        passed, failed, skipped = passed + p, failed + f, skipped + s
    else:
        missing.append("tsan-testlog.json")
    for name in missing:
        print(f"suite produced no results: {name}")
        failed += 1
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
