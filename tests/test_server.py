"""The HTTP server as Prometheus and clients see it, over a real local socket (the probes: test_health.py)."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.metrics import Metrics, Registry
from bot.server import bound_port, create_http_app, run_http
from storage.db import Database

SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r'(?:\{(?P<labels>[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*)\})?'
    r" (?P<value>[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|Inf|NaN))$"
)
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_prometheus(text: str) -> tuple[dict[str, str], Samples]:
    """Checks the exposition format line by line; returns TYPE per family and every sample."""
    types: dict[str, str] = {}
    samples: Samples = {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            assert len(line.split(" ", 3)) == 4, line
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in {"counter", "gauge", "histogram", "summary", "untyped"}, line
            assert name not in types, f"duplicate TYPE for {name}"
            types[name] = kind
        else:
            match = SAMPLE.match(line)
            assert match, f"not a valid sample line: {line!r}"
            assert match["name"] in types, f"sample before its TYPE line: {line!r}"
            labels = frozenset(LABEL.findall(match["labels"] or ""))
            samples[(match["name"], labels)] = float(match["value"])
    return types, samples


def requests_counted(samples: Samples, route: str, status: str) -> float:
    key = ("tend_http_requests_total", frozenset({("route", route), ("status", status)}))
    return samples.get(key, 0.0)


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/t.db")
    yield database
    await database.dispose()


@pytest.fixture
async def client(sqlite_database: Database) -> AsyncIterator[TestClient]:
    app = create_http_app(sqlite_database, Metrics())

    async def boom(_request: web.Request) -> web.Response:
        raise RuntimeError("secret detail xoxb-1234567890-abcdef")

    async def forbidden(_request: web.Request) -> web.Response:
        raise web.HTTPForbidden()

    async def thing(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["thing_id"]})

    # The way adapters will add their routes to the same app.
    app.router.add_get("/boom", boom)
    app.router.add_get("/forbidden", forbidden)
    app.router.add_get("/things/{thing_id}", thing)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as test_client:
        yield test_client


async def scrape(client: TestClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status == 200
    _, samples = parse_prometheus(await response.text())
    return samples


async def test_metrics_is_prometheus_text_with_every_tend_metric(client: TestClient) -> None:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    types, samples = parse_prometheus(await response.text())
    assert types == {
        "tend_http_requests_total": "counter",
        "tend_events_handled_total": "counter",
        "tend_messages_sent_total": "counter",
        "tend_messages_failed_total": "counter",
        "tend_scheduler_lag_seconds": "gauge",
        "tend_outbox_pending": "gauge",
        "tend_inbound_queued": "gauge",
        "tend_inbound_oldest_seconds": "gauge",
        "tend_inbound_handled_total": "counter",
        "tend_inbound_held": "gauge",
        "tend_inbound_passed_total": "counter",
        "tend_inbound_refused_total": "counter",
        "tend_inbound_max_queued": "gauge",
    }
    assert samples[("tend_outbox_pending", frozenset())] == 0.0
    assert samples[("tend_inbound_queued", frozenset())] == 0.0


async def test_requests_are_counted_by_route_and_status(client: TestClient) -> None:
    before = await scrape(client)
    for _ in range(2):
        assert (await client.get("/healthz")).status == 200
    after = await scrape(client)
    assert requests_counted(after, "/healthz", "200") == requests_counted(before, "/healthz", "200") + 2
    assert requests_counted(after, "/metrics", "200") >= 1


async def test_unknown_routes_count_as_unmatched_not_by_path(client: TestClient) -> None:
    assert (await client.get("/rituals/8675309")).status == 404
    assert (await client.get("/wp-admin.php")).status == 404
    text = await (await client.get("/metrics")).text()
    _, samples = parse_prometheus(text)
    assert requests_counted(samples, "unmatched", "404") == 2
    assert "8675309" not in text and "wp-admin" not in text


async def test_routes_with_ids_share_one_series(client: TestClient) -> None:
    assert (await client.get("/things/1")).status == 200
    assert (await client.get("/things/2")).status == 200
    samples = await scrape(client)
    assert requests_counted(samples, "/things/{thing_id}", "200") == 2


async def test_http_errors_raised_by_handlers_keep_their_status(client: TestClient) -> None:
    assert (await client.get("/forbidden")).status == 403
    assert requests_counted(await scrape(client), "/forbidden", "403") == 1


async def test_a_crashing_route_answers_plain_500_and_logs_it(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="tend.server"):
        response = await client.get("/boom")
    assert response.status == 500
    body = await response.text()
    assert await response.json() == {"error": "internal error"}
    assert "Traceback" not in body and "secret detail" not in body and "RuntimeError" not in body
    assert requests_counted(await scrape(client), "/boom", "500") == 1
    logged = [record for record in caplog.records if record.name == "tend.server"]
    assert logged and logged[0].exc_info is not None
    assert getattr(logged[0], "route", None) == "/boom"


async def test_run_http_serves_on_a_real_port(sqlite_database: Database) -> None:
    runner = await run_http(create_http_app(sqlite_database, Metrics()), "127.0.0.1", 0)
    try:
        port = bound_port(runner)
        assert port > 0
        async with aiohttp.ClientSession() as session:
            response = await session.get(f"http://127.0.0.1:{port}/readyz")
            assert response.status == 200
            assert (await response.json())["database"] == "ok"
    finally:
        await runner.cleanup()


def test_each_metrics_object_counts_on_its_own() -> None:
    first, second = Metrics(), Metrics()
    first.messages_sent.inc(platform="slack")
    assert first.messages_sent.value(platform="slack") == 1
    assert second.messages_sent.value(platform="slack") == 0


def test_label_values_and_help_are_escaped() -> None:
    registry = Registry()
    counter = registry.counter("odd_total", "Help with \\ and\nnewline.", ("kind",))
    counter.inc(kind='say "hi"\\\nbye')
    text = registry.render()
    assert "# HELP odd_total Help with \\\\ and\\nnewline.\n" in text
    assert 'odd_total{kind="say \\"hi\\"\\\\\\nbye"} 1.0\n' in text
    parse_prometheus(text)


def test_labels_must_match_the_declaration() -> None:
    metrics = Metrics()
    with pytest.raises(ValueError):
        metrics.messages_sent.inc(platform="slack", channel="C1")
    with pytest.raises(ValueError):
        metrics.messages_sent.inc()
    with pytest.raises(ValueError):
        metrics.messages_sent.inc(-1, platform="slack")


def test_gauges_move_both_ways() -> None:
    metrics = Metrics()
    metrics.outbox_pending.set(5)
    metrics.outbox_pending.dec(2)
    metrics.outbox_pending.inc()
    metrics.scheduler_lag_seconds.set(0.25)
    _, samples = parse_prometheus(metrics.render())
    assert samples[("tend_outbox_pending", frozenset())] == 4
    assert samples[("tend_scheduler_lag_seconds", frozenset())] == 0.25


# Index charts (GET /charts/{name}, signed and expiring links): tests/test_charts.py
