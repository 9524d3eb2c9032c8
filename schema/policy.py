"""What a deployment lets run at all: introspection, and in allowlist mode registered operations."""

import re
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from graphql import GraphQLError, NoSchemaIntrospectionCustomRule
from starlette.datastructures import State
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import StreamExecutionResult

from hub.gateway import from_gateway

# graphql-core's suggestion in an error, e.g. " Did you mean 'name'?" (names hold no "?").
SUGGESTION = re.compile(r" Did you mean [^?]*\?")


@runtime_checkable
class ResultWithErrors(Protocol):
    """An execution result of any kind: graphql-core's, strawberry's, a stream's."""

    errors: list[GraphQLError] | None


class NoIntrospection(NoSchemaIntrospectionCustomRule):
    """graphql-core's refusal of introspection, as one error with a code for the document:
    graphql-core's reports every introspection field of it (39 for GraphiQL's query), and
    without a code."""

    refused = False

    def report_error(self, error: GraphQLError) -> None:
        if not self.refused:
            self.refused = True
            super().report_error(
                GraphQLError(
                    error.message, error.nodes, extensions={"code": "INTROSPECTION_DISABLED"}
                )
            )


class DeploymentPolicy(SchemaExtension):
    """Refuse introspection unless the settings allow it (`HUB_ALLOW_INTROSPECTION`), and in
    allowlist mode operations nobody registered (`hub.persisted`) unless the gateway sends them
    (`hub.gateway`), before either read path runs.

    A schema extension, not the HTTP view, so that WebSocket operations obey it as well. The
    rules come from the app's state per operation: one schema serves apps of other settings.
    """

    def on_operation(self) -> Iterator[None]:
        hidden = not self.app_state.settings.introspection
        if hidden:
            # The rules are part of the validation cache's key: no document validated with
            # introspection allowed is taken for one validated without.
            rules = self.execution_context.validation_rules
            self.execution_context.validation_rules = (*rules, NoIntrospection)
        yield
        if hidden:
            without_suggestions(self.execution_context.result)

    def on_validate(self) -> Iterator[None]:
        refusal = self.allowlist_refusal()
        if refusal is not None:
            # The only error: validation's would describe the schema to whoever sends anything.
            # Listed after ValidationCache, this replaces what that found; strawberry validates
            # no further once errors are set.
            self.execution_context.pre_execution_errors = [refusal]
        yield

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        """Over WebSocket, results go out before the operation ends: each is cleaned first."""
        if not self.app_state.settings.introspection:
            without_suggestions(result)
        yield

    def allowlist_refusal(self) -> GraphQLError | None:
        """Why the operation may not run in allowlist mode, or None; the gateway (its secret,
        `hub.gateway`) enforces the trusted documents itself, and so passes."""
        if from_gateway(self.execution_context.context.request):
            return None
        return self.app_state.persisted.refusal(self.execution_context.query)

    @property
    def app_state(self) -> State:
        """The state of the app serving the operation (its settings, its persisted queries)."""
        state: State = self.execution_context.context.request.app.state
        return state


def without_suggestions(result: object) -> None:
    """Drop graphql-core's "Did you mean …?" from the errors of `result`.

    With introspection refused, suggestions would name the schema's fields, arguments, types
    and enum values to whoever guesses near them. graphql-core can leave them out itself
    (`hide_suggestions` of `validate` and `execute`), but strawberry passes no such option,
    and its own `disable_field_suggestions` holds for a whole schema (here one serves apps of
    both settings) and for field names only. So the errors are rewritten, as strawberry's
    MaskErrors rewrites errors; as new errors, since the validation cache shares its own
    between requests of every app.
    """
    # Most results have no errors: asked first, as a protocol check costs more than the rest.
    errors = getattr(result, "errors", None)
    if errors and isinstance(result, ResultWithErrors):
        result.errors = [without_suggestion(error) for error in errors]


def without_suggestion(error: GraphQLError) -> GraphQLError:
    """`error`, or a copy of it without suggestions if it makes any."""
    message = SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        error.original_error,
        error.extensions,
    )
