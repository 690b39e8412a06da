"""The lexicon: the learnt last word before ``unknown`` (bot/diagnosis/lexicon.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.diagnosis import diagnose
from bot.diagnosis.engine import DEFAULT_ENGINE, Engine, lexicon_may_speak
from bot.diagnosis.extract import extract
from bot.diagnosis.lexicon import (
    DEFAULT_LEXICON,
    LEXICON_PATH,
    Lexicon,
    LexiconError,
)
from bot.diagnosis.redact import redact
from tests.diagnosis import fit_lexicon
from tests.diagnosis.conftest import HERE, LEARNING, load_jsonl

FITTED = fit_lexicon.build()


def test_the_committed_lexicon_is_a_fresh_fit_of_the_learning_pastes() -> None:
    """Adding learning pastes means refitting (python -m tests.diagnosis.fit_lexicon --write)."""
    assert LEXICON_PATH.read_text(encoding="utf-8") == fit_lexicon.dump(FITTED)


def test_on_first_looks_the_lexicon_is_right_more_often_than_the_weak_verdicts() -> None:
    """Measured where no rule was written for the paste: each batch's first looks that the
    table called unknown or read on form alone, the lexicon fitted without that batch. It must
    beat the table there, and the verdicts it changes must be right at least PRECISION of the
    time."""
    ev = FITTED["evaluation"]
    assert isinstance(ev, dict)
    assert ev["first_looks"] >= 300
    assert ev["right_with_lexicon"] > ev["right_by_table"] + 0.05 * ev["first_looks"]
    assert ev["changed_right"] >= fit_lexicon.PRECISION * ev["changed"]


def test_its_confidence_is_low_enough_for_the_reply_to_say_so() -> None:
    from bot.commands.views import LOW_CONFIDENCE

    assert DEFAULT_LEXICON.confidence < LOW_CONFIDENCE


def _learning_texts() -> list[str]:
    return [c["text"] for name in LEARNING for c in load_jsonl(HERE / name)]


def test_it_never_overrides_a_rule_that_names_a_cause() -> None:
    """Wherever the table's verdict rests on more than the paste's form (or on a 5xx), the
    diagnosis is the table's, lexicon or not."""
    bare = Engine(lexicon=None)
    checked = 0
    for text in _learning_texts():
        ex = extract(redact(text))
        verdict = DEFAULT_ENGINE.classifier.weigh(ex)
        if not lexicon_may_speak(verdict, ex):
            d, plain = diagnose(text), bare.diagnose(text)
            assert (d.category, d.confidence) == (plain.category, plain.confidence)
            checked += 1
    assert checked > 1900


def test_a_guess_is_said_at_the_lexicons_confidence_with_the_categorys_words() -> None:
    guessed = 0
    for text in _learning_texts():
        ex = extract(redact(text))
        verdict = DEFAULT_ENGINE.classifier.weigh(ex)
        guess = DEFAULT_LEXICON.guess(ex)
        if lexicon_may_speak(verdict, ex) and guess and guess.category != verdict.category:
            d = diagnose(text)
            assert d.category != "unknown" and d.rule_id is None
            assert d.confidence == DEFAULT_LEXICON.confidence
            assert d.summary and d.actions
            guessed += 1
    assert guessed >= 1


def test_one_word_is_not_enough() -> None:
    assert diagnose("timeout").category == "unknown"
    assert diagnose("").category == "unknown"


def _write(tmp_path: Path, **change: object) -> Path:
    data = {"threshold": 0.9, "confidence": 0.7, "docs": {"network": 5, "unknown": 5},
            "counts": {"timeout": {"network": 4}}}
    data.update(change)
    path = tmp_path / "lexicon.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_small_file_loads_and_guesses(tmp_path: Path) -> None:
    lex = Lexicon.load(_write(tmp_path))
    post = lex.posterior({"timeout"})
    assert post["network"] > post["unknown"]


@pytest.mark.parametrize("change,words", [
    ({"docs": {"netwrk": 5}}, "unknown or no categories"),
    ({"threshold": 1.5}, "between 0 and 1"),
    ({"counts": {"timeout": {"network": 9}}}, "impossible count"),
    ({"counts": {"timeout": {"nope": 1}}}, "unknown category"),
    ({"docs": {"network": 0}}, "at least one paste"),
])
def test_a_bad_file_is_refused_in_one_line(tmp_path: Path, change: dict[str, object],
                                           words: str) -> None:
    with pytest.raises(LexiconError) as err:
        Lexicon.load(_write(tmp_path, **change))
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_missing_file_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match="lexicon.json"):
        Lexicon.load(tmp_path / "lexicon.json")
