"""Prompt shaping for inline completion: the prefix/suffix window, the document's indent unit, whether to ask
at all, and whether to ask for one line or a block.

Pure functions of strings and code-point offsets.
"""

from __future__ import annotations

import re
from collections import Counter

from hoody_lsp.completion.text import (
    first_line,
    indent_width,
    is_blank,
    is_closing_tail,
    is_ident_char,
    last_line,
    normalize_newlines,
)

DEFAULT_INDENT = "    "


def window(text: str, offset: int, prefix_chars: int = 6000, suffix_chars: int = 2000) -> tuple[str, str]:
    """The prefix and suffix around `offset`, within `prefix_chars + suffix_chars`.

    Cut at line boundaries: whole lines are added outward from the cursor while they fit. The cursor line is
    always whole (up to and after the cursor), except when that part alone exceeds the whole budget (minified
    files), where the characters nearest the cursor are kept. Budget one side does not need goes to the other.
    """
    offset = max(0, min(offset, len(text)))
    prefix_chars, suffix_chars = max(0, prefix_chars), max(0, suffix_chars)
    need_prefix, need_suffix = offset, len(text) - offset
    prefix_budget = prefix_chars + max(0, suffix_chars - need_suffix)
    suffix_budget = suffix_chars + max(0, prefix_chars - need_prefix)

    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    if line_end < 0:
        line_end = len(text)

    if offset - line_start > prefix_budget:
        start = offset - prefix_budget
    else:
        start = line_start
        while start > 0:
            previous = text.rfind("\n", 0, start - 1) + 1
            if offset - previous > prefix_budget:
                break
            start = previous

    if line_end - offset > suffix_budget:
        end = offset + suffix_budget
    else:
        end = line_end
        while end < len(text):
            following = text.find("\n", end + 1)
            if following < 0:
                following = len(text)
            if following - offset > suffix_budget:
                break
            end = following
    return text[start:offset], text[offset:end]


def detect_indent(text: str, tab_size: int | None = None, insert_spaces: bool | None = None) -> str:
    """The document's indent unit: `"\\t"` or N spaces.

    `insert_spaces`/`tab_size` (LSP FormattingOptions) win when given; otherwise the text decides (tabs when
    most indented lines start with a tab, else the most common indentation step); 4 spaces by default.
    """
    if insert_spaces is False:
        return "\t"
    given_width = tab_size if tab_size is not None and 0 < tab_size <= 16 else None
    uses_tabs, step = _guess_indent(text)
    if insert_spaces is True:
        return " " * (given_width or step or 4)
    if uses_tabs:
        return "\t"
    return " " * (step or given_width or 4)


_STEP_PREFERENCE = {4: 3, 2: 2, 8: 1}


# each non-blank line: its leading whitespace and first character (matched after "\n": a literal start is fast)
_INDENTED = re.compile(r"\n([ \t]*)(\S)")


def _guess_indent(text: str, max_lines: int = 5000) -> tuple[bool, int | None]:
    text = normalize_newlines(text[:400_000])
    if text.count("\n") >= max_lines:
        text = "\n".join(text.split("\n", max_lines)[:max_lines])
    tab_lines = space_lines = 0
    steps: Counter[int] = Counter()
    previous = 0
    for ws, first in _INDENTED.findall("\n" + text):
        if ws.startswith("\t"):
            tab_lines += 1
        elif ws:
            space_lines += 1
        if first == "*" or "\t" in ws:
            # block-comment continuation lines (" * ...") sit one space in: not an indentation step
            continue
        width = len(ws)
        delta = abs(width - previous)
        if 2 <= delta <= 8:
            steps[delta] += 1
        previous = width
    if tab_lines > space_lines:
        return True, None
    if not steps:
        return False, None
    best = max(steps, key=lambda d: (steps[d], _STEP_PREFERENCE.get(d, 0)))
    return False, best


def in_middle_of_word(line_prefix: str, line_suffix: str) -> bool:
    """True when an identifier character follows the cursor (`foo|bar`, `(|bar`): a suggestion would be
    inserted in front of existing code."""
    return bool(line_suffix) and is_ident_char(line_suffix[0])


def should_request(line_prefix: str, line_suffix: str, invoked: bool) -> bool:
    """Ask the backend? Always when explicitly invoked; otherwise not in front of a word.

    After the end of a word, punctuation or space is fine, and so is a cursor followed only by closing
    brackets, quotes and punctuation (`foo(|)`, `"abc|"`: what the editor auto-closed).
    """
    if invoked:
        return True
    return not in_middle_of_word(line_prefix, line_suffix)


# A line that opens a block or a bracketed continuation, ignoring a trailing line comment.
_OPENS_BLOCK = re.compile(r"(?:(?<!:):|\{|=>)\s*(?:(?:#|//)[^\n]*)?$")
_OPENS_BRACKET = re.compile(r"[(\[]\s*(?:(?:#|//)[^\n]*)?$")


def ends_with_opener(line: str, *, brackets: bool = True) -> bool:
    """`if x:`, `fn f() {`, `x => ` open a block; `foo(`, `[` open a bracketed list (when `brackets`)."""
    code = line.rstrip()
    return bool(_OPENS_BLOCK.search(code) or (brackets and _OPENS_BRACKET.search(code)))


def multiline_mode(line_prefix: str, line_suffix: str, prefix: str, suffix: str) -> bool:
    """Ask for a block (True) or a single line (False).

    - Mid-line (text after the cursor other than closing brackets/quotes/punctuation): one line.
    - Cursor at the end of a line that opens a block (`:`, `{`, `=>`, and `(`/`[` when nothing follows):
      a block, when the block below is empty (the next non-blank line is not indented deeper).
    - Cursor on an empty/whitespace-only line: a block, unless it sits between two statements of the same
      block (the very next line is code at the cursor's indentation and the line above opens no empty block).
    - Anything else (end of an ordinary line): one line.
    """
    line_prefix = normalize_newlines(line_prefix)
    line_suffix = normalize_newlines(line_suffix)
    if not is_closing_tail(line_suffix):
        return False
    prefix, suffix = normalize_newlines(prefix), normalize_newlines(suffix)
    below = suffix.split("\n")[1:]
    here = indent_width(line_prefix) if not is_blank(line_prefix) else indent_width(line_prefix + line_suffix)

    if not is_blank(line_prefix):
        if not ends_with_opener(line_prefix, brackets=is_blank(line_suffix)):
            return False
        following = next((line for line in below if not is_blank(line)), None)
        return following is None or indent_width(following) <= here

    above = [line for line in prefix.split("\n")[:-1] if not is_blank(line)]
    previous = above[-1] if above else None
    next_line = below[0] if below else None
    if next_line is None or is_blank(next_line):
        return True
    next_width = indent_width(next_line)
    if next_width < here:
        return True  # the cursor is at the end of its block
    if previous is not None and ends_with_opener(previous):
        # first line of a block: expected to be filled when the block below is empty
        return next_width <= indent_width(previous)
    return False


def cursor_lines(prefix: str, suffix: str) -> tuple[str, str]:
    """The cursor line's text before and after the cursor."""
    return last_line(prefix), first_line(suffix)
