"""Before timing: which queries the hub offers, what they cost in statements, and whether the
other servers answer with the same objects."""

import json
import re
from dataclasses import dataclass
from typing import Any

from bench.mix import Json, Query, Variables
from bench.servers import FLOOR, HUB, POSTGRAPHILE, HubSource, Server, ServerError

QUERY_TYPE = re.compile(r"^type Query \{(.*?)^\}", re.MULTILINE | re.DOTALL)
DESCRIPTION = re.compile(r'""".*?"""', re.DOTALL)
# A field starts its line, two spaces in: `  city(` or `  states: [State!]!`.
ROOT_FIELD = re.compile(r"^  (\w+)[(:]", re.MULTILINE)


@dataclass
class Reference:
    """The hub's answer to one query of the mix, with its cost in statements."""

    query: Query
    variables: Variables
    data: Json
    statements: int
    bytes: int

    @property
    def objects(self) -> int:
        """How many objects the answer holds (connections and their edges left out)."""
        return count_objects(self.data)


def count_objects(value: Json) -> int:
    """Objects in a JSON answer, not counting connections, edges and page infos."""
    if isinstance(value, list):
        return sum(count_objects(item) for item in value)
    if not isinstance(value, dict):
        return 0
    wrapper = "edges" in value or set(value) == {"node"} or "hasNextPage" in value
    return (0 if wrapper else 1) + sum(count_objects(item) for item in value.values())


def hub_root_fields(source: HubSource) -> set[str]:
    """The root fields of the hub's schema, from its checked-in SDL (a test keeps it current),
    to tell which queries of the mix the hub offers yet."""
    sdl = (source.directory / "schema.graphql").read_text()
    query_type = QUERY_TYPE.search(sdl)
    if query_type is None:
        raise ServerError("the hub's schema.graphql has no Query type")
    # Descriptions go first: their text could look like fields.
    body = DESCRIPTION.sub("", query_type.group(1))
    return set(ROOT_FIELD.findall(body))


def reference_of(hub: Server, query: Query, scale: int) -> Reference:
    """The hub's answer and statement count (the hub must run with HUB_DEBUG=1)."""
    variables = query.variables(scale)
    answer = hub.ask(query, variables)
    if answer.get("errors"):
        raise MismatchError(f"the hub answered {query.name} with errors: {answer['errors']}")
    statements = answer["extensions"]["debug"]["sqlStatements"]
    size = len(json.dumps({"data": answer["data"]}).encode())
    return Reference(query, variables, answer["data"], statements, size)


class MismatchError(AssertionError):
    """A server answered differently from the hub, or the hub with errors."""


def check_same_objects(server: Server, reference: Reference) -> None:
    """Whether `server` answers the query as the hub does: the floor with the very same JSON,
    PostGraphile with the same objects in the same order, the hub itself unchanged."""
    answer = server.ask(reference.query, reference.variables)
    if answer.get("errors"):
        raise MismatchError(f"{server.kind} answered with errors: {answer['errors']}")
    mine, hubs = comparable(server.kind, reference, answer["data"])
    if mine != hubs:
        raise MismatchError(
            f"{server.kind} answers {reference.query.name} differently: "
            f"{first_difference(mine, hubs)}"
        )


def comparable(kind: str, reference: Reference, data: Json) -> tuple[Json, Json]:
    """The two answers in a form to compare: whole for the hub and floor, as objects else."""
    postgraphile = reference.query.postgraphile
    if kind == POSTGRAPHILE and postgraphile is not None:
        return postgraphile.shape(data), postgraphile.hub_shape(reference.data)
    assert kind in (HUB, FLOOR)
    return data, reference.data


def first_difference(mine: Any, theirs: Any, path: str = "") -> str:
    """Where two JSON values first differ, for a readable error."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        for key in sorted(set(mine) | set(theirs)):
            if mine.get(key) != theirs.get(key):
                return first_difference(mine.get(key), theirs.get(key), f"{path}.{key}")
    if isinstance(mine, list | tuple) and isinstance(theirs, list | tuple):
        if len(mine) != len(theirs):
            return f"{path or 'answer'}: {len(mine)} items, the hub {len(theirs)}"
        for index, (left, right) in enumerate(zip(mine, theirs, strict=True)):
            if left != right:
                return first_difference(left, right, f"{path}[{index}]")
    return f"{path or 'answer'}: {str(mine)[:120]} where the hub has {str(theirs)[:120]}"
