#!/usr/bin/env python3
"""Runs one libFuzzer harness for FUZZ_SECONDS (default 60) from its seed corpus, keeping what it
learns in a work corpus; prints the executions and exits non-zero when the harness found a crash
(the input is written beside the work corpus and named in the output)."""
import os
import re
import subprocess
import sys

harness, seeds, work = sys.argv[1:4]
seconds = int(os.environ.get("FUZZ_SECONDS", "60"))
os.makedirs(work, exist_ok=True)
artifacts = os.path.join(os.path.dirname(work), "crashes") + os.sep
os.makedirs(artifacts, exist_ok=True)
run = subprocess.run(
    [harness, f"-max_total_time={seconds}", "-print_final_stats=1", "-timeout=10", "-rss_limit_mb=2048",
     f"-artifact_prefix={artifacts}", work, seeds],
    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
log = run.stdout
executed = re.search(r"stat::number_of_executed_units:\s*(\d+)", log)
name = os.path.basename(harness)
print(f"{name}: {executed.group(1) if executed else '?'} executions in {seconds} s, exit {run.returncode}")
if run.returncode != 0:
    print(log[-6000:])
sys.exit(run.returncode)
