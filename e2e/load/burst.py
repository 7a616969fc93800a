"""COUNT GET requests to URL, each on a new connection, then per-pod request counts (stdlib only).

    python burst.py URL COUNT [--metrics http://POD_IP:8000/metrics ...] [--match TEXT]

Prints one JSON line: {"statuses": {code: n}, "sequence": [...], "pods": {metrics URL: {status: n}}},
where a pod's counts sum its `http_requests_total` lines whose labels contain TEXT.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from collections import Counter

SAMPLE = re.compile(r"^http_requests_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
STATUS = re.compile(r'status="(?P<status>\d+)"')


def get(url: str) -> int:
    request = urllib.request.Request(url, headers={"Connection": "close"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.read()
        return int(error.code)


def served(metrics_url: str, match: str) -> dict[str, float]:
    with urllib.request.urlopen(metrics_url, timeout=30) as response:  # noqa: S310
        text = response.read().decode()
    counts: dict[str, float] = {}
    for line in text.splitlines():
        sample = SAMPLE.match(line)
        if sample and match in sample["labels"]:
            status = STATUS.search(sample["labels"])
            key = status["status"] if status else "?"
            counts[key] = counts.get(key, 0.0) + float(sample["value"])
    return counts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("count", type=int)
    parser.add_argument("--metrics", action="append", default=[])
    parser.add_argument("--match", default="")
    args = parser.parse_args()
    sequence = [get(args.url) for _ in range(args.count)]
    pods = {url: served(url, args.match) for url in args.metrics}
    statuses = Counter(str(code) for code in sequence)
    print(json.dumps({"statuses": statuses, "sequence": sequence, "pods": pods}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
