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
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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


def _trace_ids() -> tuple[str | None, str | None]:
    """The current span's trace and span ids in hex, or None outside a traced request."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")
    return None, None


class ContextFilter(logging.Filter):
    """Adds request and trace ids and masks secrets in the message and its arguments."""

    def __init__(self, secret_literals: Iterable[str] = ()) -> None:
        super().__init__()
        self.literals = tuple(s for s in secret_literals if s)

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        record.trace_id, record.span_id = _trace_ids()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(_plain.formatException(record.exc_info), self.literals)
        message = record.getMessage()
        cleaned = redact(message, self.literals)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        attributes = vars(record)
        for key in attributes.keys() - _RESERVED_ATTRS:  # the extras only
            if _secret_key_name(key):
                attributes[key] = _MASK
            elif isinstance(value := attributes[key], str):
                attributes[key] = redact(value, self.literals)
        return True


# What json.dumps(entry, default=str, ensure_ascii=False) builds on every call, built once.
_json = json.JSONEncoder(default=str, ensure_ascii=False)
# The same encoder's string escaping (ensure_ascii=False), as a function of one string.
_json_string: Callable[[str], str] = json.encoder.encode_basestring


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


ACCESS_LOGGER = "moorage.access"
_access = logging.getLogger(ACCESS_LOGGER)
_moorage = logging.getLogger("moorage")


@dataclass(frozen=True, slots=True)
class _DirectJsonLines:
    """Where access lines go when configure_logging set up JSON lines on stdout: written by
    `log_access` itself, the same line the logger would write, at a fraction of its cost.

    The generic path builds a LogRecord, runs the filter's redaction over every attribute, walks
    the record's dict twice in the formatter and takes the handler's locks; an access line has
    fixed fields, so it is composed directly. Valid only while that handler is still the root's
    only one and the access logger adds nothing of its own (tests, or an embedding application,
    may attach handlers): otherwise `log_access` goes through the logger.
    """

    root: logging.Logger
    handler: logging.Handler
    lock: threading.RLock
    literals: tuple[str, ...]

    def applies(self) -> bool:
        handlers = self.root.handlers
        if len(handlers) != 1 or handlers[0] is not self.handler:
            return False
        # Nothing of their own on the way up (moorage.access -> moorage -> root).
        own = _access.handlers or _access.filters or _moorage.handlers
        return not own and _access.propagate and _moorage.propagate


_direct: _DirectJsonLines | None = None


def _utc_timestamp(now: float) -> str:
    """`datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")`, the date and time
    formatted once per second instead of on every line."""
    global _second, _second_text
    whole = int(now)
    if whole != _second:
        _second_text = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _second = whole
    return _second_text + _MILLISECONDS[int((now - whole) * 1000)]


_second = -1
_second_text = ""
_MILLISECONDS = tuple(f".{ms:03d}+00:00" for ms in range(1000))


def _json_or_null(value: str | None) -> str:
    return "null" if value is None else _json_string(value)


def log_access(method: str, path: str, status: int, duration_ms: float, client: str | None) -> None:
    """One access line: method, path, status, duration and client, with the context ids.

    Everything user-controlled (path, method, client address, and the message made of them) is
    masked exactly as the logging filter masks any record. The line is the one JsonFormatter
    writes for the same record, key for key and byte for byte (`json.dumps` separators), composed
    from a template: the encoder's generic walk is two thirds of the cost of the whole line.
    """
    if not _access.isEnabledFor(logging.INFO):
        return
    direct = _direct
    if direct is None or not direct.applies():
        _access.info(
            "%s %s %s",
            method,
            path,
            status,
            extra={
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
                "client": client,
            },
        )
        return
    message = f"{method} {path} {status}"
    literals = direct.literals
    # One check over everything user-controlled: a marker or literal in any part is in the joined
    # text too (the join can only add false alarms, which then take the per-field path).
    joined = f"{message} {client}"
    risky = _may_hold_secret(joined)
    if not risky:
        for literal in literals:
            if literal in joined:
                risky = True
                break
    if risky:
        message, method, path = redact(message, literals), redact(method, literals), redact(path, literals)
        client = None if client is None else redact(client, literals)
    trace_id, span_id = _trace_ids()
    line = (
        f'{{"timestamp": "{_utc_timestamp(time.time())}", "level": "info", "logger": "{ACCESS_LOGGER}", '
        f'"message": {_json_string(message)}, "request_id": {_json_or_null(current_request_id())}, '
        f'"trace_id": {_json_or_null(trace_id)}, "span_id": {_json_or_null(span_id)}, '
        f'"method": {_json_string(method)}, "path": {_json_string(path)}, "status": {int(status)}, '
        f'"duration_ms": {float(duration_ms)!r}, '
        f'"client": {_json_or_null(client)}}}\n'
    )
    try:
        with direct.lock:  # the handler's own: lines from other threads never interleave
            stream = sys.stdout
            stream.write(line)
            stream.flush()
    except Exception:  # as logging does: a failed write must not fail the request
        direct.handler.handleError(logging.makeLogRecord({"msg": line}))


def configure_logging(level: str, fmt: Literal["json", "text"], secret_literals: Iterable[str] = ()) -> None:
    # Neither formatter prints the caller, thread or process fields: records skip gathering them
    # (a walk up the stack and three lookups on every record, the access log's included).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    global _direct
    handler = _StdoutHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    context = ContextFilter(secret_literals)
    handler.addFilter(context)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    assert handler.lock is not None  # createLock() ran in Handler.__init__
    _direct = _DirectJsonLines(root, handler, handler.lock, context.literals) if fmt == "json" else None
    # uvicorn's own loggers propagate to ours; its access log is replaced by our middleware.
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Without a handler anywhere up its chain: uvicorn then skips its access line entirely. A
    # disabled logger that still reached one made uvicorn format the client and quote the path for
    # every response, only for the record to be dropped.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
    uvicorn_access.disabled = True
