"""Which practice handles what: the one routing table from events and commands to practices.

Commands are parsed here (the grammar lives in ``bot``), people mentioned are resolved to members,
and the practice is called with plain, resolved arguments, so practices never see a platform or a
grammar type.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, assert_never

from bot import commands as c
from bot.events import (
    ButtonClicked,
    CommandReceived,
    DirectText,
    FormSubmitted,
    HomeOpened,
    InboundEvent,
    PersonRef,
)
from practices import (
    data_rights,
    home,
    index,
    meeting_openers,
    one_on_ones,
    preferences,
    privacy,
    rituals,
    roles,
    shoutouts,
    stress_reports,
    teams,
)
from practices.context import ActionHandler, FireHandler, FormHandler, PracticeContext, SweepHandler
from practices.messages import Card, Example, Fine, Outcome, Reply, Rich, Said, Text, compose, joined
from storage.identity import ensure_member, find_members_by_name
from storage.models import Member

PRACTICES: tuple[ModuleType, ...] = (
    shoutouts,
    rituals,
    meeting_openers,
    one_on_ones,
    stress_reports,
    teams,
    index,
    data_rights,
    preferences,
)


def _anonymous() -> frozenset[str]:
    found: set[str] = set()
    for module in PRACTICES:
        found |= set(getattr(module, "ANONYMOUS", ()))
    return frozenset(found)


def _merged(table: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for module in PRACTICES:
        merged.update(getattr(module, table, {}))
    return merged


# Buttons and forms route by the prefix of their action / form id ("kudos.open" -> "kudos").
ACTIONS: dict[str, ActionHandler] = _merged("ACTIONS")
FORMS: dict[str, FormHandler] = _merged("FORMS")
RITUALS: dict[str, FireHandler] = _merged("RITUALS")
SWEEPS: tuple[SweepHandler, ...] = tuple(
    sweep for module in PRACTICES for sweep in getattr(module, "SWEEPS", ())
)
ANONYMOUS: frozenset[str] = _anonymous()  # full action names and form ids, e.g. "opener.answer"

UNKNOWN_PERSON = (
    "I don't know anyone called @{name} here. Mention them so your chat app completes the name "
    "(for example @{name} → pick from the list)."
)
AMBIGUOUS_PERSON = "More than one person here is called @{name}; mention them from the list so I know who."
DIRECT_TEXT_HELP = compose(
    "Hi! I work with commands. Type {example} to see what I can do.", example=Example("/tend help")
)
UNUSED = compose(
    "That button or form is no longer in use. Type {example} to start again.", example=Example("/tend help")
)


class Unresolved(Exception):
    """A mention could not be matched to exactly one member; ``outcome`` explains it to the user."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__("unresolved mention")
        self.outcome = outcome


async def resolve_person(ctx: PracticeContext, ref: PersonRef) -> Member:
    """A mention to a member: by platform id when the platform gave one, else by unique name."""
    if ref.user_id is not None:
        return await ensure_member(ctx.session, ctx.workspace, ref.user_id, ctx.now, display_name=ref.name)
    matches = await find_members_by_name(ctx.session, ctx.workspace_id, ref.name)
    if len(matches) == 1:
        return matches[0]
    template = UNKNOWN_PERSON if not matches else AMBIGUOUS_PERSON
    raise Unresolved(Outcome.reply(template.format(name=ref.name.lstrip("@"))))


async def resolve_people(ctx: PracticeContext, refs: tuple[PersonRef, ...]) -> list[Member]:
    return [await resolve_person(ctx, ref) for ref in refs]


USAGE_REPLY = "{message}\nExample: {example}"
HELP_TITLE = "Tend help"
HELP_INTRO = "Ask about one topic for its commands and an example of each, like {example}."
HELP_TOPIC = "• *{name}*: {summary}"
HELP_USAGE = "• *{command}*{args}: {does}. Example: {example}"
HELP_EXAMPLES = "More examples:\n{examples}"
HELP_PRIVACY = "Type {example} to see what Tend stores and who can see it."
UNKNOWN_TOPIC = "I have no help on “{topic}”. The topics are: {topics}."


def usage_reply(error: c.UsageError) -> Outcome:
    """What was wrong and an example that works; the adapter spells the example as its platform takes it."""
    return Outcome.reply(compose(USAGE_REPLY, message=error.message, example=Example(error.example)))


def help_index() -> Card:
    """``/tend help``: the topics, one line each."""
    lines: list[Rich] = [compose(HELP_TOPIC, name=t.name, summary=t.summary) for t in c.TOPICS]
    return Card(
        title=HELP_TITLE,
        blocks=(
            Text(compose(HELP_INTRO, example=Example(c.HELP_EXAMPLE))),
            Text(joined(list(lines), "\n", "\n")),
            Fine(compose(HELP_PRIVACY, example=Example("/tend privacy"))),
        ),
    )


def help_topic(topic: c.Topic) -> Card:
    """``/tend help <topic>``: what it is for, then each command with one example that works as typed."""
    blocks: list[Text | Fine] = [Text(topic.about)]
    usages: list[Rich] = [
        compose(
            HELP_USAGE,
            command=usage.command,
            args=f" {usage.args}" if usage.args else "",
            does=usage.does,
            example=Example(usage.example),
        )
        for usage in topic.usages
    ]
    if usages:
        blocks.append(Text(joined(usages, "\n", "\n")))
    if topic.notes:
        blocks.append(Text("\n".join(topic.notes)))
    if topic.examples:
        shown: list[Rich] = [("• ", Example(example)) for example in topic.examples]
        blocks.append(Text(compose(HELP_EXAMPLES, examples=joined(shown, "\n", "\n"))))
    return Card(title=f"{HELP_TITLE}: {topic.name}", blocks=tuple(blocks))


def help_reply(asked: str | None = None) -> Outcome:
    """The list of topics, one topic, or (for a topic Tend has no help on) saying so and the list."""
    if not asked:
        return Outcome((Reply(help_index()),))
    found = c.topic(asked)
    if found is not None:
        return Outcome((Reply(help_topic(found)),))
    topics = ", ".join(t.name for t in c.TOPICS)
    unknown = compose(UNKNOWN_TOPIC, topic=Said(c.shown(asked)), topics=topics)
    return Outcome(
        (
            Reply(
                Card(
                    title=HELP_TITLE,
                    blocks=(Text(unknown), Text(compose(HELP_INTRO, example=Example(c.HELP_EXAMPLE)))),
                )
            ),
        )
    )


async def run_command(ctx: PracticeContext, command: c.Command) -> Outcome:
    """Dispatches one parsed command to its practice."""
    match command:
        case c.Kudos(receivers=receivers, reason=reason, value_tags=tags):
            return await shoutouts.give(ctx, await resolve_people(ctx, receivers), reason, tags)
        case c.Help(topic=topic):
            return help_reply(topic)
        case c.Privacy():
            return await privacy.show(ctx)
        case c.SettingsShow():
            return await preferences.show(ctx)
        case c.SettingsHours(start=start, end=end, days=days):
            return await preferences.set_hours(ctx, start, end, days)
        case c.SettingsTimeZone(time_zone=time_zone):
            return await preferences.set_time_zone(ctx, time_zone)
        case c.PauseUntil(until=until):
            return await preferences.pause_until(ctx, until)
        case c.PauseOff():
            return await preferences.pause_off(ctx)
        case c.AdminList():
            return await roles.list_admins(ctx)
        case c.AdminAdd(members=members):
            return await roles.add_admins(ctx, await resolve_people(ctx, members))
        case c.AdminRemove(members=members):
            return await roles.remove_admins(ctx, await resolve_people(ctx, members))
        case c.AdminLog():
            return await roles.admin_log(ctx)
        case c.RitualList():
            return await rituals.list_rituals(ctx)
        case c.RitualAdd(kind=kind, place=place, schedule=schedule, time_zone=time_zone):
            return await rituals.add(ctx, kind, place_id(ctx, place), schedule, time_zone)
        case c.RitualPause(ritual_id=ritual_id):
            return await rituals.set_paused(ctx, ritual_id, True)
        case c.RitualResume(ritual_id=ritual_id):
            return await rituals.set_paused(ctx, ritual_id, False)
        case c.RitualRemove(ritual_id=ritual_id):
            return await rituals.remove(ctx, ritual_id)
        case c.TeamList():
            return await teams.list_teams(ctx)
        case c.TeamCreate(name=name, place=place):
            return await teams.create(ctx, name, place_id(ctx, place) if place else None)
        case c.TeamAdd(name=name, members=members):
            return await teams.add_members(ctx, name, await resolve_people(ctx, members))
        case c.TeamRemove(name=name, members=members):
            return await teams.remove_members(ctx, name, await resolve_people(ctx, members))
        case c.TeamManager(name=name, members=members):
            return await teams.set_managers(ctx, name, await resolve_people(ctx, members))
        case c.TeamDelete(name=name):
            return await teams.delete(ctx, name)
        case c.Stress():
            return await stress_reports.start(ctx)
        case c.SupportList():
            return await stress_reports.list_support(ctx)
        case c.SupportAdd(members=members):
            return await stress_reports.add_support(ctx, await resolve_people(ctx, members))
        case c.SupportRemove(members=members):
            return await stress_reports.remove_support(ctx, await resolve_people(ctx, members))
        case c.IndexShow(team=team, weeks=weeks):
            return await index.show(ctx, team, weeks)
        case c.IndexExport():
            return await index.export(ctx)
        case c.ExportMyData():
            return await data_rights.export_my_data(ctx)
        case c.ForgetMe(confirmed=confirmed):
            return await data_rights.forget_me(ctx, confirmed)
        case c.OneOnOneList():
            return await one_on_ones.list_pairs(ctx)
        case c.OneOnOneAdd(report=report, schedule=schedule, manager=manager):
            manager_member = await resolve_person(ctx, manager) if manager else None
            return await one_on_ones.add(ctx, await resolve_person(ctx, report), schedule, manager_member)
        case c.OneOnOneRemove(pair_id=pair_id):
            return await one_on_ones.remove(ctx, pair_id)
        case c.OneOnOnePrep(pair_id=pair_id, enabled=enabled):
            return await one_on_ones.set_prep(ctx, pair_id, enabled)
    assert_never(command)


def place_id(ctx: PracticeContext, place: c.PlaceRef) -> str | None:
    """A channel reference to the id adapters send to; ``here`` is where the command was typed."""
    if place.is_here:
        return ctx.place_id if not ctx.is_direct else None
    return place.place_id or place.name or None


def is_anonymous(event: InboundEvent) -> bool:
    """Buttons and forms a practice declared ``ANONYMOUS``: handling them writes nothing about the
    person who acted (no profile refresh, no first-contact row), so no identified row shares their
    moment or transaction."""
    if isinstance(event, ButtonClicked):
        return event.action in ANONYMOUS
    if isinstance(event, FormSubmitted):
        return event.form_id in ANONYMOUS
    return False


async def route(ctx: PracticeContext, event: InboundEvent) -> Outcome:
    """Routes one event; a user's mistake becomes a friendly answer, never an exception."""
    try:
        return await _route(ctx, event)
    except Unresolved as unresolved:
        return unresolved.outcome


async def _route(ctx: PracticeContext, event: InboundEvent) -> Outcome:
    if isinstance(event, CommandReceived):
        parsed = c.parse(event.command, event.text, event.mentions)
        if isinstance(parsed, c.UsageError):
            return usage_reply(parsed)
        return await run_command(ctx, parsed)
    if isinstance(event, ButtonClicked):
        return await _dispatch(ACTIONS, event.action, ctx, event.value, event.message_ref)
    if isinstance(event, FormSubmitted):
        return await _dispatch(FORMS, event.form_id, ctx, event.values, event.state)
    if isinstance(event, DirectText):
        return Outcome.reply(DIRECT_TEXT_HELP)
    if isinstance(event, HomeOpened):
        return await home.show(ctx)
    return Outcome()


async def _dispatch(table: dict[str, Any], key: str, ctx: PracticeContext, *args: Any) -> Outcome:
    handler = table.get(key.split(".", 1)[0])
    if handler is None:
        return Outcome.reply(UNUSED)
    result: Outcome = await handler(ctx, key, *args)
    return result
