#!/usr/bin/env python3
"""Runs a command and checks that what it prints is a Prometheus text exposition that Prometheus's
own Python parser reads, with consistent histograms and the metric families expected.

    check_exposition.py [--expect FAMILY]... -- COMMAND [ARG]...

Exits 0 when every check passes, else prints what failed and exits 1."""
import argparse
import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    run = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        print(f"{command[0]} exited with {run.returncode}:\n{run.stderr}")
        return 1
    text = run.stdout
    families = {f.name: f for f in text_string_to_metric_families(text)}
    problems = []
    for name in args.expect:
        if name not in families:
            problems.append(f"no family {name}")
    for f in families.values():
        if f.type != "histogram":
            continue
        # Per series: buckets cumulative and ascending in le, +Inf equal to _count.
        series = {}
        for s in f.samples:
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            series.setdefault(labels, {"buckets": [], "count": None})
            if s.name.endswith("_bucket"):
                series[labels]["buckets"].append((float(s.labels["le"]), s.value))
            elif s.name.endswith("_count"):
                series[labels]["count"] = s.value
        for labels, v in series.items():
            b = v["buckets"]
            if [le for le, _ in b] != sorted(le for le, _ in b) or b[-1][0] != float("inf"):
                problems.append(f"{f.name}{labels}: buckets out of order or no +Inf")
            if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
                problems.append(f"{f.name}{labels}: buckets not cumulative")
            if b[-1][1] != v["count"]:
                problems.append(f"{f.name}{labels}: +Inf {b[-1][1]} != count {v['count']}")
    if problems:
        print("\n".join(problems))
        print("--- exposition ---\n" + text)
        return 1
    print(f"{len(families)} families parsed, {sum(len(f.samples) for f in families.values())} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
