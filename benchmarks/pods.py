"""Forms pod rounds for 10,000 people in 200 teams across time zones; prints the time per round and the
pairs repeated from earlier rounds (the matcher should form a round in under 2 s).

    .venv/bin/python -m benchmarks.pods [people] [teams] [rounds]
"""

from __future__ import annotations

import random
import sys
import time
from collections import defaultdict
from datetime import date
from datetime import time as clock

from practices.availability import week_start, week_windows
from practices.hours import WorkingHours
from practices.pod_matching import Candidate, form_pods, pairs_in

ZONES = (
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Australia/Sydney",
)
LEVELS = ("junior", "mid", "senior", None)
REMEMBERED_ROUNDS = 3


def people(n: int, teams: int, seed: int = 7) -> list[Candidate]:
    rng = random.Random(seed)
    monday = week_start(date(2026, 12, 7))
    windows = {
        z: week_windows(WorkingHours(z, ("mon", "tue", "wed", "thu", "fri"), clock(9), clock(17, 30)), monday)
        for z in ZONES
    }
    team_zone = {t: rng.choice(ZONES) for t in range(teams)}
    out = []
    for i in range(1, n + 1):
        team = rng.randrange(teams)
        zone = team_zone[team] if rng.random() < 0.8 else rng.choice(ZONES)
        out.append(Candidate(i, f"team-{team}", rng.choice(LEVELS), windows[zone]))
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    teams = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    base = people(n, teams)
    history: list[set[tuple[int, int]]] = []
    for r in range(1, rounds + 1):
        recent: dict[int, set[int]] = defaultdict(set)
        for pairs in history[-REMEMBERED_ROUNDS:]:
            for a, b in pairs:
                recent[a].add(b)
                recent[b].add(a)
        cands = [Candidate(p.id, p.team, p.level, p.windows, frozenset(recent.get(p.id, ()))) for p in base]
        started = time.perf_counter()
        formation = form_pods(cands, seed=r)
        took = time.perf_counter() - started
        pairs = pairs_in(formation.pods)
        seen = set().union(*history[-REMEMBERED_ROUNDS:]) if history else set()
        repeated = len(pairs & seen)
        same_team = sum(1 for a, b in pairs if base[a - 1].team == base[b - 1].team)
        sizes = sorted({len(p) for p in formation.pods})
        print(
            f"round {r}: {took:.2f} s, {len(formation.pods)} pods (sizes {sizes}), "
            f"{len(formation.unplaced)} unplaced, "
            f"{len(formation.without_overlap)} pods without shared hours, "
            f"{repeated} pairs repeated from the last {REMEMBERED_ROUNDS} rounds, {same_team} same-team pairs"
        )
        history.append(pairs)


if __name__ == "__main__":
    main()
