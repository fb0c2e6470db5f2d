"""The access log from GraphQL: an extension that records every personal-data operation before the
response leaves (fail closed), and the auditors' ``accessLogs`` query.

The extension needs nothing from the resolvers: it reads the fields from the document, and collects
the records returned by watching which objects of the personal types get resolved (plus any global
IDs in the result). So it covers every current and future field of those types.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    NameNode,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    ValidationRule,
    Visitor,
    get_named_type,
    parse,
    visit,
)
from starlette.requests import Request
from strawberry.extensions import SchemaExtension

from auth.ratelimit import rate_key
from hub.audit import service as audit_service
from hub.audit.writer import AuditWriter
from hub.errors import HubError
from hub.metrics import audit_write_timer
from schema.context import Context, Info
from schema.ids import from_global_id, global_id_parts, to_global_id
from schema.types.common import After, Connection, First, connection, keyset_args
from schema.workflow.boundary import read_session

log = logging.getLogger(__name__)

# Quarantined: a source record set aside as received (names, NIKs), read by connector admins.
PERSONAL_TYPES = frozenset({"Person", "Household", "Family", "Enrolment", "Need", "Complaint", "Proposal", "Case",
                            "Review", "Quarantined"})
# Types whose reading is itself recorded: personal data, the access log (auditors are audited), API clients.
AUDITED_TYPES = PERSONAL_TYPES | {"AccessLog", "ApiClient", "ApiClientRegistration"}
# The analytics roots: reading them is recorded too, as an aggregate read (counts, no records).
AGGREGATE_TYPES = frozenset({"Dashboard", "FlaggedHouseholdPage"})
# Not personal types themselves, but each object is one personal record, named by its global ID: its
# id is selected like a personal type's (so the record is known even when the caller did not ask for
# it) and recorded as that record. A manager's targeting list returns households' addresses and heads.
RECORDED_AS = {"FlaggedHousehold": "Household"}
DENIED_CODES = frozenset({"UNAUTHENTICATED", "FORBIDDEN"})
MAX_FIELDS = 500


class AuditUnavailable(HubError):
    code = "INTERNAL"


ID_ALIAS = "_auditId"  # the injected selection is `_auditId<Type>: id`; removed from the result


class ReservedResponseNames(ValidationRule):
    """Refuses a caller's own field under a response name starting with ``_auditId``.

    Those names are the log's: ``Seen.walk`` takes such a key for the injected id and strips it. A
    caller's ``_auditIdPerson: name`` would make it skip the object's real ``id`` (or replace the
    injected selection, or log a household as a person), so records would leave unrecorded.
    """

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        name = (node.alias or node.name).value
        if name.startswith(ID_ALIAS):
            self.report_error(GraphQLError(f"response names starting with `{ID_ALIAS}` are reserved", node))


@dataclass(frozen=True)
class Analysis:
    document: DocumentNode  # the document to execute: every personal selection also asks for `id`
    fields: frozenset[str]  # ``Type.field`` coordinates the caller selected
    touches: bool  # whether any selection reads an audited type
    aggregates: bool = False  # whether any selection reads the analytics figures
    document_hash: str = ""  # SHA-256 of the caller's query text, as recorded in the log
    sorted_fields: tuple[str, ...] = ()  # ``fields`` in the order (and the number) the log keeps


def _selects_own_id(node: SelectionSetNode) -> bool:
    """Whether the caller already selects this object's ``id``, unconditionally and under its own
    name: then ``Seen.walk`` finds the global ID in the result and no extra selection is needed."""
    return any(isinstance(s, FieldNode) and s.name.value == "id" and s.alias is None and not s.directives
               for s in node.selections)


def _pages_audited(type_: Any) -> bool:
    """Whether ``type_`` is a connection or edge of an audited type: its ``totalCount``, ``pageInfo``
    and cursors tell about those records even when none of their fields is selected."""
    if not isinstance(type_, GraphQLObjectType):
        return False
    return any(name in type_.fields and get_named_type(type_.fields[name].type).name in AUDITED_TYPES
               for name in ("nodes", "node"))


@functools.lru_cache(maxsize=1024)
def analyse(schema: GraphQLSchema, query: str) -> Analysis:
    """Read the document once per distinct query: the fields it reads, and a copy that also selects
    the ``id`` of every personal object, so the records returned are known even when the caller did
    not ask for their ids. (A per-field resolver hook would do the same at every field of every
    request; this costs one AST walk per distinct document.)"""
    document: DocumentNode = parse(query)
    type_info = TypeInfo(schema)
    coordinates: set[str] = set()
    touched: list[bool] = []
    aggregates: list[bool] = []

    class Rewrite(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            parent = type_info.get_parent_type()
            if parent is None or node.name.value.startswith("__"):
                return
            coordinates.add(f"{parent.name}.{node.name.value}")
            if parent.name in AUDITED_TYPES or _pages_audited(parent):
                touched.append(True)
            returned = type_info.get_type()
            if returned is not None and (get_named_type(returned).name in AUDITED_TYPES
                                         or _pages_audited(get_named_type(returned))):
                touched.append(True)
            if returned is not None and get_named_type(returned).name in AGGREGATE_TYPES:
                aggregates.append(True)

        def enter_selection_set(self, node: SelectionSetNode, *_: Any) -> SelectionSetNode | None:
            parent = type_info.get_parent_type()
            if not isinstance(parent, GraphQLObjectType) or (
                    parent.name not in PERSONAL_TYPES and parent.name not in RECORDED_AS):
                return None
            if "id" not in parent.fields or _selects_own_id(node):
                return None
            extra = FieldNode(alias=NameNode(value=ID_ALIAS + parent.name), name=NameNode(value="id"),
                              arguments=(), directives=(), selection_set=None)
            return SelectionSetNode(selections=(*node.selections, extra))

    rewritten = visit(document, TypeInfoVisitor(type_info, Rewrite()))
    return Analysis(document=rewritten, fields=frozenset(coordinates), touches=bool(touched),
                    aggregates=bool(aggregates), document_hash=hashlib.sha256(query.encode()).hexdigest(),
                    sorted_fields=tuple(sorted(coordinates)[:MAX_FIELDS]))


def _uuid_int(value: Any) -> int | None:
    """The record an injected ``_auditId`` value names: a global ID of any type, or a bare UUID."""
    if isinstance(value, uuid.UUID):
        return value.int
    if isinstance(value, str):
        parts = global_id_parts(value)
        if parts is not None:
            return parts[1]
        try:
            return uuid.UUID(value).int
        except ValueError:
            return None
    return None


# What ``Seen.walk`` does with a response key: the same few names recur in every result, so each is
# classified once (up to a bound: a JSON scalar may carry any number of keys) and then looked up.
_PLAIN, _INJECTED, _OWN_ID, _OTHER_ID, _CODE = range(5)
_key_kinds: dict[str, int] = {}
_MAX_KEY_KINDS = 4096
_CONTAINERS = (dict, list)
_RECORDED_TYPE = {t: RECORDED_AS.get(t, t) for t in PERSONAL_TYPES}  # as Seen.add files them
# No shorter text decodes to ``<personal type>:<32 hex digits>``: base64 gives at most 3 bytes per 4
# characters. Shorter values under an ``id`` key (registry numbers, codes) are skipped undecoded.
_SHORTEST_PERSONAL_ID = -(-(min(map(len, PERSONAL_TYPES)) + 1 + 32) * 4 // 3)


def _key_kind(key: str) -> int:
    if key.startswith(ID_ALIAS):
        kind = _INJECTED
    elif key == "id":
        kind = _OWN_ID
    elif key.endswith("Id"):
        kind = _OTHER_ID
    elif key == "code":
        kind = _CODE
    else:
        kind = _PLAIN
    if len(_key_kinds) < _MAX_KEY_KINDS:
        _key_kinds[key] = kind
    return kind


@dataclass
class Seen:
    """Personal records seen during one operation, by type (each UUID as its integer)."""

    by_type: dict[str, set[int]] = field(default_factory=dict)
    denied_in_data: set[str] = field(default_factory=set)

    def add(self, type_name: str, id_: uuid.UUID | int) -> None:
        self.by_type.setdefault(RECORDED_AS.get(type_name, type_name), set()).add(
            id_ if isinstance(id_, int) else id_.int)

    def ids(self, type_name: str) -> list[uuid.UUID]:
        """The records of ``type_name`` seen, in UUID order."""
        return audit_service.sorted_record_uuids(self.by_type.get(type_name, ()))

    def record_ids(self) -> list[str]:
        """``Type:uuid`` of every record that is neither a person nor a household, in text order."""
        return sorted(f"{t}:{i}" for t, ids in self.by_type.items() if t not in ("Person", "Household")
                      for i in audit_service.record_uuids(ids))

    def walk(self, data: Any) -> None:
        """Collect the injected ids (and strip them), any other global ID of a personal type, and
        refusals returned as data.

        One pass over each object's keys: an object's own ``id`` is read only when it has no injected
        one (the same id, already counted), so it waits until the object's last key is seen.
        """
        stack = [data]
        pop, push = stack.pop, stack.append
        add, kinds, denied = self.add, _key_kinds, self.denied_in_data
        texts: list[str] = []  # candidate global IDs (under ``id`` keys), read after the walk
        found = texts.append
        while stack:
            item = pop()
            if isinstance(item, dict):
                injected: list[str] | None = None
                own: str | None = None
                for key, value in item.items():
                    kind = kinds.get(key)
                    if kind is None:
                        kind = _key_kind(key)
                    if kind == 0:  # _PLAIN
                        if isinstance(value, _CONTAINERS):
                            push(value)
                    elif kind == 1:  # _INJECTED
                        if injected is None:
                            injected = [key]
                        else:
                            injected.append(key)
                    elif isinstance(value, str):
                        if kind == 2:  # _OWN_ID
                            own = value
                        elif kind == 3:  # _OTHER_ID
                            if len(value) >= _SHORTEST_PERSONAL_ID:
                                found(value)
                        elif value in DENIED_CODES:  # _CODE
                            denied.add(value)
                    elif isinstance(value, _CONTAINERS):
                        push(value)
                if injected is not None:
                    for key in injected:
                        id_ = _uuid_int(item.pop(key))
                        if id_ is not None:
                            add(key[len(ID_ALIAS):], id_)
                elif own is not None and len(own) >= _SHORTEST_PERSONAL_ID:
                    found(own)
            elif isinstance(item, list):
                stack.extend(item)
        by_type = self.by_type
        for text in texts:
            parts = global_id_parts(text)
            if parts is not None and (recorded := _RECORDED_TYPE.get(parts[0])) is not None:
                ids = by_type.get(recorded)
                if ids is None:
                    ids = by_type[recorded] = set()
                ids.add(parts[1])

    @property
    def count(self) -> int:
        return sum(len(ids) for ids in self.by_type.values())


def _error_codes(errors: Iterable[GraphQLError]) -> set[str]:
    codes = set()
    for error in errors:
        code = getattr(error.original_error, "code", None) or (error.extensions or {}).get("code")
        codes.add(str(code) if code else "ERROR")
    return codes


def audit_writer(request: Request) -> AuditWriter:
    """The app's one writer, created on first use (it needs the sessionmaker the lifespan made)."""
    state = request.app.state
    writer: AuditWriter | None = getattr(state, "audit_writer", None)
    if writer is None:
        writer = state.audit_writer = AuditWriter(state.hub.sessionmaker)
    return writer


class AuditExtension(SchemaExtension):
    """Writes the access-log entry after execution and before the response; no entry, no data."""

    def __init__(self, *, execution_context: Any = None) -> None:
        self.analysis: Analysis | None = None

    def on_operation(self) -> Iterator[None]:
        # Validated with the caller's document, before any resolver runs (and cached with the others).
        self.execution_context.validation_rules = (*self.execution_context.validation_rules,
                                                   ReservedResponseNames)
        yield

    def on_validate(self) -> Iterator[None]:
        # After validation: the limits (depth, aliases, tokens) judge the caller's document, not the
        # selections added here to find the returned records.
        yield
        ctx = self.execution_context
        if ctx.query is None or ctx.graphql_document is None:
            return
        self.analysis = analyse(ctx.schema._schema, ctx.query)
        ctx.graphql_document = self.analysis.document

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        ctx = self.execution_context
        result = ctx.result
        if ctx.query is None or self.analysis is None:
            await close_reads(ctx.context)
            return
        try:
            operation_type = ctx.operation_type.value if ctx.operation_type else None
        except RuntimeError:
            operation_type = None
        await record_operation(ctx.context, ctx.query, self.analysis, result, ctx.operation_name, operation_type)


async def close_reads(context: Any) -> None:
    # Every resolver has finished: end the request's read transaction before writing the entry,
    # so the request never holds two pooled connections at once. (Under the tests' one shared
    # connection, the read session's savepoint would otherwise be rolled back after the entry
    # was written inside it, taking the entry with it.)
    close = getattr(context, "close", None)
    if close is not None:
        await close()


async def record_operation(context: Context, query: str, analysis: Analysis, result: Any,
                           operation_name: str | None, operation_type: str | None) -> None:
    """After execution, before the response: charge the returned records to the caller's object
    budget and write the access-log entry (fail closed: raises ``AuditUnavailable``).

    Strips the injected ``_auditId`` selections from ``result.data``. Shared by the schema extension
    and the direct HTTP pipeline (schema.pipeline), so both record exactly the same entry.
    """
    await close_reads(context)
    if result is None:
        return
    seen = Seen()
    data = getattr(result, "data", None)
    errors = list(getattr(result, "errors", None) or [])
    seen.walk(data)
    codes = _error_codes(errors) | seen.denied_in_data
    touches = analysis.touches
    principal = context.principal
    request = context.request
    # In-process execution (tests, the CLI) has no HTTP request; with personal data it fails closed below.
    state = getattr(request.app.state, "auth", None) if request is not None else None
    if state is not None and seen.count:
        state.limiter.charge_objects(
            rate_key(principal, request.client.host if request.client else None), seen.count)
    if not (touches or analysis.aggregates or seen.count or codes & DENIED_CODES):
        return
    if not context.settings.audit_reads:
        return
    outcome = "denied" if codes & DENIED_CODES else "error" if errors and not seen.count else "allowed"
    access = audit_service.Access(
        principal=principal,
        outcome=outcome,
        operation_name=operation_name,
        operation_type=operation_type,
        document_hash=analysis.document_hash,
        person_ids=seen.ids("Person"),
        household_ids=seen.ids("Household"),
        record_ids=seen.record_ids(),
        fields=analysis.sorted_fields,
        error_codes=sorted(codes),
        source_ip=request.client.host if request is not None and request.client else None,
        # Counts only: no personal type selected and no record returned (a manager's targetingFlags
        # page returns households, and is recorded as the personal read it is).
        kind="aggregate" if analysis.aggregates and not touches and not seen.count else "personal",
    )
    try:
        if request is None:
            raise RuntimeError("no request to record the access against")
        with audit_write_timer():
            await audit_writer(request).write(access)
    except Exception as exc:
        log.exception("access log entry could not be written; withholding the response")
        raise AuditUnavailable("The access could not be recorded, so no data is returned.") from exc


async def audit_unresolved_references(context: Context, type_name: str, keys: Sequence[Any]) -> None:
    """Federation references to personal records this caller may not read are denied accesses.

    Called by ``schema.federation`` for every batch of ``_entities`` keys that resolved to nothing
    (out of scope and non-existent alike: the entry records what was asked, not which it was).
    The operation's own entry (written by ``AuditExtension``) covers what was returned.
    """
    if type_name not in PERSONAL_TYPES or not context.settings.audit_reads:
        return
    request = context.request
    if request is None:
        raise AuditUnavailable("The access could not be recorded, so no data is returned.")
    access = audit_service.Access(
        principal=context.principal,
        outcome="denied",
        operation_name="_entities",
        operation_type="query",
        record_ids=[f"{type_name}:{key}" for key in keys],
        error_codes=["NOT_FOUND"],
        source_ip=request.client.host if request.client else None,
    )
    with audit_write_timer():
        await audit_writer(request).write(access)


# --- the auditors' query -------------------------------------------------------------------------

@strawberry.enum(description="What became of an operation.")
class AccessOutcome(Enum):
    ALLOWED = "allowed"
    DENIED = "denied"
    ERROR = "error"


@strawberry.enum(description="What an operation read.")
class AccessKind(Enum):
    PERSONAL = "personal"
    AGGREGATE = "aggregate"


@strawberry.input(description="Narrow the access log. All given conditions must hold.")
class AccessLogFilterInput:
    actor: str | None = strawberry.field(default=None, description="The token subject (`sub`) of the caller.")
    client: str | None = strawberry.field(default=None, description="The API client id.")
    person_nik: str | None = strawberry.field(
        default=None, description="Entries that returned the person with this NIK (a subject-access request).")
    household_id: strawberry.ID | None = strawberry.field(
        default=None, description="Entries that returned this household (its global ID).")
    from_: datetime | None = strawberry.field(default=None, name="from", description="Logged at or after.")
    to: datetime | None = strawberry.field(default=None, description="Logged before.")
    outcome: AccessOutcome | None = strawberry.field(default=None, description="Only entries with this outcome.")

    def to_query(self) -> audit_service.LogQuery:
        return audit_service.LogQuery(
            actor=self.actor, client_id=self.client, person_nik=self.person_nik,
            household_id=from_global_id(self.household_id, "Household") if self.household_id else None,
            since=self.from_, until=self.to, outcome=self.outcome.value if self.outcome else None)


@strawberry.type(description="One recorded access to personal data (UU PDP art. 31).")
class AccessLog:
    id: strawberry.ID = strawberry.field(description="The entry's own ID (a UUID).")
    logged_at: datetime = strawberry.field(description="When the operation was recorded.")
    actor: str | None = strawberry.field(description="Token subject of the caller; null when unauthenticated.")
    client_id: str | None = strawberry.field(description="The API client the token was issued to, if any.")
    role: str | None = strawberry.field(description="The caller's role, e.g. `facilitator`.")
    scope: list[str] = strawberry.field(description="Region codes the caller was scoped to ('*' = national).")
    purpose: str | None = strawberry.field(description="Purpose declared by the caller's token or registration.")
    operation_name: str | None = strawberry.field(description="The GraphQL operation name the caller gave.")
    operation_type: str | None = strawberry.field(description="`query` or `mutation`.")
    document_hash: str | None = strawberry.field(description="SHA-256 of the GraphQL document, hex.")
    person_ids: list[strawberry.ID] = strawberry.field(description="Global IDs of the persons returned.")
    household_ids: list[strawberry.ID] = strawberry.field(description="Global IDs of the households returned.")
    record_ids: list[strawberry.ID] = strawberry.field(description="Global IDs of other personal records returned.")
    fields: list[str] = strawberry.field(description="`Type.field` coordinates the operation selected.")
    outcome: AccessOutcome = strawberry.field(description="Whether data was returned, refused or failed.")
    kind: AccessKind = strawberry.field(description="PERSONAL: records were or could have been returned. "
                                        "AGGREGATE: only counts (the dashboard's figures); no ids are recorded.")
    error_codes: list[str] = strawberry.field(description="Error codes the response carried, e.g. `FORBIDDEN`.")
    source_ip: str | None = strawberry.field(description="The caller's IP address as the server saw it.")
    seq: int | None = strawberry.field(description="Position in the hash chain; null until sealed.")

    @classmethod
    def from_model(cls, row: Any) -> AccessLog:
        records = []
        for item in row.record_ids:
            type_name, _, raw = item.partition(":")
            records.append(to_global_id(type_name, raw))
        return cls(
            id=strawberry.ID(str(row.id)), logged_at=row.logged_at, actor=row.actor, client_id=row.client_id,
            role=row.role, scope=list(row.scope), purpose=row.purpose, operation_name=row.operation_name,
            operation_type=row.operation_type, document_hash=row.document_hash,
            person_ids=[to_global_id("Person", i) for i in row.person_ids],
            household_ids=[to_global_id("Household", i) for i in row.household_ids],
            record_ids=records, fields=list(row.fields), outcome=AccessOutcome(row.outcome),
            kind=AccessKind(row.kind),
            error_codes=list(row.error_codes), source_ip=row.source_ip, seq=row.seq,
        )


@strawberry.type
class AuditQuery:
    @strawberry.field(description="The access log, for auditors: who read what, when, for which purpose; newest "
                      "first, a page at a time (`first` at most 100). Answer a subject-access request with "
                      "`filter: {personNik: ...}`. Paging is by position in the log, so a deep page costs "
                      "what the first one does. Queries here are recorded too.")
    async def access_logs(
        self, info: Info, first: First = None, after: After = None,
        filter: Annotated[AccessLogFilterInput | None, strawberry.argument(
            description="Conditions the entries must all meet.")] = None,
    ) -> Connection[AccessLog]:
        page, after_key = keyset_args(info, first, after)
        query = (filter or AccessLogFilterInput()).to_query()
        async with read_session(info.context) as (session, principal):
            where = await audit_service.log_filter(session, principal, query)
            found = await audit_service.page(session, where, page, after_key)

        async def count() -> int:
            async with read_session(info.context) as (session, _):
                return await audit_service.count(session, where)

        return connection([AccessLog.from_model(r) for r in found.items], found, count,
                          keys=[audit_service.sort_key(r) for r in found.items])
