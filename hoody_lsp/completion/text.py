"""Small text helpers for inline completion: cursor markers, lines, indentation, identifier characters, and a
lightweight bracket/string/comment tokenizer.

Everything works on Python strings and code-point offsets; nothing here knows about LSP positions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

CURSOR = "║"
OPENERS = "([{"
CLOSERS = ")]}"
PAIRS = {"(": ")", "[": "]", "{": "}"}
QUOTES = "\"'`"
# What an editor auto-inserts after the cursor (closing pairs) plus the punctuation that usually trails them.
CLOSING_TAIL = set(CLOSERS + QUOTES + ";,.:")


def split_cursor(marked: str, marker: str = CURSOR) -> tuple[str, str]:
    """`"def f(║)"` -> `("def f(", ")")`. Exactly one marker is required."""
    if marked.count(marker) != 1:
        raise ValueError(f"expected exactly one cursor marker {marker!r} in {marked!r}")
    before, after = marked.split(marker)
    return before, after


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR -> LF."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def to_eol(text: str, eol: str) -> str:
    """LF text -> the document's line ending (for a CRLF document before inserting)."""
    text = normalize_newlines(text)
    return text if eol == "\n" else text.replace("\n", eol)


def last_line(text: str) -> str:
    """The text after the last newline (the cursor line's part before the cursor, for a prefix)."""
    return text[text.rfind("\n") + 1 :]


def first_line(text: str) -> str:
    """The text before the first newline (the cursor line's part after the cursor, for a suffix)."""
    end = text.find("\n")
    return text if end < 0 else text[:end]


def is_blank(text: str) -> bool:
    return not text.strip()


def leading_ws(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def indent_width(line: str, tab_size: int = 4) -> int:
    """Visual width of a line's leading whitespace, tabs advancing to the next multiple of `tab_size`."""
    width = 0
    for ch in line:
        if ch == " ":
            width += 1
        elif ch == "\t":
            width += tab_size - width % tab_size
        else:
            break
    return width


def is_ident_char(ch: str) -> bool:
    """Letters, digits, `_`, `$` and combining marks (so a decomposed `é` stays inside its word)."""
    return ch.isalnum() or ch in "_$" or unicodedata.category(ch) in ("Mn", "Mc")


def is_word_char(ch: str) -> bool:
    """Identifier characters plus emoji (symbols, modifiers, joiners): what a user sees as one typed word."""
    return is_ident_char(ch) or ch in "\u200d\ufe0f" or unicodedata.category(ch) in ("So", "Sk")


def word_before(line_prefix: str) -> str:
    """The word right before the cursor (identifier characters and emoji)."""
    i = len(line_prefix)
    while i > 0 and is_word_char(line_prefix[i - 1]):
        i -= 1
    return line_prefix[i:]


def is_closing_tail(text: str) -> bool:
    """Only closing brackets, quotes, light punctuation and spaces (what editors auto-close)."""
    return all(ch in CLOSING_TAIL or ch.isspace() for ch in text)


def is_trivial_line(stripped: str) -> bool:
    """A line that proves nothing when it repeats: short, or only brackets and punctuation."""
    return len(stripped) < 4 or not any(ch.isalnum() for ch in stripped)


# --- a tokenizer just good enough to match brackets -----------------------------------------------


@dataclass(frozen=True)
class Syntax:
    """The lexical bits of a language that decide whether a bracket is code."""

    line_comments: tuple[str, ...] = ("//", "#")
    block_comment: tuple[str, str] | None = ("/*", "*/")
    triple_quotes: bool = False  # Python's \"\"\" and ''' strings span lines
    multiline_backtick: bool = False  # JS/TS template literals, Go raw strings
    rust_chars: bool = False  # ' starts a char literal only in 'x' form; otherwise it is a lifetime
    loose_comments: bool = True  # unknown language: a comment marker counts only at line start or after space


_HASH_LANGS = {
    "python", "shellscript", "sh", "bash", "zsh", "ruby", "perl", "r", "yaml", "toml", "makefile",
    "dockerfile", "elixir", "coffeescript", "powershell", "julia", "nim", "cmake", "ini", "properties",
    "gitignore",
}  # fmt: skip
_SLASH_LANGS = {
    "javascript", "typescript", "javascriptreact", "typescriptreact", "go", "rust", "java", "c", "cpp",
    "csharp", "kotlin", "swift", "scala", "dart", "objective-c", "objective-cpp", "zig", "jsonc", "groovy",
    "css", "scss", "less", "proto", "solidity", "vue", "svelte",
}  # fmt: skip
_DASH_LANGS = {"lua", "sql", "haskell", "elm", "ada", "purescript"}
_BACKTICK_LANGS = {"javascript", "typescript", "javascriptreact", "typescriptreact", "go", "vue", "svelte"}


def syntax_for(language: str | None) -> Syntax:
    lang = (language or "").lower()
    if lang == "python":
        return Syntax(("#",), None, triple_quotes=True, loose_comments=False)
    if lang in _HASH_LANGS:
        return Syntax(("#",), None, loose_comments=False)
    if lang == "php":
        return Syntax(("//", "#"), ("/*", "*/"), loose_comments=False)
    if lang in _SLASH_LANGS:
        return Syntax(
            ("//",),
            ("/*", "*/"),
            multiline_backtick=lang in _BACKTICK_LANGS,
            rust_chars=lang == "rust",
            loose_comments=False,
        )
    if lang in _DASH_LANGS:
        return Syntax(("--",), None, loose_comments=False)
    return Syntax()


@dataclass
class ScanState:
    """Where a scan stopped: open brackets (char, origin), the open string's quote, inside a block comment."""

    stack: list[tuple[str, int]] = field(default_factory=list)
    string: str | None = None
    block_comment: bool = False

    def copy(self) -> ScanState:
        return ScanState(list(self.stack), self.string, self.block_comment)


_RUST_CHAR = re.compile(r"'(?:\\(?:u\{[0-9a-fA-F]{1,6}\}|x[0-9a-fA-F]{2}|.)|[^\\'\n])'")


@lru_cache(maxsize=32)
def _event_chars(syntax: Syntax) -> re.Pattern[str]:
    """Characters that may start an event outside strings; everything between them is skipped at C speed."""
    chars = set("\n" + QUOTES + OPENERS + CLOSERS)
    chars.update(marker[0] for marker in syntax.line_comments)
    if syntax.block_comment:
        chars.add(syntax.block_comment[0][0])
    return re.compile("[" + "".join(re.escape(c) for c in sorted(chars)) + "]")


@lru_cache(maxsize=16)
def _string_stops(quote: str) -> re.Pattern[str]:
    """Inside a string only a backslash, the quote's first character or a newline can matter."""
    return re.compile("[" + re.escape("\\" + quote[0] + "\n") + "]")


def tokens(text: str, state: ScanState, syntax: Syntax) -> Iterator[tuple[int, str, str]]:
    """Yield `(index, kind, char)` for code-level events, updating `state` as it goes.

    kinds: "open", "close" (brackets outside strings and comments), "newline" (outside strings),
    "string_end" (a string closed), "string_abort" (a one-line string ran into a newline).
    The caller keeps the bracket stack, so it can tell whose bracket a closer closes.
    Runs of characters that cannot start an event are skipped with a regular expression: this scan runs on
    every suggestion over a window of several thousand characters.
    """
    i, n = 0, len(text)
    events = _event_chars(syntax)
    while i < n:
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
            stop = _string_stops(quote).search(text, i)
            if stop is None:
                return
            i = stop.start()
            ch = text[i]
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
        found = events.search(text, i)
        if found is None:
            return
        i = found.start()
        ch = text[i]
        if ch == "\n":
            yield i, "newline", ch
            i += 1
            continue
        comment = _line_comment_at(text, i, syntax)
        if comment:
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


def _line_comment_at(text: str, i: int, syntax: Syntax) -> bool:
    for marker in syntax.line_comments:
        if text.startswith(marker, i) and (not syntax.loose_comments or i == 0 or text[i - 1] in " \t\n"):
            return True
    return False


# per syntax: the line-aligned head of the last prefix scanned, and the bracket stack at its end
_SCAN_MEMO: dict[Syntax, tuple[str, list[tuple[str, int]]]] = {}


def scan_prefix(prefix: str, syntax: Syntax) -> ScanState:
    """The bracket stack and string state at the end of `prefix` (origin 0 for every open bracket).

    A closer that matches nothing is ignored and one that matches an opener up to three levels down pops to
    it, so a window that starts inside a construct (or a stray bracket) still gives a sensible stack.

    The next prefix usually extends the last one (the user typed on): the scan resumes from the last line
    start the previous scan passed in code (outside strings and comments), with the stack it had there.
    """
    memo = _SCAN_MEMO.get(syntax)
    head = 0
    state = ScanState()
    if memo is not None and prefix.startswith(memo[0]):
        head, state.stack = len(memo[0]), list(memo[1])
    stack = state.stack
    line_start, line_stack, changed = -1, [], True  # the last line start passed, and the stack there
    for i, kind, ch in tokens(prefix[head:] if head else prefix, state, syntax):
        if kind == "open":
            stack.append((ch, 0))
            changed = True
        elif kind == "close":
            for depth in range(len(stack) - 1, max(-1, len(stack) - 4), -1):
                if PAIRS[stack[depth][0]] == ch:
                    del stack[depth:]
                    changed = True
                    break
        elif kind == "newline":  # in code: no string or comment is open here
            line_start = i + 1
            if changed:
                line_stack, changed = list(stack), False
    if line_start >= 0:
        _SCAN_MEMO[syntax] = (prefix[: head + line_start], line_stack)
    return state
