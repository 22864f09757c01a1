"""Prompt shaping: the prefix/suffix window, the indent unit, when to ask, and one line vs a block."""

from __future__ import annotations

import pytest

from hoody_lsp.completion import detect_indent, in_middle_of_word, multiline_mode, should_request, window
from hoody_lsp.completion.text import first_line, last_line, split_cursor

TEN_LINES = "".join(f"line{i:02d}\n" for i in range(10))  # 7 characters a line


# --- window -------------------------------------------------------------------------------------------------


def test_window_whole_document_when_it_fits() -> None:
    text = "import os\n\ndef f():\n    return 1\n"
    offset = text.index("return")
    assert window(text, offset) == (text[:offset], text[offset:])


def test_window_cuts_at_line_boundaries_keeping_the_cursor_line_whole() -> None:
    offset = 5 * 7 + 2  # "li|ne05"
    prefix, suffix = window(TEN_LINES, offset, prefix_chars=16, suffix_chars=12)
    assert prefix == "line03\nline04\nli"
    assert suffix == "ne05\nline06"


def test_window_gives_the_unused_suffix_budget_to_the_prefix() -> None:
    offset = 9 * 7 + 3  # "lin|e09", only 4 characters after it
    prefix, suffix = window(TEN_LINES, offset, prefix_chars=10, suffix_chars=20)
    assert suffix == "e09\n"
    assert prefix == "line06\nline07\nline08\nlin"  # 24 characters: 10 + the 16 the suffix left


def test_window_gives_the_unused_prefix_budget_to_the_suffix() -> None:
    offset = 3  # "lin|e00"
    prefix, suffix = window(TEN_LINES, offset, prefix_chars=10, suffix_chars=10)
    assert prefix == "lin"
    assert suffix == "e00\nline01\nline02"  # 17 characters: 10 + the 7 the prefix left, line-aligned


def test_window_cursor_line_longer_than_the_budget_keeps_the_nearest_characters() -> None:
    text = "a" * 50 + "b" * 50
    assert window(text, 50, prefix_chars=10, suffix_chars=10) == ("a" * 10, "b" * 10)


def test_window_counts_code_points_with_emoji_and_cjk() -> None:
    marked = "# 🎉🎉🎉\nname = '日本語║'\nprint(name)\n"
    text = marked.replace("║", "")
    offset = marked.index("║")
    prefix, suffix = window(text, offset)
    assert prefix.endswith("日本語") and suffix.startswith("'\n")
    # 6 code points of first line + 11 of cursor line: fits 17 exactly (UTF-16 would count 20), not 16
    prefix, _ = window(text, offset, prefix_chars=17, suffix_chars=0)
    assert prefix == "# 🎉🎉🎉\nname = '日本語"
    prefix, _ = window(text, offset, prefix_chars=16, suffix_chars=0)
    assert prefix == "name = '日本語"


def test_window_crlf_lines_stay_whole() -> None:
    text = "a = 1\r\nb = 2\r\nc = 3\r\n"
    offset = text.index("c")
    prefix, _ = window(text, offset, prefix_chars=8, suffix_chars=0)
    assert prefix == "b = 2\r\n"


def test_window_clamps_offsets() -> None:
    assert window("abc", 99) == ("abc", "")
    assert window("abc", -5) == ("", "abc")


# --- detect_indent ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tab_size", "insert_spaces", "unit"),
    [
        ("def f():\n    if x:\n        return 1\n    return 2\n", None, None, "    "),
        ("function f() {\n  if (x) {\n    return 1;\n  }\n}\n", None, None, "  "),
        ("func f() {\n\tif x {\n\t\treturn\n\t}\n}\n", None, None, "\t"),
        ("", None, None, "    "),
        ("x = 1\ny = 2\n", None, None, "    "),
        ("/**\n * Doc.\n * More.\n */\nfunction f() {\n    return 1;\n}\n", None, None, "    "),
        ("if x:\r\n  y()\r\n  z()\r\n", None, None, "  "),
        ("def f():\n    pass\n", None, False, "\t"),  # the editor's options win
        ("def f():\n    pass\n", 2, True, "  "),
        ("", 2, None, "  "),  # nothing to detect: the editor's tab size
        ("a:\n  b:\n    c: 1\n", 8, None, "  "),  # a tab size alone does not override what the text shows
        ("class A:\n    def f(self):\n        x = g(a,\n              b)\n        return x\n", None, None, "    "),
    ],
)
def test_detect_indent(text: str, tab_size: int | None, insert_spaces: bool | None, unit: str) -> None:
    assert detect_indent(text, tab_size, insert_spaces) == unit


# --- when to ask --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marked", "invoked", "expected"),
    [
        ("foo║", False, True),  # end of a word
        ("foo║bar", False, False),  # inside a word
        ("foo║bar", True, True),  # unless asked for
        ("foo(║)", False, True),  # auto-closed pair
        ('x = "abc║"', False, True),
        ("x = ║y", False, False),  # in front of a word
        ("x.║", False, True),
        ("║", False, True),
        ("foo(║, bar)", False, True),
        ("x = ║名前", False, False),
        ("foo ║🎉", False, True),
        ("x = cafe║\u0301", False, False),  # a combining mark continues the word
    ],
)
def test_should_request(marked: str, invoked: bool, expected: bool) -> None:
    before, after = split_cursor(marked)
    assert should_request(last_line(before), first_line(after), invoked) is expected
    # asking on its own (not invoked) is refused exactly in the middle of a word
    assert in_middle_of_word(last_line(before), first_line(after)) is not should_request(
        last_line(before), first_line(after), False
    )


# --- one line or a block ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marked", "expected"),
    [
        ("def f():║", True),
        ("def f():║\n    return 1", False),  # the block already has a body
        ("def f():║\n\nx = 1", True),
        ("if x {║}", True),
        ("if x {║\n}", True),
        ("const f = () =>║", True),
        ("d = {║}", True),
        ("x = foo(║", True),
        ("foo(║)", False),  # arguments go inline
        ("foo(a║, b)", False),
        ("if (║) {", False),
        ("x = 1║", False),
        ("use std::║", False),
        ("def f():  # note║", True),
        ("def f():\n    ║", True),
        ("def f():\n    x = 1\n    ║\n    return x", False),  # between two statements
        ("def f():\n    x = 1\n    ║\nprint(1)", True),  # end of the block
        ("def f():\n    ║\n    return 1", False),  # a new first statement above a body
        ("class A:\n    ║\n\n    def g(self): ...", True),
        ("func f() {\r\n\t║\r\n}", True),
    ],
)
def test_multiline_mode(marked: str, expected: bool) -> None:
    prefix, suffix = split_cursor(marked)
    assert multiline_mode(last_line(prefix), first_line(suffix), prefix, suffix) is expected
