"""Teams: the unit the index reports on (stub: being written)."""

from __future__ import annotations

from practices.context import PracticeContext
from practices.messages import Outcome
from storage.models import Member


async def list_teams(ctx: PracticeContext) -> Outcome:
    raise NotImplementedError


async def create(ctx: PracticeContext, name: str, place_id: str | None) -> Outcome:
    raise NotImplementedError


async def add_members(ctx: PracticeContext, name: str, members: list[Member]) -> Outcome:
    raise NotImplementedError


async def remove_members(ctx: PracticeContext, name: str, members: list[Member]) -> Outcome:
    raise NotImplementedError


async def set_managers(ctx: PracticeContext, name: str, members: list[Member]) -> Outcome:
    raise NotImplementedError


async def delete(ctx: PracticeContext, name: str) -> Outcome:
    raise NotImplementedError
