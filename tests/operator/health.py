"""Run the shipped health checks on AppInstance objects: Argo CD's Lua check and the real kstatus library."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.tools import locate_tool

from .conftest import ROOT

LUA_CHECK = ROOT / "charts" / "moorage-operator" / "health" / "argocd-appinstance.lua"
KSTATUS_SOURCE = ROOT / "tests" / "operator" / "kstatus"
GO_CACHE = Path(os.environ.get("MOORAGE_CACHE", Path.home() / ".cache" / "moorage")) / "go"
# Argo CD evaluates the check with `obj` bound to the object and reads the table it returns.
_DRIVER = 'local h = assert(loadfile({path}))(); io.write(h.status, "\\t", h.message or "")'


def lua_literal(value: Any) -> str:
    """A Lua 5.1 table constructor for a JSON value (Argo CD hands the check the object as a table)."""
    if isinstance(value, dict):
        items = ", ".join(
            f"[{lua_literal(str(k))}] = {lua_literal(v)}" for k, v in value.items() if v is not None
        )
        return "{" + items + "}"
    if isinstance(value, list):
        return "{" + ", ".join(lua_literal(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if value is None:
        return "nil"
    # Byte-wise three-digit escapes: Lua 5.1 strings are bytes, and "\\1" then "2" would read as "\\12".
    escaped = "".join(
        chr(b) if b < 128 and (chr(b).isalnum() or chr(b) in " .:/-_") else f"\\{b:03d}"
        for b in str(value).encode()
    )
    return f'"{escaped}"'


def argocd_health(obj: dict[str, Any]) -> tuple[str, str]:
    lua = locate_tool("lua5.1")
    if lua is None:
        pytest.skip("lua5.1 is not installed: run scripts/install-deps.sh")
    program = f"obj = {lua_literal(obj)}; " + _DRIVER.format(path=lua_literal(str(LUA_CHECK)))
    out = subprocess.run([lua, "-e", program], capture_output=True, text=True, check=True, timeout=30).stdout
    status, _, message = out.partition("\t")
    return status, message


def kstatus_binary(tmp: Path) -> Path:
    """The kstatus helper, built once per cache (Go's build cache makes a rebuild take a second)."""
    go = locate_tool("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if go is None:
        pytest.skip("go is not installed")
    binary = tmp / "kstatus"
    env = {
        **os.environ,
        "GOCACHE": str(GO_CACHE / "build"),
        "GOMODCACHE": str(GO_CACHE / "mod"),
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-buildvcs=false",
        "CGO_ENABLED": "0",
    }
    subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=KSTATUS_SOURCE,
        env=env,
        check=True,
        timeout=900,
        capture_output=True,
    )
    return binary


def kstatus(binary: Path, obj: dict[str, Any]) -> tuple[str, str]:
    """What ``kstatus.Compute`` says about the object: (Current|InProgress|Failed|…, message)."""
    out = subprocess.run(
        [str(binary)], input=json.dumps(obj), capture_output=True, text=True, check=True, timeout=30
    )
    result = json.loads(out.stdout)
    return str(result["status"]), str(result["message"])
