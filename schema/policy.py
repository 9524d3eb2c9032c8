"""What a deployment lets run at all: in allowlist mode, registered operations only."""

from collections.abc import Iterator

from starlette.datastructures import State
from strawberry.extensions import SchemaExtension


class DeploymentPolicy(SchemaExtension):
    """Refuse, in allowlist mode, operations nobody registered (`hub.persisted`), before either
    read path runs.

    A schema extension, not the HTTP view, so that WebSocket operations obey it as well. The
    rules come from the app's state per operation: one schema serves apps of other settings.
    """

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
