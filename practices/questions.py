"""The check-in questions a manager can open a 1:1 with, the feedback template, and the rotation rule.

The words live in ``practices/data/`` so they can be reviewed and translated without touching code.
The rotation goes through the whole library before any question comes back, so a pair never hears the
same opener twice in a row or twice in a cycle; each pair gets its own order, derived from a seed
with a hash rather than ``random`` so the order stays the same across Python versions and replicas.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

THEMES = ("wellbeing", "workload", "support", "recognition", "growth", "connection")
FEEDBACK_PARTS = ("situation", "behaviour", "impact", "support")


class QuestionDataError(ValueError):
    """A packaged data file is malformed; caught by the tests, never by people using Tend."""


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    theme: str


@dataclass(frozen=True)
class FeedbackPart:
    key: str
    title: str
    prompt: str
    example: str


@dataclass(frozen=True)
class FeedbackTemplate:
    title: str
    intro: str
    parts: tuple[FeedbackPart, ...]


@cache
def load_questions() -> tuple[Question, ...]:
    """The check-in library, read once per process."""
    raw = _read_json("checkin_questions.json")
    if not isinstance(raw, list) or not raw:
        raise QuestionDataError("checkin_questions.json must be a non-empty list")
    questions = tuple(
        Question(
            id=_text(item, "id"),
            text=_text(item, "text"),
            theme=_text(item, "theme"),
        )
        for item in raw
    )
    _unique("id", [question.id for question in questions])
    _unique("text", [" ".join(question.text.casefold().split()) for question in questions])
    for question in questions:
        if question.theme not in THEMES:
            raise QuestionDataError(f"question {question.id} has unknown theme {question.theme!r}")
    return questions


@cache
def load_feedback_template() -> FeedbackTemplate:
    """The situation → behaviour → impact → offer-of-support template, read once per process."""
    raw = _read_json("feedback_template.json")
    if not isinstance(raw, dict) or not isinstance(raw.get("parts"), list):
        raise QuestionDataError("feedback_template.json must be an object with a list of parts")
    parts = tuple(
        FeedbackPart(
            key=_text(part, "key"),
            title=_text(part, "title"),
            prompt=_text(part, "prompt"),
            example=_text(part, "example"),
        )
        for part in raw["parts"]
    )
    if tuple(part.key for part in parts) != FEEDBACK_PARTS:
        raise QuestionDataError(f"feedback template parts must be {', '.join(FEEDBACK_PARTS)}, in order")
    return FeedbackTemplate(title=_text(raw, "title"), intro=_text(raw, "intro"), parts=parts)


def next_question(questions: tuple[Question, ...], asked_ids: Sequence[str], seed: int) -> Question:
    """The next opener for a pair, given every id asked so far (oldest first).

    The history is replayed in cycles: a cycle ends once every question in the library has been asked,
    so questions added later join the current cycle and removed ones are ignored. The pick is the first
    question not yet asked this cycle in the pair's order for the cycle (seeded by ``seed``, e.g. the
    pair's id, and the cycle number, so cycles differ too); a new cycle never opens with the question
    that was just asked, unless the library has only one.
    """
    if not questions:
        raise ValueError("the question library is empty")
    by_id = {question.id: question for question in questions}
    cycle, asked_this_cycle = 0, set[str]()
    for asked in asked_ids:
        if asked not in by_id:
            continue
        asked_this_cycle.add(asked)
        if len(asked_this_cycle) == len(by_id):
            cycle, asked_this_cycle = cycle + 1, set()
    remaining = sorted(
        (question_id for question_id in by_id if question_id not in asked_this_cycle),
        key=lambda question_id: _rank(seed, cycle, question_id),
    )
    last_asked = next((asked for asked in reversed(asked_ids) if asked in by_id), None)
    if len(remaining) > 1 and remaining[0] == last_asked:
        return by_id[remaining[1]]
    return by_id[remaining[0]]


def _rank(seed: int, cycle: int, question_id: str) -> bytes:
    return hashlib.sha256(f"{seed}:{cycle}:{question_id}".encode()).digest()


def _read_json(name: str) -> Any:
    path = resources.files("practices") / "data" / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise QuestionDataError(f"cannot read {name}: {error}") from error


def _text(item: object, key: str) -> str:
    value = item.get(key) if isinstance(item, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise QuestionDataError(f"{key!r} must be a non-empty string in {item!r}")
    return value.strip()


def _unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise QuestionDataError(f"duplicate question {what}: {value!r}")
        seen.add(value)
