"""The one aiohttp application: probes, metrics, index charts, and whatever routes the adapters add.

Every request, the adapters' included, passes one middleware that counts it by route template and
status and turns an unhandled exception into a plain 500, so no traceback ever reaches a client.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from bot import chart_links
from bot.clock import Clock, SystemClock
from bot.health import Readiness
from bot.metrics import CONTENT_TYPE, Metrics
from practices.charts import chart_file, chart_folder, is_chart_name
from practices.sealing import PROCESS_KEY
from storage.db import Database

logger = logging.getLogger("tend.server")

UNMATCHED_ROUTE = "unmatched"
METRICS_KEY = web.AppKey("tend_metrics", Metrics)
READINESS_KEY = web.AppKey("tend_readiness", Readiness)
PROBE_HEADERS = {"Cache-Control": "no-store"}  # a cached "ready" would outlive the state it described
CHARTS_KEY = web.AppKey("tend_charts", Path)
CHART_ROUTE = "/charts/{name}"
CHART_CACHE_SECONDS = 3600  # the person's client may keep a chart this long, never past its link's expiry
CHART_HEADERS = {
    "Content-Type": "image/png",
    "Cache-Control": "private",  # the person's client may keep it (max-age set per link); shared caches not
    "X-Content-Type-Options": "nosniff",
}


def _route_label(request: web.Request) -> str:
    """The route's template (``/rituals/{id}``), never the raw path, so ids cannot multiply series."""
    resource = request.match_info.route.resource
    if resource is None:  # aiohttp's system route for 404/405
        return UNMATCHED_ROUTE
    return resource.canonical


@web.middleware
async def _observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as http_error:
        status = http_error.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away; counted the way proxies report it
        raise
    except Exception:
        # The route and method are enough to find the handler; the path may carry ids or OAuth codes.
        logger.exception("unhandled error", extra={"route": _route_label(request), "method": request.method})
        return web.json_response({"error": "internal error"}, status=500)
    finally:
        request.app[METRICS_KEY].http_requests.inc(route=_route_label(request), status=str(status))


async def _livez(_request: web.Request) -> web.Response:
    """The process is alive and its loop turns: nothing else is asked, so nothing else can fail it."""
    return web.json_response({"status": "ok"}, headers=PROBE_HEADERS)


async def _readyz(request: web.Request) -> web.Response:
    """200 when this process should be sent traffic, else 503 naming the failing checks (bot/health.py)."""
    report = await request.app[READINESS_KEY].report()
    return web.json_response(report.body(), status=200 if report.ready else 503, headers=PROBE_HEADERS)


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS_KEY].render().encode("utf-8")
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


@dataclass(frozen=True)
class ChartLinks:
    """What the chart route checks links with: the server key and the clock."""

    secret_key: bytes
    clock: Clock


CHART_LINKS_KEY = web.AppKey("tend_chart_links", ChartLinks)


async def _chart(request: web.Request) -> web.StreamResponse:
    """One index chart, by its unguessable name and a valid signed expiry (bot/chart_links.py).

    The name must match the chart pattern exactly, so no ``..``, slash or other extension gets
    through, and the file must sit directly in the chart folder. A link Tend did not sign is a 403
    and an expired one a 404, neither with any detail; the signature is checked before the folder
    is looked at, so a forged link cannot even tell whether a chart exists.
    """
    name = request.match_info["name"]
    if not is_chart_name(name):
        raise web.HTTPNotFound()
    links = request.app[CHART_LINKS_KEY]
    now = links.clock.now()
    problem = chart_links.check(
        links.secret_key, name, request.query.get("expires", ""), request.query.get("sig", ""), now
    )
    if problem == "forged":
        raise web.HTTPForbidden()
    if problem is not None:
        raise web.HTTPNotFound()
    path = chart_file(request.app[CHARTS_KEY], name)
    if path is None:
        raise web.HTTPNotFound()
    left = int(request.query["expires"]) - int(now.timestamp())
    headers = {**CHART_HEADERS, "Cache-Control": f"private, max-age={max(0, min(CHART_CACHE_SECONDS, left))}"}
    return web.FileResponse(path, headers=headers)


def add_chart_route(app: web.Application, folder: Path, secret_key: bytes, clock: Clock) -> None:
    """Serves the PNGs of ``/tend index`` under /charts/{name}, for Teams cards to show (TEND_PUBLIC_URL),
    to signed links only (``bot.chart_links``, under the same ``secret_key``).

    Slack uploads the file instead and the console prints its path; the route costs nothing there.
    """
    app[CHARTS_KEY] = folder
    app[CHART_LINKS_KEY] = ChartLinks(secret_key, clock)
    app.router.add_get(CHART_ROUTE, _chart)


def create_http_app(
    database: Database,
    metrics: Metrics,
    *,
    readiness: Readiness | None = None,
    charts: Path | None = None,
    secret_key: bytes = PROCESS_KEY,
    clock: Clock | None = None,
) -> web.Application:
    """The app with /livez, /readyz (and /healthz, its alias), /metrics and /charts/{name}; adapters
    then add their own routes to it.

    ``readiness`` is the one ``app.py`` drains on SIGTERM and tells about platforms; without one, the
    database alone decides (bounded by ``bot.health.DATABASE_TIMEOUT``). ``charts`` is the index
    chart folder (default ``practices.charts.chart_folder()``); chart links are checked with
    ``secret_key`` (``app.py``: TEND_SECRET_KEY, the key the Teams sender signs them with) and ``clock``.
    """
    app = web.Application(middlewares=[_observe])
    app[METRICS_KEY] = metrics
    app[READINESS_KEY] = readiness or Readiness(database)
    app.router.add_get("/livez", _livez)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/healthz", _readyz)  # the older name, kept for probes already pointing at it
    app.router.add_get("/metrics", _metrics)
    add_chart_route(app, charts or chart_folder(), secret_key, clock or SystemClock())
    return app


async def run_http(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Starts serving and returns the runner; the caller awaits ``runner.cleanup()`` to stop.

    aiohttp's access log is off: it would write raw paths and query strings (OAuth codes, ids),
    and the request counter already records route and status.
    """
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


# Young collections after this many new container objects instead of CPython's 700. What it buys
# (benchmarks/fanout.py --gc freeze vs --gc tuned, 2,000 prompts, 2026-12-04): 205 collections and
# 52 ms of CPU in the collector down to 3 and 5 ms; the garbage held between collections is a few MB.
YOUNG_COLLECTION_EVERY = 10_000


def settle_start_up_heap() -> None:
    """Once started: what start-up built (modules, the apps, caches) lives as long as the process,
    so it is moved out of the collector's sight (``gc.freeze``) and a full collection no longer walks
    it. What that buys (benchmarks/fanout.py --gc default vs --gc freeze, 2,000 prompts, 2026-12-04):
    the longest collection, a pause of the loop while sending, 82 ms down to 9 ms. Young collections
    run less often from then on (``YOUNG_COLLECTION_EVERY``)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, middle, old)


def bound_port(runner: web.AppRunner) -> int:
    """The port actually listened on (useful after asking for port 0)."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    raise RuntimeError("the runner is not listening on a TCP port")
