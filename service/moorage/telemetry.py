"""OpenTelemetry tracing, configured by the standard OTEL_* variables.

Spans are exported over OTLP only when an endpoint is configured; otherwise nothing is
instrumented, so a service without a collector pays nothing for tracing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from moorage import __version__
from moorage.paths import OPERATIONAL_PATHS

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from sqlalchemy.ext.asyncio import AsyncEngine

    from moorage.config import Settings

# OTel matches each comma-separated regex anywhere in the URL: anchor every path at its end.
UNTRACED_URLS = ",".join(f"{re.escape(path)}$" for path in sorted(OPERATIONAL_PATHS))


def tracing_requested(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "otlp").lower() == "none":
        return False
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


@dataclass(slots=True)
class Tracing:
    provider: TracerProvider
    sqlalchemy: SQLAlchemyInstrumentor

    def shutdown(self) -> None:
        self.sqlalchemy.uninstrument()
        self.provider.shutdown()


def setup_tracing(app: FastAPI, engine: AsyncEngine, settings: Settings) -> Tracing:
    # Imported here: the SDK, the exporter and the instrumentations cost start-up time for nothing
    # when no collector is configured.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME", "moorage"),
            "service.version": __version__,
            "deployment.environment.name": settings.environment.value,
        }
    )
    # The sampler comes from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG when set.
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=UNTRACED_URLS,
        exclude_spans=["receive", "send"],
    )
    sqlalchemy = SQLAlchemyInstrumentor()
    sqlalchemy.instrument(engine=engine.sync_engine, tracer_provider=provider, enable_commenter=False)
    return Tracing(provider=provider, sqlalchemy=sqlalchemy)
