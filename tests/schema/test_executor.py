"""schema.executor's compiled plans give graphql-core's results: the same data, the same errors at the
same paths, DataLoader batching kept, mutations in order; and the hub's schema runs them."""

from __future__ import annotations

import asyncio
import datetime
from enum import Enum
from typing import Annotated, Any, cast

import pytest
import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from strawberry.dataloader import DataLoader
from strawberry.extensions import FieldExtension, ParserCache, SchemaExtension
from strawberry.permission import BasePermission
from strawberry.types import ExecutionResult

from hub.config import Settings
from hub.db.base import region_codes
from hub.models import Household, Person, Relationship
from schema.executor import EXECUTIONS, CompiledExecutionContext, _direct_call
from schema.ids import to_global_id
from schema.loaders import then
from tests.fixtures.read_api import api_client, principal


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class Pet(Node):
    name: str
    colour: Colour


class Deny(BasePermission):
    message = "denied"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


class Shout(FieldExtension):
    def resolve(self, next_: Any, source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        return str(next_(source, info, **kwargs)).upper()

    async def resolve_async(self, next_: Any, source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        return str(await next_(source, info, **kwargs)).upper()


@strawberry.type
class Item:
    value: str


@strawberry.type
class Human(Node):
    name: str
    age: int
    nickname: str | None
    score: float
    born: datetime.date
    tags: list[str]
    big: int | None = 0

    @strawberry.field
    async def friends(self, info: strawberry.Info) -> list[Human]:
        return await info.context["people"].load_many(FRIENDS[self.id])

    @strawberry.field
    def pets(self) -> list[Pet]:
        return PETS.get(self.id, [])

    @strawberry.field
    def greeting(self, punctuation: str = "!") -> str:
        return f"Hello {self.name}{punctuation}"

    @strawberry.field
    def must(self) -> str:
        raise ValueError(f"no must for {self.name}")

    @strawberry.field
    async def maybe(self) -> str | None:
        raise ValueError(f"no maybe for {self.name}")

    @strawberry.field
    def items(self) -> list[Item | None]:
        return [Item(value="a"), None, Item(value=None)]  # type: ignore[arg-type]

    @strawberry.field
    def strict_items(self) -> list[Item] | None:
        return [Item(value="a"), Item(value=None)]  # type: ignore[arg-type]

    @strawberry.field
    def with_parent(self, parent: strawberry.Parent[Human]) -> str:
        return f"{self.name}/{parent.name}"

    @strawberry.field
    @staticmethod
    def with_root(root: Human) -> str:
        return root.name.upper()

    @strawberry.field
    async def with_info(self, info: strawberry.Info) -> list[str]:
        return [str(key) for key in info.path.as_list()] + [info.field_name, info.python_name]

    @strawberry.field(permission_classes=[Deny])
    def denied(self) -> str | None:
        return "never shown"

    @strawberry.field(extensions=[Shout()])
    async def loud_name(self) -> str:
        return self.name

    # Futures, not coroutines (schema.loaders.then): the executor completes a list's objects together
    @strawberry.field
    def best_friend(self, info: strawberry.Info) -> Human | None:
        return cast("Human | None", then(info.context["people"].load(FRIENDS[self.id][0]), lambda h: h))

    @strawberry.field
    def required_friend(self, info: strawberry.Info) -> Human:
        return cast(Human, then(info.context["people"].load(FRIENDS[self.id][-1]), _refuse_budi))

    @strawberry.field
    def optional_friend(self, info: strawberry.Info) -> Human | None:
        return cast("Human | None", then(info.context["people"].load(FRIENDS[self.id][-1]), _refuse_budi))

    @strawberry.field
    def friend_names(self, info: strawberry.Info) -> list[str]:
        return cast("list[str]", then(info.context["people"].load_many(FRIENDS[self.id]),
                                      lambda found: [h.name for h in found]))

    @strawberry.field
    async def async_items(self) -> list[Item | None]:
        async def item(value: str | None) -> Item:
            await asyncio.sleep(0)
            return Item(value=value)  # type: ignore[arg-type]

        return [item("x"), item(None), item("z")]  # type: ignore[list-item]


Thing = Annotated[Human | Pet, strawberry.union("Thing")]


def _refuse_budi(human: Human) -> Human:
    if human.name == "Budi":
        raise ValueError("not Budi")
    return human

PEOPLE = {
    "1": Human(id=strawberry.ID("1"), name="Ana", age=31, nickname=None, score=1.5,
               born=datetime.date(1990, 1, 2), tags=["a", "b"]),
    "2": Human(id=strawberry.ID("2"), name="Budi", age=40, nickname="Bud", score=2.0,
               born=datetime.date(1980, 3, 4), tags=[]),
    "3": Human(id=strawberry.ID("3"), name="Citra", age=25, nickname=None, score=0.5,
               born=datetime.date(2000, 5, 6), tags=["c"], big=2**40),
}
FRIENDS = {"1": ["2", "3"], "2": ["1"], "3": ["1", "2"]}
PETS = {"1": [Pet(id=strawberry.ID("p1"), name="Rex", colour=Colour.RED)],
        "3": [Pet(id=strawberry.ID("p2"), name="Tom", colour=Colour.BLUE)]}


@strawberry.type
class Guarded:
    secret: str | None = strawberry.field(default="top secret", permission_classes=[Deny])
    loud: str = strawberry.field(default="quiet", extensions=[Shout()])
    plain: str = "plain"


@strawberry.type
class Query:
    @strawberry.field
    def guarded(self) -> Guarded:
        return Guarded()

    @strawberry.field
    def hello(self, name: str = "world") -> str:
        return f"hi {name}"

    @strawberry.field
    async def human(self, id: strawberry.ID) -> Human | None:
        await asyncio.sleep(0)
        return PEOPLE.get(id)

    @strawberry.field
    def humans(self) -> list[Human]:
        return list(PEOPLE.values())

    @strawberry.field
    def nodes(self) -> list[Node]:
        return [PEOPLE["1"], PETS["1"][0], PEOPLE["2"]]

    @strawberry.field
    def things(self) -> list[Thing]:
        return [PETS["3"][0], PEOPLE["3"]]

    @strawberry.field
    def maybe_humans(self) -> list[Human | None]:
        return list(PEOPLE.values())

    @strawberry.field
    def first_friend(self, info: strawberry.Info) -> Human | None:
        return cast("Human | None", then(info.context["people"].load("1"), lambda h: h))

    @strawberry.field
    def required_human(self) -> Human:
        return PEOPLE["1"]

    @strawberry.field
    def broken(self) -> str | None:
        raise RuntimeError("broken on purpose")

    @strawberry.field
    def not_a_list(self) -> list[str] | None:
        return 3  # type: ignore[return-value]

    @strawberry.field
    def colours(self) -> list[Colour]:
        return [Colour.BLUE, Colour.RED]

    @strawberry.field
    def matrix(self) -> list[list[int | None]]:
        return [[1, 2**40], [3], [2**40]]


LOG: list[str] = []


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def slow(self, value: str) -> str:
        await asyncio.sleep(0.01)
        LOG.append(value)
        return value

    @strawberry.mutation
    def fast(self, value: str) -> str:
        LOG.append(value)
        return value


CORE = strawberry.Schema(query=Query, mutation=Mutation)
COMPILED = strawberry.Schema(query=Query, mutation=Mutation, execution_context_class=CompiledExecutionContext)
# parses a query once: the same document, and so the same compiled plans, serve every request
CACHED = strawberry.Schema(query=Query, mutation=Mutation, execution_context_class=CompiledExecutionContext,
                           extensions=[lambda: ParserCache(maxsize=16)])


def context() -> dict[str, Any]:
    batches: list[list[str]] = []

    async def load(keys: list[str]) -> list[Human]:
        batches.append(list(keys))
        return [PEOPLE[k] for k in keys]

    return {"people": DataLoader(load_fn=load), "batches": batches}


def errors(result: ExecutionResult) -> list[tuple[str, Any, Any]]:
    return sorted(((e.message, e.path, [(loc.line, loc.column) for loc in e.locations or []])
                   for e in result.errors or []), key=repr)


async def same(query: str, variables: dict[str, Any] | None = None, schema_core: strawberry.Schema = CORE,
               schema_compiled: strawberry.Schema = COMPILED, compiled: bool = True) -> ExecutionResult:
    """Run the query on both executors, check they agree, and return the compiled result."""
    core_context, compiled_context = context(), context()
    expected = await schema_core.execute(query, variable_values=variables, context_value=core_context)
    before = EXECUTIONS["compiled"]
    result = await schema_compiled.execute(query, variable_values=variables, context_value=compiled_context)
    assert (EXECUTIONS["compiled"] - before == 1) is compiled
    assert result.data == expected.data
    assert errors(result) == errors(expected)
    assert compiled_context["batches"] == core_context["batches"]
    return result


async def test_fields_aliases_arguments_and_scalars() -> None:
    result = await same("""{ hello a: hello(name: "you") humans { id name age nickname score born tags big
                             __typename greeting g2: greeting(punctuation: "?") } colours }""")
    assert result.data is not None
    assert result.data["a"] == "hi you"
    assert result.data["humans"][2]["big"] is None  # over 32 bits: an error, as in graphql-core
    assert [e.path for e in result.errors or []] == [["humans", 2, "big"]]


async def test_fragments_inline_fragments_and_variables() -> None:
    query = """
        query Q($id: ID!, $p: String) {
          human(id: $id) { ...Basic friends { ...Basic ... on Human { age } } greeting(punctuation: $p) }
          nodes { id ... on Pet { name colour } ... on Human { ...Basic } __typename }
          things { __typename ... on Pet { colour } ... on Human { name pets { name } } }
        }
        fragment Basic on Human { id name nickname }
    """
    for variables in ({"id": "1", "p": "."}, {"id": "3"}, {"id": "9"}):
        await same(query, variables)
        await same(query, variables, schema_compiled=CACHED)


async def test_field_permissions_and_extensions_run_on_plain_fields() -> None:
    # A field without a resolver of its own but with permission classes or extensions is not a plain
    # attribute: reading it straight off the object would skip the check.
    result = await same("{ guarded { secret loud plain } }")
    assert result.data == {"guarded": {"secret": None, "loud": "QUIET", "plain": "plain"}}
    assert [e.message for e in result.errors or []] == ["denied"]


async def test_resolvers_without_arguments_are_called_as_strawberry_calls_them() -> None:
    # Called directly, skipping strawberry's wrapper: the same self, root, Parent and info arguments;
    # permission classes and extensions (on resolvers as on plain fields) still run through it.
    result = await same("""{ humans { withParent withRoot withInfo denied loudName friends { withInfo } }
                             requiredHuman { withInfo } }""")
    assert result.data is not None
    assert result.data["humans"][0]["withParent"] == "Ana/Ana"
    assert result.data["humans"][1]["withInfo"] == ["humans", "1", "withInfo", "withInfo", "with_info"]
    assert result.data["humans"][0]["loudName"] == "ANA"
    assert {tuple(e.path or ()) for e in result.errors or []} == {("humans", i, "denied") for i in range(3)}
    schema = COMPILED._schema
    direct = {name: _direct_call(schema.get_field(schema.get_type("Human"), name),  # type: ignore[arg-type]
                                 schema.get_type("Human").fields[name].extensions["strawberry-definition"],  # type: ignore[union-attr]
                                 COMPILED) is not None
              for name in ("friends", "pets", "withInfo", "withParent", "denied", "loudName", "greeting")}
    assert direct == {"friends": True, "pets": True, "withInfo": True, "withParent": True, "denied": False,
                      "loudName": False, "greeting": False}


class Failed(Exception):
    pass


@strawberry.type
class Problem:
    reason: str


@strawberry.type
class Answer:
    value: str


@strawberry.type
class HandledQuery:
    @strawberry.field
    async def outcome(self) -> Annotated[Answer | Problem, strawberry.union("Outcome")]:
        raise Failed("no answer")


@pytest.mark.skipif(not hasattr(strawberry, "ExceptionHandler"), reason="strawberry without exception handlers")
async def test_resolvers_run_through_exception_handlers() -> None:
    class Handler(strawberry.ExceptionHandler[Failed, Problem]):  # type: ignore[misc,name-defined,unused-ignore]
        def handle(self, exception: Failed, *, field: Any, info: Any) -> Problem:
            return Problem(reason=str(exception))

    kwargs: dict[str, Any] = {"query": HandledQuery, "exception_handlers": [Handler()]}
    core = strawberry.Schema(**kwargs)
    compiled = strawberry.Schema(**kwargs, execution_context_class=CompiledExecutionContext)
    result = await same("{ outcome { ... on Problem { reason } } }", schema_core=core, schema_compiled=compiled)
    assert result.data == {"outcome": {"reason": "no answer"}}


async def test_fields_waiting_on_futures_complete_together() -> None:
    # Resolvers returning futures (schema.loaders.then): a list's objects wait for them without a task
    # each, and the next level's loads still batch across the whole list.
    result = await same("""{ humans { name bestFriend { name bestFriend { name friends { name } }
                                                        friendNames } friendNames } firstFriend { name } }""")
    assert result.data is not None
    assert [h["bestFriend"]["name"] for h in result.data["humans"]] == ["Budi", "Ana", "Ana"]
    # with a coroutine field beside them, and single objects
    await same('{ humans { bestFriend { name } friends { bestFriend { name } } } '
               'human(id: "3") { bestFriend { name } } }')
    # errors: nullable fields, non-null fields bubbling to a nullable item, to a non-null list and to data
    await same("{ humans { name optionalFriend { name } } }")
    await same("{ maybeHumans { name requiredFriend { name } } }")
    await same("{ humans { name requiredFriend { name } } hello }")
    await same('{ human(id: "1") { requiredFriend { name } } hello }')
    await same("{ humans { bestFriend { requiredFriend { name } } } }")
    await same("{ maybeHumans { bestFriend { name optionalFriend { name } requiredFriend { name } } } }")


async def test_skip_and_include_follow_the_variables() -> None:
    query = """query($skip: Boolean!, $with: Boolean!) {
        humans { name @skip(if: $skip) age @include(if: $with) ... @include(if: $with) { nickname } } }"""
    for skip in (True, False):
        for include in (True, False):
            result = await same(query, {"skip": skip, "with": include}, schema_compiled=CACHED)
            assert result.data is not None
            assert ("name" in result.data["humans"][0]) is not skip
            assert ("nickname" in result.data["humans"][0]) is include


async def test_errors_null_the_nearest_nullable_position() -> None:
    await same("{ broken hello }")
    await same("{ notAList }")
    result = await same("{ matrix }")
    assert [e.path for e in result.errors or []] == [["matrix", 0, 1], ["matrix", 2, 0]]
    await same("{ humans { name must } }")  # non-null error nulls the item, and the non-null list: data null
    await same("{ human(id: \"1\") { name must } }")
    await same("{ requiredHuman { must } hello }")  # bubbles up to data itself
    await same('{ human(id: "1") { friends { name must } } hello }')  # from inside gathered loads
    await same('{ human(id: "3") { friends { name maybe friends { maybe } } } }')
    result = await same("{ humans { maybe items { value } } }")
    paths = {tuple(e.path or ()) for e in result.errors or []}
    assert paths >= {("humans", 0, "maybe"), ("humans", 0, "items", 2, "value")}
    result = await same("{ human(id: \"2\") { strictItems { value } asyncItems { value } } }")
    assert result.data == {"human": {"strictItems": None, "asyncItems": [{"value": "x"}, None, {"value": "z"}]}}


async def test_dataloader_batches_each_level_once() -> None:
    context_value = context()
    result = await COMPILED.execute("{ humans { friends { name friends { name } } } }", context_value=context_value)
    assert result.errors is None
    # the three humans' friends in one batch; the second level is all cached by then
    assert context_value["batches"] == [["2", "3", "1"]]
    await same("{ humans { friends { name friends { name } } } }")


async def test_mutations_run_in_order() -> None:
    LOG.clear()
    result = await same('mutation { a: slow(value: "1") b: fast(value: "2") c: slow(value: "3") d: fast(value: "4") }')
    assert result.data == {"a": "1", "b": "2", "c": "3", "d": "4"}
    assert LOG == ["1", "2", "3", "4"] * 2


async def test_introspection_and_resolve_middleware_are_left_to_graphql_core() -> None:
    await same("{ __schema { queryType { name } } }", compiled=False)
    await same("{ __type(name: \"Human\") { name } }", compiled=False)

    class Upper(SchemaExtension):
        def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            return _next(root, info, *args, **kwargs)

    with_middleware = strawberry.Schema(query=Query, mutation=Mutation, extensions=[Upper],
                                        execution_context_class=CompiledExecutionContext)
    await same("{ hello }", schema_compiled=with_middleware, compiled=False)


# The hub's own schema

VILLAGE = "33.14.01.2001"


@pytest.fixture
async def household(session: AsyncSession) -> Household:
    row = Household(address="Jl. Satu", decile=2, registry_id="R001", **region_codes(VILLAGE))
    session.add(row)
    await session.flush()
    session.add_all([Person(nik=f"331401010190000{i}", name=f"Warga {i}", household_id=row.id,
                            relationship_to_head=Relationship.head if i == 0 else Relationship.child,
                            **region_codes(VILLAGE))
                     for i in range(2)])
    await session.flush()
    return row


@pytest.fixture
def compiled_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"graphql_executor": "compiled"})


async def test_the_hub_runs_a_typical_query_compiled(compiled_settings: Settings, connection: AsyncConnection,
                                                      household: Household) -> None:
    query = """query($id: ID!) { household(id: $id) { id registryId decile members { name nik } }
               households(first: 5) { nodes { id members { name } } } }"""
    before = EXECUTIONS["compiled"]
    async with api_client(compiled_settings, connection, principal(VILLAGE)) as client:
        response = await client.post("/graphql", json={
            "query": query, "variables": {"id": to_global_id("Household", household.id)}})
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["household"]["registryId"] == "R001"
    assert len(body["data"]["household"]["members"]) == 2
    assert EXECUTIONS["compiled"] - before == 1
