"""Settings read from the environment and validated once at start-up."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from moorage.paths import OPERATIONAL_PATHS

MIN_SECRET_KEY_LENGTH = 32
_ACCEPTED_DB_SCHEMES = {"postgresql", "postgres", "postgresql+asyncpg"}
_ACCEPTED_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class Environment(StrEnum):
    production = "production"
    staging = "staging"
    development = "development"


class DatabaseSettings(BaseSettings):
    """What `moorage migrate` needs: the database and how to log."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Environment = Environment.production
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "text"] | None = None
    database_url: SecretStr

    @field_validator("database_url")
    @classmethod
    def _database_url_is_postgresql(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        try:
            url = make_url(raw)
        except ArgumentError:
            raise ValueError("must be a URL like postgresql://user:password@host:5432/database") from None
        if url.drivername not in _ACCEPTED_DB_SCHEMES:
            raise ValueError(f"must use the postgresql scheme, not '{url.drivername}'")
        if not url.host and not url.query.get("host"):
            raise ValueError("must name a host")
        if not url.database:
            raise ValueError("must name a database")
        return value

    @property
    def effective_log_format(self) -> Literal["json", "text"]:
        if self.log_format is not None:
            return self.log_format
        return "text" if self.environment is Environment.development else "json"

    @property
    def async_database_url(self) -> URL:
        url = make_url(self.database_url.get_secret_value())
        return url.set(drivername="postgresql+asyncpg")

    def secret_values(self) -> list[str]:
        """Every configured secret, so log redaction can mask them verbatim."""
        password = make_url(self.database_url.get_secret_value()).password
        return [str(password)] if password else []


class Settings(DatabaseSettings):
    """Everything the service needs to serve."""

    host: str = "0.0.0.0"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    graceful_timeout_seconds: int = Field(default=20, ge=0, le=600)
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's proxy headers).
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["127.0.0.1"])

    # A fixed pool sized for one worker's concurrency (one-statement reads hold a connection for
    # one round trip). Overflow connections are closed when returned: under saturation they
    # churn (a backend fork and a SCRAM exchange each), so none by default.
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=0, ge=0, le=200)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Above glibc's 5 s resolver retry: a new pool connection survives one lost DNS packet (a known
    # Kubernetes conntrack race; measured on the hermetic cluster), instead of failing its request.
    db_connect_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    db_statement_timeout_ms: int = Field(default=30_000, ge=0)
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=60)

    secret_key: SecretStr
    secret_key_previous: SecretStr | None = None
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    refresh_token_ttl_seconds: int = Field(default=86_400, ge=60, le=90 * 86_400)

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    rate_limit_enabled: bool = True
    rate_limit_requests: int = Field(default=100, ge=1)
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=86_400)
    redis_url: SecretStr | None = None
    redis_timeout_seconds: float = Field(default=0.25, gt=0, le=10)

    metrics_enabled: bool = True
    access_log_skip_paths: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: sorted(OPERATIONAL_PATHS)
    )

    @field_validator("secret_key", "secret_key_previous")
    @classmethod
    def _key_is_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        if len(value.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_KEY_LENGTH} characters")
        return value

    @field_validator("secret_key_previous", "redis_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("cors_origins", "access_log_skip_paths", "forwarded_allow_ips", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses_or_networks(cls, value: list[str]) -> list[str]:
        if value == ["*"]:
            return value
        normalised = []
        for entry in value:
            try:
                # uvicorn silently ignores a network with host bits set: normalise 10.1.2.3/16 here.
                parsed: object = (
                    ipaddress.ip_network(entry, strict=False) if "/" in entry else ipaddress.ip_address(entry)
                )
            except ValueError:
                raise ValueError(
                    f"must list IP addresses or CIDRs separated by commas (or be '*'), not '{entry}'"
                ) from None
            normalised.append(str(parsed))
        return normalised

    @field_validator("redis_url")
    @classmethod
    def _redis_url_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(_ACCEPTED_REDIS_SCHEMES):
            raise ValueError("must be a URL like redis://[:password@]host:6379/0 (or rediss://, unix://)")
        return value

    @model_validator(mode="after")
    def _refresh_outlives_access(self) -> Settings:
        if self.refresh_token_ttl_seconds < self.access_token_ttl_seconds:
            raise ValueError("REFRESH_TOKEN_TTL_SECONDS must be at least ACCESS_TOKEN_TTL_SECONDS")
        return self

    def secret_values(self) -> list[str]:
        secrets = [*super().secret_values(), self.secret_key.get_secret_value()]
        if self.secret_key_previous is not None:
            secrets.append(self.secret_key_previous.get_secret_value())
        if self.redis_url is not None:
            password = urlsplit(self.redis_url.get_secret_value()).password
            if password:
                secrets.append(password)
        return secrets


class ConfigurationError(Exception):
    """Raised with one readable line per invalid setting."""


def describe_validation_error(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"]).upper() or "SETTINGS"
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "is required"
        if not item["loc"] or message.startswith(name):
            lines.append(message)
        else:
            lines.append(f"{name} {message}")
    return "\n".join(lines)


def load_settings() -> Settings:
    try:
        return Settings()  # type: ignore[call-arg,unused-ignore]  # values come from the environment
    except ValidationError as error:
        raise ConfigurationError(describe_validation_error(error)) from None


def load_database_settings() -> DatabaseSettings:
    try:
        return DatabaseSettings()  # type: ignore[call-arg,unused-ignore]
    except ValidationError as error:
        raise ConfigurationError(describe_validation_error(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
