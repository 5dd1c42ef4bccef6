"""Where Tend's CPU per /kudos goes: ``benchmarks/kudos_cpu.py``'s load on ``app.py serve`` under yappi.

    PYTHONPATH=/path/to/yappi .venv/bin/python benchmarks/kudos_profile.py --requests 200
    ... benchmarks/kudos_profile.py --postgres postgresql://postgres@127.0.0.1:5432/test --top 40
    ... benchmarks/kudos_profile.py --practice stress      # or tap: kudos_cpu.py's other loads

yappi (``pip install yappi``; not a dependency of Tend) counts every thread's CPU, the delivery worker's
and the database threads' as well as the event loop's, which ``cProfile`` cannot. The server runs as in
``kudos_cpu.py`` (fake Web API in its own process, signed /kudos, 20 at a time); the profile is cleared
after the warm-up, so it covers only the measured kudos and their delivery. It prints the process's CPU
per kudos (from ``/proc``, as ``kudos_cpu.py`` does, so slower under the profiler) and the top functions
by cumulative and by own CPU, per kudos.

``--practice stress`` and ``--practice tap`` profile ``kudos_cpu.py``'s stress-report and opener-tap
loads the same way (its set-up, warm-up and waves, unchanged), per report or tap; for a report, whose
three requests go as three waves, the SQL statements are also counted per request kind, since that is
where a cut goes.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import runpy
import signal
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import kudos_cpu as bench  # noqa: E402


def serve_profiled(report: Path, top: int) -> None:
    """``app.py serve`` under yappi; SIGUSR1 clears the profile, SIGUSR2 marks the end of a wave (the
    statements so far), the report is written at exit. Figures are per item: a kudos, a report, a tap."""
    from collections import Counter

    import yappi  # type: ignore[import-not-found]  # a profiler, not one of Tend's dependencies
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.engine.default import CACHE_HIT

    statements: Counter[str] = Counter()
    traced = os.environ.get("PROFILE_TRACE", "")
    misses: Counter[str] = Counter()  # compiled afresh: SQLAlchemy's statement cache could not serve them

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, _parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        text = " ".join(statement.split())[:150]
        statements[text] += 1
        if traced and text.startswith(traced):  # where Tend's code asks for it, innermost call last
            # The statement runs in SQLAlchemy's greenlet: Tend's frames are its parent's.
            import greenlet  # type: ignore[import-untyped]

            parent = greenlet.getcurrent().parent
            stack = traceback.extract_stack(parent.gr_frame) if parent and parent.gr_frame else []
            frames = [f for f in stack if "site-packages" not in f.filename and "python3" not in f.filename]
            where = " > ".join(f"{Path(f.filename).name}:{f.lineno}" for f in frames[-6:])
            statements[f"  from {where}"] += 1
        hit = getattr(_context, "cache_hit", None)
        if hit is not None and hit is not CACHE_HIT and getattr(_context, "compiled", None) is not None:
            misses[f"{hit} {text}"] += 1

    marks: list[int] = []  # statements counted when each wave of a multi-request item ended

    def clear(*_: object) -> None:
        yappi.clear_stats()
        statements.clear()
        misses.clear()
        marks.clear()

    def mark(*_: object) -> None:
        marks.append(sum(statements.values()))

    yappi.set_clock_type("cpu")
    signal.signal(signal.SIGUSR1, clear)
    signal.signal(signal.SIGUSR2, mark)
    yappi.start(builtins=False, profile_threads=True)
    sys.argv = ["app.py", "serve"]
    try:
        runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
    except SystemExit:
        pass
    finally:
        yappi.stop()
        kudos = int(os.environ["PROFILE_KUDOS"])
        stats = yappi.get_func_stats()
        with report.open("w") as out:
            for key, title in (("ttot", "cumulative"), ("tsub", "own")):
                out.write(f"\ntop {top} by {title} CPU, ms per kudos (calls per kudos)\n")
                for row in stats.sort(key, "desc")[:top]:
                    value = (row.ttot if key == "ttot" else row.tsub) * 1000 / kudos
                    where = f"{Path(row.module).name}:{row.lineno} {row.name}"
                    out.write(f"{value:8.3f}  {row.ncall / kudos:7.1f}  {where}\n")
            ours = [row for row in stats.sort("ttot", "desc") if row.module.startswith(str(ROOT))]
            out.write(
                f"\ntop {top} of Tend's own functions by cumulative CPU, ms per kudos (calls per kudos)\n"
            )
            for row in [r for r in ours if "site-packages" not in r.module][:top]:
                where = f"{Path(row.module).parent.name}/{Path(row.module).name}:{row.lineno} {row.name}"
                out.write(f"{row.ttot * 1000 / kudos:8.3f}  {row.ncall / kudos:7.1f}  {where}\n")
            packages: Counter[str] = Counter()
            for row in stats:
                parts = Path(row.module).parts
                site = parts.index("site-packages") if "site-packages" in parts else -1
                packages[parts[site + 1] if site >= 0 else "/".join(parts[-2:-1])] += row.tsub
            out.write("\nown CPU by package or folder, ms per kudos\n")
            for name, seconds in packages.most_common(15):
                out.write(f"{seconds * 1000 / kudos:8.3f}  {name}\n")
            unit = os.environ.get("PROFILE_UNIT", "kudos")
            out.write(f"\nSQL statements per {unit}: {sum(statements.values()) / kudos:.1f}\n")
            steps = list(filter(None, os.environ.get("PROFILE_STEPS", "").split(",")))
            if len(steps) > 1 and len(marks) == len(steps):
                # Traced lines ("  from ...") are counted too: compare these without --trace.
                counts = [after - before for before, after in zip([0, *marks], marks, strict=False)]
                each = ", ".join(f"{n} {c / kudos:.1f}" for n, c in zip(steps, counts, strict=True))
                out.write(f"  by request: {each}\n")
            for text, count in statements.most_common(top):
                out.write(f"{count / kudos:6.2f}  {text}\n")
            for wanted in filter(None, os.environ.get("PROFILE_CALLERS", "").split(",")):
                out.write(f"\ncallers of {wanted}, calls per kudos\n")
                for row in stats:
                    for child in row.children:
                        if child.name == wanted or child.full_name.endswith(wanted):
                            calls = child.ncall / kudos
                            out.write(f"{calls:8.1f}  {Path(row.module).name}:{row.lineno} {row.name}\n")
            out.write(f"\nstatements compiled afresh per kudos: {sum(misses.values()) / kudos:.1f}\n")
            for text, count in misses.most_common(top):
                out.write(f"{count / kudos:6.2f}  {text}\n")
            threads = yappi.get_thread_stats()
            out.write("\nthreads, ms of CPU per kudos\n")
            for thread in threads:
                out.write(f"{thread.ttot * 1000 / kudos:8.3f}  {thread.name} {thread.id}\n")


async def run(args: argparse.Namespace, folder: Path) -> None:
    fake_port, tend_port = bench.free_port(), bench.free_port()
    zone = bench.working_zone(datetime.now(UTC))
    cpu_script = str(ROOT / "benchmarks" / "kudos_cpu.py")
    api_url = f"http://127.0.0.1:{fake_port}/api/"
    report = folder / "profile.txt"
    practice = bench.PRACTICES[args.practice]
    async with bench.process(cpu_script, "fake", "--port", str(fake_port), "--zone", zone):
        await bench.until(lambda: bench.listening(fake_port), 30, "the fake Web API")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEND_", "DATABASE_URL"))}
        env.update(
            DATABASE_URL=args.database_url or f"sqlite:///{folder}/tend.db", HOST="127.0.0.1",
            PORT=str(tend_port), SLACK_BOT_TOKEN=bench.TOKEN, SLACK_SIGNING_SECRET=bench.SECRET,
            SLACK_API_URL=api_url,
            TEND_SECRET_KEY=bench.TEND_KEY, PROFILE_KUDOS=str(args.requests), PROFILE_CALLERS=args.callers,
            PROFILE_TRACE=args.trace, PROFILE_UNIT=practice.unit,
            PROFILE_STEPS=",".join(step.name for step in practice.steps),
        )  # fmt: skip
        me = str(ROOT / "benchmarks" / "kudos_profile.py")
        serve_args = ("serve", "--report", str(report), "--top", str(args.top))
        async with bench.process(me, *serve_args, env=env, log=folder / "tend.log") as pid:
            url = f"http://127.0.0.1:{tend_port}/slack/events"
            async with aiohttp.ClientSession() as http:
                await bench.until(lambda: bench.ready(tend_port), 60, "Tend's /readyz")
                # kudos_cpu.py's measure(), with the profile cleared after the warm-up and a mark after
                # each wave (drive() one step at a time runs the same waves).
                target = bench.Target(http, url, fake_port)
                if practice.setup is not None:
                    await practice.setup(target, "T")
                n = args.concurrency
                await bench.drive(target, practice, bench.WARM["T"], n, n)
                os.kill(pid, signal.SIGUSR1)
                cpu_before, started = bench.cpu_seconds(pid), time.perf_counter()
                for step in practice.steps:
                    one = dataclasses.replace(practice, steps=(step,))
                    await bench.drive(target, one, "T", args.requests, n)
                    os.kill(pid, signal.SIGUSR2)
                cpu, wall = bench.cpu_seconds(pid) - cpu_before, time.perf_counter() - started
    print(
        f"{args.requests} {practice.what} under the profiler: "
        f"{cpu * 1000 / args.requests:.2f} ms CPU per {practice.unit}, {wall:.1f} s"
    )
    if not report.exists():
        print((folder / "tend.log").read_text()[-3000:])
        raise SystemExit("no profile written")
    print(report.read_text().replace("per kudos", f"per {practice.unit}"))


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        if args.postgres:
            from benchmarks.databases import postgres_url

            async with postgres_url(args.postgres) as url:
                args.database_url = url
                await run(args, Path(folder))
        else:
            args.database_url = None
            await run(args, Path(folder))


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("role", nargs="?", default="bench", choices=("bench", "serve"))
    parser.add_argument(
        "--practice", default="kudos", choices=("kudos", "stress", "tap"), help="kudos_cpu.py's load profiled"
    )
    parser.add_argument(
        "--requests", type=int, default=200, help="items profiled (a /kudos, a report, a tap)"
    )
    parser.add_argument("--concurrency", type=int, default=20, help="requests in flight at once")
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a throwaway database is created there")
    parser.add_argument("--top", type=int, default=25, help="functions listed in each table")
    parser.add_argument(
        "--callers", default="", help="function names (comma-separated) whose callers to list"
    )
    parser.add_argument("--trace", default="", help="where statements starting with this text come from")
    parser.add_argument("--report", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    parsed = arguments()
    if parsed.role == "serve":
        serve_profiled(Path(parsed.report), parsed.top)
    else:
        asyncio.run(main(parsed))
