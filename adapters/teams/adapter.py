"""botbuilder's CloudAdapter on Tend's aiohttp server: verify → remember → translate → engine → answer.

``POST /api/messages`` authenticates first (``adapters/teams/auth.py``: every failure is a 401 and
nothing is stored or sent), then runs the activity through the CloudAdapter. Each verified activity
refreshes the stored conversation reference of its place (and, in a 1:1 chat, of the person, who is
reachable again), is translated by ``adapters/teams/translate.py`` and handled by the engine. Teams
has no ephemeral messages, so a private answer to something done in a channel goes to the person's
1:1 chat with Tend, and so does a form. A card tap sent as an ``adaptiveCard/action`` invoke gets its
invoke response (200); the card itself is updated in place by the engine through the sender.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount

from adapters.teams.auth import AuthUnavailable, TeamsAuth, TeamsConfig, Unauthorized, build_authentication
from adapters.teams.cards import (
    card_attachment,
    escape_markdown,
    form_card,
    revealed,
    teams_words,
    text_block,
)
from adapters.teams.sender import TeamsSender, message, no_sdk_retries, send_error
from adapters.teams.translate import (
    LEFT_KEY,
    PLATFORM,
    TEAM_KEY,
    Membership,
    activity_events,
    origin_of,
    tenant_id,
    tend_joined,
    tend_left,
)
from bot.chart_links import DEFAULT_KEY
from bot.clock import Clock
from bot.engine import Answer, Engine
from bot.errors import SendError
from bot.events import FormSubmitted, InboundEvent, MemberSeen, Origin, PersonRef, WorkspaceRemoved
from bot.logs import log_event
from bot.ports import PERSON, PLACE, ConversationReferences
from practices.messages import FieldErrors, Form, OpenForm, Reply

logger = logging.getLogger("tend.teams")

MESSAGES_PATH = "/api/messages"
INVOKE_DONE = "Done."
TEAMS_ADAPTER_KEY = web.AppKey("tend_teams_adapter", object)


def place_key(conversation_id: str) -> str:
    """A channel thread (``19:...;messageid=...``) is remembered as its channel."""
    return conversation_id.split(";messageid=", 1)[0]


class TeamsAdapter:
    """One endpoint; the sender is the same one the outbox uses."""

    def __init__(
        self, engine: Engine, sender: TeamsSender, auth: TeamsAuth, addresses: ConversationReferences
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.auth = auth
        self.addresses = addresses
        self.cloud: CloudAdapter = sender.cloud
        self.app_id = auth.config.app_id or ""
        self._in_flight: set[asyncio.Task[None]] = set()  # work still running after the response

    async def drain(self) -> None:
        """Waits for work started by a request that already has its answer (shutdown; tests)."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def on_request(self, request: web.Request) -> web.Response:
        """Authentication before deserialisation, so no unauthenticated body reaches botbuilder's
        deserialiser (a garbage ``timestamp``, ``entities`` that is not a list or ``from`` that is a
        string made it raise, a 500 before any token was looked at).

        A missing token is refused before the body is read. The token's ``serviceurl`` claim must match
        the activity's ``serviceUrl``, so the JSON is parsed (plain ``json``, which cannot fail in
        surprising ways) and the token checked against a bare activity carrying only what botbuilder's
        check reads; the whole activity is deserialised after that, and one it cannot read is a 400.
        Every refusal is one WARNING line with a short reason.
        """
        if self.auth.requires_token and not _bearer(request.headers.get("Authorization")):
            return _refused(401, "missing_token")
        if "application/json" not in request.headers.get("Content-Type", ""):
            return _refused(415, "not_json")
        try:
            body = json.loads(await request.read())
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested beyond the parser
            return _refused(400, "unparseable")
        if not isinstance(body, dict) or not body.get("type"):
            return _refused(400, "not_an_activity")
        if self.auth.requires_token and not _text(body.get("serviceUrl")):
            # botbuilder checks the token's serviceurl claim only against a service URL that is there:
            # without one, a token minted for another conversation would pass.
            return _refused(401, "no_service_url")
        try:
            verified = await self.auth.authenticate(bare_activity(body), request.headers.get("Authorization"))
        except Unauthorized as error:
            return _refused(401, str(error)[:40] or "denied")
        except AuthUnavailable:
            return web.Response(status=503)
        try:
            activity = Activity().deserialize(body)
        except Exception:  # msrest/azure-core: DeserializationError, and TypeError on odd shapes
            return _refused(400, "undeserialisable")

        async def turn(context: TurnContext) -> None:
            await self._turn(context, body)

        invoke = await self.cloud.process_activity(verified, activity, turn)
        if invoke is not None:
            return web.json_response(invoke.body, status=invoke.status)
        return web.Response(status=200)

    async def _turn(self, context: TurnContext, body: dict[str, Any]) -> None:
        no_sdk_retries(context)
        left = tend_left(body, self.app_id)
        if left is not None:  # nothing else in a removal is for Tend to act on
            await self._left(body, left)
            return
        await self._remember(context.activity)
        joined = tend_joined(body, self.app_id)
        if joined is not None:
            await self._joined(body, joined)
        answers: tuple[Answer, ...] = ()
        invoked = context.activity.type == ActivityTypes.invoke
        for event in activity_events(body, self.app_id):  # several only for membersAdded
            answers = await self.engine.handle(event)
            for answer in answers:
                if invoked and isinstance(answer, Reply) and answer.private:
                    continue  # shown to the person alone, as the invoke's answer below
                try:
                    await self._answer(context, answer, event)
                except Exception as error:
                    log_event(
                        logger,
                        "teams answer failed",
                        level=logging.WARNING,
                        answer=type(answer).__name__,
                        outcome=type(send_error(error, "answer")).__name__,
                    )
        if self._tend_was_added(context.activity):  # a big team takes a while: after the response
            task = asyncio.create_task(self._meet_everyone(context.activity))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        if invoked:
            text = (
                # No *marks*, and commands spelled as Teams people type them (no slash).
                next((teams_words(a.card.plain) for a in answers if isinstance(a, Reply) and a.private), "")
                or INVOKE_DONE
            )
            body_out = {
                "statusCode": 200,
                "type": "application/vnd.microsoft.activity.message",
                "value": text,
            }
            await context.send_activity(
                Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=200, body=body_out))
            )

    def _tend_was_added(self, activity: Activity) -> bool:
        recipient = activity.recipient.id if activity.recipient else None
        added = activity.members_added or []
        return activity.type == ActivityTypes.conversation_update and any(m.id == recipient for m in added)

    async def _meet_everyone(self, activity: Activity) -> None:
        """Tend was added to a team or chat: whoever added it is met first, as its installer, then
        everyone on the roster becomes a member.

        The installer becomes admin only if Tend meets nobody else in the tenant yet (its first
        install there) or the roster calls them a team owner; adding Tend to another team grants
        nothing. Teams gives no other role a bot can read (see docs/privacy.md, "Who is an admin").
        """
        tenant = _tenant(activity)
        if not tenant or activity.conversation is None:
            return
        place = place_key(activity.conversation.id)
        data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
        raw_team = data.get("team")
        team = raw_team if isinstance(raw_team, dict) else {}
        try:
            roster = await self.sender.roster(tenant, place, str(team.get("id") or place))
        except SendError as error:
            log_event(logger, "teams roster failed", level=logging.WARNING, outcome=type(error).__name__)
            roster = []
        owners = {account.id for account in roster if is_owner(account)}
        installer = activity.from_property
        if installer is not None and installer.id and not installer.id.startswith("28:"):
            origin = Origin(
                "teams",
                tenant,
                PersonRef(installer.id, installer.name or ""),
                place_id=place,
                actor_is_installer=True,
                actor_may_administer=True if installer.id in owners else None,
            )
            await self.engine.handle(MemberSeen(origin, display_name=installer.name or ""))
        for account in roster:
            if not account.id or account.id.startswith("28:"):
                continue
            origin = Origin(
                "teams",
                tenant,
                PersonRef(account.id, account.name or ""),
                place_id=place,
                actor_may_administer=True if account.id in owners else None,
            )
            await self.engine.handle(MemberSeen(origin, display_name=account.name or ""))
        if roster:
            log_event(logger, "teams roster read", platform="teams", members=len(roster))

    async def _left(self, body: dict[str, Any], left: Membership) -> None:
        """Tend was removed from a team or chat (what stops: practices/leaving.py). The rituals posting
        into its places pause; the places' references are kept, marked as left (a re-install resumes
        posting there), except a personal chat's, which is forgotten with the person's reference. When
        every conversation Tend knew in the tenant is left, the tenant itself is removed, as after
        Slack's ``app_uninstalled``: everything stops until Tend is installed again."""
        tenant = tenant_id(body)
        if not tenant:
            return
        known = await self.addresses.all_of(tenant, PLACE)
        places = set(left.places)
        if left.is_team:  # the team's other channels: their references carry its id
            places |= {key for key, reference in known.items() if reference.get(TEAM_KEY) == left.scope}
        await self.engine.left_places(PLATFORM, tenant, left.scope, tuple(sorted(places)))
        if left.personal_user:
            await self.addresses.forget(tenant, PLACE, places)
            await self.addresses.forget(tenant, PERSON, (left.personal_user,))
        else:
            for key in places & set(known):
                await self.addresses.remember(tenant, PLACE, key, {**known[key], LEFT_KEY: True})
        still_in = [key for key, ref in known.items() if key not in places and not ref.get(LEFT_KEY)]
        if still_in:
            log_event(logger, "teams places left", platform=PLATFORM, places=len(places))
            return
        # Whoever removed Tend is the actor; the engine ignores bots' events, so never count as one.
        await self.engine.handle(WorkspaceRemoved(replace(origin_of(body), actor_is_bot=False)))
        log_event(logger, "teams tenant removed", platform=PLATFORM)

    async def _joined(self, body: dict[str, Any], joined: Membership) -> None:
        """Tend was added (back): the tenant is active again and what removal paused there resumes; a
        team's other channels are no longer marked as left (this conversation was just remembered)."""
        tenant = tenant_id(body)
        if not tenant:
            return
        if joined.is_team:
            for key, reference in (await self.addresses.all_of(tenant, PLACE)).items():
                if reference.get(TEAM_KEY) == joined.scope and reference.pop(LEFT_KEY, None):
                    await self.addresses.remember(tenant, PLACE, key, reference)
        await self.engine.rejoined(PLATFORM, tenant, joined.scope)

    async def _remember(self, activity: Activity) -> None:
        """Keeps where this came from, so scheduled messages can go there later."""
        conversation = activity.conversation
        tenant = _tenant(activity)
        if not tenant or conversation is None or not conversation.id:
            return
        reference = TurnContext.get_conversation_reference(activity).serialize()
        reference.pop("activityId", None)
        key = place_key(conversation.id)
        reference["conversation"]["id"] = key  # posts start a new thread in the channel, not a reply
        person = reference.pop("user", None)  # a place's reference need not name who spoke last
        data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
        raw_team = data.get("team")
        team = raw_team if isinstance(raw_team, dict) else {}
        if team and team.get("id"):  # which team a channel belongs to, for when Tend leaves the team
            reference[TEAM_KEY] = str(team["id"])
        await self.addresses.remember(tenant, PLACE, key, reference)
        sender = activity.from_property
        if conversation.conversation_type == "personal" and sender is not None and sender.id:
            await self.addresses.remember(tenant, PERSON, sender.id, {**reference, "user": person})
            if await self.addresses.mark_reachable(tenant, sender.id):
                log_event(logger, "member reachable again", platform="teams")

    async def _answer(self, context: TurnContext, answer: Answer, event: InboundEvent) -> None:
        origin = event.origin
        user_id = origin.actor.user_id
        if isinstance(answer, FieldErrors) and (answer.form is None or not isinstance(event, FormSubmitted)):
            await context.send_activity(Activity(type=ActivityTypes.message, text=answer.text))
            return
        if isinstance(answer, FieldErrors):  # the card stays as submitted: the form comes again, filled in
            assert answer.form is not None and isinstance(event, FormSubmitted)
            content = card_attachment(form_again(answer.form, event.values, answer.errors))
        elif isinstance(answer, OpenForm):
            content = card_attachment(form_card(answer.form))
        elif isinstance(answer, Reply):
            content = self.sender.content(answer.card)  # an answer to its asker: names, no pings
        else:
            return
        private = isinstance(answer, OpenForm | FieldErrors) or answer.private
        if origin.is_direct or not private:
            await context.send_activity(message(content))
        elif user_id:  # Teams has no ephemeral messages: a private answer goes to the 1:1 chat
            try:
                await self.sender.direct_content(origin.workspace_id, user_id, content)
            except SendError as error:
                if not error.unreachable:
                    raise


def form_again(form: Form, values: Mapping[str, str], errors: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The form sent again after a bad answer: every answer kept (an input's ``value``) and each
    message in red right under its field (one for a field the form lacks goes under the title)."""
    card = form_card(form)
    said = dict(errors)
    body: list[dict[str, Any]] = []
    for element in card["body"]:
        name = element.get("id")
        if name in values and str(values[name]):
            element = {**element, "value": str(values[name])}
        body.append(element)
        if name in said:
            body.append(text_block(escape_markdown(said.pop(name)), color="attention", spacing="none"))
    for unplaced in said.values():
        body.insert(1, text_block(escape_markdown(unplaced), color="attention"))
    answered = [name for name, value in values.items() if str(value)]
    return revealed({**card, "body": body}, [*answered, *dict(errors)])


def _bearer(header: str | None) -> bool:
    return bool(header) and str(header).startswith("Bearer ")


def _refused(status: int, reason: str) -> web.Response:
    log_event(logger, "teams request refused", level=logging.WARNING, outcome=reason)
    return web.Response(status=status)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def bare_activity(body: dict[str, Any]) -> Activity:
    """Only what botbuilder's token check reads (channel, service URL, the recipient's role), taken
    from the raw JSON as plain strings: building it cannot fail, whatever the rest of the body holds."""
    recipient = body.get("recipient")
    role = _text(recipient.get("role")) if isinstance(recipient, dict) else None
    return Activity(
        channel_id=_text(body.get("channelId")),
        service_url=_text(body.get("serviceUrl")),
        recipient=ChannelAccount(role=role),
    )


def is_owner(account: ChannelAccount) -> bool:
    """Whether the roster calls the person an owner (``userRole``). Teams announced ``owner`` for this
    field but in practice sends ``user`` for owners too, so "not owner" means "Teams did not say"."""
    return str(getattr(account, "user_role", "") or "").casefold() == "owner"


def _tenant(activity: Activity) -> str | None:
    """The tenant: ``channelData.tenant.id`` (what translate.py uses), else ``conversation.tenantId``."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = data.get("tenant") if isinstance(data.get("tenant"), dict) else {}
    found = tenant.get("id") if tenant else None
    return found or (activity.conversation.tenant_id if activity.conversation else None)


def build_teams_sender(
    config: TeamsConfig,
    addresses: ConversationReferences,
    *,
    public_url: str | None = None,
    secret_key: bytes = DEFAULT_KEY,
    clock: Clock | None = None,
) -> TeamsSender:
    """The outbound half: a CloudAdapter with Tend's authentication, built before the engine.
    ``secret_key`` signs chart links; it must be the key the HTTP server checks them with."""
    cloud = CloudAdapter(build_authentication(config))
    return TeamsSender(
        cloud, addresses, config.app_id, public_url=public_url, secret_key=secret_key, clock=clock
    )


def build_teams(
    engine: Engine, sender: TeamsSender, config: TeamsConfig, addresses: ConversationReferences
) -> TeamsAdapter:
    """The inbound half, verifying with the same authentication the sender's CloudAdapter uses."""
    return TeamsAdapter(
        engine, sender, TeamsAuth(config, sender.cloud.bot_framework_authentication), addresses
    )


def add_teams_route(app: web.Application, adapter: TeamsAdapter) -> None:
    """Mounts ``POST /api/messages`` on the shared server."""
    app[TEAMS_ADAPTER_KEY] = adapter
    app.router.add_post(MESSAGES_PATH, adapter.on_request)
