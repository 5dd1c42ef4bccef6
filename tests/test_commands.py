"""The command grammar: examples a person would type, every error path, and properties over random text."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import commands as c
from bot.commands import PlaceRef, UsageError, parse
from bot.events import PersonRef
from bot.practices_registry import default_registry
from practices.compassion_index import IndexExport, IndexShow
from practices.data_rights import ExportMyData, ForgetMe
from practices.help import Help
from practices.one_on_ones import OneOnOneAdd, OneOnOneList, OneOnOnePrep, OneOnOneRemove
from practices.org_teams import TeamAdd, TeamCreate, TeamDelete, TeamList, TeamManager, TeamRemove
from practices.preferences import (
    WEEKDAYS,
    PauseOff,
    PauseUntil,
    SettingsHours,
    SettingsShow,
    SettingsTimeZone,
)
from practices.privacy import Privacy
from practices.rituals import RitualAdd, RitualList, RitualPause, RitualRemove, RitualResume
from practices.roles import AdminAdd, AdminList, AdminRemove
from practices.shoutouts import Kudos
from practices.stress_reports import Stress, SupportAdd, SupportList, SupportRemove

REGISTRY = default_registry()
RITUAL_KINDS = REGISTRY.listed_kinds
FAST = settings(max_examples=200, deadline=None)


def tend(text: str, mentions: tuple[PersonRef, ...] = ()) -> c.Result:
    return parse("tend", text, mentions)


def kudos(text: str, mentions: tuple[PersonRef, ...] = ()) -> c.Result:
    return parse("kudos", text, mentions)


def parse_example(example: str) -> c.Result:
    word, _, rest = example.partition(" ")
    assert word in ("/kudos", "/tend"), example
    return parse(word[1:], rest)  # type: ignore[arg-type]


def is_command(result: object) -> bool:
    """A parsed command: anything but a usage error, and it knows how to run itself."""
    return not isinstance(result, UsageError) and callable(getattr(result, "run", None))


def error(result: object) -> UsageError:
    assert isinstance(result, UsageError), result
    assert "\n" not in result.message and result.message.strip()
    assert is_command(parse_example(result.example)), result.example
    return result


# --- kudos -------------------------------------------------------------------------------------------


def test_kudos_with_ids_names_and_tags():
    result = kudos("<@U1|bo> <@U2> thanks for the review! #Team-Work #fun", (PersonRef("U2", "Kim"),))
    assert result == Kudos(
        (PersonRef("U1", "bo"), PersonRef("U2", "Kim")), "thanks for the review!", ("team-work", "fun")
    )


def test_kudos_plain_names_joiners_and_duplicates():
    result = kudos("@bo, @al and <@U3> @bo: covered on-call")
    assert isinstance(result, Kudos)
    assert result.receivers == (PersonRef(None, "bo"), PersonRef(None, "al"), PersonRef("U3", ""))
    assert result.reason == "covered on-call"


def test_kudos_duplicate_ids_keep_first():
    result = kudos("<@U1|bo> <@U1> <@U1|other> ta")
    assert isinstance(result, Kudos)
    assert result.receivers == (PersonRef("U1", "bo"),)


def test_kudos_reason_keeps_inner_mentions_channels_and_leading_tags():
    result = kudos("<@U1>   #1 help with <@U2|al> in <#C1|ops> #x <#C2|y>")
    assert isinstance(result, Kudos)
    assert result.reason == "#1 help with <@U2|al> in <#C1|ops> #x <#C2|y>"
    assert result.value_tags == ()


def test_kudos_tags_lowercased_and_deduplicated():
    result = kudos("@a great work #Care #care #kindness")
    assert isinstance(result, Kudos)
    assert result.value_tags == ("care", "kindness")
    assert result.reason == "great work"


def test_kudos_errors():
    assert "mention at least one person" in error(kudos("")).message
    assert "mention at least one person" in error(kudos("thanks everyone")).message
    assert "Start with the people" in error(kudos("thanks @bo")).message
    assert "what you're thanking them for" in error(kudos("@bo")).message
    assert "what you're thanking them for" in error(kudos("@bo #teamwork #care")).message
    too_long = error(kudos("@bo " + "x" * 1001)).message
    assert "1,001" in too_long and "1,000" in too_long
    assert isinstance(kudos("@bo " + "x" * 1000), Kudos)


def test_huge_text_is_refused_politely():
    assert "20,000" in error(kudos("@bo " + "x" * 19_996)).message
    assert "20,000" in error(tend("x" * 20_000)).message


# --- tend: simple commands -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Help(None)),
        ("   ", Help(None)),
        ("help", Help(None)),
        ("HELP Ritual  Add", Help("ritual add")),
        ("stress", Stress()),
        ("privacy", Privacy()),
        ("forget-me", ForgetMe(False)),
        ("forget-me CONFIRM", ForgetMe(True)),
        ("export-my-data", ExportMyData()),
        ("settings", SettingsShow()),
        ("pause off", PauseOff()),
        ("resume", PauseOff()),
        ("pause until 2030-01-31", PauseUntil(dt.date(2030, 1, 31))),
        ("pause 2030-01-31", PauseUntil(dt.date(2030, 1, 31))),
        ("ritual list", RitualList()),
        ("team list", TeamList()),
        ("admin list", AdminList()),
        ("support list", SupportList()),
        ("1on1 list", OneOnOneList()),
        ("index", IndexShow(None, None)),
        ("index export", IndexExport()),
        ("index platform", IndexShow("platform", None)),
        ("index 12", IndexShow(None, 12)),
        ("index platform 8", IndexShow("platform", 8)),
        ("index platform 8 weeks", IndexShow("platform", 8)),
    ],
)
def test_simple_commands(text, expected):
    assert tend(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("stress now please", "“now”"),
        ("privacy x", "“x”"),
        ("forget-me now", "“now”"),
        ("ritual list all", "“all”"),
        ("pause", "date"),
        ("pause until", "date"),
        ("pause until tomorrow", "“tomorrow”"),
        ("pause until 2030-02-30", "“2030-02-30”"),
        ("index 0", "between 1 and 52"),
        ("index 53", "between 1 and 52"),
        ("index 99999", "between 1 and 52"),
        ("index a b", "“b”"),
        ("index export now", "“now”"),
        ("settings colour blue", "“colour”"),
    ],
)
def test_simple_command_errors(text, problem):
    assert problem in error(tend(text)).message


def test_unknown_subcommand_suggests_the_closest():
    result = error(tend("ritaul list"))
    assert "ritaul" in result.message and "ritual" in result.message
    assert result.example.startswith("/tend ritual")
    assert "settings" in error(tend("setings")).message
    nothing_close = error(tend("xyzzy"))
    assert "xyzzy" in nothing_close.message and nothing_close.example == "/tend help"


def test_mention_first_in_tend_points_to_kudos():
    assert error(tend("<@U1> thanks")).example.startswith("/kudos ")


def test_unknown_text_is_shown_on_one_short_line():
    result = error(tend("bad\x00\x07" + "y" * 500))
    assert "\x00" not in result.message and len(result.message) < 200


# --- rituals -------------------------------------------------------------------------------------------


def test_ritual_add_full_example():
    assert tend("ritual add opener #team-standup mon,wed 09:25 Europe/Berlin") == RitualAdd(
        "opener", PlaceRef(None, "team-standup"), "mon,wed 09:25", "Europe/Berlin"
    )


def test_ritual_add_channel_ref_here_and_zone_case():
    assert tend("Ritual ADD Shoutout-Digest <#C1|general>  fri   16:00") == RitualAdd(
        "shoutout-digest", PlaceRef("C1", "general"), "fri 16:00", None
    )
    result = tend("ritual add shoutout-prompt here daily 9:00 utc")
    assert result == RitualAdd("shoutout-prompt", PlaceRef(None, "here", is_here=True), "daily 9:00", "UTC")
    assert tend("ritual add opener <#C9> every day europe/berlin") == RitualAdd(
        "opener", PlaceRef("C9", ""), "every day", "Europe/Berlin"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ritual", "list, add"),
        ("ritual dance", "“dance”"),
        ("ritual add", "which ritual"),
        ("ritual add #x daily", "which ritual"),
        ("ritual add opener", "#channel"),
        ("ritual add opener team daily", "#channel"),
        ("ritual add opener #team", "schedule"),
        ("ritual add opener here Europe/Berlin", "schedule"),
    ],
)
def test_ritual_add_errors(text, problem):
    assert problem in error(tend(text)).message


def test_any_word_is_taken_as_the_ritual_kind_which_the_rule_checks():
    """Which kinds exist is the registry's; ``practices.rituals.new_ritual`` answers an unknown one."""
    assert tend("ritual add standup #x daily") == RitualAdd("standup", PlaceRef(None, "x"), "daily")


@pytest.mark.parametrize(
    ("word", "kind"), [("pause", RitualPause), ("resume", RitualResume), ("remove", RitualRemove)]
)
def test_ritual_ids(word, kind):
    assert tend(f"ritual {word} 12") == kind(12)
    assert tend(f"ritual {word} #7") == kind(7)
    for bad in ("", " 0", " -3", " x", " 1.5", " 12 13", " " + "9" * 30):
        assert "id" in error(tend(f"ritual {word}{bad}")).message


# --- teams ---------------------------------------------------------------------------------------------


def test_team_commands():
    assert tend("team create platform") == TeamCreate("platform", None)
    assert tend("team create plat.form_2 <#C1|plat>") == TeamCreate("plat.form_2", PlaceRef("C1", "plat"))
    assert tend("team create platform #plat") == TeamCreate("platform", PlaceRef(None, "plat"))
    assert tend("team add platform <@U1|sam> @kim <@U1>") == TeamAdd(
        "platform", (PersonRef("U1", "sam"), PersonRef(None, "kim"))
    )
    assert tend("team remove platform @kim") == TeamRemove("platform", (PersonRef(None, "kim"),))
    assert tend("team manager platform @kim") == TeamManager("platform", (PersonRef(None, "kim"),))
    assert tend("team delete platform") == TeamDelete("platform")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("team", "list, create"),
        ("team create", "team's name"),
        ("team create Platform Team", "“Team”"),
        ("team create a #b c", "“c”"),
        ("team create " + "x" * 81, "1–80"),
        ("team create pl@tform", "pl@tform"),
        ("team create #platform", "“#platform”"),
        ("team add @kim", "team's name"),
        ("team add platform", "Mention at least one person"),
        ("team add platform @kim bob", "“bob”"),
        ("team delete", "team's name"),
        ("team delete a b", "“b”"),
    ],
)
def test_team_errors(text, problem):
    assert problem in error(tend(text)).message


# --- admins, support, 1:1s -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "add", "remove"),
    [("admin", AdminAdd, AdminRemove), ("support", SupportAdd, SupportRemove)],
)
def test_people_groups(group, add, remove):
    assert tend(f"{group} add <@U1> @b", (PersonRef("U1", "Ann"),)) == add(
        (PersonRef("U1", "Ann"), PersonRef(None, "b"))
    )
    assert tend(f"{group} remove @b") == remove((PersonRef(None, "b"),))
    assert "Mention at least one person" in error(tend(f"{group} add")).message
    assert "“everyone”" in error(tend(f"{group} remove everyone")).message
    assert "“promote”" in error(tend(f"{group} promote @b")).message


def test_one_on_one_add():
    assert tend("1on1 add @kim every 2 weeks thu 10:00") == OneOnOneAdd(
        PersonRef(None, "kim"), "every 2 weeks thu 10:00", None
    )
    assert tend("1on1 add <@U1|mo> <@U2|kim>  weekly   mon 9:00") == OneOnOneAdd(
        PersonRef("U2", "kim"), "weekly mon 9:00", PersonRef("U1", "mo")
    )


def test_one_on_one_other_commands():
    assert tend("1on1 remove 4") == OneOnOneRemove(4)
    assert tend("1on1 prep 3 ON") == OneOnOnePrep(3, True)
    assert tend("1on1 prep #3 off") == OneOnOnePrep(3, False)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1on1", "list, add"),
        ("1on1 add", "who the 1:1 is with"),
        ("1on1 add weekly @kim", "who the 1:1 is with"),
        ("1on1 add @kim", "schedule"),
        ("1on1 add @a @b @c weekly", "at most two"),
        ("1on1 add <@U1> <@U1|x> weekly", "two different people"),
        ("1on1 remove", "id"),
        ("1on1 remove x", "“x”"),
        ("1on1 prep 3", "on or off"),
        ("1on1 prep 3 maybe", "on or off"),
        ("1on1 prep zero on", "“zero”"),
    ],
)
def test_one_on_one_errors(text, problem):
    assert problem in error(tend(text)).message


# --- settings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end", "days"),
    [
        ("08:00-16:00", dt.time(8), dt.time(16), ("mon", "tue", "wed", "thu", "fri")),
        ("8:30 - 16:45 mon-thu", dt.time(8, 30), dt.time(16, 45), ("mon", "tue", "wed", "thu")),
        ("07:00-15:00 fri,mon, wed", dt.time(7), dt.time(15), ("mon", "wed", "fri")),
        ("07:00-15:00 Monday - Thursday", dt.time(7), dt.time(15), ("mon", "tue", "wed", "thu")),
        ("07:00-15:00 tues thurs", dt.time(7), dt.time(15), ("tue", "thu")),
        ("00:00-23:59 fri-mon", dt.time(0), dt.time(23, 59), ("mon", "fri", "sat", "sun")),
    ],
)
def test_settings_hours(text, start, end, days):
    assert tend(f"settings hours {text}") == SettingsHours(start, end, days)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("settings hours", "08:00-16:00"),
        ("settings hours 08:00", "08:00-16:00"),
        ("settings hours 8am-4pm", "“8am”"),
        ("settings hours 08:00-24:00", "“24:00”"),
        ("settings hours 08:00-16:60", "“16:60”"),
        ("settings hours 16:00-08:00", "before"),
        ("settings hours 08:00-08:00", "before"),
        ("settings hours 08:00-16:00 mo", "“mo”"),
        ("settings hours 08:00-16:00 mon-xyz", "“mon-xyz”"),
        ("settings hours 08:00-16:00 mon-tue-wed", "“mon-tue-wed”"),
        ("settings tz", "time zone"),
        ("settings tz Mars/Olympus", "“Mars/Olympus”"),
        ("settings tz ../../etc/passwd", "passwd"),
        ("settings tz Europe/Berlin extra", "time zone"),
    ],
)
def test_settings_errors(text, problem):
    assert problem in error(tend(text)).message


def test_settings_time_zone():
    assert tend("settings tz Europe/Berlin") == SettingsTimeZone("Europe/Berlin")
    assert tend("settings TZ america/new_york") == SettingsTimeZone("America/New_York")
    assert tend("settings tz UTC") == SettingsTimeZone("UTC")


# --- usage text ----------------------------------------------------------------------------------------


def test_help_lines_cover_every_subcommand():
    lines = c.help_lines()
    assert len(lines) == len(REGISTRY.commands) + len(REGISTRY.top_level)
    assert all("\n" not in line for line in lines)
    for word in REGISTRY.commands:
        assert any(line.split()[:2] == ["/tend", word] for line in lines), word


def test_every_known_example_parses_to_a_command():
    for example in c.examples():
        assert is_command(parse_example(example)), example


# --- properties ----------------------------------------------------------------------------------------

GRAMMAR = st.sampled_from(
    [
        "@bo",
        "<@U1|bo>",
        "<@U2>",
        "<@",
        "<#C1|gen>",
        "<#C2>",
        "#x",
        "#12",
        "here",
        "ritual",
        "add",
        "list",
        "pause",
        "resume",
        "remove",
        "team",
        "admin",
        "support",
        "1on1",
        "prep",
        "on",
        "off",
        "settings",
        "hours",
        "tz",
        "08:00-16:00",
        "mon-thu",
        "index",
        "export",
        "help",
        "until",
        "2030-01-31",
        "opener",
        "shoutout-digest",
        "Europe/Berlin",
        "UTC",
        "confirm",
        "forget-me",
        "12",
        "0",
        "-",
        ",",
        "and",
        "9:00",
        "\x00",
        "\n",
        "é",
        "<",
        ">",
        "|",
        "@",
        "#",
    ]
)
SEPARATORS = st.sampled_from([" ", "  ", "\t", "", "\n", "\u2028"])
GRAMMAR_TEXT = st.lists(st.tuples(GRAMMAR, SEPARATORS), max_size=12).map(
    lambda parts: "".join(word + sep for word, sep in parts)
)
USER_IDS = st.sampled_from(["U1", "U2", "U3"]) | st.none()
MENTIONS = st.lists(st.builds(PersonRef, USER_IDS, st.text(max_size=5)), max_size=3).map(tuple)
COMMAND_WORD = st.sampled_from(["kudos", "tend"])


def check_result(result):
    assert isinstance(result, UsageError) or is_command(result)
    if isinstance(result, UsageError):
        error(result)


@FAST
@given(COMMAND_WORD, st.text(), MENTIONS)
def test_parse_never_raises_on_any_text(command, text, mentions):
    check_result(c._parse(command, text, mentions))  # the bare grammar, without parse()'s safety net
    check_result(parse(command, text, mentions))


@FAST
@given(COMMAND_WORD, GRAMMAR_TEXT, MENTIONS)
def test_parse_never_raises_on_grammar_like_text(command, text, mentions):
    check_result(c._parse(command, text, mentions))


@FAST
@given(st.sampled_from(sorted(REGISTRY.commands)), GRAMMAR_TEXT)
def test_every_subcommand_answers_with_a_command_or_a_working_example(word, rest):
    check_result(c._parse("tend", f"{word} {rest}", ()))


SAFE_WORD = st.from_regex(r"[a-z][a-z0-9']{0,7}", fullmatch=True).filter(lambda w: w not in ("and",))
PERSON = st.tuples(
    st.from_regex(r"U[A-Z0-9]{1,6}", fullmatch=True), st.from_regex(r"[a-z]{0,6}", fullmatch=True)
)


@FAST
@given(
    st.lists(PERSON, min_size=1, max_size=3),
    st.lists(SAFE_WORD, min_size=1, max_size=8),
    st.lists(st.from_regex(r"[A-Za-z0-9_-]{1,10}", fullmatch=True), max_size=2),
    st.booleans(),
)
def test_kudos_round_trip(people, words, tags, inline_names):
    mentions = " ".join(f"<@{uid}|{name}>" if inline_names else f"<@{uid}>" for uid, name in people)
    known = () if inline_names else tuple(PersonRef(uid, name) for uid, name in people)
    text = f"{mentions} {' '.join(words)} {' '.join('#' + t for t in tags)}"
    result = kudos(text, known)
    assert isinstance(result, Kudos)
    expected: dict[str, PersonRef] = {}
    for uid, name in people:
        expected.setdefault(uid, PersonRef(uid, name if inline_names else dict(people)[uid]))
    assert result.receivers == tuple(expected.values())
    assert result.reason == " ".join(words)
    assert result.value_tags == tuple(dict.fromkeys(t.lower() for t in tags))


DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@st.composite
def hours_commands(draw):
    start = draw(st.integers(0, 23 * 60 + 58))
    end = draw(st.integers(start + 1, 23 * 60 + 59))
    times = [dt.time(m // 60, m % 60) for m in (start, end)]
    short = draw(st.booleans())
    text = "-".join(f"{t.hour}:{t.minute:02d}" if short else t.strftime("%H:%M") for t in times)
    style = draw(st.sampled_from(["none", "list", "full", "range"]))
    if style == "none":
        return text, times, ("mon", "tue", "wed", "thu", "fri")
    if style == "range":
        first = draw(st.integers(0, 6))
        last = draw(st.integers(first, 6))
        days = tuple(WEEKDAYS[first : last + 1])
        return f"{text} {WEEKDAYS[first]}-{DAY_NAMES[last].upper()}", times, days
    picked = sorted(draw(st.sets(st.integers(0, 6), min_size=1)))
    order = draw(st.permutations(picked))
    names = DAY_NAMES if style == "full" else WEEKDAYS
    return f"{text} {', '.join(names[i] for i in order)}", times, tuple(WEEKDAYS[i] for i in picked)


@FAST
@given(hours_commands())
def test_hours_round_trip(case):
    text, (start, end), days = case
    assert tend(f"settings hours {text}") == SettingsHours(start, end, days)


ZONES = st.sampled_from(
    [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Asia/Kolkata",
        "Australia/Adelaide",
        "America/Argentina/Buenos_Aires",
        "Etc/GMT+5",
    ]
)


@FAST
@given(ZONES)
def test_time_zone_round_trip(zone):
    assert tend(f"settings tz {zone}") == SettingsTimeZone(zone)
    assert tend(f"settings tz {zone.lower()}") == SettingsTimeZone(zone)


PLACES = st.sampled_from(
    [
        ("<#C123|general>", PlaceRef("C123", "general")),
        ("<#C9>", PlaceRef("C9", "")),
        ("#team-x", PlaceRef(None, "team-x")),
        ("here", PlaceRef(None, "here", is_here=True)),
    ]
)
SCHEDULE_WORDS = st.sampled_from(["mon", "wed,fri", "09:25", "daily", "every", "2", "weeks", "at", "16:00"])


@FAST
@given(
    st.sampled_from(RITUAL_KINDS),
    PLACES,
    st.lists(SCHEDULE_WORDS, min_size=1, max_size=5),
    ZONES | st.none(),
)
def test_ritual_add_round_trip(kind, place, schedule, zone):
    where, ref = place
    text = f"ritual add {kind} {where} {' '.join(schedule)}" + (f" {zone}" if zone else "")
    assert tend(text) == RitualAdd(kind, ref, " ".join(schedule), zone)
