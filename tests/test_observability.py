"""Operations: metrics at /metrics, one JSON log line per request, request ids."""

import asyncio
import json
import logging
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import websockets
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import Settings
from hub.observability import FIELDS, JSONLines
from tests.conftest import asgi_client, create_database, drop_database
from tests.test_cli import environment, free_port, serving
from tests.writes import mutate

STATES = {"query": "query StatesForMetrics { states { code } }"}
BROKEN = {"query": "query Broken { states { mayor } }"}


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text `metrics` (0 if absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in metrics.splitlines():
        if line.startswith(f"{name}{{{wanted}}} ") or (not labels and line.startswith(name + " ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_requests_by_operation_outcome_and_error_code(
    connection: AsyncConnection, tmp_path: Path
) -> None:
    (tmp_path / "states.graphql").write_text(STATES["query"])
    (tmp_path / "broken.graphql").write_text(BROKEN["query"])
    settings = replace(Settings.from_env(), persisted_queries="allowlist", allowlist=tmp_path)
    async for client in asgi_client(connection, settings):
        before = (await client.get("/metrics")).text
        for _ in range(3):
            assert (await client.post("/graphql", json=STATES)).status_code == 200
        await client.post("/graphql", json=BROKEN)
        after = (await client.get("/metrics")).text

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("hub_requests_total", operation="StatesForMetrics", outcome="ok") == 3
    assert grew("hub_requests_total", operation="Broken", outcome="refused") == 1
    assert grew("hub_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED") == 1
    assert grew("hub_request_duration_seconds_count", operation="StatesForMetrics") == 3
    assert grew("hub_sql_statements_per_request_count") == 4


async def test_metrics_label_no_operation_by_a_name_clients_made_up(
    client: httpx.AsyncClient,
) -> None:
    before = (await client.get("/metrics")).text
    for number in range(3):
        query = f"query MadeUp{number} {{ states {{ code }} }}"
        assert (await client.post("/graphql", json={"query": query})).status_code == 200
    await client.post("/graphql", json={"query": "{ states { code } }"})
    after = (await client.get("/metrics")).text
    assert "MadeUp" not in after
    grew = {
        operation: sample(after, "hub_requests_total", operation=operation, outcome="ok")
        - sample(before, "hub_requests_total", operation=operation, outcome="ok")
        for operation in ("other", "anonymous")
    }
    assert grew == {"other": 3, "anonymous": 1}


@pytest.mark.parametrize(
    ("production", "token", "authorization", "status"),
    [
        (True, None, None, 404),
        (True, "s3cret", None, 401),
        (True, "s3cret", "Bearer wrong", 401),
        (True, "s3cret", "Bearer s3cret", 200),
        (False, None, None, 200),
        (False, "s3cret", None, 401),
    ],
)
async def test_metrics_answer_only_scrapers_bearing_the_token_in_production(
    connection: AsyncConnection,
    production: bool,
    token: str | None,
    authorization: str | None,
    status: int,
) -> None:
    settings = replace(Settings.from_env(), production=production, metrics_token=token)
    headers = {"Authorization": authorization} if authorization else {}
    async for client in asgi_client(connection, settings):
        response = await client.get("/metrics", headers=headers)
    assert response.status_code == status
    assert ("hub_requests_total" in response.text) == (status == 200)


async def test_every_response_names_its_request_id(client: httpx.AsyncClient) -> None:
    generated = await client.post("/graphql", json=STATES)
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-ID"])
    kept = await client.post("/graphql", json=STATES, headers={"X-Request-ID": "portal-42"})
    assert kept.headers["X-Request-ID"] == "portal-42"
    forged = await client.post("/graphql", json=STATES, headers={"X-Request-ID": "a\nb"})
    assert forged.headers["X-Request-ID"] != "a\nb"


@pytest.fixture
async def own_database(server_url: str) -> AsyncIterator[str]:
    """An empty database of this test's own (`serve` loads the demo data into it)."""
    url = await create_database(server_url)
    yield url
    await drop_database(server_url, url)


# A contact typed as literals; personal data in a literal beside a FORBIDDEN error.
SUBMITTED = """mutation { submitApplication(input: {kind: PARTNER, organisationName: "Logtest",
  contact: {fullName: "Erika Muster", email: "erika@logtest.example", phone: "+49 30 1234567"}})
  { withdrawToken } }"""
BESIDE_FORBIDDEN = """{ search(text: "Erika Muster +49 30 1234567") { totalCount }
  city(slug: "aachen") { contacts { email } } }"""
SUBSCRIPTIONS = [
    'subscription { fundingRecorded(funder: "erika@logtest.example") { title } }',
    'subscription { fundingRecorded(funder: "erika@logtest.example") { nothing } }',
]


@pytest.mark.slow
async def test_logs_are_json_lines_without_personal_data(own_database: str) -> None:
    env = environment(HUB_ENV="production", HUB_LOG_LEVEL="DEBUG", DATABASE_URL=own_database)
    port = free_port()
    with serving(port, env) as process:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await client.post("/graphql", json=STATES, headers={"X-Request-ID": "log-test"})
            application = {
                "kind": "PARTNER",
                "organisationName": "Stiftung Logtest",
                "contact": {"fullName": "Erika Muster", "email": "erika@logtest.example"},
            }
            await mutate(client, "submitApplication", {"input": application}, selection="")
            answer = (await client.post("/graphql", json={"query": SUBMITTED})).json()
            assert answer["data"]["submitApplication"]["withdrawToken"]
            answer = (await client.post("/graphql", json={"query": BESIDE_FORBIDDEN})).json()
            assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        for query in SUBSCRIPTIONS:
            async with websockets.connect(
                f"ws://127.0.0.1:{port}/graphql",
                subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            ) as socket:
                await socket.send(json.dumps({"type": "connection_init"}))
                await socket.recv()
                message = {"id": "1", "type": "subscribe", "payload": {"query": query}}
                await socket.send(json.dumps(message))
                with suppress(TimeoutError):
                    await asyncio.wait_for(socket.recv(), 1.0)
    output = process.stdout.read() if process.stdout else ""
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    requests = [record for record in records if record.get("name") == "engagement_hub.requests"]
    assert any(
        record["request_id"] == "log-test" and record["operation"] == "StatesForMetrics"
        for record in requests
    )
    assert any(record.get("status") == 200 and record.get("sql_statements") for record in requests)
    assert any(record.get("error_codes") == {"FORBIDDEN": 1} for record in requests)
    # No error of the requests is logged (they are all the client's), counted instead.
    errors_logged = ("schema.extensions", "strawberry.execution")
    assert not [record for record in records if record["name"] in errors_logged]
    assert "erika" not in output.lower() and "Muster" not in output and "1234567" not in output


# Run in processes of their own: prometheus-client picks its multiprocess mode on import.
COUNT_IN_A_WORKER = (
    "from hub.observability import REQUESTS; REQUESTS.labels('Shared', 'ok').inc({})"
)
SCRAPE = """
import asyncio, httpx
from server import create_app

async def scrape():
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        print((await client.get("/metrics")).text)

asyncio.run(scrape())
"""


def test_metrics_add_up_what_every_worker_process_counted(tmp_path: Path) -> None:
    env = environment(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    for requests in (2, 3):
        subprocess.run(
            [sys.executable, "-c", COUNT_IN_A_WORKER.format(requests)], env=env, check=True
        )
    scraped = subprocess.run(
        [sys.executable, "-c", SCRAPE], env=env, check=True, capture_output=True, text=True
    )
    assert sample(scraped.stdout, "hub_requests_total", operation="Shared", outcome="ok") == 5


@pytest.mark.slow
async def test_serve_with_workers_reports_the_requests_of_all_of_them(own_database: str) -> None:
    port = free_port()
    env = environment(DATABASE_URL=own_database)
    assert "PROMETHEUS_MULTIPROC_DIR" not in env
    with serving(port, env, options=("--workers", "2")):
        # A new connection for each request, so that both workers get some.
        for _ in range(12):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                assert (await client.post("/graphql", json=STATES)).status_code == 200
        scrapes = []
        for _ in range(4):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                scrapes.append((await client.get("/metrics")).text)
    for scraped in scrapes:
        requests = sample(scraped, "hub_requests_total", operation="other", outcome="ok")
        assert requests == 12
        assert sample(scraped, "hub_db_pool_connections", pool="reads", state="idle") >= 1


def test_json_lines_hold_time_level_fields_and_exception() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "hub.test", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info()
        )
    setattr(record, FIELDS, {"request_id": "r1", "status": 500})
    line = json.loads(JSONLines().format(record))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line.pop("time"))
    assert "ValueError: boom" in line.pop("exception")
    assert line == {
        "level": "ERROR",
        "name": "hub.test",
        "message": "failed x",
        "request_id": "r1",
        "status": 500,
    }
