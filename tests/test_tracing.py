"""Tracing: spans of requests, GraphQL and SQL reach an OTLP collector when one is configured;
without one, nothing is instrumented."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from hub import tracing
from schema import schema
from tests.test_cli import environment, free_port, serving

EXPORT_SECONDS = 10


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector keeping the names of the spans it receives."""

    spans: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.spans.extend(span.name for span in scope.spans)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        """Quiet."""


@pytest.fixture
def collector() -> Iterator[str]:
    """The URL of a collector running in a thread; its spans in `Collector.spans`."""
    Collector.spans = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_without_an_endpoint_nothing_is_traced() -> None:
    assert not tracing.enabled()
    assert not any("OpenTelemetry" in getattr(e, "__name__", "") for e in schema.extensions)
    app = object()
    assert tracing.traced(app) is app  # type: ignore[arg-type]


@pytest.mark.slow
def test_spans_of_requests_graphql_and_sql_reach_the_collector(
    demo_database_url: str, collector: str
) -> None:
    env = environment(
        DATABASE_URL=demo_database_url,
        OTEL_EXPORTER_OTLP_ENDPOINT=collector,
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    port = free_port()
    with serving(port, env):
        query = {"query": '{ city(slug: "dessau-rosslau") { name } }'}
        assert httpx.post(f"http://127.0.0.1:{port}/graphql", json=query).status_code == 200
        deadline = time.monotonic() + EXPORT_SECONDS
        while not any(name.startswith("SELECT") for name in Collector.spans):
            assert time.monotonic() < deadline, Collector.spans
            time.sleep(0.1)
    names = set(Collector.spans)
    assert any(name.startswith("POST /graphql") for name in names), names
    assert any("GraphQL" in name for name in names), names
