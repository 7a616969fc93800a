from __future__ import annotations

import json
import logging

import pytest
from moorage.logs import configure_logging, redact
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
