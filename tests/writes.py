"""Helpers for tests of the mutations: requests under API keys, and snapshots of the data."""

from typing import Any

import httpx
from graphql import GraphQLObjectType, get_named_type
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.relay import to_base64

from models import Base
from schema import schema

ERRORS = "errors { __typename code message path }"


async def send(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """POST a GraphQL request, with `key` as bearer credential if given; the whole body."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def mutate(
    client: httpx.AsyncClient,
    mutation: str,
    variables: dict[str, Any],
    key: str | None = None,
    selection: str | None = None,
) -> dict[str, Any]:
    """Run the mutation `mutation` with `variables` as its arguments; its payload, selecting
    `selection` (`default_selection` unless told) and the errors. A top-level
    error fails the test: mutations answer with user errors."""
    body = await send(client, document(mutation, variables, selection), variables, key)
    assert "errors" not in body, body["errors"]
    return body["data"][mutation]


def document(mutation: str, variables: dict[str, Any], selection: str | None = None) -> str:
    """A mutation document passing `variables` as the arguments of the same names."""
    mutation_type = schema._schema.mutation_type
    assert mutation_type is not None
    field = mutation_type.fields[mutation]
    definitions = ", ".join(f"${name}: {field.args[name].type}" for name in variables)
    arguments = ", ".join(f"{name}: ${name}" for name in variables)
    payload = get_named_type(field.type)
    assert isinstance(payload, GraphQLObjectType)
    if selection is None:
        selection = default_selection(payload)
    signature = f"({definitions})" if definitions else ""
    return f"mutation {signature} {{ {mutation}({arguments}) {{ {selection} {ERRORS} }} }}"


def default_selection(payload: GraphQLObjectType) -> str:
    """The result's ID (its type name if it has none), or the removed ID."""
    if "result" not in payload.fields:
        return "removedId"
    result = get_named_type(payload.fields["result"].type)
    assert isinstance(result, GraphQLObjectType)
    return "result { id }" if "id" in result.fields else "result { __typename }"


def gid(entity: Any) -> str:
    """The global ID of a model instance (the types share the models' names)."""
    return to_base64(type(entity).__name__, entity.id)


def codes(payload: dict[str, Any]) -> list[str]:
    """The codes of a payload's user errors."""
    return [error["code"] for error in payload["errors"]]


def paths(payload: dict[str, Any]) -> list[list[str]]:
    """The paths of a payload's user errors."""
    return [error["path"] for error in payload["errors"]]


async def snapshot(connection: AsyncConnection) -> dict[str, str]:
    """A checksum of every table's rows, in one statement: equal snapshots, unchanged data."""
    names = [table.name for table in Base.metadata.sorted_tables]
    checksum = "(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t)"
    statement = text("SELECT " + ", ".join(checksum.format(f'"{name}"') for name in names))
    return dict(zip(names, (await connection.execute(statement)).one(), strict=True))
