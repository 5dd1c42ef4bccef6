"""The index weights are a setting (TEND_INDEX_WEIGHTS), checked at start-up and used by the card."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from bot.errors import SettingsError
from bot.settings import load_settings
from practices.compassion_index_maths import DEFAULT_WEIGHTS
from tests.test_index import example_week, s  # noqa: F401  (the fixture with teams of 7, 6 and 2)


def test_no_setting_keeps_the_documented_weights():
    assert load_settings(env={}, env_file=None).index_weights == DEFAULT_WEIGHTS


def test_named_weights_override_only_those_components():
    weights = load_settings(
        env={"TEND_INDEX_WEIGHTS": "follow_through=1, contagion=0"}, env_file=None
    ).index_weights
    assert weights == {**DEFAULT_WEIGHTS, "follow_through": 1.0, "contagion": 0.0}


@pytest.mark.parametrize(
    "value",
    [
        "kindness=1",
        "supportive",
        "supportive=-1",
        "supportive=x",
        ",".join(f"{name}=0" for name in DEFAULT_WEIGHTS),
    ],
)
def test_a_malformed_weight_stops_start_up_naming_the_setting(value):
    with pytest.raises(SettingsError) as raised:
        load_settings(env={"TEND_INDEX_WEIGHTS": value}, env_file=None)
    assert "TEND_INDEX_WEIGHTS" in str(raised.value) and "name=weight" in str(raised.value)


async def test_the_card_combines_the_components_with_the_configured_weights(s):  # noqa: F811
    only_follow_through = {name: 0.0 for name in DEFAULT_WEIGHTS} | {"follow_through": 1.0}
    s.engine = Engine(s.database, s.clock, {"slack": s.sender}, index_weights=only_follow_through)
    await example_week(s, "platform")
    answer = await s.command("U1", "tend index platform 4")
    assert "*75.0* / 100" in answer  # 3 of 4 nudges acted on, and nothing else counts
