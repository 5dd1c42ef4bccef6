"""Settings rules, decided with no database: what the hours form accepts, pauses, what is shown."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from practices.messages import FieldErrors, Outcome, Reply, plain
from practices.preferences import (
    Hours,
    HoursForm,
    check_hours_form,
    hours_form,
    hours_of,
    pause_change,
    settings_text,
)
from storage.models import Member

TODAY = date(2025, 3, 3)


def member(**fields: object) -> Member:
    return Member(
        id=1, workspace_id=1, platform_user_id="U1", created_at=datetime(2025, 1, 1, tzinfo=UTC), **fields
    )


def replied(outcome: Outcome) -> str:
    (reply,) = outcome.intents
    assert isinstance(reply, Reply)
    return "\n".join(plain(block.text) for block in reply.card.blocks if hasattr(block, "text"))


def errors(outcome: HoursForm | Outcome) -> dict[str, str]:
    assert isinstance(outcome, Outcome)
    (found,) = outcome.intents
    assert isinstance(found, FieldErrors)
    return dict(found.errors)


def test_a_good_form_is_read_in_full_with_days_in_week_order_and_the_zone_canonical() -> None:
    read = check_hours_form(
        {"days": "fri,mon-wed", "start": "08:00", "end": "16:30", "time_zone": "europe/berlin"}
    )
    assert read == HoursForm(Hours("08:00", "16:30", "mon,tue,wed,fri"), "Europe/Berlin")


def test_every_bad_field_is_named_under_itself_at_once() -> None:
    found = errors(
        check_hours_form({"days": "funday", "start": "8am", "end": "25:00", "time_zone": "Mars/Base"})
    )
    assert set(found) == {"days", "start", "end", "time_zone"}
    assert "“funday” isn't a day" in found["days"] and "mon-fri" in found["days"]
    assert found["start"] == "“8am” isn't a time; use 24-hour HH:MM, like 08:00."
    assert "Europe/Berlin" in found["time_zone"]


def test_an_end_before_the_start_and_no_days_are_refused() -> None:
    found = errors(check_hours_form({"days": "", "start": "17:00", "end": "09:00", "time_zone": "UTC"}))
    assert found == {
        "days": "Pick at least one working day, like mon-fri.",
        "end": "The end (09:00) must be after the start (17:00).",
    }


def test_hours_are_stored_as_hh_mm_and_days_in_week_order() -> None:
    assert hours_of(time(7, 5), time(15, 0), ("thu", "mon")) == Hours("07:05", "15:00", "mon,thu")


def test_a_pause_must_end_in_the_future_and_nothing_is_written_otherwise() -> None:
    refused = pause_change(TODAY, TODAY)
    assert not refused.write
    assert (
        replied(refused.outcome) == "2025-03-03 is not in the future. Example: /tend pause until 2026-01-05"
    )
    paused = pause_change(date(2025, 3, 4), TODAY)
    assert (paused.write, paused.until) == (True, date(2025, 3, 4))
    assert "paused until 2025-03-04" in replied(paused.outcome) and "/tend pause off" in replied(
        paused.outcome
    )


def test_pause_off_clears_the_pause() -> None:
    back = pause_change(None, TODAY)
    assert (back.write, back.until) == (True, None)
    assert replied(back.outcome) == "Welcome back: personal prompts are on again."


def test_settings_show_a_pause_only_while_it_lasts_and_an_explicit_utc_as_utc() -> None:
    someone = member(work_days="mon,tue,wed,thu", work_start="08:00", work_end="16:00", time_zone="Etc/UTC")
    assert settings_text(someone, TODAY).splitlines()[:2] == [
        "*Your hours:* Mon–Thu 08:00–16:00",
        "*Your time zone:* UTC",
    ]
    assert "paused" not in settings_text(member(paused_until=TODAY), TODAY)
    assert "*Personal prompts paused until* 2025-03-04" in settings_text(
        member(paused_until=date(2025, 3, 4)), TODAY
    )


def test_the_hours_form_hints_say_what_tend_knows_now() -> None:
    form = hours_form(member(work_days="mon,wed,fri", time_zone="Europe/Berlin"))
    hints = {field.name: field.hint for field in form.fields}
    assert hints["days"].endswith("Now: Mon, Wed, Fri") and hints["time_zone"].endswith("Now: Europe/Berlin")
