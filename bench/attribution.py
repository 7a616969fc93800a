"""Where moorage's instructions per item read go, by component: each app driven in one process.

`bench.instructions` counts whole servers; this counts the ASGI apps alone (no uvicorn, no
socket), each variant in the same process under callgrind, with one component switched off at a
time, so that (c) - (b) splits into named parts. Segments are marked by callgrind client requests
(`bench/callgrind_marks.c`, built here with gcc against Debian's valgrind headers).

    uv run --frozen python -m bench.attribution [--requests 200]

Under valgrind it re-executes itself; figures are instructions per request.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvloop

from bench.service_bench import ROOT, SECRET_KEY, seeded_database

WARM_REQUESTS = 50
Headers = list[tuple[bytes, bytes]]


async def drive(app: Any, path: str, headers: Headers, requests: int) -> None:
    """Sequential requests straight into the ASGI app, with the scope uvicorn would build."""
    request = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return request

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"{path} answered {message['status']}")

    for _ in range(requests):
        scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
            "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 51000), "scheme": "http",
            "method": "GET", "root_path": "", "path": path, "raw_path": path.encode(),
            "query_string": b"", "headers": list(headers), "state": {},
        }  # fmt: skip
        await app(scope, receive, send)


async def measured(marks: ctypes.CDLL, requests: int) -> None:
    async with seeded_database() as seeded:
        os.environ["DATABASE_URL"] = seeded.url
        from moorage.app import create_app
        from moorage.config import Settings

        import bench.bare_app as bare

        def moorage_app(**overrides: Any) -> Callable[[], Any]:
            values = {
                "database_url": seeded.url,
                "secret_key": SECRET_KEY,
                "environment": "production",
                "rate_limit_requests": 1_000_000_000,
            }
            return lambda: create_app(Settings(_env_file=None, **values, **overrides))  # type: ignore[arg-type]

        def without_middleware(build: Callable[[], Any]) -> Callable[[], Any]:
            def stripped() -> Any:
                app = build()
                app.user_middleware.clear()  # the stack is built on the first request
                return app

            return stripped

        variants: dict[str, Callable[[], Any]] = {
            "b": lambda: bare.single_read_app,
            "c": moorage_app(),
            "c without access log": moorage_app(log_level="WARNING"),
            "c without metrics": moorage_app(metrics_enabled=False),
            "c without rate limit": moorage_app(rate_limit_enabled=False),
            "c without all three": moorage_app(
                log_level="WARNING", metrics_enabled=False, rate_limit_enabled=False
            ),
            "c without any middleware": without_middleware(
                moorage_app(log_level="WARNING", metrics_enabled=False, rate_limit_enabled=False)
            ),
        }
        headers: Headers = [
            (b"host", b"127.0.0.1:8000"),
            (b"accept", b"*/*"),
            (b"user-agent", b"python-httpx"),
            (b"authorization", f"Bearer {seeded.token}".encode()),
        ]
        with_gzip: Headers = [*headers, (b"accept-encoding", b"gzip, deflate")]
        path = f"/api/v1/items/{seeded.item_id}"
        log = open(os.devnull, "w")  # noqa: SIM115, ASYNC230 - lives as long as the run
        stdout = sys.stdout
        for name, build in variants.items():
            app = build()
            for label, sent in (("", headers), (" + Accept-Encoding: gzip", with_gzip)):
                sys.stdout = log  # access lines go to a file, as under a container runtime
                try:
                    await drive(app, path, sent, WARM_REQUESTS)
                    marks.marks_start()
                    marks.marks_zero()
                    await drive(app, path, sent, requests)
                    marks.marks_dump(f"{name}{label}".encode())
                    marks.marks_stop()
                finally:
                    sys.stdout = stdout


def report(out: Path, requests: int) -> None:
    counts: dict[str, float] = {}
    for dump in sorted(out.parent.glob(out.name + ".*"), key=lambda p: int(p.suffix[1:])):
        text = dump.read_text(errors="replace")
        trigger = re.search(r"^desc: Trigger: Client Request: (.*)$", text, re.MULTILINE)
        total = re.search(r"^(?:totals|summary): (\d+)", text, re.MULTILINE)
        if trigger and total:
            counts[trigger.group(1)] = int(total.group(1)) / requests
    full = counts["c"]
    print(f"{'variant':<52}{'instr/request':>14}{'vs c':>10}")
    for name, count in counts.items():
        print(f"{name:<52}{count:>14,.0f}{count - full:>+10,.0f}")
    print()
    print(f"(c) - (b), app only:                 {full - counts['b']:>+10,.0f}")
    for part in ("access log", "metrics", "rate limit"):
        print(f"  {part + ':':<35}{full - counts[f'c without {part}']:>+10,.0f}")
    parts = sum(full - counts[f"c without {part}"] for part in ("access log", "metrics", "rate limit"))
    together = full - counts["c without all three"]
    print(f"  {'the three together, beyond their sum:':<35}{together - parts:>+10,.0f}")
    layers = counts["c without all three"] - counts["c without any middleware"]
    print(f"  {'request id + compression layers:':<35}{layers:>+10,.0f}")
    route = counts["c without any middleware"] - counts["b"]
    print(f"  {'the route (auth dependency, read):':<35}{route:>+10,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--under-valgrind", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.under_valgrind:
        marks = ctypes.CDLL(args.under_valgrind)
        uvloop.run(measured(marks, args.requests))  # the servers' loop (`--loop uvloop`)
        return
    work = Path(tempfile.mkdtemp(prefix="moorage-attribution-"))
    library = work / "callgrind_marks.so"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O1", "-o", str(library), str(ROOT / "bench" / "callgrind_marks.c")],
        check=True,
    )
    out = work / "callgrind.out"
    valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    itself = ["-m", "bench.attribution", "--requests", str(args.requests), "--under-valgrind", str(library)]
    subprocess.run([*valgrind, sys.executable, *itself], check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
    report(out, args.requests)


if __name__ == "__main__":
    main()
