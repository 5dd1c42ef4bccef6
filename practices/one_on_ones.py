"""One-on-one check-in nudges (stub: being written)."""

from __future__ import annotations

from practices.context import PracticeContext
from practices.messages import Outcome
from storage.models import Member


async def list_pairs(ctx: PracticeContext) -> Outcome:
    raise NotImplementedError


async def add(ctx: PracticeContext, report: Member, schedule: str, manager: Member | None) -> Outcome:
    raise NotImplementedError


async def remove(ctx: PracticeContext, pair_id: int) -> Outcome:
    raise NotImplementedError


async def set_prep(ctx: PracticeContext, pair_id: int, enabled: bool) -> Outcome:
    raise NotImplementedError
