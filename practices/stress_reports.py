"""Anonymous stress reports (stub: being written)."""

from __future__ import annotations

from practices.context import PracticeContext
from practices.messages import Outcome
from storage.models import Member


async def start(ctx: PracticeContext) -> Outcome:
    raise NotImplementedError


async def list_support(ctx: PracticeContext) -> Outcome:
    raise NotImplementedError


async def add_support(ctx: PracticeContext, members: list[Member]) -> Outcome:
    raise NotImplementedError


async def remove_support(ctx: PracticeContext, members: list[Member]) -> Outcome:
    raise NotImplementedError
