"""Signal kinds are declared by the practice that records them, and the index reads only declared kinds.

No central list of kinds exists (practices/signals.py takes any name): a kind a practice records
but does not declare in its ``PRACTICE``, or one the index reads that no practice declares, is a
typo or a forgotten declaration, and these tests name it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from collections import Counter
from types import ModuleType

import pytest

import practices
from bot.practices_registry import default_registry
from practices import compassion_index_maths, signals
from practices.practice import Practice


def practice_modules() -> list[tuple[ModuleType, Practice]]:
    """Every module of the practices package with a ``PRACTICE``, and that practice."""
    found = []
    for info in pkgutil.iter_modules(practices.__path__):
        module = importlib.import_module(f"practices.{info.name}")
        declared = getattr(module, "PRACTICE", None)
        if isinstance(declared, Practice):
            found.append((module, declared))
    return found


def _strings(node: ast.expr) -> list[str]:
    """The string constants an argument can be: "a", or "a" if x else "b"."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def recorded_kinds(module: ModuleType) -> set[str]:
    """Kinds the module passes to ``signals.record`` (or to a helper of its own named ``record_*``),
    the kinds of the (team, kind, count) tuples of a module calling ``signals.record_many``, and the
    contributor kinds its ``signals.contributed`` (or ``newly_contributed``) families bump; a name is
    followed when it was assigned a string or a conditional of strings."""
    tree = ast.parse(inspect.getsource(module))
    assigned: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assigned.setdefault(node.targets[0].id, []).extend(_strings(node.value))

    def values(node: ast.expr | None) -> list[str]:
        if node is None:
            return []
        if isinstance(node, ast.Name):
            return assigned.get(node.id, [])
        return _strings(node)

    def arguments(call: ast.Call) -> list[str]:
        given = [*call.args, *(keyword.value for keyword in call.keywords)]
        return [value for node in given for value in values(node)]

    own_helpers = {
        node.name for node in ast.walk(tree) if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
    }
    enclosing = {
        inner: function
        for function in ast.walk(tree)
        if isinstance(function, ast.AsyncFunctionDef | ast.FunctionDef)
        for inner in ast.walk(function)
    }
    kinds: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "signals"
        ):
            if func.attr == "record":
                kinds.update(arguments(node))
            elif func.attr == "record_many":  # its counts: (team, kind, count) tuples in the same function
                kinds.update(
                    kind
                    for tuple_ in ast.walk(enclosing[node])
                    if isinstance(tuple_, ast.Tuple) and len(tuple_.elts) == 3
                    for kind in values(tuple_.elts[1])
                )
            elif func.attr in ("contributed", "newly_contributed"):
                kinds.update(
                    signals.contributor_kind(f) for f in arguments(node) if f in signals.KEPT_FAMILIES
                )
        elif isinstance(func, ast.Name) and func.id.startswith("record_") and func.id in own_helpers:
            kinds.update(arguments(node))  # a helper of the module's own around signals.record
    return kinds


def test_every_practice_module_is_found():
    names = {practice.name for _, practice in practice_modules()}
    assert {"shoutouts", "one_on_ones", "meeting_openers", "stress_reports"} <= names


@pytest.mark.parametrize("module, practice", practice_modules(), ids=lambda item: getattr(item, "name", ""))
def test_a_practice_declares_every_kind_it_records(module: ModuleType, practice: Practice):
    undeclared = recorded_kinds(module) - set(practice.signals)
    assert not undeclared, f"{practice.name} records {sorted(undeclared)} without declaring them in PRACTICE"


def test_the_kinds_the_finders_see_are_real():
    """The scan above finds what the shout-outs practice records, so an empty scan is no pass."""
    [(module, _)] = [(m, p) for m, p in practice_modules() if p.name == "shoutouts"]
    assert recorded_kinds(module) == {"shoutout_given", "shoutout_contagion", "contributor_shoutout"}


def test_the_index_reads_only_declared_kinds():
    declared = {kind for practice in default_registry().practices for kind in practice.signals}
    assert set(compassion_index_maths.KINDS) - declared == set()


def test_no_kind_is_declared_by_two_practices():
    counts = Counter(kind for practice in default_registry().practices for kind in set(practice.signals))
    assert [kind for kind, n in counts.items() if n > 1] == []
