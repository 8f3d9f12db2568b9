#!/usr/bin/env python3
"""Reads `swift test` output (Swift Testing) on stdin and prints how many tests ran, passed, failed and were
skipped, with every skip's reason. In CI (`CI` set) a skip fails the run, unless it is for local data that a
machine may not have (`../shared/data`) or for an instruction set its CPU lacks (reasons that begin "this CPU");
a missing peer never skips in CI (`Peers.required`), it fails.

    swift test ... | tee log; scripts/test-summary.py < log
"""
import os
import re
import sys

# Evaluations that regenerate Docs/ figures from local data; opted into by their environment variables, so they are
# not part of the test run (scripts/test.sh leaves them out) and are not counted here.
# CI machines differ in CPU (AVX-512, BF16, AMX): a test of a kernel the CPU cannot run is skipped, not failed.
DATA_REASON = re.compile(r"shared/data|^this CPU")

text = sys.stdin.read()
test_skips = re.findall(r'^\S+ Test "(.*?)" skipped(?:: "(.*)")?$', text, re.M)
suite_skips = re.findall(r'^\S+ Suite (\S+) skipped(?:: "(.*)")?$', text, re.M)
run = re.search(r"Test run with (\d+) tests? in (\d+) suites? (passed|failed)", text)
failed = re.findall(r'^\S+ Test "(.*?)" failed', text, re.M)
skips = [("test", n, r) for n, r in test_skips] + [("suite", n, r) for n, r in suite_skips]
if run:
    print(f"test-summary: {run.group(1)} tests in {run.group(2)} suites {run.group(3)}; "
          f"{len(failed)} failed; {len(skips)} skipped")
else:
    print("test-summary: no Swift Testing run summary found")
for kind, name, reason in skips:
    print(f"test-summary: skipped {kind} {name!r}: {reason or 'no reason given'}")
ci = os.environ.get("CI", "").lower() not in ("", "0", "false")
blocking = [s for s in skips if not DATA_REASON.search(s[2] or "")]
if ci and blocking:
    print(f"test-summary: {len(blocking)} skip(s) in CI, where every peer must be present: failing the run")
    sys.exit(1)
sys.exit(0 if run else 1)
