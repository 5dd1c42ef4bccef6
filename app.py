"""Tend's composition root: read settings, build the pieces, start them.

python app.py            serve Slack/Teams when their credentials are set, else the local console
python app.py serve      HTTP only (probes, metrics, platform endpoints)
python app.py console    the local console only
python app.py migrate    upgrade the database and exit
python app.py rotate-key re-seal stored secrets under TEND_SECRET_KEY (old key in TEND_PREVIOUS_SECRET_KEYS)
python app.py teams-package [--out tend-teams.zip]   build the Teams app package (needs MICROSOFT_APP_ID)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any, TypedDict

from adapters.console.repl import CLOCK_FILE, build_console, console_clock, run_repl
from adapters.console.session import WORKSPACE as CONSOLE_WORKSPACE
from adapters.slack.listeners import add_slack_route, build_slack, prepare_slack
from adapters.slack.socket_mode import SocketMode, start_socket_mode
from adapters.teams.adapter import add_teams_route, build_teams, build_teams_sender
from adapters.teams.auth import TeamsConfig
from bot.addresses import Addresses
from bot.clock import SystemClock
from bot.engine import Engine
from bot.errors import SettingsError
from bot.health import Readiness
from bot.logs import setup_logging
from bot.metrics import Metrics
from bot.ports import Sender
from bot.scheduler import Scheduler, start_background
from bot.server import create_http_app, run_http, settle_start_up_heap
from bot.settings import Settings, load_settings
from practices.charts import chart_folder
from practices.sealing import key_from_text, new_key_text
from storage.db import Database
from storage.external import ExternalTables
from storage.identity import find_workspace
from storage.migrate import DatabaseUnavailable, upgrade, upgrade_sync

logger = logging.getLogger("tend.app")

USAGE = __doc__ or ""


class Policy(TypedDict):
    min_group_size: int
    support_window: timedelta
    support_fallback: str
    secret_key: bytes


INBOUND_STOP_SECONDS = 10.0  # how long acked work under way may take to finish on SIGTERM

NO_SECRET_KEY = (
    "TEND_SECRET_KEY: required to serve Slack or Teams (it keys what anonymous reports and check-ins "
    "keep, and is never stored in the database); generate one with: openssl rand -base64 32"
)


def policy_of(settings: Settings, secret_key: bytes) -> Policy:
    """The privacy and care settings the engine and scheduler both apply."""
    return Policy(
        min_group_size=settings.min_group_size,
        support_window=timedelta(hours=settings.tend_support_reply_hours),
        support_fallback=settings.tend_support_fallback.strip(),
        secret_key=secret_key,
    )


def console_secret_key(settings: Settings) -> bytes:
    """The configured key, else one the console generated once and keeps beside its data (never in
    the database), so a restarted console can still open what it sealed."""
    if settings.secret_key is not None:
        return settings.secret_key
    url = settings.database_url
    folder = Path(url.removeprefix("sqlite:///")).parent if url.startswith("sqlite:///") else Path("data")
    path = folder / "tend.secret-key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(new_key_text() + "\n")
    return key_from_text(path.read_text().strip())


async def serve(settings: Settings) -> None:
    """Runs the HTTP server until SIGINT/SIGTERM; the database is upgraded first."""
    await upgrade(settings.database_url)
    database = Database(settings.database_url)
    metrics = Metrics()
    clock = SystemClock()
    senders: dict[str, Sender] = {}  # platform adapters register here (Slack, Teams)
    slack_sender = slack_oauth = slack = None
    if settings.slack_enabled:  # OAuth (many workspaces) when a client id and secret are set
        if settings.slack_oauth and settings.slack_bot_token is not None:
            logger.warning("slack oauth is configured: SLACK_BOT_TOKEN is ignored")
        client_secret = settings.slack_client_secret if settings.slack_oauth else None
        bot_token = settings.slack_bot_token
        slack_sender, slack_oauth = await prepare_slack(
            api_url=settings.slack_api_url,
            bot_token=bot_token.get_secret_value() if bot_token is not None else None,
            client_id=settings.slack_client_id if settings.slack_oauth else None,
            client_secret=client_secret.get_secret_value() if client_secret is not None else None,
            tables=ExternalTables(database.engine),  # slack_sdk's stores and their locks
            public_url=settings.tend_public_url,
        )
        if slack_oauth is not None and settings.secret_key is not None:  # tokens sealed at rest
            await slack_oauth.use_key(settings.secret_key)
        senders["slack"] = slack_sender
    teams_config = TeamsConfig.from_settings(settings) if settings.teams_enabled else None
    teams_addresses = Addresses(database, clock, "teams")  # Teams conversation references
    teams_sender = teams = None
    assert settings.secret_key is not None  # main refuses to serve without one
    if teams_config is not None:  # proactive sends continue conversations stored in the database
        teams_sender = build_teams_sender(
            teams_config,
            teams_addresses,
            public_url=settings.tend_public_url,
            secret_key=settings.secret_key,  # signs chart links; the server below checks them
            clock=clock,
        )
        senders["teams"] = teams_sender
    policy = policy_of(settings, settings.secret_key)
    engine = Engine(database, clock, senders, metrics=metrics, index_weights=settings.index_weights, **policy)
    scheduler = Scheduler(database, clock, metrics=metrics, charts=chart_folder(), senders=senders, **policy)
    readiness = Readiness(database)  # not ready until each configured platform is wired, nor once draining
    for platform in senders:
        readiness.expect(platform)
    app = create_http_app(database, metrics, readiness=readiness, secret_key=settings.secret_key, clock=clock)
    slack_socket: SocketMode | None = None
    if slack_sender is not None:
        signing = settings.slack_signing_secret
        secret = signing.get_secret_value() if signing is not None else None
        slack = build_slack(
            engine,
            slack_sender,
            signing_secret=secret,
            oauth=slack_oauth,
            max_queued=settings.tend_inbound_max_queued,  # past it, "Tend is busy" (docs/operations.md)
        )
        if secret is not None:  # never an unverified endpoint: without a secret, Socket Mode only
            add_slack_route(app, slack)  # POST /slack/events; with OAuth also /slack/install, /oauth_redirect
            if settings.slack_app_token is None:
                readiness.wired("slack")
    if teams_config is not None and teams_sender is not None:  # POST /api/messages
        teams = build_teams(engine, teams_sender, teams_config, teams_addresses)
        add_teams_route(app, teams)
        readiness.wired("teams")
    runner = await run_http(app, settings.host, settings.port)
    if slack is not None and settings.slack_app_token is not None:  # Socket Mode instead of Slack calling us
        try:
            slack_socket = await start_socket_mode(
                slack.bolt, settings.slack_app_token.get_secret_value(), settings.slack_api_url
            )
        except BaseException:
            await runner.cleanup()
            if slack_sender is not None:
                await slack_sender.close()
            await database.dispose()
            raise
        readiness.wired("slack", connected=slack_socket.connected)
    settle_start_up_heap()
    background = start_background(scheduler, engine.delivery)
    # Acked Slack work nobody holds (a stopped process's, a dead replica's once its lease is over).
    polling = None if slack is None else asyncio.create_task(slack.inbound.run(), name="tend-inbound-poll")
    logger.info("serving", extra={"host": settings.host, "port": settings.port})
    stop = asyncio.Event()

    def begin_shutdown() -> None:
        readiness.drain()  # first: /readyz answers 503 while the server still accepts and finishes
        stop.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, begin_shutdown)
    try:
        await stop.wait()
    finally:
        if slack_socket is not None:  # first, so no new envelopes arrive while shutting down
            await slack_socket.close()
        await runner.cleanup()  # no new requests; those under way are stored and acked first
        if slack is not None:  # work under way finishes within the bound; the rest stays queued
            await slack.stop(within=INBOUND_STOP_SECONDS)  # the poll ends too
        if polling is not None:  # stop() ended it; cancelled only if a poll hangs on the database
            await asyncio.wait({polling}, timeout=INBOUND_STOP_SECONDS)
            polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
        # Delivery last, and let go of rather than cancelled mid-query: its round ends, a pass under
        # way writes down what it sent; only one still running after the bound is cancelled.
        engine.delivery.stop_soon()
        await asyncio.wait({background.delivery}, timeout=INBOUND_STOP_SECONDS)
        await background.stop()
        if teams is not None:  # e.g. a roster still being read after Tend was added to a team
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(teams.drain(), timeout=10)
        if slack_sender is not None:  # its Web API connections, once nothing more is sent
            await slack_sender.close()
        await database.dispose()


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Runs Tend's event loop: uvloop's where it is installed (Linux and macOS), asyncio's otherwise.
    uvloop's loop, written in C over libuv, spends less CPU per callback, socket read and timer than
    asyncio's own: benchmarks/kudos_cpu.py measured it (docs/architecture.md, issue 18)."""
    try:
        import uvloop
    except ImportError:  # Windows: no uvloop; asyncio's loop does the same work, a little slower
        asyncio.run(main)
        return
    uvloop.run(main)


async def console_has_data(database: Database) -> bool:
    """Whether the console has run on this database before (its demo workspace is there)."""
    async with database.session() as session:
        return await find_workspace(session, "console", CONSOLE_WORKSPACE) is not None


async def console(settings: Settings) -> None:
    """The local try-out: a terminal where you type as any demo member. Its clock starts at a fixed
    Monday morning on fresh data and is kept beside the data, so a restart never goes back in time."""
    await upgrade(settings.database_url)
    database = Database(settings.database_url)
    url = settings.database_url  # the clock file sits beside the data, as the console's secret key does
    folder = Path(url.removeprefix("sqlite:///")).parent if url.startswith("sqlite:///") else Path("data")
    clock, clock_file, clock_note = console_clock(
        folder / CLOCK_FILE, has_data=await console_has_data(database)
    )
    policy = policy_of(settings, console_secret_key(settings))
    scheduler = Scheduler(database, clock, charts=chart_folder(), **policy)
    engines: list[Engine] = []

    def make_engine(sender: Sender) -> Engine:
        scheduler.senders["console"] = sender  # a check-in's closing card is updated in place
        engines.append(
            Engine(database, clock, {"console": sender}, index_weights=settings.index_weights, **policy)
        )
        return engines[0]

    async def catch_up() -> None:
        """After /wait: fire what came due in the skipped time and send it, as a server would have."""
        await scheduler.tick()
        await engines[0].delivery.deliver_due(limit=1000)

    session = build_console(make_engine, clock, on_time_moved=catch_up)
    background = start_background(scheduler, engines[0].delivery)
    try:
        await run_repl(session, clock_note)
    finally:
        clock_file.save(clock)
        await background.stop()
        await database.dispose()


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else "auto"
    if mode in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if mode == "teams-package":  # needs only the app id, not a whole valid configuration
        from adapters.teams.package import package_command

        return package_command(argv[2:])
    if mode not in ("auto", "serve", "console", "migrate", "rotate-key"):
        print(f"Unknown command {mode!r}.\n{USAGE}", file=sys.stderr)
        return 2
    setup_logging("WARNING")  # so warnings about the settings themselves are formatted too
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Tend cannot start: {error}", file=sys.stderr)
        return 2
    if mode == "auto":
        mode = "serve" if settings.slack_enabled or settings.teams_enabled else "console"
    # In the console, log lines would bury the conversation: only warnings go to stderr there.
    level = "WARNING" if mode == "console" else settings.tend_log_level
    setup_logging(level, secrets=settings.secret_values())
    if mode == "rotate-key":  # every sealed value and platform credential, under the current key
        from adapters.slack.oauth import reseal_credentials
        from bot.key_rotation import rotate_key_command

        return rotate_key_command(settings, {"slack credentials": reseal_credentials})
    if mode == "serve" and settings.secret_key is None:
        print(f"Tend cannot start: {NO_SECRET_KEY}", file=sys.stderr)
        return 2
    try:
        if mode == "migrate":
            upgrade_sync(settings.database_url)
            print("The database is up to date.")
            return 0
        with contextlib.suppress(KeyboardInterrupt):
            run_loop(serve(settings) if mode == "serve" else console(settings))
    # Found only when connecting: a wrong SLACK_APP_TOKEN, a database that is down or missing.
    except (SettingsError, DatabaseUnavailable) as error:
        print(f"Tend cannot start: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
