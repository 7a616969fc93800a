from __future__ import annotations

from httpx import ASGITransport, AsyncClient
from moorage.middleware.asgi import Receive, Scope, Send
from moorage.middleware.compression import CompressionMiddleware

BIG = b"moorage " * 400


def _app(body: bytes, *, declare_length: bool, chunks: int = 1) -> CompressionMiddleware:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/plain")]
        if declare_length:
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        size = len(body) // chunks
        for index in range(chunks):
            last = index == chunks - 1
            part = body[index * size :] if last else body[index * size : (index + 1) * size]
            await send({"type": "http.response.body", "body": part, "more_body": not last})

    return CompressionMiddleware(app, minimum_size=1024)


async def _get(app: CompressionMiddleware, encoding: str) -> tuple[dict[str, str], bytes]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        answer = await client.get("/", headers={"Accept-Encoding": encoding})
        return dict(answer.headers), answer.content


async def test_small_declared_body_is_sent_as_is() -> None:
    headers, body = await _get(_app(b"tiny", declare_length=True), "gzip")
    assert body == b"tiny" and "content-encoding" not in headers and headers["content-length"] == "4"


async def test_large_bodies_are_compressed_declared_or_streamed() -> None:
    for app in (_app(BIG, declare_length=True), _app(BIG, declare_length=False, chunks=3)):
        headers, body = await _get(app, "gzip")
        assert headers["content-encoding"] == "gzip" and "accept-encoding" in headers["vary"].lower()
        assert body == BIG  # httpx decodes it


async def test_small_streamed_body_without_length_goes_through_gzip() -> None:
    # No Content-Length: only GZip's own size check decides (here: too small, unchanged).
    headers, body = await _get(_app(b"tiny", declare_length=False), "gzip")
    assert body == b"tiny" and "content-encoding" not in headers


async def test_no_gzip_without_asking() -> None:
    headers, body = await _get(_app(BIG, declare_length=True), "identity")
    assert body == BIG and "content-encoding" not in headers
