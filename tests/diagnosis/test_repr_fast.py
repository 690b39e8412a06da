"""The C-speed path for Python reprs (``extract._repr_as_json``) gives what the token walk
gives: the same object, end and remaining budget, on reprs built to hit its edge cases."""

from __future__ import annotations

import random
from typing import Any

import pytest

from bot.diagnosis import extract as X

_PIECES = ["a", " ", "'", '"', "\\", "None", "True", "False", "{", "}", "[", "]", "(", ")", ":",
           ",", "\n", "\t", "é", "1", "\\x41", "\\'", "null", "\\u0027", "NaN", "NoneTrue"]


def _walk(text: str, start: int, budget: X._Budget, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as m:
        m.setattr(X, "_repr_as_json", lambda *args: None)
        return X.parse_repr_at(text, start, budget)


def _value(rnd: random.Random, depth: int) -> Any:
    kind = rnd.randrange(7 if depth < 4 else 3)
    if kind == 0:
        return "".join(rnd.choice(_PIECES) for _ in range(rnd.randrange(6)))
    if kind == 1:
        return rnd.choice([None, True, False, 1, -2.5, 0])
    if kind == 2:
        return rnd.randrange(1000)
    if kind in (3, 4):
        return {_value(rnd, 9): _value(rnd, depth + 1) for _ in range(rnd.randrange(4))}
    if kind == 5:
        return [_value(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    return tuple(_value(rnd, depth + 1) for _ in range(rnd.randrange(3)))


# (the walk's literal_eval fallback warns about the invalid escapes these reprs are built with)
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")
def test_repr_fast_path_matches_the_token_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(1)
    fast = 0
    for _ in range(4000):
        text = repr({_value(rnd, 9): _value(rnd, 0) for _ in range(rnd.randrange(1, 4))})
        if rnd.random() < 0.5:
            at = rnd.randrange(len(text) + 1)
            text = text[:at] + rnd.choice(_PIECES) + text[at:]
        if rnd.random() < 0.2:
            text = text[:rnd.randrange(len(text) + 1)]
        text = rnd.choice(["", "Error: "]) + text + rnd.choice(["", " tail", "}"])
        start = text.find("{")
        if start < 0:
            continue
        steps = rnd.choice([X.STEP_BUDGET, rnd.randrange(1, 40)])
        walked, quick = X._Budget(steps), X._Budget(steps)
        expected = _walk(text, start, walked, monkeypatch)
        assert repr(X.parse_repr_at(text, start, quick)) == repr(expected), text
        assert quick.steps == walked.steps, text
        fast += X._repr_as_json(text, start, X._Budget(steps)) is not None
    assert fast > 50  # the fast path was taken, not only the fallback


@pytest.mark.parametrize("depth", [47, 48, 49, 60])
def test_repr_fast_path_keeps_the_depth_limit(depth: int, monkeypatch: pytest.MonkeyPatch) -> None:
    value: Any = "x"
    for _ in range(depth):
        value = {"k": value}
    text = repr(value)
    walked, quick = X._Budget(X.STEP_BUDGET), X._Budget(X.STEP_BUDGET)
    assert repr(X.parse_repr_at(text, 0, quick)) == repr(_walk(text, 0, walked, monkeypatch))
    assert quick.steps == walked.steps
