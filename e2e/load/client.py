"""Steady-rate load against the moorage API, run inside the cluster (stdlib only).

    python client.py --base http://moorage.ns.svc --rate 20 --stop-file /tmp/stop

Resolves the base URL's host once, registers a user, takes a token, then sends requests at a fixed
rate (each on a new connection, so the Service spreads them over the pods) until the stop file
appears or --max-seconds pass. A request fails on a transport error, a timeout or any status other
than the expected one. Each request carries its own X-Request-ID, which the service logs, so a failed
one can be looked up in the servers' logs even when no answer came back. Prints one JSON line per
--report-every seconds and a final summary line starting with "SUMMARY ".
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# name -> (method, path, expected status, authenticated); "items-create" writes a row each time.
REQUESTS: dict[str, tuple[str, str, int, bool]] = {
    "live": ("GET", "/api/v1/health/live", 200, False),
    "ready": ("GET", "/api/v1/health/ready", 200, False),
    "me": ("GET", "/api/v1/users/me", 200, True),
    "items-list": ("GET", "/api/v1/items?limit=5", 200, True),
    "items-create": ("POST", "/api/v1/items", 201, True),
}


# Extra headers on every request (--header), e.g. the Host an Ingress rule matches.
EXTRA_HEADERS: dict[str, str] = {}


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    timeout: float = 10,
    request_id: str = "",
) -> tuple[int, bytes]:
    headers = {"Accept": "application/json", "Connection": "close", **EXTRA_HEADERS}
    if request_id:
        headers["X-Request-ID"] = request_id
    data = None
    if isinstance(body, dict) and body.get("__form__"):
        data = urllib.parse.urlencode(body["fields"]).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def pinned(base: str, deadline: float) -> str:
    """The base URL with its host resolved once, the name kept in the Host header.

    Every request opens a new connection; looking the Service name up for each would measure the
    cluster's DNS instead of the service (on the hermetic CNI about one DNS packet in 3,000 waits for
    the resolver's 5 s retry). A Service's address does not change while it exists.
    """
    parts = urllib.parse.urlsplit(base)
    host, port = parts.hostname or "", parts.port or 80
    while True:
        try:
            address = str(socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
            break
        except socket.gaierror:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    EXTRA_HEADERS.setdefault("Host", parts.netloc)
    return urllib.parse.urlunsplit((parts.scheme, f"{address}:{port}", parts.path, "", ""))


def login(base: str, deadline: float) -> str:
    """Register a fresh user and return an access token, retrying until the API answers."""
    email = f"load-{uuid.uuid4().hex[:10]}@moorage.dev"
    password = "load-client-password"
    registered = False
    while True:
        try:
            if not registered:
                status, _ = call(
                    base, "POST", "/api/v1/auth/register", {"email": email, "password": password}
                )
                registered = status in (201, 409)
            if registered:
                form = {"__form__": True, "fields": {"username": email, "password": password}}
                status, body = call(base, "POST", "/api/v1/auth/token", form)
                if status == 200:
                    token: str = json.loads(body)["access_token"]
                    return token
        except OSError as error:
            print(json.dumps({"setup_retry": str(error)}), flush=True)
        if time.monotonic() > deadline:
            raise SystemExit("load client: the API never answered during setup")
        time.sleep(1)


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.failures = 0
        self.statuses: Counter[str] = Counter()
        self.failure_samples: list[dict[str, Any]] = []
        self.latency_max_ms = 0.0
        self.in_flight = 0
        self.skipped = 0

    def record(
        self, name: str, outcome: str, ok: bool, started: float, detail: str = "", request_id: str = ""
    ) -> None:
        elapsed_ms = (time.monotonic() - started) * 1000
        with self.lock:
            self.requests += 1
            self.statuses[outcome] += 1
            self.latency_max_ms = max(self.latency_max_ms, elapsed_ms)
            if not ok:
                self.failures += 1
                if len(self.failure_samples) < 20:
                    sample = {
                        "at": time.time(),
                        "request": name,
                        "request_id": request_id,
                        "outcome": outcome,
                        "elapsed_ms": round(elapsed_ms),
                        "detail": detail[:200],
                    }
                    self.failure_samples.append(sample)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.requests,
                "failures": self.failures,
                "statuses": dict(self.statuses),
                "skipped": self.skipped,
                "latency_max_ms": round(self.latency_max_ms, 1),
                "failure_samples": list(self.failure_samples),
            }


def one_request(base: str, name: str, token: str, stats: Stats, timeout: float) -> None:
    method, path, expected, authenticated = REQUESTS[name]
    body = {"title": f"load {uuid.uuid4().hex[:8]}"} if method == "POST" else None
    request_id = uuid.uuid4().hex
    started = time.monotonic()
    try:
        status, payload = call(
            base, method, path, body, token if authenticated else None, timeout, request_id
        )
        ok = status == expected
        detail = "" if ok else payload.decode(errors="replace")
        stats.record(name, str(status), ok, started, detail, request_id)
    except urllib.error.URLError as error:  # before the request was sent: no connection
        stats.record(name, f"connect:{type(error.reason).__name__}", False, started, str(error), request_id)
    except (OSError, ValueError) as error:  # sent, then reset, closed or no answer in time
        stats.record(name, f"response:{type(error).__name__}", False, started, str(error), request_id)
    finally:
        with stats.lock:
            stats.in_flight -= 1


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    base = pinned(args.base, started + args.setup_seconds)
    token = login(base, started + args.setup_seconds)
    started_event = {"event": "started", "rate": args.rate, "mix": args.mix, "token": token, "base": base}
    print(json.dumps(started_event), flush=True)
    stats = Stats()
    mix = args.mix.split(",")
    interval = 1.0 / args.rate
    pool = ThreadPoolExecutor(max_workers=args.concurrency)
    load_started = time.monotonic()
    next_at = load_started
    next_report = load_started + args.report_every
    sent = 0
    while not os.path.exists(args.stop_file) and time.monotonic() - load_started < args.max_seconds:
        now = time.monotonic()
        if now < next_at:
            time.sleep(min(next_at - now, 0.05))
            continue
        next_at += interval
        with stats.lock:
            overloaded = stats.in_flight >= args.concurrency
            if overloaded:
                stats.skipped += 1
            else:
                stats.in_flight += 1
        if not overloaded:
            pool.submit(one_request, base, mix[sent % len(mix)], token, stats, args.timeout)
            sent += 1
        if now >= next_report:
            next_report += args.report_every
            snap = stats.snapshot()
            print(
                json.dumps(
                    {
                        "t": round(now - load_started, 1),
                        "requests": snap["requests"],
                        "failures": snap["failures"],
                    }
                ),
                flush=True,
            )
    pool.shutdown(wait=True)
    summary = stats.snapshot()
    summary["seconds"] = round(time.monotonic() - load_started, 1)
    summary["rate"] = args.rate
    summary["mix"] = mix
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the Service's base URL")
    parser.add_argument("--rate", type=float, default=20, help="requests per second")
    # "ready" is left out by default: it answers 503 by design whenever the database is slow to answer
    # SELECT 1 (it is the kubelet's signal), which is not a failed user request.
    parser.add_argument("--mix", default="live,me,items-list", help=f"from {','.join(REQUESTS)}")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--stop-file", default="/tmp/stop")  # noqa: S108 - the pod's own emptyDir
    parser.add_argument("--max-seconds", type=float, default=900)
    parser.add_argument("--setup-seconds", type=float, default=180)
    parser.add_argument("--report-every", type=float, default=5)
    parser.add_argument("--header", action="append", default=[], help="NAME=VALUE on every request")
    args = parser.parse_args()
    EXTRA_HEADERS.update(h.split("=", 1) for h in args.header)
    unknown = set(args.mix.split(",")) - set(REQUESTS)
    if unknown:
        parser.error(f"unknown request kinds: {sorted(unknown)}")
    summary = run(args)
    print("SUMMARY " + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
