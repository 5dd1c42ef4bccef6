"""The layering contract, written once: here (docs/architecture.md's "Rules the tests enforce" states
it in words), checked on every import in the tree.

adapters → bot → practices → storage, skipping down allowed, up never; platform SDKs only in their
own adapter; apscheduler only in bot; sqlmodel/sqlalchemy only in storage (and alembic there);
adapters reach Tend's data only through the ports in bot/ports.py (no storage, no connection).
"""

from __future__ import annotations

import ast
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
