"""The practice dispatcher: one inbound event to the practice that handles it.

A command is parsed with the grammar the practices declare (``bot/commands.py``) and runs itself (each
command resolves the people it mentions and calls its practice); buttons and forms go to the practice
that declared their prefix. Which practices exist is the registry's business
(``bot/practices_registry.py``), so this module names none of their commands.
"""

from __future__ import annotations

from typing import Any

from bot import commands as c
from bot.events import (
    ButtonClicked,
    CommandReceived,
    DirectText,
    FormSubmitted,
    HomeOpened,
    InboundEvent,
    MemberSeen,
)
from bot.practices_registry import Registry, default_registry
from practices import help as help_practice
from practices import home
from practices.messages import Example, Intent, Outcome, compose, examples_in
from practices.people import Unresolved
from practices.practice import PracticeContext

DIRECT_TEXT_HELP = compose(
    "Hi! I work with commands. Type {example} to see what I can do.", example=Example(c.HELP_TYPED)
)
UNUSED = compose(
    "That button or form is no longer in use. Type {example} to start again.", example=Example(c.HELP_TYPED)
)
USAGE_REPLY = "{message}\nExample: {example}"


def usage_reply(error: c.UsageError) -> Outcome:
    """What was wrong and an example that works; the adapter spells the example as its platform takes it."""
    message = examples_in(error.message)  # a command the message names to type is drawn as one
    return Outcome.reply(compose(USAGE_REPLY, message=message, example=Example(error.example)))


def help_reply(asked: str | None = None, registry: Registry | None = None) -> Outcome:
    """The list of topics, one topic, or (for a topic Tend has no help on) saying so and the list."""
    registry = registry or default_registry()
    return help_practice.reply(registry.topics, asked, registry.listed_kinds)


def is_anonymous(event: InboundEvent, registry: Registry | None = None) -> bool:
    """Buttons and forms a practice declared ``anonymous``: handling them writes nothing about the
    person who acted (no profile refresh, no first-contact row), so no identified row shares their
    moment or transaction."""
    anonymous = (registry or default_registry()).anonymous
    if isinstance(event, ButtonClicked):
        return event.action in anonymous
    if isinstance(event, FormSubmitted):
        return event.form_id in anonymous
    return False


async def route(ctx: PracticeContext, event: InboundEvent, registry: Registry | None = None) -> Outcome:
    """Routes one event; a user's mistake becomes a friendly answer, never an exception."""
    try:
        return await _route(ctx, event, registry or default_registry())
    except Unresolved as unresolved:
        return unresolved.outcome


async def _route(ctx: PracticeContext, event: InboundEvent, registry: Registry) -> Outcome:
    if isinstance(event, CommandReceived):
        parsed = c.parse(event.command, event.text, event.mentions, registry=registry)
        if isinstance(parsed, c.UsageError):
            return usage_reply(parsed)
        return await parsed.run(ctx)
    if isinstance(event, ButtonClicked):
        return await _dispatch(registry.actions, event.action, ctx, event.value, event.message_ref)
    if isinstance(event, FormSubmitted):
        return await _dispatch(registry.forms, event.form_id, ctx, event.values, event.state)
    if isinstance(event, DirectText):
        return Outcome.reply(DIRECT_TEXT_HELP)
    if isinstance(event, HomeOpened):
        return await home.show(ctx)
    if isinstance(event, MemberSeen) and event.joined:
        return await joined(ctx, registry)
    return Outcome()


async def joined(ctx: PracticeContext, registry: Registry) -> Outcome:
    """Someone joined the workspace: each practice that welcomes newcomers (``Practice.on_join``) acts."""
    intents: list[Intent] = []
    for practice in registry.practices:
        if practice.on_join is not None:
            intents.extend((await practice.on_join(ctx)).intents)
    return Outcome(tuple(intents))


async def _dispatch(table: dict[str, Any], key: str, ctx: PracticeContext, *args: Any) -> Outcome:
    handler = table.get(key.split(".", 1)[0])
    if handler is None:
        return Outcome.reply(UNUSED)
    result: Outcome = await handler(ctx, key, *args)
    return result
