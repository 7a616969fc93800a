"""What the operator quotes from a container's output: credentials blanked, nothing else touched."""

from __future__ import annotations

import base64

from moorage_operator.reconcile.migration import CONFIG_REFUSAL
from moorage_operator.reconcile.redaction import blank, secret_values

KEY = "k1:" + "s" * 43


def test_url_passwords_key_values_and_given_secrets_are_blanked() -> None:
    text = (
        "connecting to postgresql+asyncpg://moorage:hunter2-secret@db:5432/moorage\n"
        "DATABASE_PASSWORD=swordfish SECRET_KEY=abc123 plain=word\n"
        f"ring {KEY}\n"
    )
    blanked = blank(text, [KEY])
    for secret in ("hunter2-secret", "swordfish", "abc123", KEY):
        assert secret not in blanked
    assert "postgresql+asyncpg://moorage:***@db:5432/moorage" in blanked
    assert "DATABASE_PASSWORD=*** SECRET_KEY=*** plain=word" in blanked


def test_lines_and_a_distant_marker_survive() -> None:
    # A migration's output can be long; the refusal is detected anywhere in it, so no tail is cut.
    text = f"{CONFIG_REFUSAL}: DATABASE_URL is not a URL\n" + "noise line\n" * 200
    blanked = blank(text)
    assert blanked == text
    assert blanked.startswith(CONFIG_REFUSAL)


def test_secret_values_reads_the_key_ring_and_skips_short_or_binary_values() -> None:
    ring = {
        "data": {
            "keys": base64.b64encode(KEY.encode()).decode(),
            "short": base64.b64encode(b"abc").decode(),
            "binary": base64.b64encode(b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8").decode(),
        }
    }
    assert secret_values(ring) == [KEY]
    assert secret_values(None) == []
