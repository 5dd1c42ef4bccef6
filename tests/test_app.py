"""``python app.py`` as a newcomer runs it: real processes, real ports, a fresh directory."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from practices.sealing import new_key_text

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


TEST_SECRET_KEY = new_key_text()


def clean_env(**extra: str) -> dict[str, str]:
    """The machine's environment minus anything that would configure Tend behind the test's back."""
    prefixes = ("SLACK_", "MICROSOFT_", "TEAMS_", "TEND_", "DATABASE_URL", "HOST", "PORT")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["TEND_SECRET_KEY"] = TEST_SECRET_KEY  # serving needs one; TEND_SECRET_KEY="" leaves it unset
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_tend(tmp_path: Path, port: int, *args: str, **env: str) -> asyncio.subprocess.Process:
    """``python app.py ARGS`` in a fresh directory on SQLite, listening on 127.0.0.1:``port``."""
    database = f"sqlite:///{tmp_path}/tend.db"
    settings = clean_env(DATABASE_URL=database, HOST="127.0.0.1", PORT=str(port), **env)
    return await asyncio.create_subprocess_exec(
        sys.executable, APP, *args, cwd=tmp_path, env=settings,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.alone  # a start-up time: another worker's tests on the same CPUs would measure the machine
def test_serve_answers_healthz_within_five_seconds(tmp_path):
    port = free_port()
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/tend.db", HOST="127.0.0.1", PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, APP, "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 5
        status, body = 0, b""
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                    status, body = response.status, response.read()
                    break
            except OSError:
                time.sleep(0.05)  # polling a starting process: the only way to know it listens
        assert status == 200, process.stdout.read().decode() if process.poll() is not None else "no answer"
        assert json.loads(body)["database"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            assert "# TYPE tend_http_requests_total counter" in response.read().decode()
    finally:
        process.terminate()
        process.wait(10)


def test_without_credentials_app_opens_the_console_and_kudos_work(tmp_path):
    result = subprocess.run(
        [sys.executable, APP],
        cwd=tmp_path,
        env=clean_env(),
        input="/kudos @bo thanks for the review\n/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "ana in #general> " in result.stdout
    assert "@ana thanked @bo: thanks for the review" in result.stdout
    assert (tmp_path / "data" / "tend.db").exists()  # the documented SQLite default


def test_the_console_keeps_its_own_secret_key_beside_its_data_not_in_the_database(tmp_path):
    key_file, seen = tmp_path / "data" / "tend.secret-key", []
    for _ in range(2):  # the second start must find and keep the first one's key
        result = subprocess.run([sys.executable, APP, "console"], cwd=tmp_path,
                                env=clean_env(TEND_SECRET_KEY=""), input="/kudos @bo thanks\n/quit\n",
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        assert result.returncode == 0, result.stderr
        seen.append(key_file.read_text())
    first = seen[0]
    assert seen[1] == first and len(first.strip()) >= 32
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    database = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("tend.db*"))
    assert first.strip().encode() not in database


def test_serving_without_a_secret_key_stops_with_one_clear_line(tmp_path):
    env = clean_env(
        TEND_SECRET_KEY="",
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s",
        DATABASE_URL=f"sqlite:///{tmp_path}/t.db",
    )
    result = subprocess.run(
        [sys.executable, APP, "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "TEND_SECRET_KEY: required" in result.stderr and "openssl rand -base64 32" in result.stderr


def test_migrate_upgrades_and_says_so(tmp_path):
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/m.db")
    result = subprocess.run(
        [sys.executable, APP, "migrate"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert (tmp_path / "m.db").stat().st_size > 0


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PORT": "abc"}, "PORT"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ],
)
def test_a_bad_setting_stops_start_up_with_a_clear_message(tmp_path, env, named):
    result = subprocess.run(
        [sys.executable, APP, "serve"],
        cwd=tmp_path,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert named in result.stderr and "Traceback" not in result.stderr


def test_an_unknown_command_prints_usage(tmp_path):
    result = subprocess.run(
        [sys.executable, APP, "frobnicate"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "python app.py serve" in result.stderr
