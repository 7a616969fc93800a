"""Shared helpers for the operator tests: the CRD and an instance body to plan from."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CRD_PATH = ROOT / "charts" / "moorage-operator" / "crds" / "appinstances.apps.moorage.dev.yaml"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def crd() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CRD_PATH.read_text())
    return loaded


def env(**values: str) -> list[dict[str, str]]:
    """``spec.config`` in the CRD's name/value form."""
    return [{"name": name, "value": value} for name, value in values.items()]


def spec(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "image": "moorage/service:1",
        "replicas": 2,
        "database": {"secretRef": {"name": "db", "key": "DATABASE_URL"}},
        "config": env(LOG_LEVEL="DEBUG", REFRESH_TOKEN_TTL_SECONDS="3600"),
        "secretRotation": {"interval": "720h", "gracePeriod": "2h"},
    }
    base.update(overrides)
    return base
