"""The check-in library and its rotation: no opener repeats for a pair until all have been used."""

from __future__ import annotations

import json
from importlib import resources
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import practices.questions as questions_module
from practices.questions import (
    FEEDBACK_PARTS,
    THEMES,
    Question,
    QuestionDataError,
    load_feedback_template,
    load_questions,
    next_question,
)


def ask(
    questions: tuple[Question, ...], seed: int, count: int, history: list[str] | None = None
) -> list[str]:
    asked = list(history or [])
    for _ in range(count):
        asked.append(next_question(questions, asked, seed).id)
    return asked


def test_library_has_enough_distinct_questions() -> None:
    questions = load_questions()
    assert len(questions) >= 30
    assert len({question.id for question in questions}) == len(questions)
    assert len({question.text.casefold() for question in questions}) == len(questions)
    assert all(question.text.strip() and question.text.endswith("?") for question in questions)


def test_library_covers_every_theme() -> None:
    themes = {question.theme for question in load_questions()}
    assert themes == set(THEMES)


def test_library_stays_away_from_health_and_private_life() -> None:
    probing = (
        "health",
        "sick",
        "illness",
        "medical",
        "therapy",
        "family",
        "relationship",
        "sleep",
        "diagnos",
    )
    for question in load_questions():
        assert not any(word in question.text.casefold() for word in probing), question


def test_library_is_loaded_once() -> None:
    assert load_questions() is load_questions()


def test_data_file_is_the_documented_shape() -> None:
    raw = json.loads((resources.files("practices") / "data" / "checkin_questions.json").read_text("utf-8"))
    assert all(set(item) == {"id", "text", "theme"} for item in raw)


def test_a_cycle_uses_every_question_once() -> None:
    questions = load_questions()
    asked = ask(questions, seed=42, count=len(questions))
    assert sorted(asked) == sorted(question.id for question in questions)


def test_several_cycles_never_repeat_within_a_cycle_or_across_the_boundary() -> None:
    questions = load_questions()
    size = len(questions)
    asked = ask(questions, seed=7, count=size * 4)
    for cycle in range(4):
        assert len(set(asked[cycle * size : (cycle + 1) * size])) == size
    assert all(first != second for first, second in pairwise(asked))


def test_same_seed_and_history_give_the_same_question() -> None:
    questions = load_questions()
    history = ask(questions, seed=3, count=10)
    assert next_question(questions, history, 3) == next_question(questions, list(history), 3)
    assert ask(questions, seed=3, count=40) == ask(questions, seed=3, count=40)


def test_different_seeds_give_different_orders() -> None:
    questions = load_questions()
    orders = {tuple(ask(questions, seed=seed, count=len(questions))) for seed in range(1, 6)}
    assert len(orders) == 5
    assert len({order[0] for order in orders}) > 1


def test_new_cycle_does_not_open_with_the_question_just_asked() -> None:
    questions = load_questions()
    for seed in range(200):
        cycle = ask(questions, seed=seed, count=len(questions))
        assert next_question(questions, cycle, seed).id != cycle[-1]


def test_cycles_come_in_different_orders() -> None:
    questions = load_questions()
    size = len(questions)
    asked = ask(questions, seed=11, count=size * 2)
    assert asked[:size] != asked[size:]


def test_questions_added_later_join_the_current_cycle() -> None:
    questions = load_questions()
    history = ask(questions, seed=5, count=len(questions) - 1)
    extra = Question("q99", "What would you like to talk about first today?", "connection")
    asked = ask((*questions, extra), seed=5, count=2, history=history)
    assert set(asked[-2:]) == {extra.id, *(set(q.id for q in questions) - set(history))}


def test_ids_no_longer_in_the_library_are_ignored() -> None:
    questions = load_questions()[:3]
    assert next_question(questions, ["gone", "q01", "removed"], 1).id != "q01"


def test_a_one_question_library_repeats_it() -> None:
    only = load_questions()[:1]
    assert ask(only, seed=1, count=3) == [only[0].id] * 3


def test_an_empty_library_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        next_question((), [], 1)


@settings(max_examples=100, deadline=None)
@given(size=st.integers(2, 12), seed=st.integers(), cycles=st.integers(1, 4))
def test_rotation_for_any_library(size: int, seed: int, cycles: int) -> None:
    questions = tuple(Question(f"x{index}", f"Question {index}?", "support") for index in range(size))
    asked = ask(questions, seed=seed, count=size * cycles)
    for cycle in range(cycles):
        assert sorted(asked[cycle * size : (cycle + 1) * size]) == sorted(q.id for q in questions)
    assert all(first != second for first, second in pairwise(asked))


def test_feedback_template_has_exactly_the_four_parts() -> None:
    template = load_feedback_template()
    assert tuple(part.key for part in template.parts) == FEEDBACK_PARTS
    assert [part.title for part in template.parts] == ["Situation", "Behaviour", "Impact", "Offer of support"]
    for part in template.parts:
        assert part.prompt and "\n" not in part.prompt
        assert part.example
    assert template.title


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ([], "non-empty list"),
        (
            [{"id": "a", "text": "One?", "theme": "growth"}, {"id": "a", "text": "Two?", "theme": "growth"}],
            "id",
        ),
        (
            [
                {"id": "a", "text": "Same?", "theme": "growth"},
                {"id": "b", "text": "same? ", "theme": "growth"},
            ],
            "text",
        ),
        ([{"id": "a", "text": "  ", "theme": "growth"}], "'text'"),
        ([{"id": "a", "text": "One?", "theme": "health"}], "theme"),
    ],
)
def test_a_malformed_library_is_refused(monkeypatch: pytest.MonkeyPatch, raw: object, problem: str) -> None:
    monkeypatch.setattr(questions_module, "_read_json", lambda name: raw)
    with pytest.raises(QuestionDataError, match=problem):
        questions_module.load_questions.__wrapped__()


def test_a_template_with_a_missing_part_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    template = json.loads(
        (resources.files("practices") / "data" / "feedback_template.json").read_text("utf-8")
    )
    del template["parts"][2]
    monkeypatch.setattr(questions_module, "_read_json", lambda name: template)
    with pytest.raises(QuestionDataError, match="situation, behaviour, impact, support"):
        questions_module.load_feedback_template.__wrapped__()
