"""Log records as JSON lines (production) or readable text (development).

Every record carries the request id and, inside a traced request, the trace and span ids.
Secrets are masked before any handler formats a record.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from opentelemetry import trace

from moorage.request_context import current_request_id

# Attributes every record has, plus uvicorn's terminal-colour duplicate of its message.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
_CONTEXT_ATTRS = ("request_id", "trace_id", "span_id")
_RESERVED_ATTRS = _STANDARD_ATTRS | frozenset(_CONTEXT_ATTRS)
_MASK = "***"
_SECRET_KEY_NAMES = re.compile(r"(?i)password|passwd|secret|token|authorization|api[_-]?key|cookie")

# Bearer tokens, JWTs, password-like key/value pairs and URL credentials, wherever they appear:
# one pattern, one pass. Case-insensitive only where the original text may vary in case.
_SECRETS = re.compile(
    r"(?P<bearer>(?i:bearer)\s+)[A-Za-z0-9._~+/=-]+"
    r"|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
    r"|(?P<pair>(?i:password|passwd|secret|token|api[_-]?key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',&}]+"
    r"|(?P<url>://[^:/@\s]+:)[^@\s]+@"
)


def _may_hold_secret(text: str) -> bool:
    """False for text without any of the markers every match above contains: such text, which is
    every access-log field of an ordinary request, skips the substitution entirely.

    Unrolled substring searches on one lowered copy: several times faster than a generator over
    the markers or a case-insensitive alternation, which re tries at every position.
    """
    lowered = text.lower()
    return (
        "bearer" in lowered
        or "eyj" in lowered
        or "pass" in lowered
        or "secret" in lowered
        or "token" in lowered
        or "key" in lowered
        or "://" in lowered
    )


@functools.lru_cache(maxsize=1024)
def _secret_key_name(key: str) -> bool:
    # Extras are a handful of fixed names (method, path, status...): decided once per name.
    return _SECRET_KEY_NAMES.search(key) is not None


def _mask(match: re.Match[str]) -> str:
    prefix = match.group("bearer") or match.group("pair")
    if prefix is not None:
        return prefix + _MASK
    url = match.group("url")
    if url is not None:
        return f"{url}{_MASK}@"
    return _MASK


def redact(text: str, literals: Iterable[str] = ()) -> str:
    for literal in literals:
        if literal and literal in text:
            text = text.replace(literal, _MASK)
    if _may_hold_secret(text):
        text = _SECRETS.sub(_mask, text)
    return text


_plain = logging.Formatter()


class ContextFilter(logging.Filter):
    """Adds request and trace ids and masks secrets in the message and its arguments."""

    def __init__(self, secret_literals: Iterable[str] = ()) -> None:
        super().__init__()
        self._literals = tuple(s for s in secret_literals if s)

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.trace_id = format(span_context.trace_id, "032x")
            record.span_id = format(span_context.span_id, "016x")
        else:
            record.trace_id = None
            record.span_id = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(_plain.formatException(record.exc_info), self._literals)
        message = record.getMessage()
        cleaned = redact(message, self._literals)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        attributes = vars(record)
        for key in attributes.keys() - _RESERVED_ATTRS:  # the extras only
            if _secret_key_name(key):
                attributes[key] = _MASK
            elif isinstance(value := attributes[key], str):
                attributes[key] = redact(value, self._literals)
        return True


# What json.dumps(entry, default=str, ensure_ascii=False) builds on every call, built once.
_json = json.JSONEncoder(default=str, ensure_ascii=False)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _CONTEXT_ATTRS:
            entry[key] = getattr(record, key, None)
        for key, value in vars(record).items():
            if key not in _RESERVED_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return _json.encode(entry)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        timestamp = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S.%f")[:-3]
        extras = " ".join(
            f"{key}={value}"
            for key, value in vars(record).items()
            if key not in _STANDARD_ATTRS and value is not None and not key.startswith("_")
        )
        line = f"{timestamp} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line = f"{line}  [{extras}]"
        if record.exc_info:
            line = f"{line}\n{record.exc_text or self.formatException(record.exc_info)}"
        return line


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """Writes to whatever sys.stdout is at emit time (test capture swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def configure_logging(level: str, fmt: Literal["json", "text"], secret_literals: Iterable[str] = ()) -> None:
    # Neither formatter prints the caller, thread or process fields: records skip gathering them
    # (a walk up the stack and three lookups on every record, the access log's included).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = _StdoutHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFilter(secret_literals))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own loggers propagate to ours; its access log is replaced by our middleware.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
