"""The hub behind a real caching reverse proxy, Debian's nginx (`make test` installs it),
configured as docs/caching.md shows: it serves the public's answers from its cache for the
hub's max-age, never a credential's, and revalidates with If-None-Match, which the hub
answers 304 while nothing changed."""

import asyncio
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import demo_database, drop_database
from tests.test_cli import environment, free_port, serving
from tests.test_gateway_mode import office_key_and_city

MAX_AGE_SECONDS = 2
QUERY = '{ city(slug: "bitburg") { name description } }'
DESCRIBE = """mutation Describe($id: ID!, $description: String!) {
  updateCity(id: $id, input: {description: $description}) { errors { code } }
}"""
# nginx counts time in whole seconds and takes an answer for expired once a second has begun
# after its max-age: one kept at 10.0 s for 2 s is fresh up to 13.0 s.
EXPIRED_AFTER_SECONDS = MAX_AGE_SECONDS + 1.5
NGINX_STARTUP_SECONDS = 10
# What the hub's log says of each request it answered (text format).
REQUEST_LINE = re.compile(r"engagement_hub\.requests: (GET|POST) /graphql (\d+)")

NGINX_CONFIG = """
{user}
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {directory}/access.log;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    proxy_cache_path {directory}/cache levels=1:2 keys_zone=hub:1m max_size=100m;
    server {{
        listen 127.0.0.1:{port};
        location /graphql {{
            proxy_pass http://127.0.0.1:{hub_port};
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_cache hub;
            proxy_cache_revalidate on;
            proxy_cache_lock on;
            proxy_cache_use_stale error timeout;
            proxy_cache_background_update on;
            add_header X-Cache-Status $upstream_cache_status always;
        }}
    }}
}}
"""


@contextmanager
def nginx(directory: Path, hub_port: int) -> Iterator[str]:
    """Debian's nginx, caching in front of the hub at `hub_port`, until the block ends; its
    URL. As root, its worker runs as root too, to reach `directory`."""
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed: `make test` installs it (apt-get install nginx-light)")
    port = free_port()
    user = "user root;" if os.geteuid() == 0 else ""
    config = directory / "nginx.conf"
    config.write_text(
        NGINX_CONFIG.format(user=user, directory=directory, port=port, hub_port=hub_port)
    )
    process = subprocess.Popen(
        ["nginx", "-c", str(config), "-p", str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_nginx(port, process, directory)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGQUIT)  # nginx's graceful shutdown
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for_nginx(port: int, process: subprocess.Popen[str], directory: Path) -> None:
    """Wait until nginx accepts connections; fail with its error log if it exits first."""
    deadline = time.monotonic() + NGINX_STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error_log = directory / "error.log"
            log = error_log.read_text() if error_log.exists() else ""
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"nginx exited with {process.returncode}:\n{output}\n{log}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz")
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("nginx did not start in time")


def hub_saw(output: str) -> list[str]:
    """The /graphql requests the hub answered, in order, as `GET 200`."""
    return [" ".join(match) for match in REQUEST_LINE.findall(output)]


@pytest.mark.slow
async def test_nginx_caches_the_publics_answers_for_their_max_age(
    server_url: str, tmp_path: Path
) -> None:
    url = await demo_database(server_url)
    try:
        key, bitburg = await office_key_and_city(url, "bitburg")
        env = environment(
            DATABASE_URL=url,
            HUB_HTTP_MAX_AGE_SECONDS=str(MAX_AGE_SECONDS),
            HUB_HTTP_STALE_WHILE_REVALIDATE_SECONDS="0",
            HUB_LOG_FORMAT="text",
        )
        hub_port = free_port()
        with serving(hub_port, env) as hub, nginx(tmp_path, hub_port) as proxy_url:
            office = {"Authorization": f"Bearer {key}"}
            async with (
                httpx.AsyncClient(base_url=proxy_url, timeout=30) as proxy,
                httpx.AsyncClient(timeout=30) as direct,
            ):

                async def ask(**headers: str) -> httpx.Response:
                    return await proxy.get("/graphql", params={"query": QUERY}, headers=headers)

                missed, hit = await ask(), await ask()
                authenticated = [await ask(**office), await ask(**office)]
                await asyncio.sleep(EXPIRED_AFTER_SECONDS)
                revalidated, hit_again = await ask(), await ask()
                variables = {"id": bitburg, "description": "Neu beschrieben."}
                written = await direct.post(
                    f"http://127.0.0.1:{hub_port}/graphql",
                    json={"query": DESCRIBE, "variables": variables},
                    headers=office,
                )
                still_cached = await ask()
                await asyncio.sleep(EXPIRED_AFTER_SECONDS)
                after_the_write = await ask()
        seen = hub_saw(hub.stdout.read())
    finally:
        await drop_database(server_url, url)

    assert [missed.headers["x-cache-status"], hit.headers["x-cache-status"]] == ["MISS", "HIT"]
    assert hit.json() == missed.json()
    assert missed.headers["cache-control"] == f"public, max-age={MAX_AGE_SECONDS}"
    assert [response.headers["x-cache-status"] for response in authenticated] == ["MISS"] * 2
    assert {response.headers["cache-control"] for response in authenticated} == {
        "private, no-cache"
    }
    assert revalidated.headers["x-cache-status"] == "REVALIDATED"
    assert hit_again.headers["x-cache-status"] == "HIT"
    assert written.json()["data"]["updateCity"]["errors"] == []
    assert still_cached.headers["x-cache-status"] == "HIT"
    assert still_cached.json()["data"]["city"]["description"] != "Neu beschrieben."
    assert after_the_write.headers["x-cache-status"] == "EXPIRED"
    assert after_the_write.json()["data"]["city"]["description"] == "Neu beschrieben."
    # The hub saw no hit; it answered the revalidation of its unchanged answer with a 304.
    assert seen == ["GET 200", "GET 200", "GET 200", "GET 304", "POST 200", "GET 200"]
