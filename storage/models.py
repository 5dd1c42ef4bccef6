"""The tables. Shapes follow ../shared/DESIGN.md "Data".

Times are aware UTC (see ``UTCDateTime``). Nothing here stores message text except what is public
by nature (a shout-out) or what the author chose to write in an anonymous report.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

PLATFORMS = ("slack", "teams", "console")
ROLES = ("admin", "manager", "member")

# SQLite reuses the highest row id after a delete unless told not to. Idempotency keys are built
# from these ids ("occ:12:0"), so a reused id would make a new message look like an old one.
NO_ID_REUSE = {"sqlite_autoincrement": True}


class Organization(SQLModel, table=True):
    """The customer: one company, possibly several chat workspaces."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Workspace(SQLModel, table=True):
    """One Slack team, one Teams tenant, or the local console."""

    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_workspace_platform_external"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    platform: str = Field(max_length=16)
    external_id: str = Field(max_length=128)
    name: str = Field(default="", max_length=200)
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # An admin's own route for when the support rota is away (/tend support fallback); None: the
    # instance's TEND_SUPPORT_FALLBACK.
    support_fallback: str | None = Field(default=None, max_length=500)


class Member(SQLModel, table=True):
    """A person as seen in one workspace, with the hours Tend may reach them."""

    __table_args__ = (
        UniqueConstraint("workspace_id", "platform_user_id", name="uq_member_workspace_user"),
        NO_ID_REUSE,  # a forgotten member's id must never be handed to someone new
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    platform_user_id: str = Field(max_length=128)
    display_name: str = Field(default="", max_length=200)
    time_zone: str = Field(default="UTC", max_length=64)
    work_days: str = Field(default="mon,tue,wed,thu,fri", max_length=40)
    work_start: str = Field(default="09:00", max_length=5)
    work_end: str = Field(default="17:30", max_length=5)
    role: str = Field(default="member", max_length=16)
    is_bot: bool = Field(default=False)
    is_support: bool = Field(default=False)  # on the rota that answers anonymous support requests
    paused_until: date | None = Field(default=None)
    dm_channel_id: str | None = Field(default=None, max_length=128)
    # The platform refused private messages (Teams 403 MessageWritesBlocked: the person blocked or
    # removed Tend); no DMs until they write to Tend again.
    unreachable: bool = Field(default=False)
    # Tend has the platform's own profile (name, time zone, bot or not); until then no private
    # message is sent on a guessed time zone, and the person counts toward no group size.
    profile_known: bool = Field(default=False)
    deactivated: bool = Field(default=False)  # the platform says the account is gone or disabled
    # The day Tend first saw the person (midnight UTC): a finer time could be matched to what they
    # did anonymously at first contact.
    created_at: datetime = Field(sa_type=UTCDateTime)


class Team(SQLModel, table=True):
    """The unit the index reports on; usually one channel."""

    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_team_workspace_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    name: str = Field(max_length=80)
    channel_id: str | None = Field(default=None, max_length=128)
    shoutout_channel_id: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)


class TeamMembership(SQLModel, table=True):
    """Who belongs to which team, and who manages it."""

    team_id: int = Field(foreign_key="team.id", primary_key=True, ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", primary_key=True, index=True, ondelete="CASCADE")
    is_manager: bool = Field(default=False)


class Ritual(SQLModel, table=True):
    """A recurring practice: what kind, where it posts, when (recurrence + time zone)."""

    __table_args__ = (Index("ix_ritual_due", "paused", "next_run_at"), NO_ID_REUSE)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id")
    # Indexed: a sweep looks its kind's occurrences up by kind (meeting openers), see migration 0014.
    kind: str = Field(max_length=32, index=True)
    place_id: str | None = Field(default=None, max_length=128)
    schedule: str = Field(max_length=200)
    time_zone: str = Field(default="UTC", max_length=64)
    options: str = Field(default="{}", sa_type=Text)
    paused: bool = Field(default=False)
    next_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by_member_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    created_at: datetime = Field(sa_type=UTCDateTime)


class Occurrence(SQLModel, table=True):
    """One firing of a ritual. Unique on (ritual, scheduled time): a second insert is a no-op."""

    __table_args__ = (
        UniqueConstraint("ritual_id", "scheduled_at", name="uq_occurrence_ritual_time"),
        NO_ID_REUSE,
    )

    id: int | None = Field(default=None, primary_key=True)
    ritual_id: int = Field(foreign_key="ritual.id", index=True, ondelete="CASCADE")
    scheduled_at: datetime = Field(sa_type=UTCDateTime)
    fired_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OpenerAnswer(SQLModel, table=True):
    """One tap on a check-in card, keyed so it cannot be joined back to a member.

    ``voter_key`` is a keyed digest (``TEND_SECRET_KEY``) of the occurrence and the person's platform
    id: enough to replace a changed answer, not computable from anything in the database. The choice
    is AEAD-sealed under the same secret with a fresh nonce per write, so a row's order, time or
    transaction (which a watcher can match to a tap) says nothing of what was chosen.
    """

    occurrence_id: int = Field(foreign_key="occurrence.id", primary_key=True, ondelete="CASCADE")
    voter_key: str = Field(primary_key=True, max_length=64)
    sealed_score: str = Field(max_length=200)


class Outbox(SQLModel, table=True):
    """Every message Tend sends on a schedule; the idempotency key makes a retry a no-op."""

    __table_args__ = (Index("ix_outbox_ready", "state", "next_attempt_at"), NO_ID_REUSE)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    target_kind: str = Field(max_length=16)
    target_id: str = Field(max_length=128)
    payload: str = Field(sa_type=Text)
    state: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    platform_message_id: str | None = Field(default=None, max_length=200)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TargetPace(SQLModel, table=True):
    """When one channel or one person's private chat may next get a message (the pacing gap after a
    send, or a 429's Retry-After), so every replica keeps to it. A row lives only as long as its wait:
    delivery drops the ones whose time has passed. ``owner`` is the delivery worker that wrote it
    (that worker keeps its own targets' times in memory; claims by others skip the target until then).
    Never written for a sealed message, whose receiver the database must not learn."""

    workspace_id: int = Field(primary_key=True)
    target_kind: str = Field(primary_key=True, max_length=16)
    target_id: str = Field(primary_key=True, max_length=128)
    not_before: datetime = Field(sa_type=UTCDateTime)
    owner: str = Field(max_length=32)


class Inbound(SQLModel, table=True):
    """A platform event Tend has acknowledged and not handled yet (``storage/inbound.py``).

    Written before the ack, deleted in the same transaction as the engine's work, so "acked" means
    "stored" and a crash repeats nothing already committed. ``lease_until`` and ``owner`` say which
    replica works on it until when; NULL means ready for any. An anonymous event's row is ``sealed``:
    its payload is sealed under ``TEND_SECRET_KEY`` and it has no ``created_at``, so the row shows
    neither who acted nor exactly when.
    """

    __table_args__ = (Index("ix_inbound_lease", "platform", "lease_until"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    payload: str = Field(sa_type=Text)
    sealed: bool = Field(default=False)
    owner: str = Field(default="", max_length=32)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Shoutout(SQLModel, table=True):
    """Public by nature. After forget-me the words stay and the name goes (ids become NULL)."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    giver_member_id: int | None = Field(
        default=None, foreign_key="member.id", index=True, ondelete="SET NULL"
    )
    receiver_member_id: int | None = Field(
        default=None, foreign_key="member.id", index=True, ondelete="SET NULL"
    )
    text: str = Field(sa_type=Text)
    value_tag: str | None = Field(default=None, max_length=40)
    channel_id: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class StressReport(SQLModel, table=True):
    """An anonymous report. By design there is no member id, no platform id and no exact time."""

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id")
    intensity: int
    category: str = Field(max_length=16)
    text: str | None = Field(default=None, sa_type=Text)
    week: str = Field(max_length=8, index=True)
    support: str = Field(default="count", max_length=16)
    support_state: str = Field(default="none", max_length=16)


class StressRelay(SQLModel, table=True):
    """A support conversation's routing, deleted when it closes; who is on each side is sealed.

    ``author_seal`` and ``supporter_seal`` are member ids sealed under ``TEND_SECRET_KEY``
    (``practices.sealing``): without the key no row, live or dead, says who asked or who answered.
    ``kind`` is ``talk`` (the rota answers anonymously) or ``reach_out`` (a chosen person reaches out;
    no author is kept). Times are coarse: the due hour and the expiry day, not the report's moment.
    """

    token: str = Field(primary_key=True, max_length=64)
    report_id: int = Field(foreign_key="stressreport.id", ondelete="CASCADE")
    kind: str = Field(default="talk", max_length=16)
    author_seal: str | None = Field(default=None, max_length=200)
    supporter_seal: str | None = Field(default=None, max_length=200)
    answered: bool = Field(default=False)
    support_due_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class Signal(SQLModel, table=True):
    """Aggregated counters per (organisation, team, ISO week, kind). team_id 0 = no team."""

    __table_args__ = (
        UniqueConstraint("organization_id", "team_id", "week", "kind", name="uq_signal_bucket"),
        # The index reads whole weeks of every team; covering, so it never reads the table's rows.
        Index("ix_signal_org_week", "organization_id", "week", "team_id", "kind", "count", "value_sum"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    team_id: int = Field(default=0)
    week: str = Field(max_length=8)
    kind: str = Field(max_length=40)
    count: int = Field(default=0)
    value_sum: float = Field(default=0.0)


class ProcessedEvent(SQLModel, table=True):
    """Inbound event ids already handled, so a platform's retry is handled once."""

    platform: str = Field(primary_key=True, max_length=16)
    event_id: str = Field(primary_key=True, max_length=200)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)


class ConversationRef(SQLModel, table=True):
    """Where Tend can write later (Teams proactive messages need the reference of a conversation).

    ``kind`` is ``place`` (key: the channel or chat id) or ``person`` (key: the person's AAD object id;
    the reference is their personal chat with Tend). ``reference`` is the platform's serialized
    conversation reference, refreshed whenever an activity arrives from there.
    """

    __table_args__ = (
        UniqueConstraint("workspace_id", "kind", "key", name="uq_conversationref_workspace_kind_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=16)
    key: str = Field(max_length=200)
    reference: str = Field(sa_type=Text)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Contributor(SQLModel, table=True):
    """One person counted once among those behind a team's figures of one family and ISO week.

    ``key`` is a keyed digest of the member id under ``TEND_SECRET_KEY`` (``practices.sealing``), the
    same for every team and family of that week, so the index can count distinct people across teams
    without storing who they are. Only public-by-nature acts are counted (shout-outs, 1:1 nudges):
    never a stress report nor a check-in answer. Team 0 = no team, as in ``Signal``; team -1 counts
    each person once for the whole organisation.
    """

    __table_args__ = (
        # week before team: the index reads whole weeks of one family, then narrows to teams
        UniqueConstraint("organization_id", "week", "family", "team_id", "key", name="uq_contributor"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    team_id: int = Field(default=0)
    week: str = Field(max_length=8)
    family: str = Field(max_length=16)
    key: str = Field(max_length=64)


class AdminChange(SQLModel, table=True):
    """One change of who administers Tend in a workspace: the audit trail ``/tend admin log`` reads.

    Ids and a time only, never text. ``change`` is ``granted`` or ``removed``; ``reason`` says how:
    ``admin`` (``by_member_id`` typed /tend admin add|remove), ``platform`` (the chat platform says the
    person administers the workspace, or no longer does) or ``install`` (the first install of a
    workspace, by someone Tend had not met there). A change Tend learns from the platform keeps only
    its day, like ``Member.created_at``: the platform's word can arrive at any moment the person uses
    Tend, anonymous forms included. Forget-me deletes the rows about the person and blanks their id
    where they changed someone else's role.
    """

    __table_args__ = (Index("ix_adminchange_workspace", "workspace_id", "id"), NO_ID_REUSE)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    by_member_id: int | None = Field(default=None, foreign_key="member.id", index=True, ondelete="SET NULL")
    change: str = Field(max_length=16)
    reason: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Carrier(SQLModel, table=True):
    """A culture carrier: someone an admin named to welcome newcomers, and how many at once (``cap``).

    Ambassadors are eligible too without a row here (at the default cap)."""

    __table_args__ = (UniqueConstraint("workspace_id", "member_id", name="uq_carrier_member"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    cap: int = Field(default=3)
    created_at: datetime = Field(sa_type=UTCDateTime)


class NewcomerPairing(SQLModel, table=True):
    """A newcomer and the carrier who welcomes them, with the light check-ins at about 1, 4 and 12 weeks.

    Counts only, never what was said: ``checkins_sent`` and ``checkins_answered`` (a check-in either of
    them answered) are what admins see summed. ``next_checkin`` is the index of the next check-in
    (0, 1, 2; 3 once all were sent) and ``next_checkin_at`` its due time, None once none is left.
    ``ended_by`` is ``newcomer`` or ``carrier`` (either ended the check-ins), ``done`` (all three were
    sent) or ``unpaired`` (no carrier was free for weeks after they joined; ``carrier_id`` stays None).
    """

    __table_args__ = (
        UniqueConstraint("newcomer_id", name="uq_newcomerpairing_newcomer"),
        Index("ix_newcomerpairing_due", "next_checkin_at"),
        NO_ID_REUSE,  # ids ride on check-in buttons: an old button must never reach a new pairing
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    newcomer_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    carrier_id: int | None = Field(default=None, foreign_key="member.id", index=True, ondelete="SET NULL")
    started_at: datetime = Field(sa_type=UTCDateTime)
    next_checkin: int = Field(default=0)
    next_checkin_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checkins_sent: int = Field(default=0)
    checkins_answered: int = Field(default=0)
    last_answered: int = Field(default=0)  # the highest check-in (1-based) either of them answered
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_by: str | None = Field(default=None, max_length=16)


class Ambassador(SQLModel, table=True):
    """A compassion ambassador: gets the monthly private digest of where support is thin."""

    __table_args__ = (UniqueConstraint("workspace_id", "member_id", name="uq_ambassador_member"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime)


class AmbassadorDigest(SQLModel, table=True):
    """One monthly digest queued for one ambassador; the unique month makes a second send a no-op."""

    __table_args__ = (UniqueConstraint("member_id", "month", name="uq_ambassadordigest_month"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    month: str = Field(max_length=7)  # "2026-12"
    sent_at: datetime = Field(sa_type=UTCDateTime)


class AmbassadorSpace(SQLModel, table=True):
    """The channel where a workspace's ambassadors coordinate; the digest links it."""

    workspace_id: int = Field(foreign_key="workspace.id", primary_key=True, ondelete="CASCADE")
    place_id: str = Field(max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)


class OneOnOnePair(SQLModel, table=True):
    """A manager and a report who meet regularly (issue 15).

    The ``Ritual`` row of kind ``one-on-one`` stays the pair's scheduling handle (the scheduler fires
    rituals; its options keep only ``anchor`` and ``lead_minutes``); who meets, and whether the report
    gets a prep prompt, live here, so they can be queried and kept consistent by the database. A member
    id becomes NULL if that person's row goes: Tend then pauses the pair ("someone who left").
    """

    ritual_id: int = Field(foreign_key="ritual.id", primary_key=True, ondelete="CASCADE")
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    manager_member_id: int | None = Field(
        default=None, foreign_key="member.id", index=True, ondelete="SET NULL"
    )
    report_member_id: int | None = Field(
        default=None, foreign_key="member.id", index=True, ondelete="SET NULL"
    )
    prep: bool = Field(default=False)
    nudge_minutes: int = Field(default=60)


class OneOnOneQuestion(SQLModel, table=True):
    """One check-in question a pair's nudge asked. In id order they are the pair's rotation history,
    which picks the next question (``practices.questions.next_question``); ``occurrence_id`` says which
    meeting asked it, so a moved nudge repeats it (NULL for history from before 0009, which did not say).
    """

    __table_args__ = (Index("ix_oneononequestion_pair", "ritual_id", "id"), NO_ID_REUSE)

    id: int | None = Field(default=None, primary_key=True)
    ritual_id: int = Field(foreign_key="oneononepair.ritual_id", ondelete="CASCADE")
    occurrence_id: int | None = Field(
        default=None, foreign_key="occurrence.id", unique=True, ondelete="CASCADE"
    )
    question_id: str = Field(max_length=64)


class OneOnOneMove(SQLModel, table=True):
    """A meeting its manager moved to another day. One nudge per new day: a second move to the same
    day is refused (the primary key makes two taps at once count once)."""

    occurrence_id: int = Field(foreign_key="occurrence.id", primary_key=True, ondelete="CASCADE")
    day: date = Field(primary_key=True)


class PodProgramme(SQLModel, table=True):
    """A compassion pod programme: who takes part (the channel's team, or whoever opts in), pod sizes,
    how often a round is formed (its ``ritual``) and whether it runs (``active``, ``paused``, ``stopped``)."""

    __table_args__ = (NO_ID_REUSE,)  # ids are typed in commands: an old id must never reach a new one

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    ritual_id: int = Field(foreign_key="ritual.id", unique=True, ondelete="CASCADE")
    place_id: str = Field(max_length=128)  # where the programme is announced (Teams: where pods gather)
    min_size: int = Field(default=4)
    max_size: int = Field(default=6)
    cadence: str = Field(max_length=40)  # "monthly", "every 2 weeks": as shown
    opt_in: bool = Field(default=False)  # False: the channel's team takes part unless they opt out
    state: str = Field(default="active", max_length=16)
    created_by_member_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    created_at: datetime = Field(sa_type=UTCDateTime)


class PodParticipant(SQLModel, table=True):
    """One person's choices in one programme: in or out, a round skipped, paused until a date."""

    __table_args__ = (UniqueConstraint("programme_id", "member_id", name="uq_podparticipant_member"),)

    id: int | None = Field(default=None, primary_key=True)
    programme_id: int = Field(foreign_key="podprogramme.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    opted: str = Field(default="in", max_length=8)  # "in" or "out"
    skip_round: int | None = Field(default=None)  # the round number they sit out
    paused_until: date | None = Field(default=None)  # matched again from this date
    updated_at: datetime = Field(sa_type=UTCDateTime)


class PodRound(SQLModel, table=True):
    """One round of a programme: when it was formed, its mid-round nudge, its end ("did your pod meet?")."""

    __table_args__ = (UniqueConstraint("programme_id", "number", name="uq_podround_number"), NO_ID_REUSE)

    id: int | None = Field(default=None, primary_key=True)
    programme_id: int = Field(foreign_key="podprogramme.id", index=True, ondelete="CASCADE")
    number: int
    formed_at: datetime = Field(sa_type=UTCDateTime)
    nudge_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    nudged: bool = Field(default=False)
    asked: bool = Field(default=False)
    unplaced: int = Field(default=0)  # people who could not be placed this round (a count, no names)


class Pod(SQLModel, table=True):
    """One pod of a round. ``teams``: how many teams its members come from (cross-team ties)."""

    __table_args__ = (NO_ID_REUSE,)  # ids ride on the "did your pod meet?" buttons

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="podround.id", index=True, ondelete="CASCADE")
    teams: int = Field(default=0)


class PodMember(SQLModel, table=True):
    pod_id: int = Field(foreign_key="pod.id", primary_key=True, ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", primary_key=True, index=True, ondelete="CASCADE")


class PodAnswer(SQLModel, table=True):
    """One member's one-tap answer to "did your pod meet?" (the key makes a second tap count once)."""

    pod_id: int = Field(foreign_key="pod.id", primary_key=True, ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", primary_key=True, ondelete="CASCADE")
    met: bool
    answered_at: datetime = Field(sa_type=UTCDateTime)


class OrganizationLinkCode(SQLModel, table=True):
    """A one-time code an admin issued to join another workspace (or Teams tenant) into their organisation.

    Only a keyed digest of the code is kept (``TEND_SECRET_KEY``, ``practices.sealing``): the database
    alone cannot be used to link someone else's workspace. ``workspace_id`` is where it was issued (its
    organisation, at confirmation time, is the one joined); ``used_at`` set means spent.
    """

    code_hash: str = Field(primary_key=True, max_length=64)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    created_by_member_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_workspace_id: int | None = Field(default=None, foreign_key="workspace.id", ondelete="SET NULL")
