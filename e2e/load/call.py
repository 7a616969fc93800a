"""One HTTP request from inside the cluster, answered as one JSON line (stdlib only).

    python call.py METHOD URL [--body RAW] [--content-type T] [--header K=V ...]

Prints {"status", "headers", "body"} where body is parsed JSON when it parses, else text.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("method")
    parser.add_argument("url")
    parser.add_argument("--body", help="raw request body")
    parser.add_argument("--content-type", default="application/json")
    parser.add_argument("--header", action="append", default=[], help="NAME=VALUE")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    headers = dict(h.split("=", 1) for h in args.header)
    data = None
    if args.body is not None:
        data = args.body.encode()
        headers.setdefault("Content-Type", args.content_type)
    request = urllib.request.Request(args.url, data=data, headers=headers, method=args.method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:  # noqa: S310
            status, raw, answer_headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, raw, answer_headers = error.code, error.read(), dict(error.headers)
    body: Any
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    print(json.dumps({"status": status, "headers": answer_headers, "body": body}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
