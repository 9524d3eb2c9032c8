"""Prepared operations: a query the compiled read path answered once is answered again
without strawberry's execution of it.

For a small compiled query, strawberry's execution (its execution context, the hooks of every
schema extension, graphql-core's executor) took about half of the app's CPU, although the
parse, the validation, the cost and the plan of the query were all cached already
(docs/benchmarks.md). So once the compiled path answered a query text without errors, the HTTP
view (server.GraphQLApp) answers the next request with that text, operation name and viewer's
access here: it coerces the variables, takes the cost and the plan from their caches, charges
the rate budget, runs the SQL and reports the figures as the extensions and the executor do,
by the same functions. Anything unusual goes the normal way before anything is charged or run:
variables that do not fit, a cost or plan no longer cached, a cost over the limit, a plan
that may mark forbidden fields. The normal path then answers, and
reports what it finds.

Hand-written: strawberry has no shortcut for operations it answered before, and graphql-core's
executor always walks the operation.
"""

import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, GraphQLSchema
from graphql.execution.values import VariableValues, get_variable_values
from strawberry import Schema
from strawberry.types import ExecutionResult

from resolvers.compiler import RawJSON
from resolvers.context import Context
from resolvers.executor import PLANS
from resolvers.plans import CompiledOperation, Plan, RefusedValue
from schema.extensions import (
    close_session,
    debug_report,
    log_unexpected,
    masked,
    record_figures,
)
from schema.limits import COSTS, LIMITS, charge_or_refuse, cost_report

MAX_OPERATIONS = 1000


@dataclass(frozen=True)
class PreparedOperation:
    """A query text the compiled path answered without errors, and how it did."""

    query: str
    compiled: CompiledOperation


@dataclass(frozen=True)
class Run:
    """What one request of a prepared operation runs: its plan's SQL with these arguments,
    at this cost."""

    plan: Plan
    arguments: tuple[Any, ...]
    cost: int


class PreparedOperations:
    """The prepared operations of one app, by query text, operation name and the viewer's
    access (what the viewer may see decides the plan); least recently used first out."""

    def __init__(self, max_operations: int = MAX_OPERATIONS) -> None:
        self.max_operations = max_operations
        self.operations: OrderedDict[Hashable, PreparedOperation] = OrderedDict()

    def get(
        self, query: str | None, operation_name: str | None, context: Context
    ) -> PreparedOperation | None:
        """The prepared operation of this request, or None."""
        key = operation_key(query, operation_name, context)
        prepared = self.operations.get(key)
        if prepared is not None:
            self.operations.move_to_end(key)
        return prepared

    def learn(
        self,
        query: str | None,
        operation_name: str | None,
        context: Context,
        result: ExecutionResult,
    ) -> None:
        """Prepare the request's operation if the compiled path answered it without errors."""
        compiled = context.compiled_operation
        if compiled is None or query is None or result.errors:
            return
        key = operation_key(query, operation_name, context)
        self.operations[key] = PreparedOperation(query, compiled)
        if len(self.operations) > self.max_operations:
            self.operations.popitem(last=False)


def operation_key(query: str | None, operation_name: str | None, context: Context) -> Hashable:
    """The key of a request's prepared operation."""
    return (query, operation_name, context.viewer.access)


async def answered(
    prepared: PreparedOperation,
    schema: Schema,
    context: Context,
    variables: dict[str, Any] | None,
) -> ExecutionResult | None:
    """The answer to a request of `prepared` with these variables, or None where the normal
    path must answer it (nothing has been charged or run then)."""
    started = time.perf_counter()
    run = planned_run(prepared, schema._schema, variables or {})
    if run is None:
        return None
    try:
        data, errors = await read(run, context)
    finally:
        await close_session(context)
    if errors:
        log_unexpected(errors, context)
        errors = masked(errors)
    name = prepared.compiled.name
    record_figures(context, name, prepared.query, errors or [], data is not None)
    extensions = debug_report(context, started) | cost_report(run.cost)
    return ExecutionResult(data=data, errors=errors, extensions=extensions)


async def read(run: Run, context: Context) -> tuple[Any, list[GraphQLError] | None]:
    """Charge the run's cost, then read its JSON: (data, None), or (None, errors) where the
    rate limit refused it, or the charge or the read failed (errors masked for the client,
    unexpected ones logged with their tracebacks)."""
    try:
        await charge_or_refuse(context.request, context.viewer, run.cost)
    except Exception as error:
        return None, [as_graphql_error(error)]
    context.read_from_replica()
    context.read_path = "prepared"
    context.answered_query = True
    context.answer_reads = run.plan.reads(run.arguments)
    try:
        return RawJSON(await context.read_json(run.plan.sql, run.arguments)), None
    except Exception as error:
        return None, [as_graphql_error(error)]


def as_graphql_error(error: Exception) -> GraphQLError:
    """`error` as the GraphQL error strawberry reports for it."""
    if isinstance(error, GraphQLError):
        return error
    return GraphQLError(str(error), original_error=error)


def planned_run(
    prepared: PreparedOperation, schema: GraphQLSchema, variables: dict[str, Any]
) -> Run | None:
    """The plan, bind values and cost of this request, if all are cached and it may run."""
    compiled = prepared.compiled
    coerced = get_variable_values(schema, compiled.variable_definitions, variables)
    if not isinstance(coerced, VariableValues):
        return None
    _found, plan = PLANS.get(compiled.plan_key, coerced.coerced)
    if plan is None or plan.marks_forbidden:
        return None
    try:
        arguments = plan.arguments(coerced.coerced)
    except RefusedValue:
        return None
    cost = COSTS.known(prepared.query, compiled.name, variables)
    if cost is None or cost > LIMITS.max_query_cost:
        return None
    return Run(plan, arguments, cost)
