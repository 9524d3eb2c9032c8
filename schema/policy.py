"""What a deployment lets run at all: introspection, and in allowlist mode registered operations."""

from collections.abc import Iterator

from graphql import NoSchemaIntrospectionCustomRule
from starlette.datastructures import State
from strawberry.extensions import SchemaExtension


class DeploymentPolicy(SchemaExtension):
    """Refuse introspection unless the settings allow it (`HUB_ALLOW_INTROSPECTION`), and in
    allowlist mode operations nobody registered (`hub.persisted`), before either read path runs.

    A schema extension, not the HTTP view, so that WebSocket operations obey it as well. The
    rules come from the app's state per operation: one schema serves apps of other settings.
    """

    def on_operation(self) -> Iterator[None]:
        if not self.app_state.settings.introspection:
            # The rules are part of the validation cache's key: no document validated with
            # introspection allowed is taken for one validated without.
            rules = self.execution_context.validation_rules
            self.execution_context.validation_rules = (*rules, NoSchemaIntrospectionCustomRule)
        yield

    def on_validate(self) -> Iterator[None]:
        refusal = self.app_state.persisted.refusal(self.execution_context.query)
        if refusal is not None:
            # The only error: validation's would describe the schema to whoever sends anything.
            # Listed after ValidationCache, this replaces what that found; strawberry validates
            # no further once errors are set.
            self.execution_context.pre_execution_errors = [refusal]
        yield

    @property
    def app_state(self) -> State:
        """The state of the app serving the operation (its settings, its persisted queries)."""
        state: State = self.execution_context.context.request.app.state
        return state
