"""Chart files (practices/charts.py): named unguessably, written privately, deleted after a day."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from practices import charts

TOKEN = "A" * 22


def test_a_chart_is_named_by_a_random_token_alone(tmp_path: Path):
    first, second = charts.new_chart_path(tmp_path), charts.new_chart_path(tmp_path)
    assert first != second and charts.is_chart_name(first.name) and first.parent == tmp_path
    assert charts.chart_path(TOKEN, tmp_path).name == f"index-{TOKEN}.png"
    with pytest.raises(ValueError):
        charts.chart_path("../../etc/passwd", tmp_path)


@pytest.mark.parametrize(
    "name", [f"index-{TOKEN}.png", f"index-{TOKEN}.svg", f"../index-{TOKEN}.png", "notes.txt"]
)
def test_only_an_existing_chart_directly_in_the_folder_is_served(tmp_path: Path, name: str):
    folder = tmp_path / "charts"
    folder.mkdir()
    (folder / f"index-{TOKEN}.png").write_bytes(b"png")
    (tmp_path / f"index-{TOKEN}.png").write_bytes(b"outside")
    (folder / "notes.txt").write_text("not a chart")
    found = charts.chart_file(folder, name)
    assert (found is not None) == (name == f"index-{TOKEN}.png")


def test_a_chart_is_written_where_only_tends_user_can_read_it(tmp_path: Path):
    path = charts.write_chart(charts.chart_path(TOKEN, tmp_path / "new"), lambda p: p.write_bytes(b"png"))
    assert path.read_bytes() == b"png" and path.is_absolute()
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) & 0o077 == 0


def test_the_purge_deletes_charts_older_than_a_day_and_nothing_else(tmp_path: Path):
    now = datetime(2025, 3, 3, 12, tzinfo=UTC)
    old, fresh = charts.chart_path("o" * 22, tmp_path), charts.chart_path("f" * 22, tmp_path)
    other = tmp_path / "keep-me.png"
    for path, age in (
        (old, timedelta(days=1, minutes=1)),
        (fresh, timedelta(hours=23)),
        (other, timedelta(days=9)),
    ):
        path.write_bytes(b"png")
        moment = (now - age).timestamp()
        os.utime(path, (moment, moment))
    assert charts.purge_old_charts(tmp_path, now) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([fresh.name, other.name])
    assert charts.purge_old_charts(tmp_path / "missing", now) == 0
