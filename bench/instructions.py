"""User-space instructions per request of the real server processes, counted by callgrind.

Not part of `make bench`: an attribution tool for a shared machine, where req/s and even CPU time
move with the neighbours' load (steal time included) while instruction counts do not. Each
variant's server runs under `valgrind --tool=callgrind` with instrumentation off until it is warm;
then N sequential keep-alive requests are counted. Needs Debian's `valgrind`.

    uv run --frozen python -m bench.instructions [--only b,c] [--requests 300] [--live]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.service_bench import ROOT, SECRET_KEY, bare_uvicorn, seeded_database
from tests.server_process import ServerProcess, moorage_serve

Command = Callable[[int], list[str]]


def under_callgrind(command: Command, out: Path) -> Command:
    def wrapped(port: int) -> list[str]:
        valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
        return [*valgrind, *command(port)]

    return wrapped


def callgrind_control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], capture_output=True, check=False)


def counted(out: Path, trigger: str) -> int:
    for dump in sorted(out.parent.glob(out.name + ".*")):
        text = dump.read_text(errors="replace")
        if re.search(rf"^desc: Trigger: .*{trigger}", text, re.MULTILINE):
            total = re.search(r"^(?:totals|summary): (\d+)", text, re.MULTILINE)
            if total:
                return int(total.group(1))
    raise RuntimeError(f"no callgrind dump for {trigger} beside {out}")


def measure(name: str, command: Command, env: dict[str, str], path: str, token: str, requests: int) -> float:
    out = Path(tempfile.mkdtemp(prefix="moorage-callgrind-")) / "callgrind.out"
    server = ServerProcess(env=env, command=under_callgrind(command, out), cwd=str(ROOT))
    server.start(600)  # valgrind starts Python slowly
    assert server.process is not None
    pid = str(server.process.pid)
    try:
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
            for _ in range(50):  # warm: pool filled, caches and statement caches hot
                client.get(path).raise_for_status()
            callgrind_control("--instr=on", pid)
            callgrind_control("--zero", pid)
            for _ in range(requests):
                client.get(path).raise_for_status()
            callgrind_control(f"--dump={name}", pid)
    finally:
        server.kill()
    return counted(out, name) / requests


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--only", default="a,b,c", help="variants (a, b, c as in bench.service_bench)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--live", action="store_true", help="/api/v1/health/live instead of the item read")
    args = parser.parse_args()
    async with seeded_database() as seeded:
        url, token, item_id = seeded.url, seeded.token, seeded.item_id
        production = {
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET_KEY,
            "ENVIRONMENT": "production",
            "RATE_LIMIT_REQUESTS": "1000000000",
        }
        variants: dict[str, tuple[Command, dict[str, str]]] = {
            "a": (bare_uvicorn("bench.bare_app:app"), {"DATABASE_URL": url}),
            "b": (bare_uvicorn("bench.bare_app:single_read_app"), {"DATABASE_URL": url}),
            "c": (moorage_serve, production),
        }
        path = "/api/v1/health/live" if args.live else f"/api/v1/items/{item_id}"
        counts: dict[str, float] = {}
        for name in args.only.split(","):
            command, env = variants[name]
            counts[name] = await asyncio.to_thread(measure, name, command, env, path, token, args.requests)
            print(f"({name}) {counts[name]:,.0f} instructions/request on {path}", flush=True)
        for name, count in counts.items():
            ratios = "  ".join(f"x ({base}) {counts[base] / count:.2f}" for base in counts if base != name)
            print(f"({name}) {ratios}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
