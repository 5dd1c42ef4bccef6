"""The Teams app package: a manifest valid by Microsoft's 1.19 schema, the right icons, one command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from PIL import Image

from adapters.teams.package import (
    MANIFEST_DIR,
    PLACEHOLDER_ID,
    PackageError,
    build_manifest,
    build_package,
    package_command,
)

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"  # copies of ../shared/reference (SOURCES.md)

APP_ID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    # The schema says draft-04 but uses "const" (draft-06+), so a draft-07 validator reads it as meant.
    schema = json.loads((REFERENCE / "teams-manifest-1.19.schema.json").read_text())
    return jsonschema.Draft7Validator(schema)


def problems(validator: jsonschema.Draft7Validator, manifest: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(manifest)]


def test_the_manifest_is_valid_by_the_teams_1_19_schema(validator):
    manifest = build_manifest(APP_ID, "https://tend.example.com")
    assert problems(validator, manifest) == []
    assert manifest["manifestVersion"] == "1.19"
    assert manifest["id"] == APP_ID
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    assert bot["supportsFiles"] is False
    assert manifest["validDomains"] == ["tend.example.com"]
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}


def test_the_checked_in_app_package_manifest_is_valid_by_itself_and_the_package_fills_in_the_app_id(
    validator,
):
    """``adapters/teams/appPackage/manifest.json`` is where the issue (and Teams tooling) expects it."""
    checked_in = json.loads((ROOT / "adapters/teams/appPackage/manifest.json").read_text(encoding="utf-8"))
    assert problems(validator, checked_in) == []
    assert checked_in["id"] == PLACEHOLDER_ID
    assert {bot["botId"] for bot in checked_in["bots"]} == {PLACEHOLDER_ID}
    for name in checked_in["icons"].values():
        assert (ROOT / "adapters/teams/appPackage" / name).is_file()
    built = build_manifest(APP_ID)
    assert PLACEHOLDER_ID not in json.dumps(built)
    assert {**built, "id": PLACEHOLDER_ID, "bots": checked_in["bots"]} == checked_in


def test_the_placeholder_app_id_is_refused_with_what_to_set(tmp_path, capsys):
    out = tmp_path / "t.zip"
    environ = {"MICROSOFT_APP_ID": PLACEHOLDER_ID}
    assert package_command(["--out", str(out)], environ=environ, env_file=None) == 2
    assert "your Azure Bot's own Microsoft App ID" in capsys.readouterr().err
    assert not out.exists()


def test_a_broken_manifest_fails_the_schema_so_the_check_above_can_fail(validator):
    manifest = build_manifest(APP_ID)
    assert problems(validator, manifest) == []
    assert problems(validator, {**manifest, "manifestVersion": "1.18"}) != []
    assert problems(validator, {**manifest, "id": "not-a-guid"}) != []
    assert problems(validator, {**manifest, "bots": [{"botId": APP_ID, "scopes": ["everywhere"]}]}) != []


def test_the_command_lists_offer_the_grammars_commands_in_each_scope():
    from bot import commands as c

    [bot] = build_manifest(APP_ID)["bots"]
    by_scope = {scope: lst["commands"] for lst in bot["commandLists"] for scope in lst["scopes"]}
    assert set(by_scope) == {"personal", "team", "groupChat"}
    for commands in by_scope.values():
        titles = [command["title"] for command in commands]
        assert "kudos" in titles and "tend help" in titles
        for title in titles:  # each suggestion, sent as typed, is a command word Tend knows
            word, _, rest = title.partition(" ")
            assert word in ("kudos", "tend"), title
            parsed = c.parse("tend", rest) if word == "tend" else None
            assert not (isinstance(parsed, c.UsageError) and "I don't know" in parsed.message), title


def test_no_public_url_means_no_valid_domains_and_a_bad_one_is_explained():
    assert build_manifest(APP_ID)["validDomains"] == []
    with pytest.raises(PackageError, match="https://"):
        build_manifest(APP_ID, "http://tend.example.com")
    with pytest.raises(PackageError, match="GUID"):
        build_manifest("my-bot")


def test_the_icons_are_the_sizes_teams_requires_and_the_outline_is_white_on_transparent():
    with Image.open(MANIFEST_DIR / "color.png") as color:
        assert color.size == (192, 192)
    with Image.open(MANIFEST_DIR / "outline.png") as outline:
        assert outline.size == (32, 32)
        raw = outline.convert("RGBA").tobytes()
    pixels = [tuple(raw[i : i + 4]) for i in range(0, len(raw), 4)]
    alphas = [a for (_, _, _, a) in pixels]
    assert min(alphas) == 0 and max(alphas) == 255  # a transparent background with a shape on it
    assert all((r, g, b) == (255, 255, 255) for (r, g, b, a) in pixels if a > 0)


def test_the_zip_holds_the_manifest_and_both_icons_at_its_root(tmp_path):
    out = build_package(tmp_path / "out" / "tend.zip", APP_ID)
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.read("color.png") == (MANIFEST_DIR / "color.png").read_bytes()
    assert manifest == build_manifest(APP_ID)


def test_package_command_reads_the_app_id_from_dot_env_when_the_environment_has_none(tmp_path, capsys):
    env_file = tmp_path / ".env"
    env_file.write_text(f"MICROSOFT_APP_ID={APP_ID}\nTEND_PUBLIC_URL=https://tend.example.com\n")
    out = tmp_path / "t.zip"
    assert package_command(["--out", str(out)], environ={}, env_file=str(env_file)) == 0
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["id"] == APP_ID and manifest["validDomains"] == ["tend.example.com"]
    assert str(out) in capsys.readouterr().out


def test_package_command_without_an_app_id_says_what_to_set(tmp_path, capsys):
    assert package_command(["--out", str(tmp_path / "t.zip")], environ={}, env_file=None) == 2
    assert "MICROSOFT_APP_ID is not set" in capsys.readouterr().err
    assert not (tmp_path / "t.zip").exists()


def run_app(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("MICROSOFT_", "TEND_"))}
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_python_app_py_teams_package_writes_the_zip(tmp_path):
    done = run_app(["teams-package", "--out", "pkg/tend-teams.zip"], tmp_path, MICROSOFT_APP_ID=APP_ID)
    assert done.returncode == 0, done.stderr
    assert "pkg/tend-teams.zip" in done.stdout
    with zipfile.ZipFile(tmp_path / "pkg" / "tend-teams.zip") as archive:
        assert json.loads(archive.read("manifest.json"))["bots"][0]["botId"] == APP_ID


def test_python_app_py_teams_package_without_an_app_id_is_a_friendly_error(tmp_path):
    done = run_app(["teams-package"], tmp_path)
    assert done.returncode == 2
    assert "MICROSOFT_APP_ID is not set" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "tend-teams.zip").exists()


def test_a_channels_menu_offers_the_programmes_started_and_named_from_a_channel():
    """Pods, culture carriers and ambassadors are set up where their people are: in a team's channel
    (``here``), so their admin commands are in the team menu, each with an example typed as in Teams."""
    [bot] = build_manifest(APP_ID)["bots"]
    by_scope = {scope: lst["commands"] for lst in bot["commandLists"] for scope in lst["scopes"]}
    team = {command["title"]: command["description"] for command in by_scope["team"]}
    assert team["tend pods start"].endswith(": tend pods start here size 4-6 monthly")
    assert team["tend carriers add"].endswith(": tend carriers add @sam")
    assert team["tend ambassadors space"].endswith(": tend ambassadors space here")
    assert by_scope["groupChat"] == by_scope["team"]
    personal = {command["title"] for command in by_scope["personal"]}
    assert not {"tend pods start", "tend carriers add", "tend ambassadors space"} & personal
    menus = json.dumps(bot["commandLists"])
    assert "/tend" not in menus and "/kudos" not in menus and "`" not in menus  # typed as in Teams
