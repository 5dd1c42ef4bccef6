"""``/tend support fallback``: an organisation's own route for when the support rota is away.

When nobody on the rota can see a request soon, Tend offers another route (an EAP line, HR's
address). The operator's ``TEND_SUPPORT_FALLBACK`` is the default for every workspace of the instance;
an admin may give their own workspace its own words, which are kept as typed (``Said``) and win over
the default until they turn them off. Part of the stress practice's ``/tend support`` commands.
"""

from __future__ import annotations

from dataclasses import dataclass

from practices.grammar import Result, Token, UsageError, span
from practices.messages import Example, Outcome, Said, as_typed, compose, joined
from practices.practice import PracticeContext
from storage import support_fallback as store

MAX_FALLBACK = 500  # the column's size, and TEND_SUPPORT_FALLBACK's
EXAMPLE = "/tend support fallback Call our EAP on 0800 123 456, any time"
OFF_EXAMPLE = "/tend support fallback off"
OFF = "off"
GENERIC = "Tend's general advice (your manager, HR, or your employee assistance programme)"

OWN = (
    "When nobody on the support rota can see a request soon, Tend offers this workspace's own route: {route}."
)
DEFAULT = "When nobody on the support rota can see a request soon, Tend offers: {route}."
CHANGE = "Admins change it with {example}."
BACK = "{example} goes back to the default."
SAVED = "Saved. When nobody on the support rota can see a request soon, Tend now offers: {route}."
RESET = "Back to the default. When nobody on the support rota can see a request soon, Tend offers: {route}."
ONLY_ADMINS = "Only Tend admins can change where Tend points people when the support rota is away."
TOO_LONG = "Please keep the route to {limit} characters; that was {count}."


def route(ctx: PracticeContext) -> str:
    """The route to offer here: the workspace's own, else the instance's (empty: the general words)."""
    return ctx.workspace.support_fallback or ctx.support_fallback


def current(ctx: PracticeContext) -> Outcome:
    """Anyone may see where Tend points people: it is what they would be told."""
    own = ctx.workspace.support_fallback
    shown = Said(own) if own else Said(ctx.support_fallback) if ctx.support_fallback else GENERIC
    lines = [compose(OWN if own else DEFAULT, route=shown), compose(CHANGE, example=Example(EXAMPLE))]
    if own:
        lines.append(compose(BACK, example=Example(OFF_EXAMPLE)))
    return Outcome.reply(joined(lines, "\n", "\n"))


async def change(ctx: PracticeContext, words: str | None) -> Outcome:
    """Admins only; ``None`` goes back to the instance's default."""
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    assert ctx.workspace.id is not None
    await store.set_fallback(ctx.session, ctx.workspace.id, words)
    ctx.workspace.support_fallback = words
    if words:
        return Outcome.reply(compose(SAVED, route=Said(words)))
    default = Said(ctx.support_fallback) if ctx.support_fallback else GENERIC
    return Outcome.reply(compose(RESET, route=default))


@dataclass(frozen=True)
class FallbackShow:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return current(ctx)


@dataclass(frozen=True)
class FallbackSet:
    words: str | None  # None: back to the default

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await change(ctx, self.words)


def parse_fallback(text: str, args: list[Token]) -> Result:
    """``fallback`` shows it, ``fallback off`` resets it, ``fallback <words>`` sets it."""
    if not args:
        return FallbackShow()
    if len(args) == 1 and args[0].word == OFF:
        return FallbackSet(None)
    words = as_typed(span(text, args))
    if len(words) > MAX_FALLBACK:
        return UsageError(TOO_LONG.format(limit=MAX_FALLBACK, count=len(words)), EXAMPLE)
    return FallbackSet(words)
