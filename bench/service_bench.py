"""Service benchmark: moorage against two bare FastAPI baselines measured in the same run.

Variants, each its own uvicorn process with one worker, loaded by wrk from another process:
  (a) bare FastAPI, ORM `session.get`, on moorage's own pool settings;
  (b) bare FastAPI doing the identical single read (same Core statement, same driver, no auth);
  (c) moorage with production defaults (auth, middleware, access log, metrics, rate limiter);
  (d) moorage with every request traced and exported over OTLP.
Besides req/s, latency and the server's CPU per request (the steadier figure on a shared
machine: ratios are also given from it) it prints PostgreSQL round trips per item read (counted by a wire
proxy in a separate short probe) and reconnects per 1000 requests (pg_stat_database.sessions
during the timed load). Ratios only: the machine's speed cancels out; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from moorage import migrate

from bench.wire_counter import WireCounter
from tests.otlp_receiver import OtlpReceiver
from tests.postgres import PostgresServer
from tests.server_process import ServerProcess

ROOT = Path(__file__).resolve().parents[1]
SECRET_KEY = "benchmark-signing-key-0123456789abcdef0123"  # noqa: S105 - a throwaway key
DATABASE = "bench"
PROBE_REQUESTS = 200
START_TIMEOUT_SECONDS = 300.0  # generous: a busy shared machine starts Python slowly


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    connects: int = 0
    reconnects_per_1000: float = float("nan")
    cpu_us_per_request: float = float("nan")  # the server process's user+system CPU


def median_load(loads: list[Load]) -> Load:
    """The median round's throughput and latency; errors and reconnects over all rounds."""
    middle = sorted(loads, key=lambda load: load.requests_per_second)[len(loads) // 2]
    requests = sum(load.requests for load in loads)
    return Load(
        requests_per_second=middle.requests_per_second,
        p50_ms=middle.p50_ms,
        p99_ms=middle.p99_ms,
        errors=sum(load.errors for load in loads),
        requests=requests,
        connects=sum(load.connects for load in loads),
        reconnects_per_1000=1000 * sum(load.connects for load in loads) / max(requests, 1),
        cpu_us_per_request=statistics.median(load.cpu_us_per_request for load in loads),
    )


@dataclass
class Variant:
    name: str
    cold_starts: list[float] = field(default_factory=list)
    rss_mb: float = 0.0
    live: Load | None = None
    item: Load | None = None
    round_trips_per_read: float = float("nan")
    connects_in_probe: int = 0

    @property
    def cold_start_s(self) -> float:
        return statistics.median(self.cold_starts) if self.cold_starts else float("nan")


def _to_ms(value: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)$", value)
    if match is None:  # wrk prints e.g. "-nan" when it collected no latency
        return float("nan")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _search(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk output without /{pattern}/:\n{text}")
    return match.group(1)


def run_wrk(url: str, seconds: int, connections: int, headers: dict[str, str]) -> Load:
    header_args = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *header_args, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # Anchored: the "Latency" line's "+/- Stdev" column also ends in "%".
    load = Load(
        requests_per_second=float(_search(r"Requests/sec:\s+([\d.]+)", out)),
        p50_ms=_to_ms(_search(r"^\s+50%\s+(\S+)", out)),
        p99_ms=_to_ms(_search(r"^\s+99%\s+(\S+)", out)),
        errors=0,
        requests=int(_search(r"(\d+) requests in", out)),
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    load.errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        load.errors += sum(int(n) for n in socket_errors.groups())
    return load


class SessionCounter:
    """pg_stat_database.sessions for the bench database: every new backend is one connect."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def read(self) -> int:
        # Backends flush their statistics about once a second: wait for the last ones.
        # (Idle servers open no connections, so a delta belongs to the server under load.)
        await asyncio.sleep(1.2)
        await self._connection.execute("SELECT pg_stat_clear_snapshot()")
        value = await self._connection.fetchval(
            "SELECT sessions FROM pg_stat_database WHERE datname = $1", DATABASE
        )
        return int(value)


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used: steadier than req/s on a shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bare_uvicorn(app: str) -> Callable[[int], list[str]]:
    def command(port: int) -> list[str]:
        return [
            sys.executable, "-m", "uvicorn", app, "--port", str(port), "--host", "127.0.0.1",
            "--workers", "1", "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip

    return command


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


@dataclass(frozen=True)
class Seeded:
    postgres: PostgresServer
    url: str
    token: str
    item_id: str


@asynccontextmanager
async def seeded_database() -> AsyncIterator[Seeded]:
    """A PostgreSQL started for the run, migrated, with one user and one item; destroyed afterwards."""
    postgres = PostgresServer()
    postgres.init()
    postgres.start()
    try:
        url = await postgres.create_database(DATABASE)
        await asyncio.to_thread(migrate.upgrade, url.replace("postgresql://", "postgresql+asyncpg://"))
        token, item_id = await seed(url)
        yield Seeded(postgres, url, token, item_id)
    finally:
        postgres.destroy()


@dataclass
class Bench:
    url: str
    item_id: str
    token: str
    seconds: int
    connections: int
    starts: int
    rounds: int
    sessions: SessionCounter
    postgres_port: int

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def run(self, variants: list[tuple[Variant, Callable[[str], ServerProcess]]]) -> None:
        """Cold starts, then both endpoints in interleaved rounds: the machine's drift hits every
        variant alike, and each figure is the median round."""
        for _ in range(self.starts):
            for variant, make_server in variants:
                server = make_server(self.url)
                variant.cold_starts.append(await asyncio.to_thread(server.start, START_TIMEOUT_SECONDS))
                server.kill()
        servers = [make_server(self.url) for _, make_server in variants]
        try:
            for server in servers:
                await asyncio.to_thread(server.start, START_TIMEOUT_SECONDS)
            for endpoint in ("live", "item"):
                path = "/api/v1/health/live" if endpoint == "live" else f"/api/v1/items/{self.item_id}"
                headers = {} if endpoint == "live" else self.auth
                for server in servers:  # warm-up: pools, caches and LRUs filled
                    await asyncio.to_thread(run_wrk, server.base_url + path, 2, self.connections, headers)
                rounds: list[list[Load]] = [[] for _ in servers]
                sessions = await self.sessions.read()
                for _ in range(self.rounds):
                    for index, server in enumerate(servers):
                        assert server.process is not None
                        cpu_before = cpu_seconds(server.process.pid)
                        load = await asyncio.to_thread(
                            run_wrk, server.base_url + path, self.seconds, self.connections, headers
                        )
                        cpu = cpu_seconds(server.process.pid) - cpu_before
                        load.cpu_us_per_request = 1e6 * cpu / max(load.requests, 1)
                        load.connects = (now := await self.sessions.read()) - sessions
                        sessions = now
                        rounds[index].append(load)
                for (variant, _), loads in zip(variants, rounds, strict=True):
                    setattr(variant, endpoint, median_load(loads))
            for (variant, _), server in zip(variants, servers, strict=True):
                assert server.process is not None
                variant.rss_mb = rss_mb(server.process.pid)
        finally:
            for server in servers:
                server.kill()

    async def probe(self, variants: list[tuple[Variant, Callable[[str], ServerProcess]]]) -> None:
        for variant, make_server in variants:
            try:
                await self._probe(variant, make_server)
            except (TimeoutError, RuntimeError, httpx.HTTPError) as error:  # report what was measured
                print(f"round-trip probe of {variant.name} failed: {error!r}"[:300])

    async def _probe(self, variant: Variant, make_server: Callable[[str], ServerProcess]) -> None:
        """Round trips per item read, through the counting proxy, with sequential requests."""
        with WireCounter(self.postgres_port) as counter:
            proxied = self.url.replace(f":{self.postgres_port}/", f":{counter.port}/")
            server = make_server(proxied)
            await asyncio.to_thread(server.start, START_TIMEOUT_SECONDS)
            try:
                async with httpx.AsyncClient(base_url=server.base_url, headers=self.auth) as client:
                    item_path = f"/api/v1/items/{self.item_id}"
                    for _ in range(20):
                        (await client.get(item_path)).raise_for_status()
                    counter.reset()
                    for _ in range(PROBE_REQUESTS):
                        (await client.get(item_path)).raise_for_status()
                    variant.round_trips_per_read = counter.round_trips / PROBE_REQUESTS
                    variant.connects_in_probe = counter.connections
            finally:
                server.kill()


def rps(load: Load | None) -> float:
    return load.requests_per_second if load else float("nan")


def report(variants: list[Variant]) -> None:
    bare, single = variants[0], variants[1]
    assert bare.live and bare.item and single.live and single.item
    print()
    print(
        f"{'variant':<34}{'endpoint':<7}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}"
        f"{'reconn/1k':>10}{'x (a)':>7}{'x (b)':>7}{'cpu us/req':>11}{'cpu x (a)':>10}{'cpu x (b)':>10}"
    )
    for variant in variants:
        for endpoint, load, to_a, to_b in (
            ("live", variant.live, bare.live, single.live),
            ("item", variant.item, bare.item, single.item),
        ):
            assert load
            print(
                f"{variant.name:<34}{endpoint:<7}{load.requests_per_second:>8.0f}{load.p50_ms:>8.2f}"
                f"{load.p99_ms:>8.2f}{load.errors:>7}{load.reconnects_per_1000:>10.1f}"
                f"{load.requests_per_second / to_a.requests_per_second:>7.2f}"
                f"{load.requests_per_second / to_b.requests_per_second:>7.2f}"
                # As throughput ratios: the baseline's CPU per request over this variant's.
                f"{load.cpu_us_per_request:>11.0f}{to_a.cpu_us_per_request / load.cpu_us_per_request:>10.2f}"
                f"{to_b.cpu_us_per_request / load.cpu_us_per_request:>10.2f}"
            )
    print()
    print(f"{'variant':<34}{'cold start s':>13}{'x (a)':>7}{'RSS MB':>8}")
    for variant in variants:
        print(
            f"{variant.name:<34}{variant.cold_start_s:>13.2f}{variant.cold_start_s / bare.cold_start_s:>7.2f}"
            f"{variant.rss_mb:>8.1f}"
        )
    production, traced = variants[2], variants[3]
    assert production.live and production.item and traced.item
    targets = [
        ("(c) item >= 0.90x (a)", rps(production.item) / rps(bare.item), 0.90),
        ("(c) item >= 0.85x (b)", rps(production.item) / rps(single.item), 0.85),
        ("(c) live >= 0.85x (a)", rps(production.live) / rps(bare.live), 0.85),
        ("(d) item >= 0.60x (a)", rps(traced.item) / rps(bare.item), 0.60),
    ]
    print()
    for label, ratio, target in targets:
        print(f"target {label}: {ratio:.2f} {'met' if ratio >= target else 'MISSED'}")
    cpu_targets = [
        ("(c) item >= 0.90x (a)", production.item, bare.item, 0.90),
        ("(c) item >= 0.85x (b)", production.item, single.item, 0.85),
        ("(c) live >= 0.85x (a)", production.live, bare.live, 0.85),
        ("(d) item >= 0.60x (a)", traced.item, bare.item, 0.60),
    ]
    for label, load, baseline, target in cpu_targets:
        ratio = baseline.cpu_us_per_request / load.cpu_us_per_request
        print(f"target {label} by CPU per request: {ratio:.2f} {'met' if ratio >= target else 'MISSED'}")
    cold = production.cold_start_s / bare.cold_start_s
    print(f"target (c) cold start <= 1.20x (a): {cold:.2f} {'met' if cold <= 1.2 else 'MISSED'}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="load duration per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--starts", type=int, default=3, help="cold starts per variant (median)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved load rounds (median)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk (scripts/install-deps.sh does)")

    async with seeded_database() as seeded:
        postgres, url, token, item_id = seeded.postgres, seeded.url, seeded.token, seeded.item_id
        monitor = await asyncpg.connect(postgres.url())
        bench = Bench(
            url, item_id, token, args.seconds, args.connections, args.starts, args.rounds,
            SessionCounter(monitor), postgres.port,
        )  # fmt: skip

        def moorage(extra: dict[str, str] | None = None) -> Callable[[str], ServerProcess]:
            def make(database_url: str) -> ServerProcess:
                env = {
                    "DATABASE_URL": database_url,
                    "SECRET_KEY": SECRET_KEY,
                    "ENVIRONMENT": "production",
                    # The limiter stays on (its cost is measured) but must not reject the load.
                    "RATE_LIMIT_REQUESTS": "1000000000",
                    **(extra or {}),
                }
                return ServerProcess(env=env)

            return make

        def bare(app: str) -> Callable[[str], ServerProcess]:
            def make(database_url: str) -> ServerProcess:
                env = {"DATABASE_URL": database_url}
                return ServerProcess(env=env, command=bare_uvicorn(app), cwd=str(ROOT))

            return make

        variants = [
            Variant("(a) bare FastAPI, moorage's pool"),
            Variant("(b) bare FastAPI, identical read"),
            Variant("(c) moorage production"),
            Variant("(d) moorage 100% traced"),
        ]
        started = time.perf_counter()
        with OtlpReceiver() as receiver:
            traced = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_TRACES_SAMPLER": "always_on"}
            runs = [
                (variants[0], bare("bench.bare_app:app")),
                (variants[1], bare("bench.bare_app:single_read_app")),
                (variants[2], moorage()),
                (variants[3], moorage(traced)),
            ]
            await bench.run(runs)
            print(f"OTLP receiver got {len(receiver.spans)} spans in {receiver.requests} exports")
            print(f"loads measured in {time.perf_counter() - started:.0f} s")
            report([variant for variant, _ in runs])
            await bench.probe(runs)
        print()
        print(f"{'variant':<34}{'round trips/item read':>22}{'connects in probe':>19}")
        for variant in variants:
            print(f"{variant.name:<34}{variant.round_trips_per_read:>22.2f}{variant.connects_in_probe:>19}")
        await monitor.close()


if __name__ == "__main__":
    asyncio.run(main())
