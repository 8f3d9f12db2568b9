#!/usr/bin/env python3
"""Scrapes a Prometheus endpoint and parses it with prometheus_client's own parser (an independent reader of the
text format): prints {"samples": {"name{label=value,...}": value}, "families": {name: type}} as JSON, or exits 1
with the parser's error.

usage: check_metrics.py URL
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main():
    with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
        content_type = response.headers.get("Content-Type", "")
        text = response.read().decode("utf-8")
    samples, families = {}, {}
    try:
        for family in text_string_to_metric_families(text):
            families[family.name] = family.type
            for s in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                samples[f"{s.name}{{{labels}}}"] = s.value
    except Exception as error:  # noqa: BLE001 — any parse failure is the finding
        print(json.dumps({"error": str(error)}))
        sys.exit(1)
    print(json.dumps({"content_type": content_type, "families": families, "samples": samples}))


if __name__ == "__main__":
    main()
