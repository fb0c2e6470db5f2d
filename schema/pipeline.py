"""The direct path for the common GraphQL request: a JSON POST of one operation.

Strawberry's HTTP view and its extension runner do the same steps through several layers of context
managers and hooks per request (measured: ~0.15 ms of CPU for ``{ __typename }``, more than the
hand-written baseline spends on a whole read). Here the steps are written out once, in order:

1. parse and validate the document, once per distinct query text (the result, errors included, is
   cached): the same parser options and validation rules as the extensions (``schema.app``);
2. execute with graphql-core and the schema's own executor class;
3. log and count the errors (``HubSchema.process_errors``), write the access-log entry before the
   response (``schema.audit.record_operation``, fail closed), mask unexpected errors
   (``schema.protocol.format_error``), and log and time the operation (as ``OperationObserver``).

Everything else (GET, GraphiQL, other media types, batches, malformed bodies, an operation name the
document does not define, tracing turned on) goes to strawberry's view unchanged, so it answers those
exactly as before. The test suite runs over HTTP, so it exercises this path on every POST.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from inspect import isawaitable
from time import perf_counter
from typing import Any

import orjson
import strawberry
from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    execute,
    parse,
    specified_rules,
    validate,
)
from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from schema.audit import Analysis, ReservedResponseNames, analyse, close_reads, record_operation
from schema.context import Context
from schema.observability import observe_operation
from schema.protocol import GRAPHQL_RESPONSE, format_error, replay

GRAPHQL_RESPONSE_BYTES = GRAPHQL_RESPONSE.encode()


@dataclass(frozen=True, slots=True)
class Prepared:
    """One distinct query text, parsed and validated: either refused (``errors``) or ready to run."""

    errors: tuple[GraphQLError, ...] = ()
    analysis: Analysis | None = None
    operations: tuple[OperationDefinitionNode, ...] = ()

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        if name is None:
            return self.operations[0] if len(self.operations) == 1 else None
        for operation in self.operations:
            if operation.name is not None and operation.name.value == name:
                return operation
        return None


class DirectGraphQL:
    """ASGI app for ``/graphql``: JSON POSTs of one operation here, everything else to ``fallback``."""

    def __init__(self, schema: strawberry.Schema, fallback: Any, *, rules: Sequence[type[ASTValidationRule]],
                 max_tokens: int, authenticate: Any, enabled: bool = True, cache_size: int = 1024) -> None:
        self.schema = schema
        self.fallback = fallback
        self.authenticate = authenticate
        self.enabled = enabled
        self.max_tokens = max_tokens
        # The order strawberry validates in: graphql-core's rules, the extensions' (limits, reserved
        # response names), then strawberry's own two.
        self.rules = (*specified_rules, *rules, ReservedResponseNames, MaybeNullValidationRule,
                      OneOfInputValidationRule)
        self.prepare = functools.lru_cache(maxsize=cache_size)(self._prepare)

    def _prepare(self, query: str) -> Prepared:
        try:
            document: DocumentNode = parse(query, max_tokens=self.max_tokens)
        except GraphQLError as error:
            return Prepared(errors=(error,))
        errors = validate(self.schema._schema, document, self.rules)
        if errors:
            return Prepared(errors=tuple(errors), operations=tuple(
                d for d in document.definitions if isinstance(d, OperationDefinitionNode)))
        analysis = analyse(self.schema._schema, query)
        operations = tuple(d for d in analysis.document.definitions if isinstance(d, OperationDefinitionNode))
        return Prepared(analysis=analysis, operations=operations)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope["type"] != "http" or scope["method"] != "POST":
            await self.fallback(scope, receive, send)
            return
        content_type = b""
        accept = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"accept":
                accept = value
        body = b""
        if content_type.split(b";", 1)[0].strip().lower() == b"application/json":
            body = await _read_body(receive)
            request = _single_operation(body)
            if request is not None:
                response = await self._run(scope, *request, accept)
                if response is not None:
                    await _send(send, *response)
                    return
        else:
            await self.fallback(scope, receive, send)
            return
        await self.fallback(scope, replay(body, receive), send)

    async def _run(self, scope: Scope, query: str, variables: dict[str, Any] | None, operation_name: str | None,
                   accept: bytes) -> tuple[int, bytes, bytes] | None:
        """The response (status, media type, body), or None to let strawberry's view answer."""
        prepared = self.prepare(query)
        operation = prepared.operation(operation_name)
        if operation is None and prepared.operations:
            return None  # no such operation, or several and no name: strawberry words the error
        started = perf_counter()
        request = Request(scope)
        principal = await self.authenticate(request)
        state = scope["app"].state.hub
        context = Context(request=request, response=None, settings=state.settings, sessionmaker=state.sessionmaker,
                          principal=principal, sync_queue=state.sync_queue)
        name = operation_name if operation_name is not None else (
            operation.name.value if operation is not None and operation.name else None)
        kind = operation.operation.value if operation is not None else "unknown"
        errors: list[GraphQLError]
        body: dict[str, Any]
        try:
            if prepared.analysis is None or operation is None:
                errors = list(prepared.errors)
                self.schema.process_errors(errors)
                body = {}
            else:
                result: Any = execute(self.schema._schema, prepared.analysis.document, None, context, variables,
                                      name, executor_class=self.schema.execution_context_class)
                if isawaitable(result):
                    result = await result
                errors = list(result.errors or [])
                if errors:
                    self.schema.process_errors(errors)
                try:
                    await record_operation(context, query, prepared.analysis, result, name, kind)
                except Exception as exc:  # the entry could not be written: no data leaves
                    errors = [GraphQLError(str(exc), original_error=exc)]
                    self.schema.process_errors(errors)
                    body = {"data": None}
                else:
                    body = {"data": result.data}
        finally:
            await close_reads(context)
        if prepared.operations:  # as strawberry's view: a document that did not parse is not counted
            observe_operation(name, kind, principal, errors, perf_counter() - started)
        if errors:
            body["errors"] = [format_error(e).formatted for e in errors]
        media_type = GRAPHQL_RESPONSE_BYTES if GRAPHQL_RESPONSE_BYTES in accept else b"application/json"
        # With the GraphQL response media type, a request that never executed is a client error.
        status = 400 if media_type != b"application/json" and "data" not in body else 200
        return status, media_type, orjson.dumps(body)


def _single_operation(body: bytes) -> tuple[str, dict[str, Any] | None, str | None] | None:
    """``(query, variables, operationName)`` of a plain single-operation request body, else None."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not data.keys() <= {"query", "variables", "operationName"}:
        return None
    query, variables, name = data.get("query"), data.get("variables"), data.get("operationName")
    if not isinstance(query, str) or not query or not isinstance(variables, dict | None) \
            or not isinstance(name, str | None):
        return None
    return query, variables, name


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, status: int, media_type: bytes, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", media_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
