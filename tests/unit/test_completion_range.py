"""The suggestion's range (`extend_word_range`) and typing through a shown suggestion (`advance`)."""

from __future__ import annotations

import pytest

from hoody_lsp.completion import advance, clean, extend_word_range, split_cursor
from hoody_lsp.completion.postprocess import CursorContext
from hoody_lsp.completion.text import last_line


@pytest.mark.parametrize(
    ("line_prefix", "text", "expected"),
    [
        ("x = pri", "print(x)", (3, "print(x)")),  # the range covers the typed `pri`
        ("x = pri", "nt(x)", (0, "nt(x)")),  # a plain continuation
        ("x = pri", "pri", (0, "")),  # repeats the word and adds nothing
        ("foo.ba", "foo.bar()", (0, "r()")),  # repeats more than the word: dropped
        ("if a && ", "&& b", (0, "b")),
        ("x = ", "1", (0, "1")),
        ("x = cafe\u0301", "cafe\u0301_cre\u0300me", (5, "cafe\u0301_cre\u0300me")),  # code points
        ("名前 = 日本", "日本語", (2, "日本語")),
        ("🎉 = pr", "print()", (2, "print()")),
        ("xfoo.", "foo.bar", (0, "foo.bar")),  # `foo.` inside `xfoo.` is no repetition
        ("print(", "(x)", (0, "(x)")),  # one character is too little to call it an echo
        ("", "abc", (0, "abc")),
        ("def f():\n    pri", "print(1)", (3, "print(1)")),  # only the cursor line counts
        ("naïve_😋", "naïve_😋_total = 1", (7, "naïve_😋_total = 1")),
    ],
)
def test_extend_word_range(line_prefix: str, text: str, expected: tuple[int, str]) -> None:
    assert extend_word_range(line_prefix, text) == expected


def test_range_and_clean_together_rebuild_the_line() -> None:
    marked = "values = [1, 2]\ntotal = su║"
    prefix, suffix = split_cursor(marked)
    text = clean("sum(values)\n", CursorContext(prefix, suffix, "python", "    "))
    back, insert = extend_word_range(last_line(prefix), text)
    assert prefix[: len(prefix) - back] + insert + suffix == "values = [1, 2]\ntotal = sum(values)"


@pytest.mark.parametrize(
    ("suggestion", "typed", "expected"),
    [
        ("print(x)", "", "print(x)"),
        ("print(x)", "pr", "int(x)"),
        ("print(x)", "print(x)", ""),  # typed through to the end
        ("print(x)", "pa", None),  # diverged
        ("print(x)", "print(y)", None),
        ("print(x)", "print(", "x)"),  # the auto-closed `)` is after the cursor, not in `typed`
        ("print(x)", "print()", "x"),  # ... or in `typed`: it is already in the document
        ('say("hi")', 'say("")', "hi"),
        ("[1, 2]", "[]", "1, 2"),
        ("f(x) + 1", "f()", None),  # the rest would have to go around the closer
        ("a\nb", "a\r\n", "b"),
        ("x = 🎉 + 1", "x = 🎉", " + 1"),
    ],
)
def test_advance(suggestion: str, typed: str, expected: str | None) -> None:
    assert advance(suggestion, typed) == expected
