#!/usr/bin/env python3
"""Sums doctest's per-program test-case counts from meson's testlog.json and prints the closing line.

A test program that is not a doctest program (an example run as a test) counts as one case,
passed or failed by its exit status. A doctest program that crashed before its summary counts
its missing summary as one failed case, so a run that tested nothing is never reported as green.
"""
import json
import re
import sys

SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")

passed = failed = 0
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        entry = json.loads(line)
        ok = entry.get("result") in ("OK", "EXPECTEDFAIL")
        match = None
        for match in SUMMARY.finditer(entry.get("stdout") or ""):
            pass
        if match:
            passed += int(match.group(2))
            failed += int(match.group(3))
            if not ok and int(match.group(3)) == 0:
                failed += 1  # the program failed after its summary (sanitizer, leak, exit code)
        elif ok:
            passed += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed")
