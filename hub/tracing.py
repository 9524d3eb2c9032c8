"""Tracing with OpenTelemetry: spans for requests, GraphQL resolvers and SQL statements,
exported over OTLP (HTTP) to `OTEL_EXPORTER_OTLP_ENDPOINT`.

Off, and free, unless that variable is set: then nothing is instrumented and no span is made.
The exporter reads the other standard `OTEL_*` variables itself (headers, timeouts, batching).
"""

import os

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

SERVICE_NAME = "engagement-hub"


def enabled() -> bool:
    """Whether spans go anywhere: an OTLP endpoint is configured."""
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def traced(app: ASGIApp) -> ASGIApp:
    """`app` with a span per HTTP request and WebSocket, when tracing is on."""
    return OpenTelemetryMiddleware(app) if enabled() else app


def start(engine: AsyncEngine) -> TracerProvider | None:
    """Export spans from now on, SQL statements included (of `engine` and of asyncpg's
    connections); None when tracing is off. Shut the provider down to flush its spans."""
    if not enabled():
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)
    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, tracer_provider=provider)
    return provider
