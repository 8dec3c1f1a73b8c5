#!/usr/bin/env python3
"""Compiles a file that must not compile and checks that the compiler's message contains a text.

Usage: expect_compile_error.py TEXT COMPILER... -- ARGS...
Exits 0 when compilation fails and its output contains TEXT; prints the output and exits 1 otherwise.
"""
import subprocess
import sys

text = sys.argv[1]
split = sys.argv.index("--")
command = sys.argv[2:split] + sys.argv[split + 1:]
run = subprocess.run(command, capture_output=True, text=True, timeout=300)
if run.returncode != 0 and text in run.stdout + run.stderr:
    print(f"fails as it should, saying: {text}")
    sys.exit(0)
print(run.stdout + run.stderr)
print(f"expected a compile error containing: {text}" if run.returncode == 0 else f"the error does not say: {text}")
sys.exit(1)
