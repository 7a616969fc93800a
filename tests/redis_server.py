"""A throwaway Redis server from Debian's redis-server package, for the test suite."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.postgres import free_port


def _redis_server_binary() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise RuntimeError(
            "redis-server not found: install Debian's 'redis-server' package (scripts/install-deps.sh does)"
        )
    return path


@dataclass
class RedisServer:
    """Listens on 127.0.0.1:<free port>, no persistence, its files in a temp dir; restartable."""

    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="moorage-redis-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30.0) -> None:
        log = (self.root / "server.log").open("ab")
        options = {"port": str(self.port), "bind": "127.0.0.1", "dir": str(self.root), "save": ""}
        options |= {"appendonly": "no", "daemonize": "no"}
        command = [_redis_server_binary()]
        for name, value in options.items():
            command += [f"--{name}", value]
        self.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited early:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"redis-server did not answer on {self.port}:\n{self.output()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def output(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""
