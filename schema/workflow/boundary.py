"""The mutation boundary: one transaction per mutation, expected errors as data, the rest masked.

A resolver hands ``run_mutation`` a function of (session, principal). Authentication is checked
first; the function runs inside ``unit_of_work`` (commit on success, roll back on any error). A
``HubError`` becomes a ``UserError`` with its code, after the rollback, so a refusal never leaves
a trace. Anything else is logged with a fresh error id and answered with ``INTERNAL`` and that id:
the caller can quote it, the log has the traceback, and no internal detail leaks.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from hub.db.engine import unit_of_work
from hub.errors import HubError
from schema.context import Context, Info
from schema.errors import ErrorCode, UserError

T = TypeVar("T")
logger = logging.getLogger("slrt.schema.mutations")


class Unauthenticated(HubError):
    code = "UNAUTHENTICATED"


async def run_mutation(info: Info, operation: Callable[[AsyncSession, Principal], Awaitable[T]]) -> T | UserError:
    principal = info.context.principal
    if principal is None:
        return UserError(code=ErrorCode.UNAUTHENTICATED, message="authentication required")
    try:
        async with unit_of_work(info.context.sessionmaker, principal) as session:
            return await operation(session, principal)
    except HubError as error:
        return UserError.from_error(error)
    except Exception:
        error_id = uuid.uuid4().hex
        logger.exception("mutation %s failed [error_id=%s]", info.field_name, error_id)
        return UserError(code=ErrorCode.INTERNAL, message=f"internal error; quote error id {error_id}")


@asynccontextmanager
async def read_session(context: Context) -> AsyncIterator[tuple[AsyncSession, Principal]]:
    """The request's one scoped read transaction (``Context.read_session``), for a query resolver or a
    DataLoader batch: the scope is set once per request, and a connection's page, its ``totalCount``
    and the loaders of its nested fields take turns on it instead of opening a transaction each."""
    principal = context.principal
    if principal is None:
        raise Unauthenticated("authentication required")
    async with context.read_session() as session:
        yield session, principal
