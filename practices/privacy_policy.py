"""The minimum group size and what it hides: one policy every practice, the engine and the settings use.

Aggregates are shown only for groups of at least ``minimum`` people (``TEND_MIN_GROUP_SIZE``, default
5, never below ``PRIVACY_FLOOR``); a count under it is written "fewer than 5", never as a number.
The default used to be repeated in six signatures, so a caller that forgot to pass the configured
value got 5 whatever the operator had set; now one constant is the default everywhere and the
settings alone raise a configured value to the floor.
"""

from __future__ import annotations

DEFAULT_MIN_GROUP_SIZE = 5
PRIVACY_FLOOR = 3  # no figure is ever shown for a smaller group, whatever is configured
FEWER_THAN = "fewer than {minimum}"


def effective_minimum(configured: int) -> int:
    """The group size actually applied: the configured one, raised to the floor."""
    return max(configured, PRIVACY_FLOOR)


def shows(count: int, minimum: int) -> bool:
    """Whether a figure resting on ``count`` people (or requests) may be shown."""
    return count >= minimum


def count_text(count: int, minimum: int) -> str:
    """A count as Tend writes it: the number, or "fewer than 5" when it is under the minimum."""
    return str(count) if shows(count, minimum) else FEWER_THAN.format(minimum=minimum)
