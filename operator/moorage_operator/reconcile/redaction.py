"""Blanking credentials out of text the operator copies from containers into events and status.

A container's termination message is the tail of its output (``FallbackToLogsOnError``): a crashing
server, a failed migration or a refused preflight can print a database URL or a key. Whatever the
operator quotes from such output goes through ``blank`` first.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from typing import Any

_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@\s]*@", re.IGNORECASE)
_KEY_VALUE = re.compile(r"(?P<name>\b[A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN|KEY)[A-Z0-9_]*=)\S+")
# Shorter values would blank ordinary words; the key ring's values are far longer.
_MIN_SECRET = 8


def blank(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secrets, URL passwords and ``…PASSWORD=``/``…KEY=`` values as ``***``.

    Nothing else changes: lines, order and length apart from the blanks stay, so a marker the caller
    looks for later is still there.
    """
    for value in secrets:
        text = text.replace(value, "***")
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _KEY_VALUE.sub(lambda m: f"{m['name']}***", text)


def secret_values(keyring: Mapping[str, Any] | None) -> list[str]:
    """The key ring Secret's decoded values, to blank them should any output ever print one."""
    found: list[str] = []
    for raw in ((keyring or {}).get("data") or {}).values():
        try:
            value = base64.b64decode(str(raw), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue
        if len(value) >= _MIN_SECRET:
            found.append(value)
    return found
