"""``/tend help``: the list of topics, one topic's commands with an example each, and the topics that
belong to no single practice (how to write a schedule).

Every practice declares its own topics; this practice only shows them, so help can never list a
command that does not exist or miss one that does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from practices.grammar import Result, Token, Topic, shown
from practices.messages import (
    Card,
    Example,
    Fine,
    Outcome,
    Reply,
    Rich,
    Said,
    Text,
    compose,
    examples_in,
    joined,
)
from practices.practice import Practice, PracticeContext

HELP_EXAMPLE = "/tend help ritual"
HELP_TITLE = "Tend help"
HELP_INTRO = "Ask about one topic for its commands and an example of each, like {example}."
HELP_TOPIC = "• *{name}*: {summary}"
HELP_USAGE = "• *{command}*{args}: {does}. Example: {example}"
HELP_EXAMPLES = "More examples:\n{examples}"
HELP_PRIVACY = "Type {example} to see what Tend stores and who can see it."
PRIVACY_EXAMPLE = "/tend privacy"
UNKNOWN_TOPIC = "I have no help on “{topic}”. The topics are: {topics}."


def find_topic(topics: Sequence[Topic], name: str) -> Topic | None:
    """The topic a person asked for: its name, an alias, or the subcommand it documents (``ritual add``)."""
    wanted = " ".join(name.casefold().split())
    for candidate in (wanted, wanted.split(" ")[0] if wanted else ""):
        for found in topics:
            if candidate == found.name or candidate in found.aliases:
                return found
    return None


def index_card(topics: Sequence[Topic]) -> Card:
    """``/tend help``: the topics, one line each."""
    lines: list[Rich] = [compose(HELP_TOPIC, name=t.name, summary=t.summary) for t in topics]
    return Card(
        title=HELP_TITLE,
        blocks=(
            Text(compose(HELP_INTRO, example=Example(HELP_EXAMPLE))),
            Text(joined(list(lines), "\n", "\n")),
            Fine(compose(HELP_PRIVACY, example=Example(PRIVACY_EXAMPLE))),
        ),
    )


def topic_card(topic: Topic, kinds: tuple[str, ...] = ()) -> Card:
    """``/tend help <topic>``: what it is for, then each command with one example that works as typed."""
    blocks: list[Text | Fine] = [Text(examples_in(topic.about))]
    usages: list[Rich] = [
        compose(
            HELP_USAGE,
            command=usage.command,
            args=f" {usage.args_with(kinds)}" if usage.args else "",
            does=examples_in(usage.does),
            example=Example(usage.example),
        )
        for usage in topic.usages
    ]
    if usages:
        blocks.append(Text(joined(usages, "\n", "\n")))
    if topic.notes:
        blocks.append(Text(examples_in("\n".join(topic.notes))))
    if topic.examples:
        more: list[Rich] = [("• ", Example(example)) for example in topic.examples]
        blocks.append(Text(compose(HELP_EXAMPLES, examples=joined(more, "\n", "\n"))))
    return Card(title=f"{HELP_TITLE}: {topic.name}", blocks=tuple(blocks))


def reply(topics: Sequence[Topic], asked: str | None = None, kinds: tuple[str, ...] = ()) -> Outcome:
    """The list of topics, one topic, or (for a topic Tend has no help on) saying so and the list.

    ``kinds``: the ritual kinds in use, which the ritual topic lists."""
    if not asked:
        return Outcome((Reply(index_card(topics)),))
    found = find_topic(topics, asked)
    if found is not None:
        return Outcome((Reply(topic_card(found, kinds)),))
    names = ", ".join(t.name for t in topics)
    unknown = compose(UNKNOWN_TOPIC, topic=Said(shown(asked)), topics=names)
    intro = Text(compose(HELP_INTRO, example=Example(HELP_EXAMPLE)))
    return Outcome((Reply(Card(title=HELP_TITLE, blocks=(Text(unknown), intro))),))


@dataclass(frozen=True)
class Help:
    topic: str | None = None

    async def run(self, ctx: PracticeContext) -> Outcome:
        topics = [t for practice in ctx.practices for t in practice.topics]
        kinds = tuple(k.name for practice in ctx.practices for k in practice.rituals if k.listed)
        return reply(topics, self.topic, kinds)


def parse_help(text: str, args: list[Token]) -> Result:
    return Help(" ".join(t.raw for t in args).casefold() or None)


SCHEDULES = Topic(
    "schedules",
    "how to write when a ritual or 1:1 repeats",
    "A schedule is some days and a time, in the time zone you give (or your own).",
    notes=(
        "• Days and a time: “mon,wed 09:25”, “weekdays 9am”, “mon-fri 16:30”.",
        "• “daily” is every day, weekends included; “weekdays” is Monday to Friday.",
        "• Every few weeks: “every 2 weeks thu 10:00” (up to every 8 weeks).",
        "• Once a month: “first mon 10:00”, “last fri 16:00” (first to fourth, or last).",
        "• Anything else in crontab form: “cron” then minute, hour, day, month and weekday "
        "(0 and 7 are Sunday), as in the third example below.",
        "• A ritual's time zone goes last, like Europe/Berlin; without one, yours is used.",
    ),
    examples=(
        "/tend ritual add opener here weekdays 9am",
        "/tend ritual add shoutout-digest here last fri 16:00 Europe/Berlin",
        "/tend ritual add shoutout-prompt here cron 25 9 * * mon,wed",
        "/tend 1on1 add @kim every 2 weeks thu 10:00",
    ),
    aliases=("schedule", "time", "times", "cron"),
)

PRACTICE = Practice(name="help", order=90, commands={"help": parse_help}, topics=(SCHEDULES,))
