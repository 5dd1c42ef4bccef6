"""Load-test a running Tend (your staging) with signed Slack /kudos, and print what it did with them.

    .venv/bin/python benchmarks/loadtest.py --target https://tend-staging.example.com \\
        --signing-secret "$SLACK_SIGNING_SECRET" --team T0123 --channel C0123 --users U01,U02,U03

Sends ``--requests`` signed ``/kudos`` (``--concurrency`` at a time) to ``<target>/slack/events``,
signed with the app's signing secret the way Slack signs them, each from one of ``--users`` to the
next in ``--channel`` of workspace ``--team``: the kudos are real, so staging's channel gets them
and those people get the private notes (use a test channel and test accounts). Prints the acks
(status, p50/p95/p99/max, requests a second), then reads ``<target>/metrics`` every second until
the acked commands are handled (``tend_inbound_handled_total`` grew by the acks): how long the work
after the acks took, commands handled a second, and the highest queue seen (back-pressure). With
several replicas, /metrics is one replica's: point ``--target`` at one replica. The server's CPU
and memory are not visible from here; read them on its host (``benchmarks/kudos_cpu.py`` measures
them locally against a minimal Bolt app).

Targets (issue 18, for a warmed-up server): ack p99 within Slack's 3 s and the queue drained.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import statistics
import time
from collections import Counter
from urllib.parse import urlencode

import aiohttp

ACK_DEADLINE_MS = 3000.0  # Slack shows the person an error after this
DRAIN_WITHIN = 600.0  # seconds
HANDLED, QUEUED = "tend_inbound_handled_total", "tend_inbound_queued"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--target", required=True, help="Tend's base URL, e.g. https://tend-staging.example.com"
    )
    parser.add_argument("--signing-secret", required=True, help="the Slack app's signing secret")
    parser.add_argument("--team", required=True, help="the workspace id (T…) Tend is installed in")
    parser.add_argument("--channel", required=True, help="a channel id (C…) to send the kudos in")
    parser.add_argument("--users", required=True, help="comma-separated user ids (U…), two at least")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    return parser.parse_args()


def signed(secret: str, form: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The body and headers Slack would send: ``v0=`` HMAC-SHA256 of ``v0:<timestamp>:<body>``."""
    body = urlencode(form)
    stamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }
    return body.encode(), headers


def kudos_form(args: argparse.Namespace, users: list[str], index: int) -> dict[str, str]:
    giver, receiver = users[index % len(users)], users[(index + 1) % len(users)]
    return {
        "team_id": args.team, "channel_id": args.channel, "user_id": giver, "user_name": giver.lower(),
        "command": "/kudos", "text": f"<@{receiver}> thanks (load test #{index})",
        "trigger_id": f"loadtest.{index}.{time.time_ns()}", "response_url": "",
    }  # fmt: skip


async def metrics(http: aiohttp.ClientSession, target: str) -> str | None:
    """The text of /metrics, or None when it cannot be read from here."""
    try:
        async with http.get(f"{target}/metrics") as response:
            return await response.text() if response.status == 200 else None
    except aiohttp.ClientError:
        return None


def value(text: str, name: str, label: str = "") -> float:
    """One series summed over its labels (those lines containing ``label``); 0 before its first sample."""
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name) and label in line
    )


async def main(args: argparse.Namespace) -> None:
    target, users = args.target.rstrip("/"), args.users.split(",")
    if len(users) < 2:
        raise SystemExit("--users: two people at least (nobody can thank themselves)")
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    pending = iter(range(args.requests))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency)) as http:
        before = await metrics(http, target)

        async def worker() -> None:
            for index in pending:
                body, headers = signed(args.signing_secret, kudos_form(args, users, index))
                started = time.perf_counter()
                async with http.post(f"{target}/slack/events", data=body, headers=headers) as response:
                    await response.read()
                    statuses[response.status] += 1
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        sent_in = time.perf_counter() - started
        ordered = sorted(latencies)

        def pct(p: float) -> float:
            return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

        print(f"{args.requests:,} signed /kudos to {target} at concurrency {args.concurrency}: "
              f"statuses {dict(statuses)}, {args.requests / sent_in:.0f} requests a second")  # fmt: skip
        print(f"ack p50 {pct(50):.0f} ms   p95 {pct(95):.0f} ms   p99 {pct(99):.0f} ms   "
              f"max {ordered[-1]:.0f} ms   mean {statistics.fmean(ordered):.0f} ms   "
              f"target p99 < {ACK_DEADLINE_MS:.0f} ms: "
              f"{'met' if pct(99) < ACK_DEADLINE_MS else 'MISSED'}")  # fmt: skip
        if before is None:
            print(f"{target}/metrics cannot be read from here: the work after the acks is not shown")
            return
        ok = 'outcome="ok"'
        handled_before, acked, highest = value(before, HANDLED, ok), statuses[200], 0.0
        while time.perf_counter() - started < DRAIN_WITHIN:
            now = await metrics(http, target) or ""
            highest = max(highest, value(now, QUEUED))
            handled = value(now, HANDLED, ok) - handled_before
            if handled >= acked:
                took = time.perf_counter() - started
                print(
                    f"handled {handled:,.0f} commands in {took:.1f} s from the first request "
                    f"({handled / took:.0f} a second); the queue at most {highest:.0f} (as of each poll)"
                )
                return
            await asyncio.sleep(0.5)  # polling another machine: the only way to see it change
        print(f"NOT DRAINED within {DRAIN_WITHIN:.0f} s: {handled:,.0f} of {acked:,} acked commands handled")


if __name__ == "__main__":
    asyncio.run(main(arguments()))
