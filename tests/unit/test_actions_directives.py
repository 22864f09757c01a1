"""Directive comments: markers per language, finding a directive from any of its lines, listing them."""

from __future__ import annotations

import pytest

from hoody_lsp.actions.directives import (
    Directive,
    directive_span,
    find_directive,
    find_directives,
    line_comment_marker,
    line_comment_markers,
    strip_directive_echo,
)


@pytest.mark.parametrize(
    ("language_id", "marker"),
    [
        ("python", "#"),
        ("ruby", "#"),
        ("shellscript", "#"),
        ("yaml", "#"),
        ("toml", "#"),
        ("perl", "#"),
        ("r", "#"),
        ("c", "//"),
        ("cpp", "//"),
        ("java", "//"),
        ("javascript", "//"),
        ("typescript", "//"),
        ("javascriptreact", "//"),
        ("typescriptreact", "//"),
        ("go", "//"),
        ("rust", "//"),
        ("swift", "//"),
        ("kotlin", "//"),
        ("scala", "//"),
        ("csharp", "//"),
        ("php", "//"),
        ("dart", "//"),
        ("lua", "--"),
        ("sql", "--"),
        ("haskell", "--"),
        ("elm", "--"),
        ("ada", "--"),
        ("lisp", ";"),
        ("clojure", ";"),
        ("vim", '"'),
        ("latex", "%"),
        ("erlang", "%"),
        ("Python", "#"),  # ids are compared without case
        ("no-such-language", None),
    ],
)
def test_line_comment_marker(language_id: str, marker: str | None) -> None:
    assert line_comment_marker(language_id) == marker


def test_unknown_languages_try_hash_and_slashes() -> None:
    assert line_comment_markers("no-such-language") == ("#", "//")
    assert find_directive("# hoody: a\n", 0, "no-such-language") is not None
    assert find_directive("// hoody: a\n", 0, "no-such-language") is not None
    assert find_directive("-- hoody: a\n", 0, "no-such-language") is None


PYTHON = """\
def f():
    # hoody: add retry
    # with backoff
    #   and jitter
    return call()
"""


@pytest.mark.parametrize("line", [1, 2, 3])
def test_find_directive_from_any_of_its_lines(line: int) -> None:
    assert find_directive(PYTHON, line, "python") == Directive(1, 3, "    ", "add retry\nwith backoff\nand jitter", "#")


@pytest.mark.parametrize("line", [0, 4, 5, 99, -1])
def test_no_directive_outside_it(line: int) -> None:
    assert find_directive(PYTHON, line, "python") is None


@pytest.mark.parametrize(
    ("text", "language_id", "expected"),
    [
        ("// hoody: make it async\n", "typescript", Directive(0, 0, "", "make it async", "//")),
        ("\t-- hoody: index this\n", "sql", Directive(0, 0, "\t", "index this", "--")),
        (";; hoody: memoize\n", "clojure", Directive(0, 0, "", "memoize", ";")),
        ("## Hoody: case does not matter\n", "python", Directive(0, 0, "", "case does not matter", "#")),
        ("#hoody:no space\n", "python", Directive(0, 0, "", "no space", "#")),
        ("/// HOODY: doc comment style\n", "rust", Directive(0, 0, "", "doc comment style", "//")),
        ('" hoody: remap\n', "vim", Directive(0, 0, "", "remap", '"')),
        ("% hoody: add a table\n", "latex", Directive(0, 0, "", "add a table", "%")),
        # CRLF lines
        ("x\r\n  # hoody: a\r\n  # b\r\ny\r\n", "python", Directive(1, 2, "  ", "a\nb", "#")),
        # the continuation needs the same marker
        ("// hoody: a\n# b\n", "no-such-language", Directive(0, 0, "", "a", "//")),
    ],
)
def test_directive_forms(text: str, language_id: str, expected: Directive) -> None:
    assert find_directive(text, expected.start_line, language_id) == expected


@pytest.mark.parametrize(
    ("text", "language_id"),
    [
        ("x = 1  # hoody: trailing comments are not directives\n", "python"),
        ("# hoodie: not the keyword\n", "python"),
        ("# note hoody: not at the start of the comment\n", "python"),
        ("# hoody:\n", "python"),  # an empty instruction
        ("// hoody: wrong marker for the language\n", "python"),
        ("/* hoody: block comments are not line comments */\n", "c"),
        ('s = "# hoody: inside a string"\n', "python"),
    ],
)
def test_not_directives(text: str, language_id: str) -> None:
    assert find_directive(text, 0, language_id) is None
    assert find_directives(text, language_id) == []


def test_empty_first_line_takes_its_continuation() -> None:
    assert find_directive("# hoody:\n# write a parser\n", 1, "python") == Directive(0, 1, "", "write a parser", "#")


def test_a_new_hoody_line_starts_a_new_directive() -> None:
    text = "# hoody: first\n# more first\n# hoody: second\n# more second\nx = 1\n"
    assert find_directives(text, "python") == [
        Directive(0, 1, "", "first\nmore first", "#"),
        Directive(2, 3, "", "second\nmore second", "#"),
    ]
    assert find_directive(text, 3, "python") == Directive(2, 3, "", "second\nmore second", "#")
    assert find_directive(text, 1, "python") == Directive(0, 1, "", "first\nmore first", "#")


def test_a_blank_line_ends_the_continuation() -> None:
    text = "# hoody: one\n\n# not part of it\n"
    assert find_directive(text, 0, "python") == Directive(0, 0, "", "one", "#")
    assert find_directive(text, 2, "python") is None


def test_comment_lines_above_a_directive_are_not_part_of_it() -> None:
    text = "# a plain comment\n# hoody: do it\n"
    assert find_directive(text, 0, "python") is None
    assert find_directive(text, 1, "python") == Directive(1, 1, "", "do it", "#")


def test_find_directives_in_a_larger_file() -> None:
    text = "\n".join(["x = 1"] * 500 + ["    # hoody: here"] + ["y = 2"] * 500)
    assert find_directives(text, "python") == [Directive(500, 500, "    ", "here", "#")]


@pytest.mark.parametrize(
    ("text", "span_text"),
    [
        (PYTHON, "    # hoody: add retry\n    # with backoff\n    #   and jitter\n"),
        ("x\r\n# hoody: a\r\n", "# hoody: a\r\n"),
        ("x\n# hoody: at the end without break", "# hoody: at the end without break"),
    ],
)
def test_directive_span(text: str, span_text: str) -> None:
    directive = find_directives(text, "python")[0]
    start, end = directive_span(text, directive)
    assert text[start:end] == span_text


def test_strip_directive_echo() -> None:
    code = "# hoody: add retry\n# with backoff\nfor attempt in range(3):\n    # a normal comment\n    call()\n"
    assert strip_directive_echo(code, "python") == "for attempt in range(3):\n    # a normal comment\n    call()\n"
    assert strip_directive_echo("x = 1\n", "python") == "x = 1\n"
