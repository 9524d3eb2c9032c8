"""Authentication: API keys as bearer credentials; bad credentials are a clear 401."""

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth import hash_key, new_key
from models.access import ApiKey, Role


async def add_key(db: AsyncSession, role: Role, **scope: object) -> str:
    """Store a new key with `role` and `scope`; return the key itself."""
    key = new_key()
    db.add(ApiKey(name="test", role=role, key_prefix=key[:12], key_hash=hash_key(key), **scope))
    await db.flush()
    return key


async def test_a_valid_key_is_accepted(client: httpx.AsyncClient, db: AsyncSession) -> None:
    key = await add_key(db, Role.ADMIN)
    response = await client.post(
        "/graphql",
        json={"query": "{ states { code } }"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200
    assert "errors" not in response.json()


async def test_an_unknown_key_is_refused_not_downgraded(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ states { code } }"},
        headers={"Authorization": f"Bearer {new_key()}"},
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    [error] = response.json()["errors"]
    assert error == {
        "message": "The API key is unknown or has been revoked.",
        "extensions": {"code": "UNAUTHENTICATED"},
    }


async def test_a_malformed_header_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ states { code } }"}, headers={"Authorization": "Basic eA=="}
    )
    assert response.status_code == 401
    assert "Malformed Authorization header" in response.json()["errors"][0]["message"]
