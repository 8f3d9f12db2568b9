#!/usr/bin/env python3
"""Splits the test suites into unit tests and integration tests, from the test sources themselves.

A suite is an integration test when its file starts a real peer or process (pynetdicom or pydicom through
`PythonPeer`, `spineplan serve` through `LiveProcess`, `openssl`, DCMTK's tools, dciodvfy) or reads local data
(`../shared/data`); everything else is a unit test. Prints a regular expression over `Target.Suite` for
`swift test --filter` / `--skip`; `scripts/test.sh --unit` skips the integration regex (so free test functions count
as unit tests) and `--integration` filters on it.

    scripts/test-kinds.py integration    # the integration suites' regex
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests")
PEER = re.compile(r"PythonPeer|LiveProcess|Subprocess\.run|storescu|storescp|dciodvfy|RealVolumes|SpiderSlices|ModelFiles\.python")
SUITE = re.compile(r"\b(?:final class|struct|enum|extension) ([A-Z][A-Za-z0-9]*Tests)\b")


def suites():
    kinds = {}
    for target in sorted(os.listdir(ROOT)):
        folder = os.path.join(ROOT, target)
        if not os.path.isdir(folder) or not target.endswith("Tests"):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".swift"):
                continue
            text = open(os.path.join(folder, name), encoding="utf-8").read()
            kind = "integration" if PEER.search(text) else "unit"
            for suite in SUITE.findall(text):
                key = f"{target}.{suite}"
                # A suite extended in a file with peers is an integration suite as a whole.
                if kinds.get(key) != "integration":
                    kinds[key] = kind
    return kinds


def main():
    want = sys.argv[1] if len(sys.argv) > 1 else "integration"
    if want not in ("unit", "integration"):
        sys.exit("usage: test-kinds.py unit|integration")
    chosen = sorted(k for k, v in suites().items() if v == want)
    print("^(" + "|".join(re.escape(k) for k in chosen) + ")(/|$)")


if __name__ == "__main__":
    main()
