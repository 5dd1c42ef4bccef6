"""Forming compassion pods: small groups that mix teams, avoid recent pairs and share working hours.

Pure and deterministic under a seed, so a round can be re-formed identically (a retry after a crash
forms the same pods) and tests can pin it. The rules, in order of priority:

1. Nobody is in two pods; every pod's size is within ``[min_size, max_size]``.
2. Everyone in a pod shares at least ``min_overlap`` minutes of working hours in the reference week
   (people are first grouped by when they work; someone whose hours meet no one's is still placed
   where the overlap is largest rather than left out).
3. Teams are spread: members of one team are dealt into different pods (levels too, where known).
4. Pairs who met in recent rounds are split up again when a same-team or otherwise harmless swap
   allows it.

Anyone who cannot be placed (fewer people than a pod needs) is reported in ``Formation.unplaced``,
never silently dropped.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from practices.availability import WEEK_MINUTES, Window

DEFAULT_MIN_SIZE = 4
DEFAULT_MAX_SIZE = 6
MIN_OVERLAP_MINUTES = 30
_FULL_WEEK = (1 << WEEK_MINUTES) - 1
_REPAIR_TRIES = 24  # pods tried per repeated pair: bounds the work for 10,000 people
_REPAIR_PASSES = 3
_ATTEMPTS = 6
_REPEAT_WEIGHT = 3


@dataclass(frozen=True)
class Candidate:
    """One person who can be matched this round."""

    id: int
    team: str | None = None
    level: str | None = None
    windows: tuple[Window, ...] = ()  # empty: hours unknown, treated as always available
    recent: frozenset[int] = field(default_factory=frozenset)  # ids met in the last rounds


@dataclass(frozen=True)
class Formation:
    pods: tuple[tuple[int, ...], ...]
    unplaced: tuple[int, ...]
    without_overlap: tuple[int, ...] = ()  # indexes of pods whose members share < min_overlap minutes


def mask_of(windows: Iterable[Window]) -> int:
    """A week as a bit per minute, so a group's shared time is one AND and a popcount."""
    bits = 0
    for lo, hi in windows:
        lo, hi = max(0, lo), min(WEEK_MINUTES, hi)
        if lo < hi:
            bits |= ((1 << (hi - lo)) - 1) << lo
    return bits or _FULL_WEEK


def _phase(mask: int) -> int:
    """Minute of the day the person's first working window starts: orders people east to west."""
    low = (mask & -mask).bit_length() - 1
    return low % (24 * 60)


def pod_count(n: int, min_size: int, max_size: int) -> int:
    """How many pods ``n`` people make: as near size ``(min+max)/2`` as the bounds allow (0 if too few)."""
    if n < min_size:
        return 0
    fewest, most = -(-n // max_size), n // min_size
    if fewest > most:  # e.g. 7 people in pods of 4–6: one full pod, the rest placed elsewhere
        return most
    target = round(n / ((min_size + max_size) / 2))
    return max(fewest, min(most, max(target, 1)))


def form_pods(
    people: Sequence[Candidate],
    seed: int,
    min_size: int = DEFAULT_MIN_SIZE,
    max_size: int = DEFAULT_MAX_SIZE,
    min_overlap: int = MIN_OVERLAP_MINUTES,
) -> Formation:
    """One round's pods. Same people and seed, same pods."""
    if not 2 <= min_size <= max_size:
        raise ValueError(f"pod sizes {min_size}–{max_size}: need 2 <= min <= max")
    unique = {p.id: p for p in people}
    masks = {i: mask_of(p.windows) for i, p in unique.items()}
    best: tuple[list[list[int]], list[int]] | None = None
    best_cost = (0, 0, 0)
    for attempt in range(_ATTEMPTS):
        # A greedy deal can corner itself; another seeded deal usually finds a round with no repeats.
        rng = random.Random(seed if attempt == 0 else f"{seed}/{attempt}")
        pods, unplaced = _attempt(unique, masks, rng, min_size, max_size, min_overlap)
        cost = (
            sum(_and_all(masks, pod).bit_count() < min_overlap for pod in pods),
            sum(_repeats(pod, unique) for pod in pods),
            sum(_teammates(pod, unique) for pod in pods),
        )
        if best is None or cost < best_cost:
            best, best_cost = (pods, unplaced), cost
        if cost[1] == 0:
            break
    assert best is not None
    pods, unplaced = best
    shaped = tuple(tuple(sorted(pod)) for pod in pods if pod)
    without = tuple(n for n, pod in enumerate(shaped) if _and_all(masks, pod).bit_count() < min_overlap)
    return Formation(shaped, tuple(sorted(unplaced)), without)


def _attempt(
    unique: dict[int, Candidate],
    masks: dict[int, int],
    rng: random.Random,
    min_size: int,
    max_size: int,
    min_overlap: int,
) -> tuple[list[list[int]], list[int]]:
    order = sorted(unique)
    rng.shuffle(order)

    clusters = _clusters(order, masks, min_overlap, min_size)
    pods: list[list[int]] = []
    leftovers: list[int] = []
    for cluster in clusters:
        k = pod_count(len(cluster), min_size, max_size)
        if k == 0:
            leftovers.extend(cluster)
            continue
        dealt = _deal(cluster, unique, k, rng)
        for pod in dealt:
            while len(pod) > max_size:
                leftovers.append(pod.pop())
        pods.extend(dealt)

    pod_masks = [_and_all(masks, pod) for pod in pods]
    unplaced = _fold_in(leftovers, pods, pod_masks, unique, masks, min_overlap, max_size)
    if len(unplaced) >= min_size:
        # Whoever is still out forms pods of their own, overlap permitting or not.
        k = pod_count(len(unplaced), min_size, max_size)
        extra = _deal(unplaced, unique, k, rng)
        rest = [i for pod in extra for i in pod[max_size:]]
        extra = [pod[:max_size] for pod in extra]
        pods.extend(extra)
        pod_masks.extend(_and_all(masks, pod) for pod in extra)
        unplaced = rest

    _repair_repeats(pods, pod_masks, unique, masks, min_overlap, rng)
    return pods, unplaced


def _and_all(masks: dict[int, int], ids: Iterable[int]) -> int:
    shared = _FULL_WEEK
    for i in ids:
        shared &= masks[i]
    return shared


def _clusters(order: list[int], masks: dict[int, int], min_overlap: int, min_size: int) -> list[list[int]]:
    """Runs of people, east to west, whose working hours all meet: any pod inside one run overlaps."""
    by_phase = sorted(order, key=lambda i: _phase(masks[i]))
    clusters: list[list[int]] = []
    current: list[int] = []
    shared = _FULL_WEEK
    for i in by_phase:
        meet = shared & masks[i]
        if current and meet.bit_count() < min_overlap:
            clusters.append(current)
            current, meet = [], masks[i]
        current.append(i)
        shared = meet
    if current:
        clusters.append(current)
    # The phase order shuffled ties only by the seed; restore it within each run so dealing is seeded.
    rank = {i: n for n, i in enumerate(order)}
    return [sorted(c, key=rank.__getitem__) for c in clusters]


def _deal(ids: list[int], unique: dict[int, Candidate], k: int, rng: random.Random) -> list[list[int]]:
    """Deal people into ``k`` pods team by team, so one team's members land in different pods."""
    teams: dict[str | None, list[int]] = defaultdict(list)
    for i in ids:
        teams[unique[i].team].append(i)
    # Largest teams first, each team interleaved by level, so both spread as far as they can.
    names = sorted(teams, key=lambda t: (-len(teams[t]), rng.random()))
    line: list[int] = []
    for name in names:
        levels: dict[str | None, list[int]] = defaultdict(list)
        for i in teams[name]:
            levels[unique[i].level].append(i)
        queues = [levels[lv] for lv in sorted(levels, key=lambda lv: (lv is None, str(lv)))]
        while any(queues):
            for q in queues:
                if q:
                    line.append(q.pop(0))
    pods: list[list[int]] = [[] for _ in range(k)]
    room = [len(line) // k + (1 if p < len(line) % k else 0) for p in range(k)]
    start = rng.randrange(k)
    for n, i in enumerate(line):
        # Round-robin spreads teams; when that pod holds a recent partner or a teammate, look a little
        # further for a pod with room that holds neither.
        first = (start + n) % k
        best, best_cost = -1, 0
        for step in range(min(k, _REPAIR_TRIES)):
            p = (first + step) % k
            if len(pods[p]) >= room[p]:
                continue
            cost = _cost(_conflicts(i, pods[p], unique, i))
            if best < 0 or cost < best_cost:
                best, best_cost = p, cost
            if cost == 0:
                break
        if best < 0:  # every nearby pod is full: the first with room
            best = next(p for p in range(k) if len(pods[p]) < room[p])
        pods[best].append(i)
    return pods


def _fold_in(
    leftovers: list[int],
    pods: list[list[int]],
    pod_masks: list[int],
    unique: dict[int, Candidate],
    masks: dict[int, int],
    min_overlap: int,
    max_size: int,
) -> list[int]:
    """Put each leftover into the pod with room where they fit best (shared hours, a new team, no repeat)."""
    unplaced: list[int] = []
    for i in leftovers:
        best, best_score = -1, None
        me = unique[i]
        for n, pod in enumerate(pods):
            if len(pod) >= max_size:
                continue
            shared = (pod_masks[n] & masks[i]).bit_count()
            score = (
                shared >= min_overlap,
                not any(unique[j].team == me.team and me.team is not None for j in pod),
                not any(j in me.recent for j in pod),
                shared,
                -len(pod),
                -n,
            )
            if best_score is None or score > best_score:
                best, best_score = n, score
        if best < 0:
            unplaced.append(i)
        else:
            pods[best].append(i)
            pod_masks[best] &= masks[i]
    return unplaced


def _repeats(pod: list[int], unique: dict[int, Candidate]) -> int:
    return sum(1 for a in pod for b in pod if a < b and (b in unique[a].recent or a in unique[b].recent))


def _teammates(pod: list[int], unique: dict[int, Candidate]) -> int:
    teams = Counter(unique[i].team for i in pod if unique[i].team is not None)
    return sum(n * (n - 1) // 2 for n in teams.values())


def _conflicts(person: int, pod: list[int], unique: dict[int, Candidate], skip: int) -> tuple[int, int]:
    """(recent partners, same-team members) ``person`` would have in ``pod`` without ``skip``."""
    me = unique[person]
    repeats = teams = 0
    for j in pod:
        if j in (skip, person):
            continue
        other = unique[j]
        repeats += j in me.recent or person in other.recent
        teams += me.team is not None and other.team == me.team
    return repeats, teams


def _cost(conflicts: tuple[int, int]) -> int:
    """A repeated pair weighs more than two teammates in one pod: meeting someone new comes first."""
    repeats, teams = conflicts
    return _REPEAT_WEIGHT * repeats + teams


def _repair_repeats(
    pods: list[list[int]],
    pod_masks: list[int],
    unique: dict[int, Candidate],
    masks: dict[int, int],
    min_overlap: int,
    rng: random.Random,
) -> None:
    """Swap people out of pods where they meet a recent partner, when the swap makes nothing worse."""
    if not pods or not any(unique[i].recent for pod in pods for i in pod):
        return
    where = {i: n for n, pod in enumerate(pods) for i in pod}
    for _ in range(_REPAIR_PASSES):
        swapped = False
        for n in range(len(pods)):
            pod = pods[n]
            for a in list(pod):
                if where[a] != n or _conflicts(a, pod, unique, a)[0] == 0:
                    continue
                swapped |= _swap_out(a, n, pods, pod_masks, where, unique, masks, min_overlap, rng)
        if not swapped:
            return


def _swap_out(
    a: int,
    n: int,
    pods: list[list[int]],
    pod_masks: list[int],
    where: dict[int, int],
    unique: dict[int, Candidate],
    masks: dict[int, int],
    min_overlap: int,
    rng: random.Random,
) -> bool:
    here = pods[n]
    a_here = _conflicts(a, here, unique, a)
    for m in rng.sample(range(len(pods)), min(len(pods), _REPAIR_TRIES)):
        if m == n:
            continue
        there = pods[m]
        for b in there:
            a_there = _conflicts(a, there, unique, b)
            b_here = _conflicts(b, here, unique, a)
            b_there = _conflicts(b, there, unique, b)
            before = _cost(a_here) + _cost(b_there)
            after = _cost(a_there) + _cost(b_here)
            if after >= before or a_there[0] + b_here[0] >= a_here[0] + b_there[0]:
                continue
            new_here = [x for x in here if x != a] + [b]
            new_there = [x for x in there if x != b] + [a]
            mask_here, mask_there = _and_all(masks, new_here), _and_all(masks, new_there)
            overlap_ok = (
                pod_masks[n].bit_count() < min_overlap or mask_here.bit_count() >= min_overlap
            ) and (pod_masks[m].bit_count() < min_overlap or mask_there.bit_count() >= min_overlap)
            if not overlap_ok:
                continue
            here[:] = new_here
            there[:] = new_there
            pod_masks[n], pod_masks[m] = mask_here, mask_there
            where[a], where[b] = m, n
            return True
    return False


def pairs_in(pods: Iterable[Sequence[int]]) -> set[tuple[int, int]]:
    """Every pair of people who shared a pod (smaller id first)."""
    return {(a, b) for pod in pods for a in pod for b in pod if a < b}
