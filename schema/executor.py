"""A compiled GraphQL executor: graphql-core's semantics without its per-field interpretation.

graphql-core walks the document for every object it completes: it looks the field up, builds a
``GraphQLResolveInfo`` and a ``Path`` for every field, coerces arguments, and dispatches on the
return type, again for each of the fifty households of a page and each of their members. Here an
operation is compiled once per document (and per value of the variables ``@skip``/``@include``
read) into plans: per concrete object type, the fields to produce, each with its completion
function built from its return type. Running a plan:

- reads a field with no resolver of its own (strawberry's "basic" field: no resolver, arguments,
  permissions or extensions) straight off the source object, as strawberry's own default resolver
  does (``getattr(source, python_name)``), with no info or path;
- calls every other field's resolver (strawberry's wrapper) with a real ``GraphQLResolveInfo``
  and the coerced arguments (coerced once when they hold no variable);
- serializes leaves with the types' own ``coerce_output_value``, short-circuiting only values it
  would return unchanged (a ``str`` for String/ID, a ``bool`` for Boolean, a 32-bit ``int``);
- starts the awaitable items of a list together, like graphql-core, so DataLoaders still batch;
- nulls and reports errors like graphql-core: located errors with the same path and nodes,
  bubbling to the nearest nullable position.

Anything else runs on graphql-core unchanged: subscriptions, introspection, ``@defer``/``@stream``,
directives other than ``@skip``/``@include``, resolve middleware (a strawberry extension with a
``resolve`` hook), abort signals and execution hooks.
"""

from __future__ import annotations

import inspect
from asyncio import Future, ensure_future, gather, get_running_loop
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import suppress
from types import CoroutineType
from typing import Any
from weakref import WeakKeyDictionary

import structlog
from graphql import (
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    located_error,
)
from graphql.execution.collect_fields import FieldDetails, collect_fields, collect_subfields
from graphql.execution.executor import invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.language import FragmentSpreadNode, VariableNode, visit
from graphql.language.visitor import Visitor
from graphql.pyutils import Path, Undefined, is_iterable
from graphql.type.scalars import serialize_boolean, serialize_id, serialize_int, serialize_string
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver

log = structlog.get_logger("slrt.api")

__all__ = ["EXECUTIONS", "CompiledExecutionContext", "execution_context_class"]

#: How many operations ran compiled and how many on graphql-core (for tests and diagnostics).
EXECUTIONS: Counter[str] = Counter()

_MAX_INT = 2_147_483_647
_MIN_INT = -2_147_483_648
_PASSTHROUGH: dict[Any, type] = {serialize_string: str, serialize_id: str, serialize_boolean: bool,
                                 serialize_int: int}
_SKIP_INCLUDE = frozenset(("skip", "include"))
# Completed values of these exact types are never awaitable: no need to ask ``is_awaitable``.
_READY = frozenset((dict, list, str, int, float, bool, type(None)))
_MAX_CACHED_OPERATIONS = 2048

# kinds of field plans
_TYPENAME, _ATTR, _RESOLVE, _CALL = 0, 1, 2, 3

Completer = Callable[["CompiledExecutionContext", Any, Path], Any]


class _Unsupported(Exception):
    """The operation uses something the compiled executor leaves to graphql-core."""


class FieldPlan:
    __slots__ = ("args", "attr", "call", "complete", "details", "fast_type", "field_def", "int_range", "key",
                 "kind", "name", "needs_info", "nodes", "non_null", "parent_name", "parent_type", "resolve",
                 "variable_node")

    def __init__(self, key: str, parent_type: GraphQLObjectType, details: list[FieldDetails]) -> None:
        self.key = key
        self.parent_type = parent_type
        self.parent_name = parent_type.name
        self.details = details
        self.nodes: list[FieldNode] = [d.node for d in details]
        self.name = self.nodes[0].name.value
        self.kind = _RESOLVE
        self.attr = ""
        self.args: dict[str, Any] = {}
        self.variable_node: FieldNode | None = None
        self.resolve: Any = None
        self.call: Callable[[Any, GraphQLResolveInfo[Any] | None], Any] = _unset_call
        self.needs_info = True
        self.field_def: GraphQLField | None = None
        self.complete: Completer = _unset_completer
        self.fast_type: Any = None
        self.int_range = False
        self.non_null = False


class ObjectPlan:
    __slots__ = ("fields", "type")

    def __init__(self, type_: GraphQLObjectType) -> None:
        self.type = type_
        self.fields: list[FieldPlan] = []


class OperationPlan:
    __slots__ = ("mutation", "root")

    def __init__(self, root: ObjectPlan, mutation: bool) -> None:
        self.root = root
        self.mutation = mutation


def _unset_completer(ex: CompiledExecutionContext, value: Any, path: Path) -> Any:  # pragma: no cover
    raise AssertionError("field plan used before it was compiled")


def _unset_call(source: Any, info: GraphQLResolveInfo[Any] | None) -> Any:  # pragma: no cover
    raise AssertionError("field plan used before it was compiled")


class _OperationEntry:
    """What one operation compiles to: the variables its ``@skip``/``@include`` read, and a plan per
    combination of their values (``None`` when the operation is left to graphql-core)."""

    __slots__ = ("condition_variables", "operation", "plans", "unsupported")

    def __init__(self, operation: OperationDefinitionNode, condition_variables: tuple[str, ...],
                 unsupported: bool) -> None:
        self.operation = operation  # kept alive so its id is not reused
        self.condition_variables = condition_variables
        self.unsupported = unsupported
        self.plans: dict[tuple[Any, ...], OperationPlan | None] = {}


_CACHE: WeakKeyDictionary[GraphQLSchema, dict[int, _OperationEntry]] = WeakKeyDictionary()


class _DocumentScan(Visitor):
    """Finds what the compiled executor does not do, and the variables ``@skip``/``@include`` read."""

    def __init__(self) -> None:
        super().__init__()
        self.unsupported = False
        self.condition_variables: set[str] = set()

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        if node.name.value not in _SKIP_INCLUDE:
            self.unsupported = True
            return
        for argument in node.arguments or ():
            if isinstance(argument.value, VariableNode):
                self.condition_variables.add(argument.value.name.value)

    def enter_fragment_definition(self, node: FragmentDefinitionNode, *_: Any) -> None:
        if node.variable_definitions:
            self.unsupported = True

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        if getattr(node, "arguments", None):
            self.unsupported = True


def _scan(operation: OperationDefinitionNode, fragments: dict[str, Any]) -> _DocumentScan:
    scan = _DocumentScan()
    if operation.operation == OperationType.SUBSCRIPTION:
        scan.unsupported = True
    if operation.directives:  # on the operation itself (e.g. disabling error propagation)
        scan.unsupported = True
    visit(operation.selection_set, scan)
    for fragment in fragments.values():
        visit(fragment.definition, scan)
    return scan


def _uses_variables(node: FieldNode) -> bool:
    found = False

    class Finder(Visitor):
        def enter_variable(self, *_: Any) -> None:
            nonlocal found
            found = True

    for argument in node.arguments or ():
        visit(argument, Finder())
    return found


class _Compiler:
    def __init__(self, ex: CompiledExecutionContext) -> None:
        self.ex = ex
        self.schema = ex.schema

    def operation(self) -> OperationPlan:
        ex = self.ex
        operation = ex.operation
        root_type = self.schema.get_root_type(operation.operation)
        if root_type is None:
            raise _Unsupported
        grouped, defer_usages, forbidden = collect_fields(
            self.schema, ex.fragments, ex.variable_values, root_type, operation, ex.hide_suggestions)
        if defer_usages or forbidden:
            raise _Unsupported
        for details in grouped.values():
            if details[0].node.name.value in ("__schema", "__type"):
                raise _Unsupported
        return OperationPlan(self.object_plan(root_type, grouped),
                             operation.operation == OperationType.MUTATION)

    def object_plan(self, type_: GraphQLObjectType, grouped: dict[str, list[FieldDetails]]) -> ObjectPlan:
        plan = ObjectPlan(type_)
        for key, details in grouped.items():
            for detail in details:
                if detail.defer_usage is not None or detail.fragment_variable_values is not None:
                    raise _Unsupported
            field = self.field_plan(type_, key, details)
            if field is not None:
                plan.fields.append(field)
        return plan

    def subfields(self, type_: GraphQLObjectType, details: list[FieldDetails]) -> ObjectPlan:
        ex = self.ex
        grouped, defer_usages, forbidden = collect_subfields(
            self.schema, ex.fragments, ex.variable_values, ex.operation, type_, details,
            ex.hide_suggestions)
        if defer_usages or forbidden:
            raise _Unsupported
        return self.object_plan(type_, grouped)

    def field_plan(self, parent: GraphQLObjectType, key: str, details: list[FieldDetails]) -> FieldPlan | None:
        plan = FieldPlan(key, parent, details)
        if plan.name == "__typename":
            plan.kind = _TYPENAME
            return plan
        field_def = self.schema.get_field(parent, plan.name)
        if field_def is None:
            return None  # graphql-core leaves unknown fields out (validation refuses them anyway)
        if plan.name.startswith("__"):
            raise _Unsupported
        plan.field_def = field_def
        plan.resolve = field_def.resolve
        definition = field_def.extensions.get("strawberry-definition") if field_def.extensions else None
        if (field_def.resolve is not None and getattr(field_def.resolve, "_is_default", False)
                and not field_def.args and isinstance(definition, StrawberryField)
                and definition.is_basic_field  # no resolver and no extensions (permission classes are one)
                and type(definition).get_result is StrawberryField.get_result
                and definition.default_resolver is getattr and isinstance(definition.python_name, str)):
            # strawberry's basic field: its resolver is ``getattr(source, field.python_name)``; any other
            # field (permissions, extensions, a subclass with its own get_result) runs strawberry's resolver
            plan.kind = _ATTR
            plan.attr = definition.python_name
        elif isinstance(definition, StrawberryField):
            direct = _direct_call(field_def, definition, getattr(self.schema, "_strawberry_schema", None))
            if direct is not None:
                plan.kind = _CALL
                plan.call, plan.needs_info = direct
        node = plan.nodes[0]
        if field_def.args or node.arguments:
            if _uses_variables(node):
                plan.variable_node = node
            else:
                try:
                    plan.args = get_argument_values(field_def, node, self.ex.variable_values, None,
                                                    self.ex.hide_suggestions)
                except Exception:
                    plan.variable_node = node  # let the request raise it where graphql-core does
        return_type = field_def.type
        plan.non_null = isinstance(return_type, GraphQLNonNull)
        named = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
        if isinstance(named, GraphQLScalarType):
            fast = _PASSTHROUGH.get(named.coerce_output_value)
            if fast is not None:
                plan.fast_type = fast
                plan.int_range = fast is int
        plan.complete = self.completer(return_type, plan)
        return plan

    # Completers: ``complete(ex, value, path)`` returns the completed value or an awaitable of it and
    # raises what graphql-core's complete_value would raise.

    def completer(self, type_: GraphQLOutputType, field: FieldPlan) -> Completer:
        named = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if isinstance(named, GraphQLObjectType) and (
                named.is_type_of is None or _is_strawberry_is_type_of(named.is_type_of)):
            return self.direct_object_completer(named, isinstance(type_, GraphQLNonNull), field)
        if isinstance(type_, GraphQLNonNull):
            inner = self.named_completer(type_.of_type, field)
            message = f"Cannot return null for non-nullable field {field.parent_name}.{field.name}."

            def complete_non_null(ex: CompiledExecutionContext, value: Any, path: Path) -> Any:
                if isinstance(value, Exception):
                    raise value
                if value is None or value is Undefined:
                    raise TypeError(message)
                completed = inner(ex, value, path)
                if completed is None:
                    raise TypeError(message)
                return completed

            return complete_non_null
        inner = self.named_completer(type_, field)

        def complete_nullable(ex: CompiledExecutionContext, value: Any, path: Path) -> Any:
            if isinstance(value, Exception):
                raise value
            if value is None or value is Undefined:
                return None
            return inner(ex, value, path)

        return complete_nullable

    def named_completer(self, type_: GraphQLOutputType, field: FieldPlan) -> Completer:
        if isinstance(type_, GraphQLList):
            return self.list_completer(type_, field)
        if isinstance(type_, GraphQLScalarType):
            return _scalar_completer(type_)
        if isinstance(type_, GraphQLEnumType):
            return _enum_completer(type_)
        if isinstance(type_, GraphQLObjectType):
            return self.object_completer(type_, field)
        return self.abstract_completer(type_, field)  # type: ignore[arg-type]

    def list_completer(self, type_: GraphQLList[Any], field: FieldPlan) -> Completer:
        item_type = type_.of_type
        complete_item = self.completer(item_type, field)
        item_non_null = isinstance(item_type, GraphQLNonNull)
        # a leaf item needs its path only for an error; a list or an object item passes it down
        needs_path = not isinstance(item_type.of_type if item_non_null else item_type,
                                    (GraphQLScalarType, GraphQLEnumType))
        not_iterable = f"Expected Iterable, but did not find one for field '{field.parent_name}.{field.name}'."
        plain = _plain_class(item_type.of_type if item_non_null else item_type)

        def complete_list(ex: CompiledExecutionContext, value: Any, path: Path) -> Any:
            is_awaitable = ex.is_awaitable
            if type(value) is not list and type(value) is not tuple:
                if ex.is_async_iterable(value):
                    return ex.core_complete(type_, field, value, path)
                if not is_iterable(value):
                    raise GraphQLError(not_iterable)
            results: list[Any] = []
            append = results.append
            pending: list[int] = []
            deferred: list[tuple[int, _Deferred, Path]] | None = None
            index = 0
            try:
                for item in value:
                    item_path = Path(path, index, None) if needs_path else None
                    if type(item) is not plain and is_awaitable(item):
                        append(ex.await_item(complete_item, item_non_null, field, item,
                                             item_path or Path(path, index, None)))
                        pending.append(index)
                    else:
                        try:
                            completed = complete_item(ex, item, item_path)  # type: ignore[arg-type]
                            if type(completed) in _READY:
                                append(completed)
                            elif type(completed) is _Deferred:
                                append(completed)
                                if deferred is None:
                                    deferred = [(index, completed, item_path or Path(path, index, None))]
                                else:
                                    deferred.append((index, completed, item_path or Path(path, index, None)))
                            elif is_awaitable(completed):
                                append(ex.await_completed_item(item_non_null, field, completed,
                                                               item_path or Path(path, index, None)))
                                pending.append(index)
                            else:
                                append(completed)
                        except Exception as error:
                            append(ex.item_error(error, item_non_null, field,
                                                 item_path or Path(path, index, None)))
                    index += 1
            except Exception:
                if pending:
                    ex.settle_in_background([results[i] for i in pending])
                raise
            if deferred is not None:
                if not pending:
                    return ex.settle_list(results, deferred, item_non_null, field)
                for index, item_deferred, item_path in deferred:  # with other pending items: awaited like them
                    results[index] = ex.await_completed_item(item_non_null, field, item_deferred, item_path)
                    pending.append(index)
                pending.sort()
            if not pending:
                return results
            return _gather_list(results, pending)

        return complete_list

    def direct_object_completer(self, type_: GraphQLObjectType, non_null: bool, field: FieldPlan) -> Completer:
        """The common case in one call: an object type whose ``is_type_of`` (if any) is strawberry's."""
        plan = self.subfields(type_, field.details)
        is_type_of = type_.is_type_of
        details = field.details
        message = f"Cannot return null for non-nullable field {field.parent_name}.{field.name}."

        def complete_object_directly(ex: CompiledExecutionContext, value: Any, path: Path) -> Any:
            if value is None or value is Undefined:
                if non_null:
                    raise TypeError(message)
                return None
            if isinstance(value, Exception):
                raise value
            if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]
                raise invalid_return_type_error(type_, value, details)
            return ex.execute_object(plan, value, path)

        return complete_object_directly

    def object_completer(self, type_: GraphQLObjectType, field: FieldPlan) -> Completer:
        plan = self.subfields(type_, field.details)
        is_type_of = type_.is_type_of
        info_free = is_type_of is not None and _is_strawberry_is_type_of(is_type_of)
        details = field.details

        if is_type_of is None:
            def complete_object(ex: CompiledExecutionContext, value: Any, path: Path) -> Any:
                return ex.execute_object(plan, value, path)

            return complete_object

        def complete_checked_object(ex: CompiledExecutionContext, value: Any, path: Path) -> Any:
            info = None if info_free else ex.info_at(field, path)
            result = is_type_of(value, info)  # type: ignore[arg-type]
            if ex.is_awaitable(result):
                return ex.await_is_type_of(result, type_, plan, value, path, details)
            if not result:
                raise invalid_return_type_error(type_, value, details)
            return ex.execute_object(plan, value, path)

        return complete_checked_object

    def abstract_completer(self, type_: GraphQLAbstractType, field: FieldPlan) -> Completer:
        by_name = {possible.name: self.object_completer(possible, field)
                   for possible in self.schema.get_possible_types(type_)}

        def complete_abstract(ex: CompiledExecutionContext, value: Any, path: Path) -> Any:
            info = ex.info_at(field, path)
            resolve_type = type_.resolve_type or ex.type_resolver
            runtime_type = resolve_type(value, info, type_)
            if ex.is_awaitable(runtime_type):
                return ex.await_runtime_type(runtime_type, type_, field, info, value, path, by_name)
            object_type = ex.ensure_valid_runtime_type(runtime_type, type_, field.details, info, value)
            return by_name[object_type.name](ex, value, path)

        return complete_abstract


def _plain_class(type_: Any) -> type | None:
    """The Python class of a strawberry object type when its instances are never awaitable (it has no
    ``__await__``): list items of exactly that class need no ``is_awaitable`` check."""
    if not isinstance(type_, GraphQLObjectType) or not type_.extensions:
        return None
    definition = type_.extensions.get("strawberry-definition")
    origin = getattr(definition, "origin", None)
    if not isinstance(origin, type) or hasattr(origin, "__await__"):
        return None
    return origin


def _is_strawberry_is_type_of(function: Any) -> bool:
    """strawberry's generated ``is_type_of`` never reads its info argument."""
    return (getattr(function, "__module__", None) == "strawberry.schema.schema_converter"
            and getattr(function, "__name__", None) == "is_type_of")


def _direct_call(field_def: GraphQLField, definition: StrawberryField,
                 strawberry_schema: Any) -> tuple[Callable[[Any, GraphQLResolveInfo[Any] | None], Any], bool] | None:
    """``(call, needs_info)`` for a field whose resolver can be called without strawberry's wrapper; else None.

    For a resolver field without arguments, extensions (permission classes are one), exception
    handlers or a subclass's own ``get_result``, strawberry's wrapper (``from_resolver``) only builds
    an ``Info``, converts no arguments, passes the source as ``self`` (or as the ``root``/``Parent``
    parameter) and the ``Info`` as the info parameter, calls the resolver, and for an async resolver
    awaits it inside a coroutine of its own. Called directly, the resolver gets the same arguments
    and its result is awaited by the executor just the same; a list of fifty households saves fifty
    wrappers and two coroutine frames each (``Household.members``, ``Enrolment.household``). The
    ``GraphQLResolveInfo`` is built only for a resolver that asks for its info.
    """
    resolver = definition.base_resolver
    if (resolver is None or definition.extensions or definition.arguments or field_def.args
            or getattr(definition, "is_subscription", False)
            or type(definition).get_result is not StrawberryField.get_result
            or type(resolver).__call__ is not StrawberryResolver.__call__
            or getattr(field_def.resolve, "_is_default", None) is not False  # strawberry's wrapper, as built
            or strawberry_schema is None or getattr(strawberry_schema, "exception_handlers", None) != ()
            or getattr(strawberry_schema, "config", None) is None):
        return None
    func = resolver.wrapped_func
    if not callable(func) or inspect.isasyncgenfunction(func):
        return None
    info_class = strawberry_schema.config.info_class
    positional = resolver.self_parameter is not None
    source_names = tuple(p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None)
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
    if positional and not source_names and info_name is None:
        return (lambda source, info: func(source)), False
    if positional and not source_names and info_name == "info":
        return (lambda source, info: func(source, info=info_class(_raw_info=info, _field=definition))), True

    def call(source: Any, info: GraphQLResolveInfo[Any] | None) -> Any:
        kwargs: dict[str, Any] = dict.fromkeys(source_names, source)
        if info_name is not None:
            kwargs[info_name] = info_class(_raw_info=info, _field=definition)
        return func(source, **kwargs) if positional else func(**kwargs)

    return call, info_name is not None


def _scalar_completer(type_: GraphQLScalarType) -> Completer:
    fast = _PASSTHROUGH.get(type_.coerce_output_value)
    complete_leaf = CompiledExecutionContext.complete_leaf_value
    if fast is int:
        def complete_int(ex: CompiledExecutionContext, value: Any, path: Path) -> Any:
            if type(value) is int and _MIN_INT <= value <= _MAX_INT:
                return value
            return complete_leaf(type_, value)

        return complete_int
    if fast is not None:
        def complete_passthrough(ex: CompiledExecutionContext, value: Any, path: Path) -> Any:
            if type(value) is fast:
                return value
            return complete_leaf(type_, value)

        return complete_passthrough

    def complete_scalar(ex: CompiledExecutionContext, value: Any, path: Path) -> Any:
        return complete_leaf(type_, value)

    return complete_scalar


def _enum_completer(type_: GraphQLEnumType) -> Completer:
    complete_leaf = CompiledExecutionContext.complete_leaf_value
    wrapped = getattr(type_, "wrapped_cls", None)
    names: dict[Any, str] = {}
    if wrapped is not None:
        try:
            names = {member: type_.coerce_output_value(member) for member in wrapped}
        except Exception:
            names = {}

    def complete_enum(ex: CompiledExecutionContext, value: Any, path: Path) -> Any:
        if type(value) is wrapped:
            name = names.get(value)
            if name is not None:
                return name
        return complete_leaf(type_, value)

    return complete_enum


# (response key, field, future of the resolver's raw value, path) of a field waiting for its value
_Waiting = tuple[str, FieldPlan, "Future[Any]", Path]


class _Deferred:
    """An object whose pending fields all wait for a future of their raw value (a DataLoader's): what
    ``execute_object`` returns for it instead of a coroutine. A list completes its ``_Deferred`` items
    together (``settle_list``); anywhere else it is simply awaited."""

    __slots__ = ("ex", "results", "waiting")

    def __init__(self, ex: CompiledExecutionContext, results: dict[str, Any], waiting: list[_Waiting]) -> None:
        self.ex = ex
        self.results = results
        self.waiting = waiting

    def __await__(self) -> Any:
        return self.settle().__await__()

    async def settle(self) -> dict[str, Any]:
        """As ``execute_object`` without deferring: each waiting field awaited by ``await_field``."""
        ex, results = self.ex, self.results
        for key, field, future, path in self.waiting:
            results[key] = ex.await_field(field, future, path)
        return await _gather_object(results, [key for key, _, _, _ in self.waiting])

    def complete(self) -> Any:
        """The object's result once every future is done: its fields completed as ``await_field`` completes
        them (a non-null field's error raises); a dict, or an awaitable of it when a field started more."""
        ex, results = self.ex, self.results
        pending: list[str] | None = None
        try:
            for key, field, future, path in self.waiting:
                try:
                    completed = field.complete(ex, future.result(), path)
                    if ex.is_awaitable(completed):
                        completed = ex.await_completed_field(field, completed, path)
                        if pending is None:
                            pending = [key]
                        else:
                            pending.append(key)
                except Exception as error:
                    completed = ex.field_error(error, field, path)
                results[key] = completed
        except Exception:
            if pending:
                ex.settle_in_background([results[key] for key in pending])
            raise
        if pending is None:
            return results
        return _gather_object(results, pending)


async def gather_with_cancel(*awaitables: Awaitable[Any]) -> list[Any]:
    """graphql-core's ``gather_with_cancel`` (the same results, the first exception raised and the others
    cancelled and awaited), creating each coroutine's task straight on the running loop: a list of a
    hundred objects with pending fields starts a hundred tasks, and ``ensure_future``'s checks cost a
    third of what creating a task costs."""
    create_task = get_running_loop().create_task
    futures: list[Future[Any]] = [create_task(aw) if type(aw) is CoroutineType else ensure_future(aw)
                                  for aw in awaitables]
    try:
        return await gather(*futures)
    except Exception:
        for future in futures:
            if not future.done():
                future.cancel()
        await gather(*futures, return_exceptions=True)
        raise


async def _gather_list(results: list[Any], pending: list[int]) -> list[Any]:
    if len(pending) == 1:
        index = pending[0]
        results[index] = await results[index]
    else:
        for index, value in zip(pending, await gather_with_cancel(*(results[i] for i in pending)),
                                strict=True):
            results[index] = value
    return results


async def _gather_object(results: dict[str, Any], pending: list[str]) -> dict[str, Any]:
    if len(pending) == 1:
        key = pending[0]
        results[key] = await results[key]
    else:
        results.update(zip(pending, await gather_with_cancel(*(results[k] for k in pending)), strict=True))
    return results


class CompiledExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context, running supported operations from compiled plans."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        plan = self.compiled_plan()
        if plan is None:
            EXECUTIONS["core"] += 1
            return super().execute_operation(serially)
        EXECUTIONS["compiled"] += 1
        try:
            if plan.mutation if serially is None else serially:
                result = self.execute_serially(plan.root, self.root_value)
            else:
                result = self.execute_object(plan.root, self.root_value, None)
            if self.is_awaitable(result):
                return self.await_operation(result)
            data = result
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.finish(self.build_response(None))
        return self.finish(self.build_response(data))

    async def await_operation(self, result: Awaitable[dict[str, Any]]) -> Any:
        try:
            data = await result
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.build_response(None)
        return self.build_response(data)

    def compiled_plan(self) -> OperationPlan | None:
        middleware = self.middleware_manager
        if ((middleware is not None and middleware.middlewares) or self.abort_signal is not None
                or self.hooks is not None or not self.error_propagation):
            return None
        operations = _CACHE.get(self.schema)
        if operations is None:
            operations = _CACHE[self.schema] = {}
        operation = self.operation
        entry = operations.get(id(operation))
        if entry is None or entry.operation is not operation:
            if len(operations) >= _MAX_CACHED_OPERATIONS:
                operations.clear()
            scan = _scan(operation, self.fragments)
            entry = operations[id(operation)] = _OperationEntry(
                operation, tuple(sorted(scan.condition_variables)), scan.unsupported)
        if entry.unsupported:
            return None
        coerced = self.variable_values.coerced
        key = tuple(coerced.get(name, Undefined) for name in entry.condition_variables)
        try:
            return entry.plans[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable variable value
            return None
        try:
            plan: OperationPlan | None = _Compiler(self).operation()
        except _Unsupported:
            plan = None
        except Exception:  # anything compiling trips on, graphql-core runs (and reports) itself
            log.warning("graphql.compile_failed", exc_info=True)
            plan = None
        entry.plans[key] = plan
        return plan

    # Running plans

    def execute_object(self, plan: ObjectPlan, source: Any, path: Path | None) -> Any:
        results: dict[str, Any] = {}
        pending: list[str] | None = None
        waiting: list[_Waiting] | None = None
        is_awaitable = self.is_awaitable
        value: Any
        try:
            for field in plan.fields:
                kind = field.kind
                if kind == _ATTR:
                    try:
                        value = getattr(source, field.attr)
                    except Exception as error:
                        results[field.key] = self.field_error(error, field, Path(path, field.key, field.parent_name))
                        continue
                    fast = field.fast_type
                    if fast is not None and type(value) is fast and (
                            not field.int_range or _MIN_INT <= value <= _MAX_INT):
                        results[field.key] = value
                        continue
                    if value is None and not field.non_null:
                        results[field.key] = None
                        continue
                    value = self.complete_field(field, value, Path(path, field.key, field.parent_name))
                elif kind == _CALL:
                    field_path = Path(path, field.key, field.parent_name)
                    value = self.call_field(field, source, field_path, deferring=True)
                    if type(value) is Future:  # the raw value to come: completed once it is there
                        results[field.key] = None  # keeps the field's place in the result
                        if waiting is None:
                            waiting = [(field.key, field, value, field_path)]
                        else:
                            waiting.append((field.key, field, value, field_path))
                        continue
                elif kind == _RESOLVE:
                    value = self.resolve_field(field, source, Path(path, field.key, field.parent_name))
                else:
                    results[field.key] = field.parent_name
                    continue
                results[field.key] = value
                if is_awaitable(value):
                    if pending is None:
                        pending = [field.key]
                    else:
                        pending.append(field.key)
        except Exception:
            if pending:
                self.settle_in_background([results[key] for key in pending])
            raise
        if waiting is not None:
            if pending is None:
                return _Deferred(self, results, waiting)
            for key, field, future, field_path in waiting:  # with other pending fields: awaited like them
                results[key] = self.await_field(field, future, field_path)
                pending.append(key)
        if pending is None:
            return results
        return _gather_object(results, pending)

    def execute_serially(self, plan: ObjectPlan, source: Any) -> Any:
        results: dict[str, Any] = {}
        fields = plan.fields
        for index, field in enumerate(fields):
            value = self.execute_root_field(field, source)
            if self.is_awaitable(value):
                return self.execute_serially_async(fields, index, value, source, results)
            results[field.key] = value
        return results

    async def execute_serially_async(self, fields: list[FieldPlan], index: int, value: Any, source: Any,
                                     results: dict[str, Any]) -> dict[str, Any]:
        results[fields[index].key] = await value
        for field in fields[index + 1:]:
            value = self.execute_root_field(field, source)
            if self.is_awaitable(value):
                value = await value
            results[field.key] = value
        return results

    def execute_root_field(self, field: FieldPlan, source: Any) -> Any:
        path = Path(None, field.key, field.parent_name)
        if field.kind == _TYPENAME:
            return field.parent_name
        if field.kind == _ATTR:
            try:
                value = getattr(source, field.attr)
            except Exception as error:
                return self.field_error(error, field, path)
            return self.complete_field(field, value, path)
        if field.kind == _CALL:
            return self.call_field(field, source, path)
        return self.resolve_field(field, source, path)

    def call_field(self, field: FieldPlan, source: Any, path: Path, deferring: bool = False) -> Any:
        """A resolver called directly (``_direct_call``), its result completed as ``resolve_field``'s.

        ``deferring``: a future the resolver returns (a DataLoader's, ``schema.loaders.then``) is returned
        as it is, for ``execute_object`` to complete once it is done."""
        try:
            info = self.build_resolve_info(field.field_def, field.nodes, field.parent_type,  # type: ignore[arg-type]
                                           path) if field.needs_info else None
            result = field.call(source, info)
        except Exception as error:
            return self.field_error(error, field, path)
        if deferring and type(result) is Future:
            return result
        return self.complete_field(field, result, path)

    async def settle_list(self, results: list[Any], deferred: list[tuple[int, _Deferred, Path]], non_null: bool,
                          field: FieldPlan) -> list[Any]:
        """A list's objects whose pending fields are all futures (``_Deferred``): wait for the futures,
        then complete every object before awaiting anything their fields start, so the next level's
        DataLoaders still batch across the whole list. Without a task and four coroutines per object,
        which is what gathering each object's own completion costs."""
        for _, item, _ in deferred:
            for _, _, future, _ in item.waiting:
                if not future.done():
                    with suppress(Exception):  # read again below, as that field's error
                        await future
        pending: list[int] = []
        try:
            for index, item, item_path in deferred:
                try:
                    completed = item.complete()
                except Exception as error:
                    completed = self.item_error(error, non_null, field, item_path)
                if type(completed) is not dict and completed is not None:  # a field started more work
                    completed = self.await_completed_item(non_null, field, completed, item_path)
                    pending.append(index)
                results[index] = completed
        except Exception:
            if pending:
                self.settle_in_background([results[i] for i in pending])
            raise
        if not pending:
            return results
        return await _gather_list(results, pending)

    def resolve_field(self, field: FieldPlan, source: Any, path: Path) -> Any:
        try:
            variable_node = field.variable_node
            args = field.args if variable_node is None else get_argument_values(
                field.field_def, variable_node, self.variable_values, None, self.hide_suggestions)  # type: ignore[arg-type]
            info = self.build_resolve_info(field.field_def, field.nodes, field.parent_type, path)  # type: ignore[arg-type]
            resolve = field.resolve or self.field_resolver
            result = resolve(source, info, **args)
        except Exception as error:
            return self.field_error(error, field, path)
        return self.complete_field(field, result, path)

    def complete_field(self, field: FieldPlan, value: Any, path: Path) -> Any:
        try:
            if self.is_awaitable(value):
                return self.await_field(field, value, path)
            completed = field.complete(self, value, path)
            if self.is_awaitable(completed):
                return self.await_completed_field(field, completed, path)
        except Exception as error:
            return self.field_error(error, field, path)
        return completed

    async def await_field(self, field: FieldPlan, result: Awaitable[Any], path: Path) -> Any:
        try:
            completed = field.complete(self, await result, path)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as error:
            return self.field_error(error, field, path)
        return completed

    async def await_completed_field(self, field: FieldPlan, completed: Awaitable[Any], path: Path) -> Any:
        try:
            return await completed
        except Exception as error:
            return self.field_error(error, field, path)

    def field_error(self, raw_error: Exception, field: FieldPlan, path: Path) -> Any:
        """graphql-core's handle_field_error: raise towards the nearest nullable position, or record."""
        error = located_error(raw_error, field.nodes, path.as_list())
        if field.non_null:
            raise error
        self.collected_errors.add(error, path)
        return None

    def item_error(self, raw_error: Exception, non_null: bool, field: FieldPlan, path: Path) -> Any:
        error = located_error(raw_error, field.nodes, path.as_list())
        if non_null:
            raise error
        self.collected_errors.add(error, path)
        return None

    async def await_item(self, complete: Completer, non_null: bool, field: FieldPlan, item: Awaitable[Any],
                         path: Path) -> Any:
        try:
            completed = complete(self, await item, path)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as error:
            return self.item_error(error, non_null, field, path)
        return completed

    async def await_completed_item(self, non_null: bool, field: FieldPlan, completed: Awaitable[Any],
                                   path: Path) -> Any:
        try:
            return await completed
        except Exception as error:
            return self.item_error(error, non_null, field, path)

    async def await_is_type_of(self, result: Awaitable[bool], type_: GraphQLObjectType, plan: ObjectPlan,
                               value: Any, path: Path, details: list[FieldDetails]) -> Any:
        if not await result:
            raise invalid_return_type_error(type_, value, details)
        completed = self.execute_object(plan, value, path)
        if self.is_awaitable(completed):
            return await completed
        return completed

    async def await_runtime_type(self, runtime_type: Awaitable[Any], type_: GraphQLAbstractType,
                                 field: FieldPlan, info: GraphQLResolveInfo[Any], value: Any, path: Path,
                                 by_name: dict[str, Completer]) -> Any:
        object_type = self.ensure_valid_runtime_type(await runtime_type, type_, field.details, info, value)
        completed = by_name[object_type.name](self, value, path)
        if self.is_awaitable(completed):
            return await completed
        return completed

    def info_at(self, field: FieldPlan, path: Path) -> GraphQLResolveInfo[Any]:
        """The resolve info graphql-core would hand to type resolution: the field's, at its path."""
        while isinstance(path.key, int):
            path = path.prev  # type: ignore[assignment]
        return self.build_resolve_info(field.field_def, field.nodes, field.parent_type, path)  # type: ignore[arg-type]

    def core_complete(self, type_: GraphQLOutputType, field: FieldPlan, value: Any, path: Path) -> Any:
        """graphql-core's own completion, for what plans don't cover (async iterables)."""
        return self.complete_value(type_, field.details, self.info_at(field, path), path, value, None)



def execution_context_class(executor: str) -> type[CompiledExecutionContext] | None:
    """The execution context for the ``graphql_executor`` setting: ``None`` is strawberry's own."""
    return CompiledExecutionContext if executor == "compiled" else None
