"""The fast token scan (regex skips) yields exactly what a plain character-by-character scan yields."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from hoody_lsp.completion.text import (
    _RUST_CHAR,
    CLOSERS,
    OPENERS,
    QUOTES,
    ScanState,
    Syntax,
    _line_comment_at,
    syntax_for,
    tokens,
)


def reference_tokens(text: str, state: ScanState, syntax: Syntax) -> Iterator[tuple[int, str, str]]:
    """The scan as first written: one character at a time."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if state.block_comment:
            assert syntax.block_comment is not None
            end = text.find(syntax.block_comment[1], i)
            if end < 0:
                return
            state.block_comment = False
            i = end + len(syntax.block_comment[1])
            continue
        quote = state.string
        if quote is not None:
            if ch == "\\":
                i += 2
                continue
            if text.startswith(quote, i):
                state.string = None
                yield i, "string_end", quote
                i += len(quote)
                continue
            if ch == "\n" and len(quote) == 1 and not (quote == "`" and syntax.multiline_backtick):
                state.string = None
                yield i, "string_abort", quote
                yield i, "newline", ch
            i += 1
            continue
        if ch == "\n":
            yield i, "newline", ch
            i += 1
            continue
        if _line_comment_at(text, i, syntax):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if syntax.block_comment and text.startswith(syntax.block_comment[0], i):
            state.block_comment = True
            i += len(syntax.block_comment[0])
            continue
        if ch in QUOTES:
            if syntax.triple_quotes and ch != "`" and text.startswith(ch * 3, i):
                state.string = ch * 3
                i += 3
                continue
            if ch == "'" and syntax.rust_chars:
                m = _RUST_CHAR.match(text, i)
                i = m.end() if m else i + 1
                continue
            state.string = ch
            i += 1
            continue
        if ch in OPENERS:
            yield i, "open", ch
        elif ch in CLOSERS:
            yield i, "close", ch
        i += 1


PIECES = st.sampled_from(
    ["a", " ", "\n", "(", ")", "[", "]", "{", "}", '"', "'", "`", '"""', "'''", "\\", "#", "//", "/*", "*/",
     "--", ";", "x = ", "😋", "'a'", "\t"]
)
LANGS = st.sampled_from([None, "python", "javascript", "typescript", "go", "rust", "lua", "sql", "c", "shellscript"])


@settings(max_examples=400, deadline=None)
@given(text=st.lists(PIECES, max_size=60).map("".join), language=LANGS)
def test_fast_scan_matches_the_reference(text: str, language: str | None) -> None:
    syntax = syntax_for(language)
    fast_state, slow_state = ScanState(), ScanState()
    assert list(tokens(text, fast_state, syntax)) == list(reference_tokens(text, slow_state, syntax))
    assert (fast_state.stack, fast_state.string, fast_state.block_comment) == (
        slow_state.stack, slow_state.string, slow_state.block_comment)
