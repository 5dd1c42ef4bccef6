"""Settings as an operator meets them: defaults, every variable read, plain-word errors, no leaks."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from bot.errors import SettingsError, TendError
from bot.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_NAMES = sorted(name.upper() for name in Settings.model_fields)

SLACK_SINGLE = {"SLACK_BOT_TOKEN": "xoxb-1111-bot-token", "SLACK_SIGNING_SECRET": "signing-secret-value"}


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No Tend variable from the developer's shell and no .env from the checkout."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(**env: str) -> Settings:
    return load_settings(env=env, env_file=None)


def problems_of(**env: str) -> str:
    with pytest.raises(SettingsError) as caught:
        load(**env)
    return str(caught.value)


def test_defaults() -> None:
    settings = load()
    assert settings.database_url == "sqlite:///./data/tend.db"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.microsoft_app_type == "MultiTenant"
    assert (settings.host, settings.port) == ("0.0.0.0", 3000)
    assert settings.min_group_size == 5
    assert settings.tend_log_level == "INFO"
    assert settings.tend_dev_insecure is False
    assert settings.tend_support_reply_hours == 48
    assert settings.slack_bot_token is None and settings.microsoft_app_id is None
    assert settings.teams_openid_metadata_url is None
    assert settings.teams_token_issuer is None
    assert settings.teams_login_url is None
    assert settings.tend_public_url is None
    assert not settings.slack_enabled and not settings.teams_enabled


@pytest.mark.parametrize(
    ("extra_env", "attribute", "expected"),
    [
        (
            {"DATABASE_URL": "postgresql://tend@db:5432/tend"},
            "database_url",
            "postgresql://tend@db:5432/tend",
        ),
        ({"SLACK_API_URL": "http://127.0.0.1:9/api/"}, "slack_api_url", "http://127.0.0.1:9/api/"),
        ({"SLACK_CLIENT_ID": "123.456", "SLACK_CLIENT_SECRET": "cs-value"}, "slack_client_id", "123.456"),
        ({"SLACK_APP_TOKEN": "xapp-1-A1-app"}, "slack_app_token", "xapp-1-A1-app"),
        ({"MICROSOFT_APP_ID": "app-id", "MICROSOFT_APP_PASSWORD": "pw-value"}, "microsoft_app_id", "app-id"),
        (
            {"MICROSOFT_APP_ID": "app-id", "MICROSOFT_APP_PASSWORD": "pw-value"},
            "microsoft_app_password",
            "pw-value",
        ),
        (
            {
                "MICROSOFT_APP_ID": "app-id",
                "MICROSOFT_APP_PASSWORD": "pw-value",
                "MICROSOFT_APP_TYPE": "SingleTenant",
                "MICROSOFT_APP_TENANT_ID": "tenant-1",
            },
            "microsoft_app_tenant_id",
            "tenant-1",
        ),
        (
            {
                "MICROSOFT_APP_ID": "msi-client-id",
                "MICROSOFT_APP_TYPE": "UserAssignedMSI",
                "MICROSOFT_APP_TENANT_ID": "tenant-1",
            },
            "microsoft_app_type",
            "UserAssignedMSI",
        ),
        (
            {"TEAMS_OPENID_METADATA_URL": "http://127.0.0.1:9/oid"},
            "teams_openid_metadata_url",
            "http://127.0.0.1:9/oid",
        ),
        (
            {"TEAMS_TOKEN_ISSUER": "https://api.botframework.com"},
            "teams_token_issuer",
            "https://api.botframework.com",
        ),
        ({"TEAMS_LOGIN_URL": "https://127.0.0.1:9/adfs"}, "teams_login_url", "https://127.0.0.1:9/adfs"),
        ({"HOST": "127.0.0.1"}, "host", "127.0.0.1"),
        ({"PORT": "8080"}, "port", 8080),
        ({"TEND_PUBLIC_URL": "https://tend.example.com/"}, "tend_public_url", "https://tend.example.com"),
        ({"TEND_MIN_GROUP_SIZE": "7"}, "min_group_size", 7),
        ({"TEND_LOG_LEVEL": "debug"}, "tend_log_level", "DEBUG"),
        ({"TEND_DEV_INSECURE": "true"}, "tend_dev_insecure", True),
        ({"TEND_SUPPORT_REPLY_HOURS": "24"}, "tend_support_reply_hours", 24),
        ({"TEND_INBOUND_MAX_QUEUED": "2500"}, "tend_inbound_max_queued", 2500),
        (
            {"TEND_SUPPORT_FALLBACK": "Call our EAP on 0800 123 456"},
            "tend_support_fallback",
            "Call our EAP on 0800 123 456",
        ),
        ({"TEND_INDEX_WEIGHTS": "mood=0.5"}, "tend_index_weights", "mood=0.5"),
        ({"TEND_SECRET_KEY": "k" * 32}, "tend_secret_key", "k" * 32),
        (
            {"TEND_PREVIOUS_SECRET_KEYS": "p" * 32 + ", " + "q" * 32},
            "tend_previous_secret_keys",
            "p" * 32 + "," + "q" * 32,
        ),
    ],
)
def test_each_variable_is_read(extra_env: dict[str, str], attribute: str, expected: object) -> None:
    value = getattr(load(**SLACK_SINGLE, **extra_env), attribute)
    shown = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    assert shown == expected


def test_secret_variables_are_read() -> None:
    settings = load(
        SLACK_BOT_TOKEN="xoxb-1111-bot-token",
        SLACK_SIGNING_SECRET="signing-secret-value",
        SLACK_CLIENT_ID="123.456",
        SLACK_CLIENT_SECRET="client-secret-value",
    )
    assert settings.slack_bot_token is not None and settings.slack_signing_secret is not None
    assert settings.slack_client_secret is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-1111-bot-token"
    assert settings.slack_signing_secret.get_secret_value() == "signing-secret-value"
    assert settings.slack_client_secret.get_secret_value() == "client-secret-value"


def test_every_env_name_is_covered_by_the_read_test() -> None:
    source = Path(__file__).read_text()
    assert [name for name in ENV_NAMES if f'"{name}"' not in source] == []


def test_explicit_env_ignores_the_process_environment_and_dotenv(
    clean_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORT", "9999")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-shell")
    (clean_environ / ".env").write_text("HOST=10.0.0.1\n")
    settings = load_settings(env={}, env_file=None)
    assert settings.port == 3000 and settings.host == "0.0.0.0"
    assert settings.slack_bot_token is None


def test_process_environment_and_dotenv_are_read_by_default(
    clean_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_environ / ".env").write_text("PORT=4000\nHOST=10.0.0.1\n# a comment\nUNRELATED_KEY=1\n")
    monkeypatch.setenv("PORT", "5000")
    settings = load_settings()
    assert settings.host == "10.0.0.1"  # from .env
    assert settings.port == 5000  # the environment wins over .env


def test_empty_values_count_as_unset() -> None:
    settings = load(PORT="", SLACK_BOT_TOKEN="", MICROSOFT_APP_ID="", TEND_MIN_GROUP_SIZE="")
    assert settings.port == 3000 and settings.slack_bot_token is None and settings.min_group_size == 5


def test_the_example_file_starts_tend_with_defaults() -> None:
    settings = load_settings(env={}, env_file=str(REPO_ROOT / ".env.example"))
    assert settings == load()


def test_env_example_lists_exactly_the_settings_each_with_a_comment() -> None:
    lines = (REPO_ROOT / ".env.example").read_text().splitlines()
    keys = [line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z][A-Z0-9_]*=", line)]
    assert sorted(keys) == ENV_NAMES
    assert len(keys) == len(set(keys))
    for index, line in enumerate(lines):
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            assert lines[index - 1].startswith("# "), f"{line} has no comment above it"
    for group in ("Database", "Slack", "Teams", "Server", "Privacy", "Logging"):
        assert any(line.startswith("# ---") and group in line for line in lines), group


def test_bad_port_names_the_setting() -> None:
    assert "PORT: must be a whole number between 1 and 65535 (got 'abc')" in problems_of(PORT="abc")
    assert "PORT: must be a whole number between 1 and 65535 (got '70000')" in problems_of(PORT="70000")


def test_bad_min_group_size_names_the_setting() -> None:
    message = problems_of(TEND_MIN_GROUP_SIZE="five")
    assert "TEND_MIN_GROUP_SIZE: must be a whole number" in message
    assert "(got 'five')" in message


def test_bad_database_url_names_the_setting_without_its_password() -> None:
    message = problems_of(DATABASE_URL="mysql://tend:Sup3rS3cret@db/tend")
    assert "DATABASE_URL: must start with sqlite:/// or postgresql://" in message
    assert "Sup3rS3cret" not in message


def test_all_problems_are_reported_at_once() -> None:
    message = problems_of(PORT="abc", DATABASE_URL="oracle://x", TEND_LOG_LEVEL="loud")
    assert [line.strip().split(":")[0] for line in message.splitlines()[1:]] == [
        "DATABASE_URL",
        "PORT",
        "TEND_LOG_LEVEL",
    ]


def test_errors_are_tend_errors_without_a_pydantic_traceback() -> None:
    with pytest.raises(SettingsError) as caught:
        load(PORT="abc")
    assert isinstance(caught.value, TendError)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_bot_token_without_signing_secret_fails_closed() -> None:
    message = problems_of(SLACK_BOT_TOKEN="xoxb-1111-bot-token")
    assert "SLACK_SIGNING_SECRET: missing" in message
    assert "xoxb-1111-bot-token" not in message


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"SLACK_SIGNING_SECRET": "s3cret"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_SIGNING_SECRET": "s3cret"}, "SLACK_CLIENT_SECRET"),
        ({"SLACK_CLIENT_SECRET": "cs", "SLACK_SIGNING_SECRET": "s3cret"}, "SLACK_CLIENT_ID"),
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "cs"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
        ({"MICROSOFT_APP_PASSWORD": "pw"}, "MICROSOFT_APP_ID"),
        ({"MICROSOFT_APP_ID": "app"}, "MICROSOFT_APP_PASSWORD"),
        (
            {"MICROSOFT_APP_ID": "app", "MICROSOFT_APP_PASSWORD": "pw", "MICROSOFT_APP_TYPE": "SingleTenant"},
            "MICROSOFT_APP_TENANT_ID",
        ),
    ],
)
def test_half_configured_platforms_name_what_is_missing(env: dict[str, str], missing: str) -> None:
    assert f"{missing}: missing" in problems_of(**env)


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"MICROSOFT_APP_TYPE": "AnyTenant"}, "MICROSOFT_APP_TYPE"),
        ({"TEND_LOG_LEVEL": "chatty"}, "TEND_LOG_LEVEL"),
        ({"TEND_DEV_INSECURE": "perhaps"}, "TEND_DEV_INSECURE"),
        ({"TEND_SUPPORT_REPLY_HOURS": "0"}, "TEND_SUPPORT_REPLY_HOURS"),
        ({"TEND_INBOUND_MAX_QUEUED": "0"}, "TEND_INBOUND_MAX_QUEUED"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
        ({"TEAMS_LOGIN_URL": "login.example"}, "TEAMS_LOGIN_URL"),
        ({"TEND_PUBLIC_URL": "tend.example.com"}, "TEND_PUBLIC_URL"),
        ({"TEND_PUBLIC_URL": "ftp://tend.example.com"}, "TEND_PUBLIC_URL"),
        ({"TEND_PUBLIC_URL": "https://tend.example.com/?next=x"}, "TEND_PUBLIC_URL"),
    ],
)
def test_other_bad_values_name_the_setting(env: dict[str, str], setting: str) -> None:
    assert re.search(rf"^  {setting}: \w", problems_of(**env), re.MULTILINE)


def test_min_group_size_never_goes_below_three(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tend.settings"):
        settings = load(TEND_MIN_GROUP_SIZE="2")
    assert settings.min_group_size == 3
    assert any("TEND_MIN_GROUP_SIZE" in record.getMessage() for record in caplog.records)
    assert load(TEND_MIN_GROUP_SIZE="-4").min_group_size == 3


def test_min_group_size_at_or_above_three_is_kept_quietly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tend.settings"):
        assert load(TEND_MIN_GROUP_SIZE="3").min_group_size == 3
        assert load(TEND_MIN_GROUP_SIZE="12").min_group_size == 12
    assert caplog.records == []


def test_secrets_do_not_show_in_repr_str_or_dump() -> None:
    secrets = {
        "SLACK_BOT_TOKEN": "xoxb-9999-do-not-print",
        "SLACK_SIGNING_SECRET": "signing-do-not-print",
        "SLACK_CLIENT_ID": "123.456",
        "SLACK_CLIENT_SECRET": "client-do-not-print",
        "SLACK_APP_TOKEN": "xapp-1-do-not-print",
        "MICROSOFT_APP_ID": "app-id",
        "MICROSOFT_APP_PASSWORD": "teams-do-not-print",
        "DATABASE_URL": "postgresql://tend:db-do-not-print@db:5432/tend",
    }
    settings = load(**secrets)
    shown = [repr(settings), str(settings), str(settings.model_dump()), settings.model_dump_json()]
    for text in shown:
        assert "do-not-print" not in text
    assert "**********" in repr(settings)
    assert settings.masked_database_url == "postgresql://tend:**********@db:5432/tend"
    assert settings.database_url == secrets["DATABASE_URL"]  # the real value stays usable
    assert set(settings.secret_values()) == {
        "xoxb-9999-do-not-print",
        "signing-do-not-print",
        "client-do-not-print",
        "xapp-1-do-not-print",
        "teams-do-not-print",
        "db-do-not-print",
    }


def test_settings_are_immutable() -> None:
    settings = load()
    with pytest.raises(ValueError):
        settings.port = 1  # type: ignore[misc]


def test_slack_modes() -> None:
    single = load(**SLACK_SINGLE)
    assert single.slack_enabled and not single.slack_oauth and not single.slack_socket_mode
    oauth = load(SLACK_CLIENT_ID="1.2", SLACK_CLIENT_SECRET="cs-value", SLACK_SIGNING_SECRET="s3cret")
    assert oauth.slack_enabled and oauth.slack_oauth
    socket = load(**SLACK_SINGLE, SLACK_APP_TOKEN="xapp-1-A1-app")
    assert socket.slack_enabled and socket.slack_socket_mode


def test_teams_needs_an_app_id_or_the_named_dev_flag(caplog: pytest.LogCaptureFixture) -> None:
    assert load(MICROSOFT_APP_ID="app", MICROSOFT_APP_PASSWORD="pw").teams_enabled
    with caplog.at_level(logging.WARNING, logger="tend.settings"):
        assert load(TEND_DEV_INSECURE="1").teams_enabled
    assert any("TEND_DEV_INSECURE" in record.getMessage() for record in caplog.records)


def test_slack_api_url_gets_its_trailing_slash() -> None:
    assert load(SLACK_API_URL="http://127.0.0.1:9/api").slack_api_url == "http://127.0.0.1:9/api/"


def test_app_type_is_accepted_in_any_case() -> None:
    settings = load(
        MICROSOFT_APP_ID="app",
        MICROSOFT_APP_PASSWORD="pw",
        MICROSOFT_APP_TYPE="singletenant",
        MICROSOFT_APP_TENANT_ID="t",
    )
    assert settings.microsoft_app_type == "SingleTenant"


def test_public_url_keeps_its_path_without_the_trailing_slash() -> None:
    """Teams cards append /charts/<name> to it, so a trailing slash would double up."""
    settings = load(TEND_PUBLIC_URL=" https://example.com/tend/ ")
    assert settings.tend_public_url == "https://example.com/tend"
    assert "TEND_PUBLIC_URL: must be the http:// or https:// base URL" in problems_of(TEND_PUBLIC_URL="/tend")


def test_socket_mode_needs_no_signing_secret_but_http_does() -> None:
    socket = load(SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1-A1-app")
    assert socket.slack_enabled and socket.slack_socket_mode
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET: missing"):
        load(SLACK_BOT_TOKEN="xoxb-1")


def test_a_short_secret_key_is_refused_without_echoing_it() -> None:
    problems = problems_of(**SLACK_SINGLE, TEND_SECRET_KEY="too-short-but-secret")
    assert "TEND_SECRET_KEY: must be at least 32 characters" in problems and "openssl rand" in problems
    assert "too-short-but-secret" not in problems
    key = "s3cr3t-" * 6
    assert key not in repr(load(**SLACK_SINGLE, TEND_SECRET_KEY=key))
    assert key in load(**SLACK_SINGLE, TEND_SECRET_KEY=key).secret_values()  # masked in every log line
