"""The compiled executor's list shortcut: items of a strawberry class without ``__await__`` skip the
``is_awaitable`` check; awaitable items of any other class are still awaited."""

from __future__ import annotations

import asyncio
from typing import Any

import strawberry

from schema.executor import CompiledExecutionContext, _plain_class


@strawberry.type
class Item:
    name: str


@strawberry.type
class Waiting:
    name: str

    def __await__(self) -> Any:  # an awaitable object: awaited like graphql-core awaits it
        yield from asyncio.sleep(0).__await__()
        return Item(name=f"{self.name}!")


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [Item(name="a"), Item(name="b")]

    @strawberry.field
    def waiting(self) -> list[Item]:
        return [Waiting(name="c"), Item(name="d")]  # type: ignore[list-item]


CORE = strawberry.Schema(query=Query, types=[Waiting])
COMPILED = strawberry.Schema(query=Query, types=[Waiting], execution_context_class=CompiledExecutionContext)


def test_the_plain_class_is_the_strawberry_class_without_await() -> None:
    schema = COMPILED._schema
    assert _plain_class(schema.get_type("Item")) is Item
    waiting = schema.get_type("Waiting")
    assert waiting is not None
    assert _plain_class(waiting) is None
    assert _plain_class(schema.get_type("String")) is None


async def test_awaitable_items_are_still_awaited() -> None:
    for query in ("{ items { name } }", "{ waiting { name } }"):
        core = await CORE.execute(query)
        compiled = await COMPILED.execute(query)
        assert compiled.errors == core.errors
        assert compiled.data == core.data
    assert (await COMPILED.execute("{ waiting { name } }")).data == {"waiting": [{"name": "c!"}, {"name": "d"}]}
