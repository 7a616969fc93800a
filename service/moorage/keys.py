"""The signing key ring: the current key signs, the current and previous keys verify."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from moorage.config import Settings

KEY_ID_LENGTH = 16


def key_id(secret: str) -> str:
    """A stable, non-reversible id for a key: the first 16 hex characters of its SHA-256."""
    return hashlib.sha256(secret.encode()).hexdigest()[:KEY_ID_LENGTH]


@dataclass(frozen=True, slots=True)
class KeyRing:
    current_id: str
    keys: dict[str, str]

    @classmethod
    def from_secrets(cls, current: str, previous: str | None = None) -> KeyRing:
        current_id = key_id(current)
        keys = {current_id: current}
        if previous:
            keys.setdefault(key_id(previous), previous)
        return cls(current_id=current_id, keys=keys)

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        previous = settings.secret_key_previous
        return cls.from_secrets(
            settings.secret_key.get_secret_value(),
            previous.get_secret_value() if previous is not None else None,
        )

    @property
    def current_key(self) -> str:
        return self.keys[self.current_id]

    def lookup(self, kid: str) -> str | None:
        return self.keys.get(kid)
