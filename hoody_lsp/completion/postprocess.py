"""Post-processing of inline completions: a chain of small pure filters that turn a model's raw answer into
the text to insert at the cursor (or "" when nothing useful is left).

`clean(raw, ctx)` runs the chain; every filter is public and tested on its own with cursor-marked cases.
The output always uses "\\n" line endings whatever the document uses: the server converts it with
`text.to_eol(result, ctx.eol)` for a CRLF document (editors normalise inserted text anyway).

Decisions worth knowing (each filter's docstring says more):
- The model's indentation is taken as absolute (it continues the document); only its unit is converted.
- No closer is ever appended. A completion may close brackets it opened itself, and a bracket of the prefix
  only when the suffix does not already close it; otherwise it is cut at that closer. A block that stops with
  its own brackets still open is cut back to the last line where they were all closed.
- Single-line mode keeps the first line; at the end of a line, a first line that opens a bracket is kept
  together with the lines up to where the completion closes it.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from hoody_lsp.completion.prompt import (
    DEFAULT_INDENT,
    detect_indent,
    ends_with_opener,
    multiline_mode,
    window,
)
from hoody_lsp.completion.text import (
    CLOSERS,
    OPENERS,
    PAIRS,
    QUOTES,
    ScanState,
    Syntax,
    first_line,
    indent_width,
    is_blank,
    is_ident_char,
    is_trivial_line,
    last_line,
    leading_ws,
    normalize_newlines,
    scan_prefix,
    syntax_for,
    tokens,
    word_before,
)

INLINE_CAP_CHARS = 4_000
MAX_LINES = 40
# The raw answer is cut to this before any work: nothing past the cap survives anyway.
_RAW_LIMIT = 64_000
_SPACES = " \t\f\v"


@dataclass(frozen=True)
class CursorContext:
    """The cursor a completion is for.

    `prefix`/`suffix` are a window of the document around the cursor (CRLF is accepted and read as LF).
    `indent` is the document's indent unit. `eol` is the document's line ending, carried for the caller:
    `clean()` always returns "\\n" line endings. `multiline` None lets `multiline_mode` decide.
    """

    prefix: str
    suffix: str
    language: str | None
    indent: str
    eol: str = "\n"
    multiline: bool | None = None
    max_chars: int = INLINE_CAP_CHARS

    @classmethod
    def at(
        cls,
        text: str,
        offset: int,
        language: str | None = None,
        *,
        indent: str | None = None,
        tab_size: int | None = None,
        insert_spaces: bool | None = None,
        eol: str = "\n",
        multiline: bool | None = None,
        prefix_chars: int = 6000,
        suffix_chars: int = 2000,
        max_chars: int = INLINE_CAP_CHARS,
    ) -> CursorContext:
        """A context for `offset` (code points) in a whole document: windowed, indent detected if absent."""
        prefix, suffix = window(text, offset, prefix_chars, suffix_chars)
        unit = indent if indent is not None else detect_indent(text, tab_size, insert_spaces)
        return cls(prefix, suffix, language, unit or DEFAULT_INDENT, eol, multiline, max_chars)


@dataclass(frozen=True)
class _View:
    """What the filters read from a context, computed once per context."""

    prefix: str
    suffix: str
    line_prefix: str
    line_suffix: str
    base_width: int  # the cursor line's indentation
    tab_size: int
    mid_line: bool  # text after the cursor on its line
    syntax: Syntax


@lru_cache(maxsize=64)
def _view(ctx: CursorContext) -> _View:
    prefix, suffix = normalize_newlines(ctx.prefix), normalize_newlines(ctx.suffix)
    line_prefix, line_suffix = last_line(prefix), first_line(suffix)
    tab_size = 4 if ctx.indent.startswith("\t") or not ctx.indent else len(ctx.indent)
    whole = line_prefix + line_suffix
    return _View(
        prefix=prefix,
        suffix=suffix,
        line_prefix=line_prefix,
        line_suffix=line_suffix,
        base_width=indent_width(whole, tab_size),
        tab_size=tab_size,
        mid_line=not is_blank(line_suffix),
        syntax=syntax_for(ctx.language),
    )


# --- the entry point ------------------------------------------------------------------------------


def clean(raw: str, ctx: CursorContext, *, final: bool = True) -> str:
    """The text to insert at the cursor for the model's answer `raw`, or "" when nothing useful is left.

    The text may start by repeating the word typed before the cursor; pass it through `extend_word_range`
    to get the item's range and text.

    `final=False`: `raw` is the stream so far. Only whole lines are used (the last, unfinished line is left
    out), so the answer is safe to show early; a special end token makes the stream final at once.
    """
    view = _view(ctx)
    text = strip_reasoning(normalize_newlines(raw[:_RAW_LIMIT]))
    text, ended = cut_special_tokens(text, view.line_prefix)
    if not final and not ended:
        newline = text.rfind("\n")
        if newline < 0:
            return ""
        text = text[:newline]
    text = strip_markdown(text, ctx.language)
    text = drop_leading_newlines(text, ctx)
    text = drop_prefix_echo(text, ctx)
    text = reindent(text, ctx)
    multiline = ctx.multiline
    if multiline is None:
        multiline = multiline_mode(view.line_prefix, view.line_suffix, view.prefix, view.suffix)
    text = keep_block(text, ctx) if multiline else keep_first_line(text, ctx)
    text = stop_at_repetition(text, ctx)
    text = stop_at_suffix(text, ctx)
    text = cut_at_outer_closers(text, ctx)
    text = drop_line_suffix_overlap(text, ctx)
    text = cap_chars(text, ctx.max_chars)
    if not final and not ended:
        # an early answer must not show a call half-written: its closing lines may be on the way
        text = back_off_open_brackets(text, ctx, keep_first=False)
    elif multiline:
        text = back_off_open_brackets(text, ctx)
    text = trim(text, ctx)
    return "" if is_useless(text, ctx) else text


# --- 1. what is not code: tokens, fences, prose ---------------------------------------------------

_REASONING = re.compile(r"<(think|thinking|reasoning)>.*?</\1>\s*", re.DOTALL)
_REASONING_OPEN = re.compile(r"\s*<(?:think|thinking|reasoning)>")
_REASONING_CLOSE = re.compile(r"</(?:think|thinking|reasoning)>\s*")


def strip_reasoning(text: str) -> str:
    """Drop a reasoning model's thinking: `<think>...</think>`, everything before a lone `</think>` (its
    opening tag was in the prompt), and all of an answer still thinking (an unclosed leading `<think>`): its
    draft code must never become the suggestion."""
    text = _REASONING.sub("", text)
    if _REASONING_OPEN.match(text):
        return ""
    closes = list(_REASONING_CLOSE.finditer(text))
    return text[closes[-1].end() :] if closes else text


_SPECIAL = re.compile(
    r"<\|[A-Za-z0-9_.\-]{1,40}\|>"  # <|endoftext|> <|im_end|> <|fim_middle|> <|file_separator|> <|eot_id|>
    r"|<｜[^｜\n]{1,40}｜>"  # <｜end▁of▁sentence｜> <｜fim▁hole｜>
    r"|<(?:fim|FIM)[_-](?:prefix|suffix|middle|pad|hole)>"
    r"|<(?:file_sep|filename|reponame|gh_stars|end_of_turn|start_of_turn|eos|EOT|EOS)>"
    r"|</s>"
)
# Tokens a model may put before its answer: the answer follows them.
_START = re.compile(
    r"\s*(?:<\|fim_middle\|>|<fim[_-]middle>|<｜fim▁end｜>|<\|im_start\|>(?:assistant)?\n?"
    r"|<start_of_turn>(?:model)?\n?|<\|assistant\|>\n?)"
)


def cut_special_tokens(text: str, line_prefix: str = "") -> tuple[str, bool]:
    """Drop model control tokens: leading start markers go, and the first other token ends the text.

    Returns the text and whether an end token was seen (the answer is then complete). `</s>` after an `<s>`
    (HTML strikethrough) is code, not a token.
    """
    while True:
        m = _START.match(text)
        if not m or not m.group(0).strip():
            break
        text = text[m.end() :]
    for m in _SPECIAL.finditer(text):
        if m.group(0) == "</s>" and "<s>" in (line_prefix + text[: m.start()]):
            continue
        return text[: m.start()], True
    return text, False


_FENCE = re.compile(r"^\s*(?:```|~~~)\s*([\w+#.\-]*)\s*$")
_PREAMBLE = re.compile(
    r"^\s*(?:sure|certainly|okay|ok|of course|here(?:'s| is| are)|below is|the following|"
    r"the (?:completed|completion|code)|this (?:completes|code))\b[^\n]*:\s*$",
    re.IGNORECASE,
)
_MARKDOWN_LANGS = {"markdown", "mdx", "rmd", "quarto"}


def strip_markdown(text: str, language: str | None = None) -> str:
    """Keep the code of a chat-style answer: the first fenced block without the prose around it, or the text
    before a lone closing fence; a leading "Here is the code:" line goes too.

    In a Markdown document fences are content, so they stay.
    """
    if (language or "").lower() in _MARKDOWN_LANGS:
        return text
    lines = text.split("\n")
    fences = [(i, m.group(1)) for i, line in enumerate(lines) if (m := _FENCE.match(line))]
    if fences:
        first, info = fences[0]
        before = [line for line in lines[:first] if not is_blank(line) and not _PREAMBLE.match(line)]
        if before and not info:
            lines = lines[:first]  # code, then a closing fence (and prose after it)
        else:
            end = fences[1][0] if len(fences) > 1 else len(lines)
            lines = lines[first + 1 : end]
    else:
        head = next((i for i, line in enumerate(lines) if not is_blank(line)), None)
        if head is not None and _PREAMBLE.match(lines[head]):
            lines = lines[head + 1 :]
            while len(lines) > 1 and is_blank(lines[0]):
                lines.pop(0)
    return "\n".join(lines)


# --- 2. where the answer starts -------------------------------------------------------------------


def drop_leading_newlines(text: str, ctx: CursorContext) -> str:
    """On an empty cursor line the suggestion starts on that line, not below it."""
    view = _view(ctx)
    if not is_blank(view.line_prefix) or view.mid_line:
        return text
    lines = text.split("\n")
    while len(lines) > 1 and is_blank(lines[0]):
        lines.pop(0)
    return "\n".join(lines)


def drop_prefix_echo(text: str, ctx: CursorContext) -> str:
    """Drop what repeats the text before the cursor: the cursor line (`def f(` + `def f(x):`), up to three
    lines before it, the indentation of an empty cursor line, or a space the line already ends with.

    When the cursor line holds a single word (`    pri|` + `print(x)`), the word stays in the answer
    (`print(x)`): the item's range then covers what was typed (see `extend_word_range`).

    On an empty cursor line, lines above it repeated at the start count when there are two or more, or one
    that opens a block (a chat model rewriting the header of the body it was asked for).
    """
    view = _view(ctx)
    lp = view.line_prefix
    if is_blank(lp):
        text = _drop_echoed_lines_above(text, view)
        return text[len(lp) :] if lp and text.startswith(lp) else text
    key = lp.strip()
    if len(key) >= 2:
        lines = text.split("\n")
        before = view.prefix.split("\n")[:-1]
        for k in range(min(4, len(before) + 1, len(lines)), 0, -1):
            earlier = before[len(before) - (k - 1) :] if k > 1 else []
            if k > 1 and all(is_blank(line) for line in earlier):
                continue
            if any(lines[i].strip() != earlier[i].strip() for i in range(k - 1)):
                continue
            head = lines[k - 1].lstrip(_SPACES)
            if head.startswith(key):
                # a cursor line that is one word keeps it: `extend_word_range` makes the range cover it
                first = head if word_before(lp) == key else head[len(key) :]
                text = "\n".join([first, *lines[k:]])
                break
    if lp[-1] in _SPACES and text[:1] in (" ", "\t"):
        first, sep, rest = text.partition("\n")
        if first.strip():
            text = first.lstrip(_SPACES) + sep + rest
    return text


def _drop_echoed_lines_above(text: str, view: _View) -> str:
    lines = text.split("\n")
    above = view.prefix.split("\n")[:-1]
    for k in range(min(4, len(above), len(lines) - 1), 0, -1):
        repeated = above[len(above) - k :]
        if any(a.strip() != b.strip() for a, b in zip(lines[:k], repeated, strict=True)):
            continue
        if all(is_trivial_line(line.strip()) for line in repeated):
            continue
        if k >= 2 or ends_with_opener(repeated[0]):
            return "\n".join(lines[k:])
    return text


# --- 3. indentation -------------------------------------------------------------------------------


def reindent(text: str, ctx: CursorContext) -> str:
    """Write the answer's indentation in the document's unit (tabs vs spaces, width).

    The model's indentation is read as absolute, in its own unit (tabs, or the spaces step its lines show):
    each line keeps its level. Spaces of a different width are converted only on clear evidence (two or more
    steps of that width, none of the document's), so aligned continuation lines are left alone. The first line
    continues the cursor line and is touched only when the cursor line is empty and it brings its own
    indentation.
    """
    view = _view(ctx)
    lines = text.split("\n")
    unit = _output_unit(lines, view, ctx.indent)
    if unit is None or unit == ctx.indent:
        return text
    for i in range(1, len(lines)):
        if not is_blank(lines[i]):
            lines[i] = _convert_indent(lines[i], unit, ctx.indent)
    lp = view.line_prefix
    if is_blank(lp) and lines[0][:1] in (" ", "\t"):
        converted = _convert_indent(lines[0], unit, ctx.indent)
        lines[0] = converted[len(lp) :] if leading_ws(converted).startswith(lp) else converted.lstrip(_SPACES)
    return "\n".join(lines)


def _output_unit(lines: list[str], view: _View, doc_unit: str) -> str | None:
    candidates = [line for line in lines[1:] if not is_blank(line)]
    if is_blank(view.line_prefix) and lines[0][:1] in (" ", "\t"):
        candidates.insert(0, lines[0])
    indented = [line for line in candidates if line[:1] in (" ", "\t")]
    if not indented:
        return None
    tabbed = sum(1 for line in indented if line.startswith("\t"))
    if tabbed * 2 > len(indented):
        return "\t"
    if tabbed:
        return None  # mixed: leave it as the model wrote it
    widths = [len(leading_ws(line)) for line in candidates]
    steps: dict[int, int] = {}
    for a, b in itertools.pairwise(widths):
        if abs(a - b) in (2, 4, 8):
            steps[abs(a - b)] = steps.get(abs(a - b), 0) + 1
    if doc_unit == "\t":
        if not steps:
            return "    "
        return " " * max(steps, key=lambda d: (steps[d], d == 4, d == 2))
    if not steps:
        return None
    step = max(steps, key=lambda d: (steps[d], d == 4, d == 2))
    if step != len(doc_unit) and steps[step] >= 2 and len(doc_unit) not in steps:
        return " " * step
    return None


def _convert_indent(line: str, unit: str, doc_unit: str) -> str:
    ws = leading_ws(line)
    body = line[len(ws) :]
    if unit == "\t":
        tabs = len(ws) - len(ws.lstrip("\t"))
        return doc_unit * tabs + ws[tabs:] + body
    level, rest = divmod(indent_width(ws, len(unit)), len(unit))
    return doc_unit * level + " " * rest + body


# --- 4. how much: one line or a block -------------------------------------------------------------

_CLOSING_LINE = re.compile(r"\s*(?:[)\]}]+[)\]};,.]*|end|end;|fi|done|esac|endif|endfunction)\s*")


def keep_first_line(text: str, ctx: CursorContext) -> str:
    """Single-line mode: the first line.

    At the end of a line two exceptions help: an answer that starts on the next line (`import os|` +
    `\\nimport sys`) keeps that next line, and a first line that leaves its own bracket open keeps the lines
    up to where it is closed (within `MAX_LINES`), so a call is not shown half-written.
    """
    view = _view(ctx)
    lines = text.split("\n")
    start = 0
    if is_blank(lines[0]):
        if view.mid_line or is_blank(view.line_prefix):
            return ""
        found = next((i for i in range(1, len(lines)) if not is_blank(lines[i])), None)
        if found is None:
            return ""
        start = found
    if view.mid_line:
        return lines[0]
    depths = own_depths(text, ctx)
    if depths[start] > 0:
        for j in range(start + 1, min(len(lines), start + MAX_LINES)):
            if depths[j] == 0:
                return "\n".join(lines[: j + 1])
    return "\n".join(lines[: start + 1])


def keep_block(text: str, ctx: CursorContext, max_lines: int = MAX_LINES) -> str:
    """Multi-line mode: the lines of one block.

    The block ends at a line indented less than the cursor line (or, when the first line opens a block, at a
    line back at the cursor line's indentation); such a line is kept when it only closes (`}`, `)`, `end`), so
    `cut_at_outer_closers` can decide whether the suffix already has it. Siblings at the cursor's indentation
    stop after a blank line (one paragraph). At most `max_lines` lines.
    """
    view = _view(ctx)
    lines = text.split("\n")
    first = view.line_prefix + lines[0]
    base = view.base_width
    if is_blank(view.line_prefix) and not is_blank(lines[0]):
        base = indent_width(first, view.tab_size)
    opens = ends_with_opener(first)
    kept = [lines[0]]
    after_blank = False
    for line in lines[1:]:
        if len(kept) >= max_lines:
            break
        if is_blank(line):
            kept.append(line)
            after_blank = True
            continue
        width = indent_width(line, view.tab_size)
        if width < base or (opens and width <= base):
            if _CLOSING_LINE.fullmatch(line):
                kept.append(line)
            break
        if not opens and width == base and after_blank:
            break
        kept.append(line)
        after_blank = False
    return "\n".join(kept)


def stop_at_repetition(text: str, ctx: CursorContext) -> str:
    """Stop where the answer starts looping: a non-trivial line generated twice in a row, or a block of up to
    eight lines repeated right after itself. The first line counts with the cursor line's text before it."""
    lines = text.split("\n")
    keys = [(_view(ctx).line_prefix + lines[0]).strip()] + [line.strip() for line in lines[1:]]
    for i in range(1, len(lines)):
        for k in range(1, min(i, len(lines) - i, 8) + 1):
            block = keys[i : i + k]
            if block == keys[i - k : i] and any(not is_trivial_line(key) for key in block):
                return "\n".join(lines[:i])
    return text


def stop_at_suffix(text: str, ctx: CursorContext) -> str:
    """Stop where the answer reaches the code after the cursor: at a line equal to the suffix's first
    non-blank line below the cursor (short or bracket-only lines must match with their indentation), or where
    the answer's last lines repeat the suffix's first lines."""
    view = _view(ctx)
    below = [line for line in view.suffix.split("\n")[1:] if not is_blank(line)]
    if not below:
        return text
    lines = text.split("\n")
    absolute = [view.line_prefix + lines[0], *lines[1:]]
    start = 0 if is_blank(view.line_prefix) else 1
    for i in range(start, len(lines)):
        if is_blank(absolute[i]):
            continue
        if _same_line(absolute[i], below[0], view.tab_size):
            return "\n".join(lines[:i])
        rest = [line for line in absolute[i:] if not is_blank(line)]
        repeats = all(a.strip() == b.strip() for a, b in zip(rest, below, strict=False))
        if 2 <= len(rest) <= len(below) and repeats:
            return "\n".join(lines[:i])
    return text


def _same_line(a: str, b: str, tab_size: int) -> bool:
    key = a.strip()
    if key != b.strip():
        return False
    if is_trivial_line(key) or len(key) < 10:
        return indent_width(a, tab_size) == indent_width(b, tab_size)
    return True


# --- 5. brackets and the text after the cursor ----------------------------------------------------


@dataclass(frozen=True)
class _Brackets:
    state: ScanState  # at the cursor (never mutated: copied before use)
    suffix_closes: int  # how many of the prefix's innermost open brackets the suffix closes
    suffix_closes_string: bool  # the cursor is in a string and the suffix ends it


@lru_cache(maxsize=64)
def _brackets(ctx: CursorContext) -> _Brackets:
    view = _view(ctx)
    state = scan_prefix(view.prefix, view.syntax)
    scan = state.copy()
    stack = list(scan.stack)
    inherited = scan.string is not None
    closes, closes_string = 0, False
    for _, kind, ch in tokens(view.suffix, scan, view.syntax):
        if kind in ("string_end", "string_abort"):
            if inherited:
                inherited = False
                closes_string = kind == "string_end"
        elif kind == "open":
            stack.append((ch, 1))
        elif kind == "close":
            if stack and stack[-1][1] == 1:
                stack.pop()
            else:
                closes += 1
                if stack:
                    stack.pop()
    return _Brackets(state, closes, closes_string)


@dataclass(frozen=True)
class _Scan:
    cut: int | None  # where the answer closes what the suffix already closes (or closes the wrong bracket)
    depths: list[int]  # the answer's own open brackets at the end of each of its lines


def _scan_answer(text: str, ctx: CursorContext) -> _Scan:
    view = _view(ctx)
    info = _brackets(ctx)
    state = info.state.copy()
    stack = list(state.stack)
    inherited = state.string is not None
    outer = own = 0
    cut: int | None = None
    events: list[tuple[int, int]] = []
    for i, kind, ch in tokens(text, state, view.syntax):
        if kind in ("string_end", "string_abort"):
            if inherited:
                inherited = False
                if kind == "string_end" and info.suffix_closes_string and cut is None:
                    cut = i
            continue
        if kind == "open":
            stack.append((ch, 2))
            own += 1
        elif kind == "close":
            if stack and stack[-1][1] == 2:
                if PAIRS[stack[-1][0]] != ch and cut is None:
                    cut = i
                stack.pop()
                own -= 1
            else:
                # nothing open before the cursor, or the suffix closes it already: not the answer's to close
                if (not stack or outer < info.suffix_closes) and cut is None:
                    cut = i
                outer += 1
                if stack:
                    stack.pop()
        else:
            continue
        events.append((i, own))
    depths: list[int] = []
    current, e = 0, 0
    line_ends = [i for i, ch in enumerate(text) if ch == "\n"] + [len(text)]
    for end in line_ends:
        while e < len(events) and events[e][0] < end:
            current = events[e][1]
            e += 1
        depths.append(current)
    return _Scan(cut, depths)


def own_depths(text: str, ctx: CursorContext) -> list[int]:
    """For each line of `text`, how many brackets the answer itself opened are still open at its end."""
    return _scan_answer(text, ctx).depths


def cut_at_outer_closers(text: str, ctx: CursorContext) -> str:
    """The answer may close only what it opened, or what the prefix opened and the suffix does not close.

    It is cut at the first closer that would close a bracket of the prefix the suffix already closes
    (`foo(|)` + `a, b)` -> `a, b`), at the quote that ends a string the cursor is in when the suffix ends it
    too (`"ab|"` + `c"` -> `c`), and at a closer that does not match the answer's own open bracket.
    """
    cut = _scan_answer(text, ctx).cut
    if cut is None:
        return text
    return text[:cut].rstrip(" \t")


def drop_line_suffix_overlap(text: str, ctx: CursorContext) -> str:
    """Drop the end of the answer that the cursor line already has after the cursor: the whole rest of the
    line when it holds a word (`foo(|, b)` + `a, b)` -> `a`), or the closers and `;`/`,`/`:` it starts with
    (`x = |;` + `5;` -> `5`; `f"{a|}"` + `!r}"` -> `!r` after the string cut). Never when that would remove
    a closer of the answer's own brackets or the closing quote of its own string."""
    view = _view(ctx)
    rest = view.line_suffix.strip()
    if not rest:
        return text
    head, sep, last = text.rpartition("\n")
    stripped = last.rstrip(_SPACES)
    candidates: list[str] = []
    if len(rest) >= 3 and any(is_ident_char(ch) for ch in rest):
        candidates.append(rest)
    lead = rest[: len(rest) - len(rest.lstrip(";,:" + CLOSERS + QUOTES))]
    candidates.extend(lead[:k] for k in range(len(lead), 0, -1))
    for tail in candidates:
        if not stripped.endswith(tail) or len(stripped) == len(tail):
            continue
        kept = stripped[: -len(tail)]
        if any(q in tail and kept.count(q) % 2 == 1 for q in QUOTES):
            continue  # that quote closes a string the answer opened
        shorter = head + sep + kept
        if own_depths(shorter, ctx)[-1] == own_depths(text, ctx)[-1]:
            return shorter
    return text


def back_off_open_brackets(text: str, ctx: CursorContext, *, keep_first: bool = True) -> str:
    """Text whose own brackets are still open at its end (the model stopped, or a cut fell inside a call) is
    cut back to the last line where they were all closed. With no such line the first line with content
    stays (`keep_first`), or nothing (for an early answer from a stream still running)."""
    depths = own_depths(text, ctx)
    if depths[-1] <= 0:
        return text
    lines = text.split("\n")
    for j in range(len(lines) - 2, -1, -1):
        if depths[j] <= 0 and not is_blank("\n".join(lines[: j + 1])):
            return "\n".join(lines[: j + 1])
    if not keep_first:
        return ""
    first = next((i for i, line in enumerate(lines) if not is_blank(line)), 0)
    return "\n".join(lines[: first + 1])


# --- 6. final touches -----------------------------------------------------------------------------


def cap_chars(text: str, max_chars: int = INLINE_CAP_CHARS) -> str:
    """At most `max_chars` characters, cut at a line end when one is in reach, and never between a letter and
    its combining marks or inside an emoji ZWJ sequence."""
    if len(text) <= max_chars:
        return text
    newline = text.rfind("\n", 0, max_chars + 1)
    if newline > 0 and not is_blank(text[:newline]):
        return text[:newline]
    i = max(0, max_chars)
    while i > 0 and (
        unicodedata.combining(text[i])
        or text[i] in "\u200d\ufe0f"
        or text[i - 1] == "\u200d"
        or 0x1F3FB <= ord(text[i]) <= 0x1F3FF  # skin-tone modifiers
    ):
        i -= 1
    return text[:i]


def trim(text: str, ctx: CursorContext) -> str:
    """No trailing whitespace on lines, no trailing blank lines. A one-line answer in front of a word keeps
    its trailing space (`foo(|b)` + `a, ` -> `a, `): it separates the two."""
    view = _view(ctx)
    if "\n" not in text and view.line_suffix[:1] and is_ident_char(view.line_suffix[0]):
        return text
    lines = [line.rstrip(_SPACES) for line in text.split("\n")]
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def is_useless(text: str, ctx: CursorContext) -> bool:
    """Nothing to show: only whitespace, or exactly what already follows the cursor."""
    if is_blank(text):
        return True
    view = _view(ctx)
    return view.suffix.startswith(text) or text.strip() == view.suffix.strip()


# --- the suggestion's range and typing through it -------------------------------------------------


def extend_word_range(line_prefix: str, text: str) -> tuple[int, str]:
    """Where the suggestion starts, as code points before the cursor, and its text.

    When the answer starts by repeating the typed part of the current word (`pri|` + `print(x)`), the item's
    range covers that part: `(3, "print(x)")`. Otherwise `(0, text)`, after dropping a start that repeats the
    end of the line from a token boundary on (`foo.ba|` + `foo.bar()` -> `r()`, `a && |` + `&& b` -> `b`).
    An answer that only repeats the word gives `(0, "")`.
    """
    line_prefix = last_line(normalize_newlines(line_prefix))
    word = word_before(line_prefix)
    if word and text.startswith(word):
        return (len(word), text) if len(text) > len(word) else (0, "")
    for k in range(min(len(line_prefix), len(text)), 1, -1):
        overlap = text[:k]
        if is_blank(overlap) or not line_prefix.endswith(overlap):
            continue
        start = len(line_prefix) - k
        if start == 0 or not (is_ident_char(line_prefix[start - 1]) and is_ident_char(line_prefix[start])):
            return 0, text[k:]
    return 0, text


def advance(suggestion: str, typed: str) -> str | None:
    """What is left of `suggestion` after the user typed `typed` where it was shown; None when they diverged.

    `typed` is the text now between the suggestion's position and the cursor. An editor that auto-closes may
    also have put closers after the cursor; when `typed` includes them (`print()` with the cursor before `)`),
    they pair with the openers typed and are already in the document, so they are dropped from the end of what
    is left: `advance("print(x)", "print()") == "x"`. If what is left does not end with them, None.
    """
    suggestion, typed = normalize_newlines(suggestion), normalize_newlines(typed)
    if suggestion.startswith(typed):
        return suggestion[len(typed) :]
    head, tail = _split_auto_closed(typed)
    if tail and suggestion.startswith(head):
        rest = suggestion[len(head) :]
        if rest.endswith(tail):
            return rest[: -len(tail)]
    return None


def _split_auto_closed(typed: str) -> tuple[str, str]:
    """`print()` -> (`print(`, `)`): trailing closers that pair with the innermost openers before them."""
    end = len(typed)
    while end > 0 and typed[end - 1] in CLOSERS + "\"'`":
        end -= 1
    tail = typed[end:]
    if not tail:
        return typed, ""
    for split in range(end, len(typed)):
        head, closers = typed[:split], typed[split:]
        if closers and _expected_closers(head).startswith(closers):
            return head, closers
    return typed, ""


def _expected_closers(head: str) -> str:
    """The closers an editor would auto-insert for `head`'s unclosed openers and quotes, innermost first."""
    stack: list[str] = []
    for ch in head:
        if stack and ch == stack[-1] and ch in "\"'`":
            stack.pop()
        elif ch in "\"'`":
            stack.append(ch)
        elif ch in OPENERS:
            stack.append(PAIRS[ch])
        elif ch in CLOSERS and stack and stack[-1] == ch:
            stack.pop()
    return "".join(reversed(stack))
