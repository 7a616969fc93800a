"""The referenced database Secrets: present or not, and a salted hash of their data (never the values)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any


def secret_data_hash(
    salt: str, refs: Iterable[tuple[str, str]], secrets: Mapping[str, Mapping[str, Any] | None]
) -> str | None:
    """A hash of the referenced keys' data, salted with the instance's uid; ``None`` when one is missing.

    The salt keeps the hash from being compared against hashes of guessed passwords elsewhere.
    """
    digest = hashlib.sha256(salt.encode())
    for name, key in sorted(set(refs)):
        data = (secrets.get(name) or {}).get("data") or {}
        if key not in data:
            return None
        digest.update(f"\0{name}\0{key}\0{data[key]}".encode())
    return digest.hexdigest()[:16]
