"""A workspace's own route for when the support rota is away (``/tend support fallback``)."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Workspace


async def set_fallback(session: AsyncSession, workspace_id: int, words: str | None) -> None:
    """``None``: the instance's default (``TEND_SUPPORT_FALLBACK``) applies again."""
    changed = update(Workspace).where(col(Workspace.id) == workspace_id).values(support_fallback=words)
    await session.exec(changed)
