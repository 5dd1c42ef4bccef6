"""The minimum group size (practices/privacy_policy.py): one default, one floor, one way to write a count."""

from __future__ import annotations

import inspect

import pytest

from bot.engine import Engine
from bot.scheduler import Scheduler
from bot.settings import Settings
from practices import privacy_policy
from practices.practice import PracticeContext


@pytest.mark.parametrize(("count", "minimum", "shown"), [(4, 5, "fewer than 5"), (5, 5, "5"), (12, 7, "12")])
def test_a_count_under_the_minimum_is_never_written_as_a_number(count: int, minimum: int, shown: str):
    assert privacy_policy.count_text(count, minimum) == shown
    assert privacy_policy.shows(count, minimum) == (shown == str(count))


@pytest.mark.parametrize(("configured", "applied"), [(-4, 3), (2, 3), (3, 3), (5, 5), (12, 12)])
def test_a_configured_minimum_below_the_floor_is_raised_to_it(configured: int, applied: int):
    assert privacy_policy.effective_minimum(configured) == applied


def test_everything_that_applies_the_minimum_defaults_to_the_one_constant():
    """A caller that forgets to pass the configured minimum gets the policy's default, not a copy."""
    assert Settings.model_fields["tend_min_group_size"].default == privacy_policy.DEFAULT_MIN_GROUP_SIZE
    for applies in (Engine.__init__, Scheduler.__init__):
        default = inspect.signature(applies).parameters["min_group_size"].default
        assert default == privacy_policy.DEFAULT_MIN_GROUP_SIZE, applies
    assert (
        PracticeContext.__dataclass_fields__["min_group_size"].default
        == privacy_policy.DEFAULT_MIN_GROUP_SIZE
    )
