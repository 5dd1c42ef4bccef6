"""The layering contract, written once: here (docs/architecture.md's "Rules the tests enforce" states
it in words), checked on every import in the tree.

adapters → bot → practices → storage, skipping down allowed, up never; platform SDKs only in their
own adapter; apscheduler only in bot; sqlmodel/sqlalchemy only in storage (and alembic there);
adapters reach Tend's data only through the ports in bot/ports.py (no storage, no connection).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("storage", "practices", "bot", "adapters")  # lowest first

# Third-party packages and the only layer (path prefix) allowed to import each.
RESTRICTED = {
    "slack_bolt": ("adapters/slack/",),
    "slack_sdk": ("adapters/slack/",),
    "botbuilder": ("adapters/teams/",),
    "botframework": ("adapters/teams/",),
    "apscheduler": ("bot/",),
    "sqlmodel": ("storage/",),
    "sqlalchemy": ("storage/",),
    "alembic": ("storage/",),
    "aiohttp": ("bot/", "adapters/"),
}


def source_files() -> list[Path]:
    return sorted(p for layer in LAYERS for p in (ROOT / layer).rglob("*.py"))


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def layer_of(relative: str) -> str:
    return relative.split("/", 1)[0]


def violations() -> list[str]:
    problems: list[str] = []
    for path in source_files():
        relative = path.relative_to(ROOT).as_posix()
        own = layer_of(relative)
        for module in imported_modules(path):
            top = module.split(".", 1)[0]
            if top in LAYERS and LAYERS.index(top) > LAYERS.index(own):
                problems.append(f"{relative} imports {module}: {own} may not import the {top} layer above it")
            if own == "adapters" and top == "storage":
                problems.append(f"{relative} imports {module}: adapters reach storage only through bot")
            if own == "adapters" and top == "adapters":
                mine, theirs = relative.split("/")[1], module.split(".")[1] if "." in module else ""
                if theirs and theirs != mine:
                    problems.append(f"{relative} imports {module}: adapters never import each other")
            if own == "adapters" and top == "practices" and not module.startswith("practices.messages"):
                problems.append(f"{relative} imports {module}: adapters may use only practices.messages")
            allowed = RESTRICTED.get(top)
            if allowed is not None and not relative.startswith(allowed):
                problems.append(f"{relative} imports {module}: {top} belongs in {', '.join(allowed)}")
    return problems


def test_the_tree_keeps_the_layering():
    assert violations() == []


@pytest.mark.parametrize(
    ("relative", "source", "complaint"),
    [
        ("practices/bad.py", "from bot.engine import Engine\n", "layer above"),
        ("storage/bad.py", "import practices.signals\n", "layer above"),
        ("practices/bad.py", "import slack_sdk\n", "belongs in adapters/slack/"),
        ("adapters/teams/bad.py", "from adapters.slack import x\n", "never import each other"),
        ("adapters/console/bad.py", "from storage.models import Member\n", "through bot"),
        ("bot/bad.py", "from sqlmodel import select\n", "belongs in storage/"),
    ],
)
def test_the_check_catches_each_kind_of_violation(tmp_path, monkeypatch, relative, source, complaint):
    fake = tmp_path / relative
    fake.parent.mkdir(parents=True)
    fake.write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert any(complaint in problem for problem in violations())


def test_the_reference_copies_match_the_shared_folder_when_it_is_beside_the_repo():
    """tests/reference holds copies so a clean clone validates; they must not drift from the originals."""
    from pathlib import Path

    here = Path(__file__).resolve().parent / "reference"
    shared = here.parents[2] / "shared" / "reference"
    if not shared.exists():
        pytest.skip("no shared folder beside the repo to compare with")
    copies = sorted(p for p in here.glob("*.json"))
    assert len(copies) >= 12
    for copy in copies:
        assert copy.read_bytes() == (shared / copy.name).read_bytes(), copy.name


# What reaches Tend's database: its modules, its drivers' libraries, the storage-backed implementation of a
# port, and the attributes a connection is used through. Adapters get ports (bot/ports.py) from app.py.
DATABASE_MODULES = ("storage", "sqlalchemy", "sqlmodel", "bot.addresses")
DATABASE_ATTRIBUTES = {"database", "dialect", "exec_driver_sql", "run_sync"}


def database_doors(root: Path) -> list[str]:
    found = []
    for path in sorted((root / "adapters").rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        for module in imported_modules(path):
            if any(module == door or module.startswith(door + ".") for door in DATABASE_MODULES):
                found.append(f"{relative} imports {module}")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in DATABASE_ATTRIBUTES:
                found.append(f"{relative}:{node.lineno} uses .{node.attr}")
    return found


def test_adapters_reach_tends_data_only_through_the_ports(tmp_path):
    """No adapter imports storage or SQLAlchemy, nor holds the database or a connection: an adapter that
    ran SQL (Slack's token store once did) could bypass every rule the layers below keep."""
    assert database_doors(ROOT) == []
    fake = tmp_path / "adapters" / "slack" / "bad.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from sqlmodel import select\nasync def f(e):\n    await e.exec_driver_sql('SELECT 1')\n")
    assert database_doors(tmp_path) == [
        "adapters/slack/bad.py imports sqlmodel",
        "adapters/slack/bad.py:3 uses .exec_driver_sql",
    ]


# --- practices own their words ------------------------------------------------------------------------

# Where a platform or the assembler must spell a practice's word, and why. Everything else outside
# practices/ (bot/, adapters/, storage/, app.py) learns a practice's commands and kinds from the registry.
MAY_NAME: dict[str, tuple[str, ...]] = {
    # /kudos is a platform command: each adapter recognises it, bot/events.py types it, and Slack's
    # install page tells the installer the two slash commands.
    "kudos": (
        "adapters/slack/oauth.py",
        "adapters/slack/translate.py",
        "adapters/teams/translate.py",
        "adapters/console/session.py",
        "bot/events.py",
        "bot/commands.py",
    ),
    # Every assembled bot answers /tend help, and its generic answers point there.
    "help": (
        "bot/commands.py",
        "adapters/slack/oauth.py",
        "adapters/teams/package.py",
        "adapters/console/session.py",
    ),
}
NAMING_LAYERS = ("bot", "adapters", "storage")


def _practice_modules() -> dict[str, set[str]]:
    """Practice name -> the storage modules its module imports (its own storage may name its kinds)."""
    import importlib
    import pkgutil

    import practices
    from practices.practice import Practice

    found: dict[str, set[str]] = {}
    for info in pkgutil.iter_modules(practices.__path__):
        module = importlib.import_module(f"practices.{info.name}")
        declared = getattr(module, "PRACTICE", None)
        if isinstance(declared, Practice):
            path = ROOT / "practices" / f"{info.name}.py"
            mine = {m for m in imported_modules(path) if m.startswith("storage.")}
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module == "storage":
                    mine |= {f"storage.{alias.name}" for alias in node.names}
            found[declared.name] = {f"{m.replace('.', '/')}.py" for m in mine}
    return found


def _strings(path: Path) -> list[tuple[int, str]]:
    """String constants that are not docstrings (a docstring may explain what a practice does)."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def _patterns() -> dict[str, tuple[str, re.Pattern[str]]]:
    """Each declared word -> (its practice, how it is spelled as that practice's word).

    A ritual kind, a top-level command or a word that is no ordinary English word (``forget-me``,
    ``1on1``) is its practice's wherever it stands; an ordinary word (``team``, ``index``) only when
    typed as a command (``/tend team``), since ``team`` is also a table and a Slack workspace."""
    from bot.practices_registry import default_registry

    found: dict[str, tuple[str, re.Pattern[str]]] = {}
    edge = r"(?<![\w.-]){}(?![\w.-])"
    for practice in default_registry().practices:
        for word in practice.commands:
            if len(word) >= 4:
                plain = word.isalpha()
                spelled = rf"/?tend {re.escape(word)}" if plain else re.escape(word)
                found[word] = (practice.name, re.compile(edge.format(spelled)))
        for word in practice.top_level:
            found[word] = (practice.name, re.compile(edge.format(rf"/?{re.escape(word)}")))
        for kind in practice.rituals:
            found[kind.name] = (practice.name, re.compile(edge.format(re.escape(kind.name))))
    return found


def words_outside_their_practice() -> list[str]:
    owned = _practice_modules()
    patterns = _patterns()
    classes = _command_classes()
    files = [*sorted(p for layer in NAMING_LAYERS for p in (ROOT / layer).rglob("*.py")), ROOT / "app.py"]
    problems: list[str] = []
    for path in files:
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("storage/migrations/"):
            continue  # a migration freezes the data of its day, kinds included
        for line, text in _strings(path):
            for word, (practice, pattern) in patterns.items():
                if pattern.search(text) is None:
                    continue
                if relative in MAY_NAME.get(word, ()) or relative in owned.get(practice, set()):
                    continue
                problems.append(f"{relative}:{line} names “{word}” of the {practice} practice")
        for line, name in _identifiers(path):
            if name in classes:
                problems.append(f"{relative}:{line} uses the command class {name} of {classes[name]}")
    return problems


def _command_classes() -> dict[str, str]:
    """The class of every command the documented examples parse to -> its module."""
    from bot import commands

    found: dict[str, str] = {}
    for example in commands.examples():
        word, _, rest = example.partition(" ")
        parsed = commands.parse(word[1:], rest)
        found[type(parsed).__name__] = type(parsed).__module__
    return found


def _identifiers(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute):
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.ImportFrom):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def test_no_module_outside_a_practice_names_its_commands_or_ritual_kinds():
    """bot, adapters and storage learn the practices' words from the registry, so adding a practice
    is one module (and its storage): nothing else has a list to keep in step."""
    assert words_outside_their_practice() == []


def test_the_naming_check_catches_a_kind_or_a_command_spelled_in_bot(tmp_path, monkeypatch):
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "bad.py").write_text(
        "from practices.rituals import RitualAdd\n"
        'KINDS = ("shoutout-digest",)\n'
        'HINT = "try /tend ritual list"\n'
    )
    (tmp_path / "app.py").write_text('"""Starts /tend team and forget-me (a docstring may say so)."""\n')
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "_practice_modules", dict)
    problems = words_outside_their_practice()
    assert any("“shoutout-digest”" in p for p in problems) and any("“ritual”" in p for p in problems)
    assert any("command class RitualAdd" in p for p in problems)
    assert not any(p.startswith("app.py") for p in problems)
