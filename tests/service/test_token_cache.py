"""The verified-token cache: a hit still expires on time, loses its key, and is bounded."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
from moorage.errors import UnauthorizedError
from moorage.keys import KeyRing
from moorage.tokens import TokenType, TokenVerifier, issue_token

from tests.service.conftest import CURRENT_KEY, PREVIOUS_KEY


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _token(ring: KeyRing, token_type: TokenType = TokenType.access, ttl: int = 60) -> str:
    return issue_token(
        ring,
        user_id=uuid.uuid4(),
        is_superuser=False,
        token_type=token_type,
        ttl_seconds=ttl,
        now=datetime.now(UTC),
    )


def _code(verifier: TokenVerifier, token: str, expected: TokenType = TokenType.access) -> str:
    with pytest.raises(UnauthorizedError) as raised:
        verifier.verify(token, expected_type=expected)
    return raised.value.code


def test_a_remembered_token_expires_by_the_clock() -> None:
    clock = Clock()
    verifier = TokenVerifier(KeyRing.from_secrets(CURRENT_KEY), clock=clock)
    token = _token(verifier.ring, ttl=60)
    first = verifier.verify(token, expected_type=TokenType.access)
    assert verifier.verify(token, expected_type=TokenType.access) is first  # served from the cache
    clock.now += 61
    assert _code(verifier, token) == "token_expired"


def test_a_remembered_token_dies_with_its_key() -> None:
    ring = KeyRing.from_secrets(CURRENT_KEY, PREVIOUS_KEY)
    verifier = TokenVerifier(ring)
    signed_by_previous = _token(KeyRing.from_secrets(PREVIOUS_KEY))
    verifier.verify(signed_by_previous, expected_type=TokenType.access)
    previous_id = KeyRing.from_secrets(PREVIOUS_KEY).current_id
    del ring.keys[previous_id]  # the ring no longer trusts the key
    assert _code(verifier, signed_by_previous) == "unknown_key"


def test_a_remembered_access_token_is_not_a_refresh_token() -> None:
    verifier = TokenVerifier(KeyRing.from_secrets(CURRENT_KEY))
    token = _token(verifier.ring)
    verifier.verify(token, expected_type=TokenType.access)
    assert _code(verifier, token, TokenType.refresh) == "invalid_token"


def test_failures_are_not_remembered_and_the_cache_is_bounded() -> None:
    verifier = TokenVerifier(KeyRing.from_secrets(CURRENT_KEY), cache_size=2)
    tampered = _token(verifier.ring)[:-2] + "xx"
    assert _code(verifier, tampered) == "invalid_token"
    assert _code(verifier, tampered) == "invalid_token"
    tokens = [_token(verifier.ring) for _ in range(3)]
    principals = [verifier.verify(token, expected_type=TokenType.access) for token in tokens]
    assert len(verifier._verified) == 2
    assert tokens[0] not in verifier._verified
    # The evicted token still verifies, from scratch.
    assert verifier.verify(tokens[0], expected_type=TokenType.access) == principals[0]
