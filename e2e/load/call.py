"""One HTTP request from inside the cluster, answered as one JSON line (stdlib only).

    python call.py METHOD URL [--body RAW] [--content-type T] [--header K=V ...] [--repeat N]

Prints {"status", "headers", "body"} where body is parsed JSON when it parses, else text; with
--repeat N the request is sent N times in a row and the line is {"statuses": {status: count}}.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections import Counter
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("method")
    parser.add_argument("url")
    parser.add_argument("--body", help="raw request body")
    parser.add_argument("--content-type", default="application/json")
    parser.add_argument("--header", action="append", default=[], help="NAME=VALUE")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--repeat", type=int, default=0, help="send N times, print the status counts")
    args = parser.parse_args()
    headers = dict(h.split("=", 1) for h in args.header)
    data = None
    if args.body is not None:
        data = args.body.encode()
        headers.setdefault("Content-Type", args.content_type)
    if args.repeat:
        statuses = Counter(send(args, data, headers)[0] for _ in range(args.repeat))
        print(json.dumps({"statuses": {str(k): v for k, v in sorted(statuses.items())}}))
        return 0
    status, raw, answer_headers = send(args, data, headers)
    body: Any
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    print(json.dumps({"status": status, "headers": answer_headers, "body": body}))
    return 0


def send(
    args: argparse.Namespace, data: bytes | None, headers: dict[str, str]
) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(args.url, data=data, headers=headers, method=args.method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:  # noqa: S310
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


if __name__ == "__main__":
    sys.exit(main())
