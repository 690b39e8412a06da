"""One paste, one message (Contract 2): a blank line ends a message only when it is complete."""

from __future__ import annotations

import pytest

from adapters.shell.assemble import MessageAssembler, split_messages, waiting_for
from tests.shell.cases import CHAINED_TRACEBACK, PRETTY_JSON, SEED


def _lines(*parts: str) -> list[str]:
    return "\n".join(parts).split("\n")


def test_a_chained_traceback_with_blank_lines_is_one_message():
    assert split_messages(_lines(CHAINED_TRACEBACK, "")) == [CHAINED_TRACEBACK]


def test_pretty_printed_json_with_a_blank_line_inside_is_one_message():
    assert split_messages(_lines(PRETTY_JSON, "")) == [PRETTY_JSON]


def test_messages_separated_by_blank_lines_and_commands_on_their_own_lines():
    msgs = split_messages(_lines("/sora help", "sora status", "", CHAINED_TRACEBACK, "", "",
                                 PRETTY_JSON, "", "HELP", SEED, ""))
    assert msgs == ["/sora help", "sora status", CHAINED_TRACEBACK, PRETTY_JSON, "HELP", SEED]


def test_a_command_right_after_a_held_message_sends_both_in_order():
    a = MessageAssembler()
    assert a.feed("openai.APIConnectionError: Connection error.") == []
    assert a.feed("") == [] and a.held
    assert a.feed("/sora status") == ["openai.APIConnectionError: Connection error.", "/sora status"]


@pytest.mark.parametrize("lines, why", [
    (['{"error": {', '  "message": "x"'], "a {…} object is still open"),
    (["[1, 2,"], "a […] list is still open"),
    (['{"error": "unterminated'], 'a "…" string is still open'),
    (["Traceback (most recent call last):", '  File "x", line 1'],
     "the traceback has not reached its exception line"),
    (["ValueError: a", "", "The above exception was the direct cause of the following exception:"],
     "the traceback has not reached its exception line"),
    (["Response body:"], "the last line ends with ':'"),
])
def test_what_it_waits_for_is_said_in_words(lines, why):
    assert waiting_for(["Traceback (most recent call last):", *lines] if "The above" in str(lines)
                       else lines) == why


def test_an_apostrophe_in_prose_does_not_hold_the_message_open():
    assert waiting_for(["Error: the model can't be found (404)"]) is None


def test_a_dot_sends_an_incomplete_paste_and_end_of_input_sends_the_rest():
    a = MessageAssembler()
    a.feed('{"error": {"message": "cut off')
    assert a.feed("") == [] and a.waiting_for() == 'a "…" string is still open'
    assert a.feed(".") == ['{"error": {"message": "cut off']
    assert split_messages(['{"error": {']) == ['{"error": {']


def test_a_bracketed_paste_is_sent_whole_when_complete():
    a = MessageAssembler()
    assert a.feed_chunk(CHAINED_TRACEBACK + "\n") == [CHAINED_TRACEBACK]
    assert a.feed_chunk('{"error": {\n  "message": "x",\n') == [] and a.pending
    assert a.feed('}}') == [] and a.feed("") == [] and a.held
    assert a.flush() == ['{"error": {\n  "message": "x",\n}}']


def test_a_paste_that_starts_with_a_commands_name_is_a_paste():
    paste = 'status 503 Service Unavailable {"error":{"message":"overloaded","type":"server_error"}}'
    assert split_messages([paste, ""]) == [paste]
    assert split_messages(["status", ""]) == ["status"]
