"""What an operator reads when Tend cannot start: one line naming the problem, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.conftest import POSTGRES_SERVER_URL
from tests.test_app import APP, clean_env


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp_path, mode: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, APP, mode], cwd=tmp_path, env=clean_env(**env),
                          capture_output=True, text=True, timeout=60)  # fmt: skip


@pytest.mark.parametrize("mode", ["migrate", "console", "serve"])
def test_an_unreachable_database_is_one_line_that_says_what_to_fix(tmp_path, mode):
    port = closed_port()
    result = start(tmp_path, mode, DATABASE_URL=f"postgresql://tend:hunter2@127.0.0.1:{port}/tend",
                   SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s")  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("Tend cannot start: the database does not answer: PostgreSQL at 127.0.0.1:")
    assert f":{port}/tend" in lines[0] and "fix DATABASE_URL" in lines[0]
    assert "hunter2" not in result.stderr + result.stdout  # the password is never echoed


@pytest.mark.skipif(not POSTGRES_SERVER_URL, reason="needs TEND_TEST_POSTGRES_URL")
def test_a_missing_postgres_database_is_named(tmp_path):
    url = POSTGRES_SERVER_URL.rsplit("/", 1)[0] + "/tend_no_such_database"
    result = start(tmp_path, "migrate", DATABASE_URL=url)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert 'database "tend_no_such_database" does not exist' in result.stderr
    assert "create the database" in result.stderr


def test_a_sqlite_file_that_cannot_be_opened_is_named(tmp_path):
    (tmp_path / "blocked").write_text("a file where the data folder should be")
    result = start(tmp_path, "migrate", DATABASE_URL=f"sqlite:///{tmp_path}/blocked/tend.db")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "the SQLite file" in result.stderr and "blocked/tend.db" in result.stderr


def test_bad_settings_say_tend_cannot_start_once(tmp_path):
    result = start(tmp_path, "serve", PORT="abc")
    assert result.returncode == 2
    assert result.stderr.count("Tend cannot start") == 1 and "PORT" in result.stderr
