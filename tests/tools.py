"""The pinned command-line tools: cluster/tools.sh installs kind, helm and kubectl into the cache's bin/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

TOOLS_BIN = Path(os.environ.get("MOORAGE_CACHE", Path.home() / ".cache" / "moorage")) / "bin"


def locate_tool(name: str) -> str | None:
    """MOORAGE_<NAME> when set, else the pinned binary, else the one on PATH, else None."""
    explicit = os.environ.get(f"MOORAGE_{name.upper()}")
    if explicit:
        return explicit
    pinned = TOOLS_BIN / name
    if pinned.exists():
        return str(pinned)
    return shutil.which(name)


def find_tool(name: str) -> str:
    found = locate_tool(name)
    if found is None:
        raise RuntimeError(f"{name} not found in {TOOLS_BIN} or on PATH: run `make cluster`")
    return found
