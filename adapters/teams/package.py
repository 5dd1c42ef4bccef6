"""The Teams app package: ``manifest.json`` plus the two icons, zipped, ready to upload to Teams.

``python app.py teams-package [--out tend-teams.zip]`` builds it from ``appPackage/manifest.json``
(a valid manifest by itself, with the placeholder GUID ``PLACEHOLDER_ID`` as its app and bot ids) with
the bot's ``MICROSOFT_APP_ID`` (environment or ``.env``) in place of the placeholder, and the host of
``TEND_PUBLIC_URL`` (when set) as the one valid domain, where Tend serves index charts. Only the app id
is needed: packaging never reads the password.

The bot's command menus (``commandLists``) are generated from the grammar's declarations
(each practice's help topics, gathered by ``bot/practices_registry.py``: each ``Usage`` names the menus it
appears in), spelled as Teams people
type them (``tend ritual list``, no slash); the checked-in manifest holds the same lists, and a test keeps
them equal.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from bot import commands as grammar
from bot.practices_registry import default_registry
from practices.messages import typed_on

MANIFEST_DIR = Path(__file__).resolve().parent / "appPackage"
MANIFEST_FILE = MANIFEST_DIR / "manifest.json"
PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"  # in the checked-in manifest; never shipped
ICONS = ("color.png", "outline.png")
DEFAULT_OUT = "tend-teams.zip"
MAX_COMMANDS = 10  # per command list (manifest schema)
MAX_COMMAND_TITLE = 32
MAX_COMMAND_DESCRIPTION = 128
MENUS: tuple[tuple[list[str], grammar.MenuScope], ...] = (
    (["personal"], "personal"),
    (["team", "groupChat"], "team"),
)
HELP_COMMAND = "/tend help"
HELP_DESCRIPTION = "The help topics, then one topic with an example of each command: {example}"
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")

# User-facing text.
MISSING_APP_ID = (
    "MICROSOFT_APP_ID is not set. Set it (in the environment or .env) to your Azure Bot's Microsoft App "
    "ID, e.g. MICROSOFT_APP_ID=00000000-0000-0000-0000-000000000000, then run: python app.py teams-package"
)
BAD_APP_ID = (
    "MICROSOFT_APP_ID must be the Azure Bot's app id, a GUID like 00000000-0000-0000-0000-000000000000; "
    "got {value!r}."
)
PLACEHOLDER_APP_ID = (
    "MICROSOFT_APP_ID is the example value 00000000-0000-0000-0000-000000000000; set it to your Azure "
    "Bot's own Microsoft App ID (Azure portal → your bot → Configuration), then run: python app.py "
    "teams-package"
)
BAD_PUBLIC_URL = "TEND_PUBLIC_URL must be an https:// URL such as https://tend.example.com; got {value!r}."
WRITTEN = "Wrote {out}. Upload it in Teams: Apps → Manage your apps → Upload an app."
CANNOT_WRITE = "Could not write {out}: {reason}"


class PackageError(ValueError):
    """Settings that cannot make a valid package; the message says what to change."""


def _typed(text: str) -> str:
    return typed_on(text, slash_commands=False)


def _command(title: str, description: str) -> dict[str, str]:
    if len(title) > MAX_COMMAND_TITLE:
        raise ValueError(f"a Teams command title is at most {MAX_COMMAND_TITLE} characters: {title!r}")
    if len(description) > MAX_COMMAND_DESCRIPTION:
        description = description[: MAX_COMMAND_DESCRIPTION - 1] + "…"
    return {"title": title, "description": description}


def command_lists() -> list[dict[str, Any]]:
    """The bot's command menus, per scope, from the grammar's declarations: ``tend help`` first, then
    each command declared for that menu with what it does and its example, as typed in Teams."""
    lists: list[dict[str, Any]] = []
    for scopes, menu in MENUS:
        commands = [
            _command(_typed(HELP_COMMAND), HELP_DESCRIPTION.format(example=_typed(grammar.HELP_EXAMPLE)))
        ]
        for topic in default_registry().topics:
            for usage in topic.usages:
                if menu in usage.menu:
                    does = _typed(usage.does.replace("`", ""))  # a command it names is plain text here
                    does = does[:1].upper() + does[1:]
                    shown = does if usage.example == usage.command else f"{does}: {_typed(usage.example)}"
                    commands.append(_command(_typed(usage.command), shown))
        if len(commands) > MAX_COMMANDS:
            raise ValueError(
                f"Teams shows at most {MAX_COMMANDS} commands per menu; {menu} has {len(commands)}"
            )
        lists.append({"scopes": scopes, "commands": commands})
    return lists


def build_manifest(app_id: str, public_url: str | None = None) -> dict[str, Any]:
    """The manifest for this bot: the checked-in one with the app id and the public host filled in."""
    app_id = app_id.strip()
    if not _GUID.fullmatch(app_id):
        raise PackageError(BAD_APP_ID.format(value=app_id))
    if app_id == PLACEHOLDER_ID:
        raise PackageError(PLACEHOLDER_APP_ID)
    manifest: dict[str, Any] = copy.deepcopy(json.loads(MANIFEST_FILE.read_text(encoding="utf-8")))
    manifest["id"] = app_id
    for bot in manifest["bots"]:
        bot["botId"] = app_id
        bot["commandLists"] = command_lists()
    domains: list[str] = []
    if public_url:
        parts = urlsplit(public_url.strip())
        if parts.scheme != "https" or not parts.hostname:
            raise PackageError(BAD_PUBLIC_URL.format(value=public_url))
        domains.append(parts.netloc)
    manifest["validDomains"] = domains
    return manifest


def build_package(out: Path, app_id: str, public_url: str | None = None) -> Path:
    """Writes the zip (manifest and icons at its root, as Teams requires) and returns its path."""
    manifest = build_manifest(app_id, public_url)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        for icon in ICONS:
            archive.write(MANIFEST_DIR / icon, icon)
    return out


def _setting(name: str, environ: Mapping[str, str], dotenv: Mapping[str, str | None]) -> str | None:
    """The environment first, then ``.env``, the same order the server's settings use."""
    value = environ.get(name) or dotenv.get(name) or ""
    return value.strip() or None


def package_command(
    argv: list[str], environ: Mapping[str, str] | None = None, env_file: str | None = ".env"
) -> int:
    """``teams-package [--out PATH]``: 0 on success, 2 with a friendly message when settings are wrong."""
    parser = argparse.ArgumentParser(prog="python app.py teams-package", description=__doc__)
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"where to write the zip (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    environ = os.environ if environ is None else environ
    dotenv = dotenv_values(env_file) if env_file and Path(env_file).is_file() else {}
    app_id = _setting("MICROSOFT_APP_ID", environ, dotenv)
    if app_id is None:
        print(MISSING_APP_ID, file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        build_package(out, app_id, _setting("TEND_PUBLIC_URL", environ, dotenv))
    except PackageError as error:
        print(error, file=sys.stderr)
        return 2
    except OSError as error:
        print(CANNOT_WRITE.format(out=out, reason=error.strerror or error), file=sys.stderr)
        return 2
    print(WRITTEN.format(out=out))
    return 0
