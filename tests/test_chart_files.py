"""Chart files (practices/charts.py): written privately, served only when really a chart (naming and
the purge: tests/test_index.py)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from practices import charts

TOKEN = "A" * 22


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
