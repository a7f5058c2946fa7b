"""User regular expressions on agent text: bounded in time, clear errors, ``re`` flags honoured."""

from __future__ import annotations

import re

import pytest

from russo_nb.errors import InvalidArgumentError, PatternTimeoutError, RussoError
from russo_nb.user_regex import compile_user_pattern, search_texts


def test_catastrophic_pattern_raises_a_clear_timeout_instead_of_hanging():
    compiled = compile_user_pattern(r"(a|aa)+$")
    with pytest.raises(PatternTimeoutError) as info:
        search_texts(compiled, ["short", "a" * 40 + "b"], timeout_s=0.2)
    assert isinstance(info.value, RussoError) and isinstance(info.value, TimeoutError)
    message = str(info.value)
    assert "(a|aa)+$" in message and "timed out after 0.2s" in message and "41-character" in message


def test_ordinary_search_finds_the_first_match_and_honours_re_flags():
    texts = ["nothing here", "Booked: REF abc123", "ref XYZ999"]
    match = search_texts(compile_user_pattern(r"ref [a-z]{3}\d{3}", re.IGNORECASE), texts)
    assert match.group(0) == "REF abc123"
    assert search_texts(compile_user_pattern(r"ref [a-z]{3}\d{3}"), texts) is None  # case-sensitive without the flag
    assert search_texts(compile_user_pattern(r"\w+", re.ASCII), ["é x"]).group(0) == "x"  # re.ASCII (256) mapped
    assert search_texts(compile_user_pattern(r"^b", re.MULTILINE), ["a\nb"]).group(0) == "b"


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: compile_user_pattern("(", where="text_matches('(')"), "text_matches('(')"),
        (lambda: compile_user_pattern(3), "must be a string"),
        (lambda: compile_user_pattern("a", 1 << 20), "unsupported"),
        (lambda: search_texts(compile_user_pattern("a"), ["a"], timeout_s=0), "> 0"),
    ],
)
def test_bad_input_is_a_one_line_invalid_argument_error(call, words):
    with pytest.raises(InvalidArgumentError) as info:
        call()
    assert words in str(info.value) and "\n" not in str(info.value)
