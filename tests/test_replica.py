"""Read replicas: with `DATABASE_REPLICA_URL`, queries read from the replica (on both read
paths) while writes and credentials stay on the primary. The replica here is a second
PostgreSQL started by the test, holding a copy of the data that differs in one name."""

import httpx
import pytest
from sqlalchemy import text

from hub.database import create_engine, session_factory
from hub.embedded import EmbeddedPostgres
from models import Role
from tests.conftest import demo_database, drop_database
from tests.factories import add_key
from tests.test_cli import environment, free_port, serving
from tests.writes import mutate

CITY = '{ city(slug: "dessau-rosslau") { name } }'
# The compiler plans no introspection: the resolvers answer this one.
CITY_ON_RESOLVERS = '{ city(slug: "dessau-rosslau") { name } __type(name: "City") { name } }'


async def execute(url: str, statement: str) -> object:
    """Run one statement on the database of `url`, committed; its first value, if any."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement))
            return result.scalar() if result.returns_rows else None
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_queries_read_from_the_replica_and_writes_go_to_the_primary(
    server_url: str, second_server: EmbeddedPostgres
) -> None:
    primary = await demo_database(server_url)
    replica = await demo_database(second_server.url)
    try:
        await execute(
            replica, "UPDATE cities SET name = 'Dessau (Replik)' WHERE slug = 'dessau-rosslau'"
        )
        engine = create_engine(primary)
        async with session_factory(engine)() as session:
            admin = await add_key(session, Role.ADMIN)  # on the primary only
            await session.commit()
        await engine.dispose()
        env = environment(DATABASE_URL=primary, DATABASE_REPLICA_URL=replica, HUB_DEBUG="1")
        port = free_port()
        with serving(port, env):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                for query, path in ((CITY, "compiled"), (CITY_ON_RESOLVERS, "resolvers")):
                    body = (await client.post("/graphql", json={"query": query})).json()
                    assert body["data"]["city"] == {"name": "Dessau (Replik)"}
                    assert body["extensions"]["debug"]["readPath"] == path
                theme = {"slug": "nur-primaer", "nameDe": "Nur primär", "nameEn": "Primary only"}
                created = await mutate(client, "createTheme", {"input": theme}, admin)
                assert created["errors"] == []
        count = "SELECT count(*) FROM themes WHERE slug = 'nur-primaer'"
        assert (await execute(primary, count), await execute(replica, count)) == (1, 0)
    finally:
        await drop_database(server_url, primary)
        await drop_database(second_server.url, replica)
