"""A TCP proxy in front of PostgreSQL that counts the client's protocol messages.

A round trip is a message the client must wait on: a simple Query ('Q') or the Sync ('S') that
ends an extended-protocol batch (Parse/Bind/Execute...). Only used for a short probe, never under
the timed load: the proxy's own cost would distort the throughput figures.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections import Counter

_UNTYPED_REQUESTS = {80877103, 80877104}  # SSLRequest, GSSENCRequest: answered, then the startup


class WireCounter:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.messages: Counter[str] = Counter()
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WireCounter:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _shutdown(self) -> None:
        self._loop.set_exception_handler(lambda _loop, _context: None)  # cancelled pipes are expected
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def round_trips(self) -> int:
        return self.messages["Q"] + self.messages["S"]

    def reset(self) -> None:
        self.messages.clear()
        self.connections = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        backward = asyncio.ensure_future(_pipe(up_reader, writer))
        try:
            await self._forward(reader, up_writer)
        finally:
            up_writer.close()
            await backward

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # untyped messages until the startup packet
                head = await reader.readexactly(8)
                length, code = struct.unpack("!ii", head)
                writer.write(head + await reader.readexactly(length - 8))
                if code not in _UNTYPED_REQUESTS:
                    break
            while True:
                head = await reader.readexactly(5)
                kind, length = head[:1].decode(), struct.unpack("!i", head[1:])[0]
                self.messages[kind] += 1
                writer.write(head + await reader.readexactly(length - 4))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
