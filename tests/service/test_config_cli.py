from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from moorage.cli import main
from moorage.config import Settings

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "DATABASE_URL": "postgresql://u:p@db.example:5432/app",
    "SECRET_KEY": "k" * 32,
}


def check_config(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    return subprocess.run(
        [sys.executable, "-m", "moorage.cli", "check-config"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd="/",
        check=False,
    )


def test_good_configuration_passes_in_a_real_process() -> None:
    result = check_config(**GOOD)
    assert result.returncode == 0, result.stderr
    bad = check_config(**{**GOOD, "SECRET_KEY": "short"})
    assert bad.returncode == 2
    assert bad.stderr.strip() == "moorage: configuration error: SECRET_KEY must be at least 32 characters"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """An environment holding no moorage setting and no .env file."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"SECRET_KEY": "too-short"}, "SECRET_KEY must be at least 32 characters"),
        ({"DATABASE_URL": "mysql://u:p@h/db"}, "DATABASE_URL must use the postgresql scheme"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL must be a URL like postgresql://"),
        ({"DATABASE_URL": "postgresql://u:p@host:5432/"}, "DATABASE_URL must name a database"),
        ({"PORT": "99999"}, "PORT Input should be less than or equal to 65535"),
        ({"ENVIRONMENT": "prod"}, "ENVIRONMENT Input should be 'production', 'staging' or 'development'"),
        ({"RATE_LIMIT_REQUESTS": "many"}, "RATE_LIMIT_REQUESTS Input should be a valid integer"),
        ({"SECRET_KEY_PREVIOUS": "short"}, "SECRET_KEY_PREVIOUS must be at least 32 characters"),
        (
            {"FORWARDED_ALLOW_IPS": "10.0.0.0/8,ingress-pod"},
            "FORWARDED_ALLOW_IPS must list IP addresses or CIDRs separated by commas (or be '*'), "
            "not 'ingress-pod'",
        ),
        ({"FORWARDED_ALLOW_IPS": "10.0.0.0/33"}, "not '10.0.0.0/33'"),
        ({"REDIS_URL": "http://cache:6379"}, "REDIS_URL must be a URL like redis://"),
        ({"REDIS_TIMEOUT_SECONDS": "0"}, "REDIS_TIMEOUT_SECONDS Input should be greater than 0"),
        (
            {"ACCESS_TOKEN_TTL_SECONDS": "3600", "REFRESH_TOKEN_TTL_SECONDS": "600"},
            "REFRESH_TOKEN_TTL_SECONDS must be at least ACCESS_TOKEN_TTL_SECONDS",
        ),
    ],
)
def test_bad_value_stops_with_one_line_naming_it(
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    override: dict[str, str],
    expected: str,
) -> None:
    for name, value in {**GOOD, **override}.items():
        environment.setenv(name, value)
    assert main(["check-config"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert expected in lines[0]


def test_missing_required_values_are_named(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config"]) == 2
    err = capsys.readouterr().err
    assert "DATABASE_URL is required" in err
    assert "SECRET_KEY is required" in err


def test_env_example_documents_every_setting() -> None:
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    expected = {name.upper() for name in Settings.model_fields}
    assert expected <= documented, expected - documented
    for name in expected:
        block = example.split(f"{name}=")[0].rstrip().splitlines()
        assert block and block[-1].lstrip().startswith("#"), f"{name} has no comment above it"


def _settings(environment: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in {**GOOD, **env}.items():
        environment.setenv(name, value)
    return Settings(_env_file=None)


def test_trusted_proxies_are_normalised_for_uvicorn(environment: pytest.MonkeyPatch) -> None:
    # uvicorn would silently treat "10.244.3.7/16" (host bits set) as a name that never matches.
    settings = _settings(environment, FORWARDED_ALLOW_IPS=" 10.244.3.7/16, 127.0.0.1 ,::1,fd00::/8")
    assert settings.forwarded_allow_ips == ["10.244.0.0/16", "127.0.0.1", "::1", "fd00::/8"]
    assert _settings(environment, FORWARDED_ALLOW_IPS="*").forwarded_allow_ips == ["*"]
    environment.delenv("FORWARDED_ALLOW_IPS")
    assert _settings(environment).forwarded_allow_ips == ["127.0.0.1"]


def test_redis_password_is_redacted_like_the_other_secrets(environment: pytest.MonkeyPatch) -> None:
    settings = _settings(environment, REDIS_URL="redis://:hunter2-redis@cache:6379/0")
    assert "hunter2-redis" in settings.secret_values()
    assert _settings(environment, REDIS_URL="").redis_url is None
