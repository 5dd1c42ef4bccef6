"""Index charts over HTTP (``GET /charts/{name}``): only a link Tend signed, and only until it expires.

Links are made the way Teams cards get them (``TeamsSender.content`` under TEND_PUBLIC_URL) and then
fetched from a real local server; the clock is moved, never slept on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from adapters.teams.adapter import build_teams_sender
from adapters.teams.auth import TeamsConfig
from bot.addresses import Addresses
from bot.chart_links import link_lifetime, signature, signed_url
from bot.clock import FixedClock
from bot.metrics import Metrics
from bot.server import create_http_app
from practices.charts import CHART_MAX_AGE, chart_path
from practices.messages import Card, Image, Text
from storage.db import Database
from tests.helpers import fixed_clock
from tests.test_server import parse_prometheus, requests_counted

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
TOKEN = "A" * 11 + "b_-" + "9" * 8  # the shape of secrets.token_urlsafe(16): 22 URL-safe characters
NAME = f"index-{TOKEN}.png"
KEY = b"k" * 32
OTHER_KEY = b"o" * 32
PUBLIC = "https://tend.example.org"


@dataclass
class Charts:
    client: TestClient
    folder: Path
    clock: FixedClock

    def link(self, name: str = NAME, key: bytes = KEY) -> str:
        """The path and query of a freshly signed link, as a Teams card would carry it."""
        url = urlsplit(signed_url(PUBLIC, key, name, self.clock.now()))
        return f"{url.path}?{url.query}"

    async def get(self, path: str) -> tuple[int, bytes]:
        response = await self.client.get(URL(path, encoded=True))
        return response.status, await response.read()


@pytest.fixture
async def charts(tmp_path: Path) -> AsyncIterator[Charts]:
    """A chart folder holding one real chart, and look-alikes that must never be served."""
    folder = tmp_path / "charts"
    folder.mkdir()
    chart_path(TOKEN, folder).write_bytes(PNG)
    (folder / f"index-{TOKEN}.txt").write_text("not a chart")
    (folder / "notes.png").write_bytes(PNG)  # a PNG, but not a chart's name
    (tmp_path / f"index-{TOKEN[::-1]}.png").write_bytes(PNG)  # outside the folder, for traversal
    database = Database(f"sqlite:///{tmp_path}/t.db")
    clock = fixed_clock("2025-03-03 10:00")
    app = create_http_app(database, Metrics(), charts=folder, secret_key=KEY, clock=clock)
    try:
        async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
            yield Charts(client, folder, clock)
    finally:
        await database.dispose()


async def test_a_signed_link_serves_the_chart_with_a_private_cache_no_longer_than_the_link(charts: Charts):
    link = charts.link()
    response = await charts.client.get(URL(link, encoded=True))
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Cache-Control"] == "private, max-age=3600"
    assert await response.read() == PNG
    charts.clock.advance(link_lifetime() - timedelta(minutes=10))  # the link has 10 minutes left
    later = await charts.client.get(URL(link, encoded=True))
    assert later.status == 200
    assert later.headers["Cache-Control"] == "private, max-age=600"


async def test_a_link_works_until_its_expiry_and_is_404_from_then_on(charts: Charts):
    link = charts.link()
    charts.clock.advance(link_lifetime() - timedelta(seconds=1))
    assert (await charts.get(link))[0] == 200
    charts.clock.advance(timedelta(seconds=1))
    status, body = await charts.get(link)
    assert status == 404 and PNG not in body
    assert (await charts.get(charts.link()))[0] == 200  # a link signed now works again


def test_links_live_as_long_as_the_chart_file_and_say_why():
    assert link_lifetime() == CHART_MAX_AGE
    assert "purge" in (link_lifetime.__doc__ or "")


async def test_an_unsigned_forged_or_altered_link_is_403_and_shows_nothing(charts: Charts):
    good = parse_qs(urlsplit(charts.link()).query)
    expires, sig = good["expires"][0], good["sig"][0]
    later = str(int(expires) + 3600)
    other_name = f"index-{'B' * 22}.png"
    for path in [
        f"/charts/{NAME}",  # the bare name, as links were before
        f"/charts/{NAME}?expires={expires}",
        f"/charts/{NAME}?sig={sig}",
        f"/charts/{NAME}?expires={later}&sig={sig}",  # a later expiry under the old signature
        f"/charts/{NAME}?expires={expires}&sig={sig[:-1]}0",
        f"/charts/{NAME}?expires={expires}&sig={sig.upper()}",
        f"/charts/{NAME}?expires=-1&sig={sig}",
        f"/charts/{NAME}?expires=1e12&sig={sig}",
        f"/charts/{NAME}?expires={'9' * 40}&sig={sig}",
        f"/charts/{NAME}?expires={expires}&sig=%FF%FE",
        f"/charts/{NAME}?expires={expires}&sig={signature(KEY, other_name, int(expires))}",
        charts.link(key=OTHER_KEY),  # signed, but not with this server's key
    ]:
        status, body = await charts.get(path)
        assert status == 403, path
        assert PNG not in body and TOKEN not in body.decode("utf-8", "replace")


async def test_a_forged_link_cannot_tell_whether_a_chart_exists(charts: Charts):
    missing = f"index-{'B' * 22}.png"
    forged = f"?expires={int(charts.clock.now().timestamp()) + 60}&sig={'0' * 32}"
    assert (await charts.get(f"/charts/{NAME}{forged}"))[0] == 403
    assert (await charts.get(f"/charts/{missing}{forged}"))[0] == 403
    assert (await charts.get(charts.link(missing)))[0] == 404  # Tend's own link to a purged chart


@pytest.mark.parametrize(
    "raw_name",
    [
        f"index-{TOKEN}.txt",  # another extension, although the file exists
        f"index-{TOKEN}.png.txt",
        "notes.png",  # a PNG in the folder whose name is not a chart's
        f"..%2Findex-{TOKEN[::-1]}.png",  # a real PNG one level up
        f"..%2F..%2Fcharts%2Findex-{TOKEN}.png",
        "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        f"%2E%2E%2Findex-{TOKEN[::-1]}.png",
        f"index-{TOKEN[:-1]}.png",  # one character short
        f"INDEX-{TOKEN}.PNG",
    ],
)
async def test_anything_but_a_chart_name_in_the_folder_is_404_even_when_signed(charts: Charts, raw_name: str):
    query = urlsplit(charts.link(raw_name)).query  # a valid signature for exactly this name
    status, body = await charts.get(f"/charts/{raw_name}?{query}")
    assert status == 404
    assert PNG not in body


async def test_a_chart_deleted_by_the_purge_is_gone(charts: Charts):
    link = charts.link()
    chart_path(TOKEN, charts.folder).unlink()
    assert (await charts.get(link))[0] == 404


async def test_chart_requests_are_counted_by_route_template_and_no_name_or_signature_is_kept(charts: Charts):
    link = charts.link()
    assert (await charts.get(link))[0] == 200
    assert (await charts.get(f"/charts/{NAME}"))[0] == 403
    assert (await charts.get(f"/charts/..%2Findex-{TOKEN[::-1]}.png"))[0] == 404
    text = await (await charts.client.get("/metrics")).text()
    _, samples = parse_prometheus(text)
    assert requests_counted(samples, "/charts/{name}", "200") == 1
    assert requests_counted(samples, "/charts/{name}", "403") == 1
    assert requests_counted(samples, "/charts/{name}", "404") == 1
    sig = parse_qs(urlsplit(link).query)["sig"][0]
    assert TOKEN not in text and TOKEN[::-1] not in text and sig not in text


async def test_the_link_in_a_teams_card_is_signed_and_the_server_serves_it(charts: Charts, tmp_path: Path):
    """The sender signs with the key the server checks with (app.py passes TEND_SECRET_KEY to both)."""
    database = Database(f"sqlite:///{tmp_path}/sender.db")
    sender = build_teams_sender(
        TeamsConfig(app_id="app"), Addresses(database, charts.clock, "teams"),
        public_url=PUBLIC + "/", secret_key=KEY, clock=charts.clock,
    )  # fmt: skip
    path = str(chart_path(TOKEN, charts.folder))
    card = Card(
        "Compassion Index", (Text("Weeks 1 to 4"), Image(url=Path(path).as_uri(), alt="chart", path=path))
    )
    try:
        content = sender.content(card)["content"]
        [image] = [element for element in content["body"] if element.get("type") == "Image"]
        url = urlsplit(image["url"])
        assert f"{url.scheme}://{url.netloc}" == PUBLIC and url.path == f"/charts/{NAME}"
        assert set(parse_qs(url.query)) == {"expires", "sig"}
        assert (await charts.get(f"{url.path}?{url.query}")) == (200, PNG)
        wrong_key = build_teams_sender(
            TeamsConfig(app_id="app"), Addresses(database, charts.clock, "teams"),
            public_url=PUBLIC, secret_key=OTHER_KEY, clock=charts.clock,
        )  # fmt: skip
        [other] = [e for e in wrong_key.content(card)["content"]["body"] if e.get("type") == "Image"]
        other_url = urlsplit(other["url"])
        assert (await charts.get(f"{other_url.path}?{other_url.query}"))[0] == 403
    finally:
        await database.dispose()
