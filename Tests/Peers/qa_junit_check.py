#!/usr/bin/env python3
"""Parses a JUnit XML report with xml.etree (independently of the Swift writer) and prints what it holds as JSON."""
import json
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
cases = []
for suite in suites:
    for case in suite.findall("testcase"):
        failure = case.find("failure")
        error = case.find("error")
        cases.append({
            "name": case.get("name"),
            "time": float(case.get("time", "0")),
            "failure": None if failure is None else {"message": failure.get("message"), "text": failure.text or ""},
            "error": None if error is None else {"message": error.get("message"), "text": error.text or ""},
            "skipped": case.find("skipped") is not None,
        })
print(json.dumps({
    "root": root.tag,
    "tests": sum(int(s.get("tests", "0")) for s in suites),
    "failures": sum(int(s.get("failures", "0")) for s in suites),
    "errors": sum(int(s.get("errors", "0")) for s in suites),
    "cases": cases,
}))
