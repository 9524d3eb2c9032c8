"""Client errors and their codes (`extensions.code`): a client's mistake is always a coded
error, never "Unexpected error.". The codes of requests that do not parse or validate are
Apollo Server's, which clients and gateways already know."""

from graphql import GraphQLError

BAD_USER_INPUT = "BAD_USER_INPUT"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


def bad_input(message: str) -> GraphQLError:
    """A client error about an argument's or a variable's value."""
    return GraphQLError(message, extensions={"code": BAD_USER_INPUT})


def coded(error: GraphQLError, code: str) -> GraphQLError:
    """`error`, carrying `code` unless it carries a code of its own already."""
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": code}
    return error
