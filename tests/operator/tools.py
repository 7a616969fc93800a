"""The pinned cluster tools (cluster/tools.sh installs them into ~/.cache/moorage/bin)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

TOOLS_BIN = Path.home() / ".cache" / "moorage" / "bin"


def find_tool(name: str) -> str | None:
    explicit = os.environ.get(f"MOORAGE_{name.upper()}")
    if explicit:
        return explicit
    pinned = TOOLS_BIN / name
    if pinned.exists():
        return str(pinned)
    return shutil.which(name)
