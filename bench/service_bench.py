"""Service benchmark: bare FastAPI vs moorage (production defaults) vs moorage with full tracing.

Each variant runs as its own uvicorn process with one worker; wrk loads it from another
process. Figures are printed with the ratio to the bare baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
from moorage import migrate

from tests.otlp_receiver import OtlpReceiver
from tests.postgres import PostgresServer, free_port
from tests.server_process import ServerProcess

ROOT = Path(__file__).resolve().parents[1]
SECRET_KEY = "benchmark-signing-key-0123456789abcdef0123"  # noqa: S105 - a throwaway key


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass
class Variant:
    name: str
    cold_start_s: float = 0.0
    rss_mb: float = 0.0
    live: Load | None = None
    item: Load | None = None


def _to_ms(value: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)$", value)
    if match is None:  # wrk prints e.g. "-nan" when it collected no latency
        return float("nan")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(url: str, seconds: int, connections: int, headers: dict[str, str]) -> Load:
    header_args = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    # A short warm-up first so JIT-like caches, pools and LRUs are filled.
    subprocess.run(
        ["wrk", "-t1", f"-c{connections}", "-d2s", *header_args, url], capture_output=True, check=True
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *header_args, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # Anchored: the "Latency" line's "+/- Stdev" column also ends in "%".
    p50 = _to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Load(rps, p50, p99, errors)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bare_uvicorn(port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port), "--host", "127.0.0.1",
        "--workers", "1", "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


async def seed(database_url: str) -> tuple[str, str]:
    """Registers a user through the real app and creates one item; returns (token, item id)."""
    server = ServerProcess(
        env={"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "LOG_LEVEL": "WARNING"}
    )
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            await client.post(
                "/api/v1/auth/register", json={"email": "bench@example.com", "password": "bench-pass-1"}
            )
            login = await client.post(
                "/api/v1/auth/token", data={"username": "bench@example.com", "password": "bench-pass-1"}
            )
            token = login.json()["access_token"]
            item = await client.post(
                "/api/v1/items",
                json={"title": "benchmark item", "description": "x" * 200},
                headers={"Authorization": f"Bearer {token}"},
            )
            return token, item.json()["id"]
    finally:
        server.kill()


def measure(
    variant: Variant, server: ServerProcess, item_id: str, token: str, seconds: int, connections: int
) -> None:
    variant.cold_start_s = server.start()
    try:
        variant.live = run_wrk(f"{server.base_url}/api/v1/health/live", seconds, connections, {})
        variant.item = run_wrk(
            f"{server.base_url}/api/v1/items/{item_id}",
            seconds,
            connections,
            {"Authorization": f"Bearer {token}"},
        )
        assert server.process is not None
        variant.rss_mb = rss_mb(server.process.pid)
    finally:
        server.kill()


def report(variants: list[Variant]) -> None:
    base = variants[0]
    assert base.live and base.item
    print()
    print(f"{'variant':<28}{'endpoint':<10}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'x bare':>8}")
    for variant in variants:
        for endpoint, load, base_load in (
            ("live", variant.live, base.live),
            ("item", variant.item, base.item),
        ):
            assert load
            ratio = load.requests_per_second / base_load.requests_per_second
            print(
                f"{variant.name:<28}{endpoint:<10}{load.requests_per_second:>10.0f}{load.p50_ms:>9.2f}"
                f"{load.p99_ms:>9.2f}{load.errors:>8}{ratio:>8.2f}"
            )
    print()
    print(f"{'variant':<28}{'cold start s':>13}{'RSS MB':>9}")
    for variant in variants:
        print(f"{variant.name:<28}{variant.cold_start_s:>13.2f}{variant.rss_mb:>9.1f}")
    targets = [
        ("(b) live ≥ 0.65x bare", variants[1].live, base.live, 0.65),
        ("(b) item ≥ 0.90x bare", variants[1].item, base.item, 0.90),
        ("(c) live ≥ 0.45x bare", variants[2].live, base.live, 0.45),
    ]
    print()
    for label, load, base_load, target in targets:
        assert load
        ratio = load.requests_per_second / base_load.requests_per_second
        print(f"target {label}: {ratio:.2f} {'met' if ratio >= target else 'MISSED'}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="load duration per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk (scripts/install-deps.sh does)")

    postgres = PostgresServer()
    postgres.init()
    postgres.start()
    try:
        url = await postgres.create_database("bench")
        await asyncio.to_thread(migrate.upgrade, url.replace("postgresql://", "postgresql+asyncpg://"))
        token, item_id = await seed(url)
        common = {
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET_KEY,
            "ENVIRONMENT": "production",
            # The limiter stays on (its cost is measured) but must not reject the load.
            "RATE_LIMIT_REQUESTS": "1000000000",
        }
        variants = [
            Variant("(a) bare FastAPI"),
            Variant("(b) moorage production"),
            Variant("(c) moorage 100% traced"),
        ]
        bare = ServerProcess(env={"DATABASE_URL": url}, command=bare_uvicorn, cwd=str(ROOT))
        measure(variants[0], bare, item_id, token, args.seconds, args.connections)
        measure(variants[1], ServerProcess(env=common), item_id, token, args.seconds, args.connections)
        with OtlpReceiver() as receiver:
            traced = {
                **common,
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                "OTEL_TRACES_SAMPLER": "always_on",
            }
            measure(variants[2], ServerProcess(env=traced), item_id, token, args.seconds, args.connections)
            print(f"OTLP receiver got {len(receiver.spans)} spans in {receiver.requests} exports")
        report(variants)
    finally:
        postgres.destroy()


if __name__ == "__main__":
    _ = free_port
    asyncio.run(main())
