"""One organisation across Slack and Teams (``/tend link ...``).

An organisation that uses both joins them: an admin on one side issues a one-time code (shown once,
privately; only its keyed digest is stored, it expires after a day and works once), an admin on the
other side confirms it. From then on teams, the support rota and the index span both, and everyone is
still reached where they are: a private message goes through the receiver's own platform. An admin
can split a workspace off again; what was counted together stays with the organisation it was
counted in. Both sides' admins hear of every link and split, and both admin logs record it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from practices.grammar import Token, Topic, Usage, UsageError, group, only, shown
from practices.messages import DirectMessage, Example, Intent, Outcome, Reply, Said, compose, text_card
from practices.practice import Practice, PracticeContext, SweepContext, SweepResult
from practices.sealing import digest, digests
from storage import admin_audit as audit
from storage import organisation as store
from storage.identity import members_with_role
from storage.models import OrganizationLinkCode, Workspace

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud or copied by hand
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(hours=24)
CODE_PURPOSE = "link-code"
LINKED, UNLINKED = "linked", "unlinked"  # admin audit changes (storage.admin_audit)

START_EXAMPLE = "/tend link start"
CONFIRM_EXAMPLE = "/tend link confirm K7PM-Q2XD"
REMOVE_EXAMPLE = "/tend link remove teams"
STATUS_EXAMPLE = "/tend link status"
PLATFORM_NAMES = {"slack": "Slack", "teams": "Teams", "console": "the console"}

# --- what people read (one place, to review and translate) ---------------------------------------
ONLY_ADMINS = compose(
    "Only a Tend admin can link workspaces. Type {example} to see who the admins are.",
    example=Example("/tend admin list"),
)
CODE_ISSUED = (
    "Your one-time link code: {code}\n"
    "An admin of the other workspace (your Slack workspace or Teams tenant) types {example} there "
    "within 24 hours. It works once, and this is the only time it is shown: share it privately, since "
    "whoever confirms it joins their workspace to this organisation."
)
CODE_FORMAT = (
    "A link code is 8 letters and digits, like K7PM-Q2XD; not {typed}. Ask the admin who typed "
    "{start} on the other side for it, then type {example}."
)
CODE_UNKNOWN = compose(
    "I don't know that link code. Check it with the admin who issued it (letters and digits, any case), "
    "or ask them for a new one with {start}; then type {example}.",
    start=Example(START_EXAMPLE),
    example=Example(CONFIRM_EXAMPLE),
)
CODE_EXPIRED = compose(
    "That link code has expired (codes work for 24 hours). Ask the admin on the other side for a new one "
    "with {start}, then type {example}.",
    start=Example(START_EXAMPLE),
    example=Example(CONFIRM_EXAMPLE),
)
CODE_USED = compose(
    "That link code has been used already (each works once). Type {status} to see what is linked, or ask "
    "for a new code with {start}.",
    status=Example(STATUS_EXAMPLE),
    start=Example(START_EXAMPLE),
)
ALREADY = compose(
    "This workspace is already part of that organisation, so nothing changed. Type {status} to see which "
    "workspaces it spans.",
    status=Example(STATUS_EXAMPLE),
)
OWN_CODE = compose(
    "That code was issued here: it is for an admin of the *other* workspace (Slack or Teams) to type "
    "there, as {example}.",
    example=Example(CONFIRM_EXAMPLE),
)
LINKED_REPLY = (
    "Linked: {names} are now one organisation. Teams, the support rota and the index span all of them, "
    "and everyone is still reached on their own platform. The admins on every side have been told."
)
LINKED_NOTE_TITLE = "Workspaces linked"
LINKED_NOTE = (
    "{actor} linked {names} into one organisation with a link code. Teams, the support rota and the "
    "index now span all of them; people are still reached on their own platform. An admin can undo it "
    "with {example}."
)
STATUS_ALONE = (
    "This organisation is just this workspace ({this}). An admin links a Slack workspace and a Teams "
    "tenant with {start} on one side and {confirm} on the other."
)
STATUS_TITLE = "This organisation"
STATUS_LINE = "• {name} ({platform}){here}"
STATUS_HERE = " ← here"
STATUS_SHARED = (
    "Teams, the support rota and the index span all of these. Admins split one off with {example}."
)
NOT_LINKED = compose(
    "This workspace is not linked with any other, so there is nothing to remove. {status} shows it.",
    status=Example(STATUS_EXAMPLE),
)
UNKNOWN_WORKSPACE = (
    "No workspace of this organisation is called {typed}. Name it as {status} lists it, or by its "
    "platform (slack or teams), as in {example}."
)
AMBIGUOUS_WORKSPACE = "More than one workspace here matches {typed}; use its name as {status} lists it."
SPLIT_REPLY = (
    "{name} ({platform}) is its own organisation again. What stays where: teams made in {name} stay "
    "there, and people from the other workspaces left them ({ended} team membership(s) ended; the same "
    "the other way round); the index's figures so far stay with {rest}; from now on each has its own "
    "teams, support rota and index. Conversations already open with the support rota carry on. "
    "Link again any time with {again}."
)
SPLIT_NOTE_TITLE = "Workspaces split"
SPLIT_NOTE = "{actor} split {name} ({platform}) off this organisation. " + SPLIT_REPLY.split(". ", 1)[1]


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform)


def workspace_label(workspace: Workspace) -> str:
    return workspace.name or f"{platform_name(workspace.platform)} {workspace.external_id}"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(typed: str) -> str | None:
    """The code as issued, from what someone typed (any case, spaces or a dash between halves), or None
    when it cannot be one."""
    cleaned = "".join(typed.split()).replace("-", "").upper()
    if len(cleaned) != CODE_LENGTH or any(char not in CODE_ALPHABET for char in cleaned):
        return None
    return cleaned


def shown_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


async def _admins_everywhere(ctx: PracticeContext, workspaces: list[Workspace]) -> list[int]:
    found: list[int] = []
    for workspace in workspaces:
        assert workspace.id is not None
        for admin in await members_with_role(ctx.session, workspace.id, "admin"):
            if admin.id is not None and admin.id != ctx.actor.id and not admin.is_bot:
                found.append(admin.id)
    return found


async def start(ctx: PracticeContext) -> Outcome:
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    code = new_code()
    await store.add_code(
        ctx.session,
        OrganizationLinkCode(
            code_hash=digest(ctx.secret_key, CODE_PURPOSE, code),
            workspace_id=ctx.workspace_id,
            created_by_member_id=ctx.actor_id,
            expires_at=ctx.now + CODE_LIFETIME,
        ),
    )
    shown_as = shown_code(code)
    issued = compose(CODE_ISSUED, code=shown_as, example=Example(f"/tend link confirm {shown_as}"))
    return Outcome.reply(issued, title="Link code")


async def confirm(ctx: PracticeContext, typed: str) -> Outcome:
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    code = normalise_code(typed)
    if code is None:
        start_example, example = Example(START_EXAMPLE), Example(CONFIRM_EXAMPLE)
        return Outcome.reply(
            compose(CODE_FORMAT, typed=Said(shown(typed)), start=start_example, example=example)
        )
    found = await store.find_code(ctx.session, digests(ctx.secret_key, CODE_PURPOSE, code))
    if found is None:
        return Outcome.reply(CODE_UNKNOWN)
    if found.workspace_id == ctx.workspace_id:
        return Outcome.reply(OWN_CODE)
    if found.used_at is not None:
        return Outcome.reply(ALREADY if found.used_by_workspace_id == ctx.workspace_id else CODE_USED)
    if found.expires_at <= ctx.now:
        return Outcome.reply(CODE_EXPIRED)
    if await store.current_organisation(ctx.session, found.workspace_id) == ctx.workspace.organization_id:
        return Outcome.reply(ALREADY)
    if not await store.spend_code(ctx.session, found.code_hash, ctx.workspace_id, ctx.now):
        return Outcome.reply(CODE_USED)  # another admin (or a second tap) confirmed it a moment ago
    joined = await store.merge(ctx.session, found.workspace_id, ctx.workspace_id)
    if joined is None:
        return Outcome.reply(ALREADY)
    await ctx.session.refresh(ctx.workspace)
    workspaces = await store.workspaces_of(ctx.session, joined)
    for workspace in workspaces:
        assert workspace.id is not None
        await audit.record(
            ctx.session,
            workspace.id,
            ctx.actor_id,
            LINKED,
            audit.BY_ADMIN,
            ctx.now,
            by_member_id=ctx.actor_id,
        )
    names = _names(workspaces)
    note = text_card(
        compose(
            LINKED_NOTE, actor=f"@{ctx.actor.display_name}", names=names, example=Example(REMOVE_EXAMPLE)
        ),
        LINKED_NOTE_TITLE,
    )
    tell: list[Intent] = [
        DirectMessage(admin_id, note, key=f"link:{found.code_hash[:16]}:{admin_id}")
        for admin_id in await _admins_everywhere(ctx, workspaces)
    ]
    return Outcome((Reply(text_card(LINKED_REPLY.format(names=names), LINKED_NOTE_TITLE)), *tell))


def _names(workspaces: list[Workspace]) -> str:
    return " and ".join(f"{workspace_label(w)} ({platform_name(w.platform)})" for w in workspaces)


async def status(ctx: PracticeContext) -> Outcome:
    workspaces = await store.workspaces_of(ctx.session, ctx.workspace.organization_id)
    if len(workspaces) <= 1:
        this = f"{workspace_label(ctx.workspace)}, {platform_name(ctx.workspace.platform)}"
        alone = compose(
            STATUS_ALONE, this=this, start=Example(START_EXAMPLE), confirm=Example(CONFIRM_EXAMPLE)
        )
        return Outcome.reply(alone, title=STATUS_TITLE)
    lines = [
        STATUS_LINE.format(
            name=workspace_label(w),
            platform=platform_name(w.platform),
            here=STATUS_HERE if w.id == ctx.workspace_id else "",
        )
        for w in workspaces
    ]
    text = "\n".join(lines) + "\n"
    return Outcome.reply(compose(text + STATUS_SHARED, example=Example(REMOVE_EXAMPLE)), title=STATUS_TITLE)


def pick_workspace(workspaces: list[Workspace], typed: str) -> list[Workspace]:
    """The workspaces ``typed`` names: by name (any case), else by platform word (slack, teams)."""
    wanted = " ".join(typed.split()).casefold()
    by_name = [w for w in workspaces if workspace_label(w).casefold() == wanted]
    if by_name:
        return by_name
    return [w for w in workspaces if wanted in (w.platform, platform_name(w.platform).casefold())]


async def remove(ctx: PracticeContext, typed: str) -> Outcome:
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    workspaces = await store.workspaces_of(ctx.session, ctx.workspace.organization_id)
    if len(workspaces) <= 1:
        return Outcome.reply(NOT_LINKED)
    chosen = pick_workspace(workspaces, typed)
    if not chosen:
        return Outcome.reply(
            compose(
                UNKNOWN_WORKSPACE,
                typed=Said(shown(typed)),
                status=Example(STATUS_EXAMPLE),
                example=Example(REMOVE_EXAMPLE),
            )
        )
    if len(chosen) > 1:
        return Outcome.reply(
            compose(AMBIGUOUS_WORKSPACE, typed=Said(shown(typed)), status=Example(STATUS_EXAMPLE))
        )
    [leaving] = chosen
    assert leaving.id is not None
    rest = [w for w in workspaces if w.id != leaving.id]
    told = await _admins_everywhere(ctx, workspaces)
    for workspace in workspaces:
        assert workspace.id is not None
        await audit.record(
            ctx.session,
            workspace.id,
            ctx.actor_id,
            UNLINKED,
            audit.BY_ADMIN,
            ctx.now,
            by_member_id=ctx.actor_id,
        )
    new_org, ended = await store.split(ctx.session, leaving, workspace_label(leaving), ctx.now)
    if leaving.id == ctx.workspace_id:
        ctx.workspace.organization_id = new_org
    values: dict[str, Said | Example | str] = {
        "name": Said(workspace_label(leaving)),  # names people gave their workspaces: shown as typed
        "platform": platform_name(leaving.platform),
        "ended": str(ended),
        "rest": Said(_names(rest)),
        "again": Example(START_EXAMPLE),  # a command to type: code, in the reader's platform's spelling
    }
    actor = Said(f"@{ctx.actor.display_name}")
    note = text_card(compose(SPLIT_NOTE, actor=actor, **values), SPLIT_NOTE_TITLE)
    key = f"unlink:{leaving.id}:{new_org}"
    tell: list[Intent] = [DirectMessage(admin_id, note, key=f"{key}:{admin_id}") for admin_id in told]
    return Outcome((Reply(text_card(compose(SPLIT_REPLY, **values), SPLIT_NOTE_TITLE)), *tell))


async def sweep_codes(ctx: SweepContext) -> list[SweepResult]:
    """Codes are kept a day past their expiry (so a late try hears "expired", not "unknown"), then go."""
    await store.delete_spent_codes(ctx.session, ctx.now - CODE_LIFETIME)
    return []


# --- the words: /tend link, its parsers and its help ---------------------------------------------


@dataclass(frozen=True)
class LinkStart:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await start(ctx)


@dataclass(frozen=True)
class LinkConfirm:
    code: str

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await confirm(ctx, self.code)


@dataclass(frozen=True)
class LinkStatus:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await status(ctx)


@dataclass(frozen=True)
class LinkRemove:
    workspace: str

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await remove(ctx, self.workspace)


def parse_confirm(text: str, args: list[Token]) -> LinkConfirm | UsageError:
    if not args:
        return UsageError("Give the link code the admin on the other side received.", CONFIRM_EXAMPLE)
    typed = text[args[0].start : args[-1].end]
    return LinkConfirm(typed)


def parse_remove(text: str, args: list[Token]) -> LinkRemove | UsageError:
    if not args:
        return UsageError("Name the workspace to split off, as `/tend link status` lists it.", REMOVE_EXAMPLE)
    return LinkRemove(" ".join(text[args[0].start : args[-1].end].split()))


parse_link = group(
    "link",
    {
        "start": only(LinkStart, "link start"),
        "confirm": parse_confirm,
        "status": only(LinkStatus, "link status"),
        "remove": parse_remove,
    },
    START_EXAMPLE,
)

TOPIC = Topic(
    "link",
    "one organisation across Slack and Teams",
    "An organisation using both Slack and Teams links them, so teams, the support rota and the index "
    "span both; everyone is still reached on their own platform. Admins only, with a one-time code.",
    (
        Usage("/tend link start", "", "a one-time code for the other side (admins)", START_EXAMPLE),
        Usage(
            "/tend link confirm", "<code>", "join this workspace to the code's organisation", CONFIRM_EXAMPLE
        ),
        Usage("/tend link status", "", "which workspaces form this organisation", STATUS_EXAMPLE),
        Usage("/tend link remove", "<workspace>", "split a workspace off again (admins)", REMOVE_EXAMPLE),
    ),
    notes=(
        "A code works once, for 24 hours, and is shown only to the admin who asked for it.",
        "Shout-outs and mentions reach people of the workspace they are typed in; a person on the other "
        "platform is thanked there.",
    ),
    aliases=("organisation", "organization"),
)

PRACTICE = Practice(
    name="organisation",
    order=105,
    commands={"link": parse_link},
    topics=(TOPIC,),
    sweeps=(sweep_codes,),
    privacy=(
        "Linking a Slack workspace and a Teams tenant (“/tend link”) shares teams, the support rota and the "
        "index's figures across both; no one's messages or answers move. Link codes are kept only as a "
        "keyed digest and expire after 24 hours.",
    ),
)
