"""Text helpers of inline completion: cursor markers, line endings, indentation widths, words, and the bracket
tokenizer that post-processing relies on."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hoody_lsp.completion import text as text_module
from hoody_lsp.completion.text import (
    ScanState,
    indent_width,
    is_ident_char,
    normalize_newlines,
    scan_prefix,
    split_cursor,
    syntax_for,
    to_eol,
    word_before,
)


def test_split_cursor_returns_both_sides() -> None:
    assert split_cursor("def f(║)") == ("def f(", ")")
    assert split_cursor("║") == ("", "")


@pytest.mark.parametrize("marked", ["no marker", "two ║ markers ║"])
def test_split_cursor_needs_exactly_one_marker(marked: str) -> None:
    with pytest.raises(ValueError):
        split_cursor(marked)


def test_newlines_normalise_and_convert_back() -> None:
    assert normalize_newlines("a\r\nb\rc\n") == "a\nb\nc\n"
    assert to_eol("a\nb\r\nc", "\r\n") == "a\r\nb\r\nc"
    assert to_eol("a\r\nb", "\n") == "a\nb"


@pytest.mark.parametrize(
    ("line", "tab_size", "width"),
    [
        ("    x", 4, 4),
        ("\tx", 4, 4),
        ("\tx", 2, 2),
        ("  \tx", 4, 4),  # a tab advances to the next stop
        ("\t  x", 4, 6),
        ("x", 4, 0),
        ("   ", 4, 3),
    ],
)
def test_indent_width(line: str, tab_size: int, width: int) -> None:
    assert indent_width(line, tab_size) == width


@pytest.mark.parametrize(
    ("line_prefix", "word"),
    [
        ("x = pri", "pri"),
        ("foo.ba", "ba"),
        ("foo(", ""),
        ("名前", "名前"),
        ("x = cafe\u0301", "cafe\u0301"),  # a combining accent stays inside its word
        ("$el", "$el"),
        ("a 🎉", "🎉"),  # emoji count as typed word characters
        ("naïve_😋", "naïve_😋"),
        ("f(🎉)", ""),
    ],
)
def test_word_before(line_prefix: str, word: str) -> None:
    assert word_before(line_prefix) == word


def test_identifier_chars() -> None:
    assert all(is_ident_char(ch) for ch in "aZ9_$é日\u0301")
    assert not any(is_ident_char(ch) for ch in " .()'\"🎉-")


@pytest.mark.parametrize(
    ("language", "prefix", "stack", "string"),
    [
        ("python", "foo(bar[1], {", "({", None),
        ("python", "x = '(' + \"[\" + f(", "(", None),
        ("python", "# a ( in a comment\nfoo(", "(", None),
        ("python", "s = '''\n(\n'''\ng(", "(", None),
        ("python", 'def f():\n    """Doc (', "", '"""'),
        ("python", "print('it(s", "(", "'"),
        ("python", "x = 'unterminated (\ny = [", "[", None),  # a one-line string ends at its line's end
        ("javascript", "// {\nf(", "(", None),
        ("javascript", "/* ( */ f(", "(", None),
        ("javascript", "const s = `${a}(\n)`; g(", "(", None),  # template literals span lines
        ("rust", "fn f<'a>(x: &'a str) {", "{", None),  # lifetimes are not quotes
        ("rust", "let c = '(';\nf(", "(", None),
        ("go", "s := `raw (\nstring`\nf(", "(", None),
        (None, "see http://x.y/ and f(a", "(", None),  # `//` inside a word is no comment
        (None, "a = [1 # (", "[", None),
        ("python", "x = [1, 2)\ny = (", "[(", None),  # a stray closer matches nothing and is ignored
    ],
)
def test_scan_prefix_tracks_code_brackets_only(
    language: str | None, prefix: str, stack: str, string: str | None
) -> None:
    state = scan_prefix(prefix, syntax_for(language))
    assert "".join(ch for ch, _ in state.stack) == stack
    assert state.string == string


_SCAN_PIECES = ["(", ")", "[", "]", "{", "}", "'", '"', '"""', "`", "#", "//", "/*", "*/", "\\", "\n", "a", " ", "x = "]


@settings(max_examples=400, deadline=None)
@given(
    first=st.lists(st.sampled_from(_SCAN_PIECES), max_size=25).map("".join),
    more=st.lists(st.sampled_from(_SCAN_PIECES), max_size=25).map("".join),
    other=st.lists(st.sampled_from(_SCAN_PIECES), max_size=10).map("".join),
    language=st.sampled_from(["python", "javascript", "rust", "ruby"]),
)
def test_a_scan_resumed_from_the_last_prefix_equals_a_fresh_scan(
    first: str, more: str, other: str, language: str
) -> None:
    """scan_prefix resumes where the previous prefix left off when the new one extends it: same answer."""
    syntax = syntax_for(language)

    def fresh(text: str) -> ScanState:
        saved = dict(text_module._SCAN_MEMO)
        text_module._SCAN_MEMO.clear()
        try:
            return scan_prefix(text, syntax)
        finally:
            text_module._SCAN_MEMO.clear()
            text_module._SCAN_MEMO.update(saved)

    text_module._SCAN_MEMO.clear()
    for text in (other, first, first + more, first + more + other, first + other):
        assert scan_prefix(text, syntax) == fresh(text), repr(text)


def test_the_resumed_scan_keeps_brackets_opened_lines_before() -> None:
    syntax = syntax_for("python")
    head = "x = call(\n    a,\n    [b,\n"
    assert scan_prefix(head, syntax).stack == [("(", 0), ("[", 0)]
    assert scan_prefix(head + "     c],\n    d", syntax).stack == [("(", 0)]
    assert scan_prefix(head + '    """doc\n', syntax).string == '"""'
