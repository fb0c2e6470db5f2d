"""GraphQL over HTTP: error codes and masking, pre-execution limits, body size, media types.

Everything here runs before a resolver does, or after execution has finished; a refused request
never opens a database session.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import AddValidationRules, SchemaExtension

from hub.errors import HubError

logger = logging.getLogger("slrt.api")

# GraphQL over HTTP's own response media type, answered when the client asks for it.
GRAPHQL_RESPONSE = "application/graphql-response+json"

GENERIC_MESSAGE = "Internal error. Quote the error id when reporting it."


def format_error(error: GraphQLError) -> GraphQLError:
    """Expected errors carry their code; unexpected ones are replaced by a generic message and an id."""
    original = error.original_error
    if isinstance(original, HubError):
        extensions: dict[str, Any] = {"code": original.code}
        if field := original.details.get("field"):
            extensions["field"] = field
        return GraphQLError(original.message, error.nodes, error.source, error.positions, error.path,
                            original, extensions)
    if isinstance(original, GraphQLError) and (original.extensions or {}).get("code"):
        # A resolver that raised a GraphQLError with a code chose its answer deliberately.
        return GraphQLError(original.message, error.nodes, error.source, error.positions, error.path, None,
                            dict(original.extensions or {}))
    # No original error, or no path (variable coercion, parsing, validation: nothing executed yet),
    # means the request itself was at fault: the caller gets the message, there is nothing to mask.
    if original is None or error.path is None:
        if error.extensions and "code" in error.extensions:
            return error
        code = "GRAPHQL_PARSE_FAILED" if isinstance(error, GraphQLSyntaxError) else "GRAPHQL_VALIDATION_FAILED"
        return GraphQLError(error.message, error.nodes, error.source, error.positions, error.path, None,
                            {**(error.extensions or {}), "code": code})
    error_id = uuid.uuid4().hex
    logger.error("unexpected error %s at %s", error_id, error.path, exc_info=original)
    return GraphQLError(GENERIC_MESSAGE, error.nodes, error.source, error.positions, error.path, None,
                        {"code": "INTERNAL", "errorId": error_id})


class HubErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [format_error(e) for e in errors]


def _count_root_fields(selection_set: SelectionSetNode, context: ValidationContext, seen: set[str]) -> int:
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += 1
        elif isinstance(selection, InlineFragmentNode):
            count += _count_root_fields(selection.selection_set, context, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = context.get_fragment(selection.name.value)
            if fragment is not None:
                count += _count_root_fields(fragment.selection_set, context, seen)
    return count


class RootFieldLimiter(AddValidationRules):
    """Refuse operations that ask for more than ``maximum`` top-level fields (a cheap batching guard)."""

    def __init__(self, maximum: int) -> None:
        class RootFieldLimit(ValidationRule):
            def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
                count = _count_root_fields(node.selection_set, self.context, set())
                if count > maximum:
                    self.report_error(GraphQLError(
                        f"'{node.name.value if node.name else 'anonymous'}' asks for {count} root fields; "
                        f"at most {maximum} are allowed per operation", node,
                        extensions={"code": "TOO_MANY_ROOT_FIELDS"}))

        super().__init__([RootFieldLimit])


def _error_body(message: str, code: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands out ``body`` (already read) as one message, then defers to ``receive``."""
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, declared or streamed, before the app sees them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._too_large(send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, replay(b"".join(chunks), receive), send)

    async def _too_large(self, send: Send) -> None:
        body = _error_body(f"request body is larger than {self.max_bytes} bytes", "REQUEST_TOO_LARGE")
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
