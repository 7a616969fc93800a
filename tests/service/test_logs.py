from __future__ import annotations

import json
import logging
import re

import pytest
from moorage.logs import ACCESS_LOGGER, configure_logging, log_access, redact
from moorage.request_context import bind_request_id, reset_request_id
from opentelemetry.sdk.trace import TracerProvider

SECRET = "signing-key-that-must-never-be-logged-000"


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
    configure_logging("INFO", "json", [SECRET])
    return capsys


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_json_line_carries_context(json_logs: pytest.CaptureFixture[str]) -> None:
    token = bind_request_id("req-42")
    try:
        with TracerProvider().get_tracer("test").start_as_current_span("work") as span:
            logging.getLogger("moorage.test").info("hello %s", "world", extra={"status": 200})
            trace_id = format(span.get_span_context().trace_id, "032x")
    finally:
        reset_request_id(token)
    (line,) = _lines(json_logs)
    assert line["message"] == "hello world"
    assert line["level"] == "info" and line["logger"] == "moorage.test"
    assert line["request_id"] == "req-42"
    assert line["trace_id"] == trace_id and len(str(line["span_id"])) == 16
    assert line["status"] == 200
    assert str(line["timestamp"]).endswith("+00:00")


def test_outside_a_request_ids_are_null(json_logs: pytest.CaptureFixture[str]) -> None:
    logging.getLogger("moorage.test").warning("idle")
    (line,) = _lines(json_logs)
    assert line["request_id"] is None and line["trace_id"] is None


def test_secrets_never_reach_a_line(json_logs: pytest.CaptureFixture[str]) -> None:
    log = logging.getLogger("moorage.test")
    log.info("key is %s", SECRET)
    log.info("header Authorization: Bearer abc.def.ghi")
    log.info("login", extra={"password": "hunter2-hunter2", "refresh_token": "r-123"})
    log.info("dsn postgresql://app:pa55word@db:5432/app")
    log.error("failed", exc_info=ValueError(f"bad key {SECRET}"))
    out = json_logs.readouterr().out
    for leaked in (SECRET, "abc.def.ghi", "hunter2", "r-123", "pa55word"):
        assert leaked not in out


def test_text_format_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "text")
    logging.getLogger("moorage.test").info("plain", extra={"path": "/x"})
    out = capsys.readouterr().out
    assert "INFO    moorage.test: plain" in out and "path=/x" in out


def test_redact_patterns() -> None:
    assert redact("password=abc&x=1") == "password=***&x=1"
    assert redact('{"token": "xyz"}') == '{"token": "***"}'
    assert "eyJ" not in redact("jwt eyJhbGciOi.eyJzdWIi.sig")


def test_access_line_matches_the_generic_record(json_logs: pytest.CaptureFixture[str]) -> None:
    """`log_access` composes its line itself: the same fields, order and masking as a logger record."""
    path = f'/api/v1/items/é?token=abc123&k={SECRET}"x'
    client = "203.0.113.9"
    fields = {"method": "GET", "path": path, "status": 404, "duration_ms": 1.25, "client": client}
    token = bind_request_id("req-7")
    try:
        with TracerProvider().get_tracer("test").start_as_current_span("work"):
            log_access("GET", path, 404, 1.25, client)
            logging.getLogger(ACCESS_LOGGER).info("%s %s %s", "GET", path, 404, extra=fields)
    finally:
        reset_request_id(token)
    out = json_logs.readouterr().out
    assert SECRET not in out and "abc123" not in out
    direct_line, generic_line = out.splitlines()
    direct, generic = json.loads(direct_line), json.loads(generic_line)
    # Byte for byte, but for the clock.
    assert direct_line.replace(direct["timestamp"], "T") == generic_line.replace(generic["timestamp"], "T")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", direct["timestamp"])
    direct.pop("timestamp"), generic.pop("timestamp")
    assert direct == generic
    assert direct["path"] == '/api/v1/items/é?token=***&k=***"x' and direct["request_id"] == "req-7"
    assert direct["trace_id"] is not None


def test_access_line_follows_extra_handlers(
    json_logs: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Another handler on the root (here pytest's): the access line takes the logger path and reaches it.
    with caplog.at_level(logging.INFO):
        log_access("POST", "/api/v1/items", 201, 3.0, None)
    (record,) = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert record.getMessage() == "POST /api/v1/items 201"
    (line,) = _lines(json_logs)
    assert line["status"] == 201 and line["client"] is None


def test_access_line_respects_the_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("WARNING", "json")
    log_access("GET", "/x", 200, 1.0, "127.0.0.1")
    assert capsys.readouterr().out == ""
