"""Generated text -> minimal edits, and code-point offset <-> (line, column) conversions (pure).

Everything here works on Python strings and code-point offsets (str indices). Line breaks follow LSP:
"\\n", "\\r\\n" and "\\r" each end a line, and "\\r\\n" counts as one break. Converting code points to the
client's position encoding (UTF-16 for VS Code, UTF-8 for Neovim) is the server's job, at the edge.

Edit semantics (the same as an LSP `TextEdit[]`): every `Edit` is a range of the *original* text; the
ranges of a list never overlap; edits starting at the same offset are applied in list order. `minimal_edits`
returns its edits sorted by `start`, non-overlapping, never touching a line that did not change, and never
cutting a "\\r\\n" in two.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace `original[start:end]` with `text` (offsets into the original string, in code points)."""

    start: int
    end: int
    text: str


# ---------------------------------------------------------------------------------------------- lines


def line_starts(text: str) -> list[int]:
    """Offsets where each line starts; always at least `[0]` (an empty text has one empty line)."""
    return [0, *(m.end() for m in _LINE_BREAK.finditer(text))]


def split_lines(text: str) -> list[str]:
    """The lines of `text`, each with its line break (LSP line ends). `""` gives `[]`."""
    starts = line_starts(text)
    lines = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
    if lines and lines[-1] == "":
        lines.pop()  # the text ended with a line break (or was empty): no extra empty line
    return lines


def strip_line_break(line: str) -> str:
    """A line without its trailing line break."""
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith(("\n", "\r")):
        return line[:-1]
    return line


class LineIndex:
    """Line starts of one text, for many conversions without rescanning it."""

    __slots__ = ("_starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = line_starts(text)

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line_start(self, line: int) -> int:
        """Offset of the start of `line` (a line past the end gives `len(text)`)."""
        if line < 0:
            raise ValueError(f"negative line {line}")
        return self._starts[line] if line < len(self._starts) else len(self.text)

    def line_content_end(self, line: int) -> int:
        """Offset of the end of `line`'s content, before its line break."""
        if line >= len(self._starts):
            return len(self.text)
        end = self._starts[line + 1] if line + 1 < len(self._starts) else len(self.text)
        if end > self._starts[line] and self.text[end - 1] == "\n":
            end -= 1
            if end > self._starts[line] and self.text[end - 1] == "\r":
                end -= 1
        elif end > self._starts[line] and self.text[end - 1] == "\r":
            end -= 1
        return end

    def offset_to_line_col(self, offset: int) -> tuple[int, int]:
        """(line, column) of `offset`. An offset between "\\r" and "\\n" maps to the end of that line."""
        if not 0 <= offset <= len(self.text):
            raise ValueError(f"offset {offset} outside 0..{len(self.text)}")
        line = bisect_right(self._starts, offset) - 1
        col = min(offset, self.line_content_end(line)) - self._starts[line]
        return line, col

    def line_col_to_offset(self, line: int, col: int) -> int:
        """Offset of (line, column). As in LSP, a column past the line's end means the line's end (before its
        line break); a line past the last one means the end of the text."""
        if line < 0 or col < 0:
            raise ValueError(f"negative position {line}:{col}")
        if line >= len(self._starts):
            return len(self.text)
        return min(self._starts[line] + col, self.line_content_end(line))


def offset_to_line_col(text: str, offset: int) -> tuple[int, int]:
    """0-based (line, column in code points) of `offset` in `text`; see `LineIndex.offset_to_line_col`."""
    return LineIndex(text).offset_to_line_col(offset)


def line_col_to_offset(text: str, line: int, col: int) -> int:
    """Offset in `text` of 0-based (line, column in code points); see `LineIndex.line_col_to_offset`."""
    return LineIndex(text).line_col_to_offset(line, col)


# ---------------------------------------------------------------------------------------------- edits


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply `edits` (ranges of `text`, non-overlapping; equal starts keep list order); return the result."""
    order = sorted(range(len(edits)), key=lambda i: edits[i].start)  # stable: ties keep list order
    parts: list[str] = []
    pos = 0
    for i in order:
        edit = edits[i]
        if not 0 <= edit.start <= edit.end <= len(text):
            raise ValueError(f"edit {edit!r} outside 0..{len(text)}")
        if edit.start < pos:
            raise ValueError(f"edit {edit!r} overlaps an earlier edit")
        parts.append(text[pos : edit.start])
        parts.append(edit.text)
        pos = edit.end
    parts.append(text[pos:])
    return "".join(parts)


def shift_edits(edits: Sequence[Edit], delta: int) -> list[Edit]:
    """The same edits with every offset moved by `delta` (e.g. from a region's text to its document)."""
    return [Edit(e.start + delta, e.end + delta, e.text) for e in edits]


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _common_suffix(a: str, b: str, limit: int) -> int:
    n = min(len(a), len(b), limit)
    i = 0
    while i < n and a[-1 - i] == b[-1 - i]:
        i += 1
    return i


def _splits_crlf(text: str, offset: int) -> bool:
    return 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n"


def _hunk_edit(original: str, a_start: int, a_end: int, new_part: str) -> Edit | None:
    """The smallest edit turning `original[a_start:a_end]` into `new_part`, without splitting a "\\r\\n"."""
    old_part = original[a_start:a_end]
    prefix = _common_prefix(old_part, new_part)
    suffix = _common_suffix(old_part, new_part, min(len(old_part), len(new_part)) - prefix)
    start = a_start + prefix
    end = a_end - suffix
    # An edit boundary between "\r" and "\n" would be a position LSP cannot express: widen by one.
    if _splits_crlf(original, start):
        start -= 1
        prefix -= 1
    if _splits_crlf(original, end):
        end += 1
        suffix -= 1
    text = new_part[prefix : len(new_part) - suffix]
    if start == end and text == "":
        return None
    return Edit(start, end, text)


def minimal_edits(original: str, new: str) -> list[Edit]:
    """Edits (sorted, non-overlapping, ranges of `original`) that turn `original` into `new` exactly.

    A line diff (difflib on whole lines, line breaks included) finds the changed hunks; each hunk is then
    trimmed to the characters that really differ (common prefix and suffix), so unchanged lines are never
    rewritten and a one-word change is a one-word edit.
    """
    if original == new:
        return []
    a = split_lines(original)
    b = split_lines(new)
    # Common leading/trailing lines are cheap to skip and keep difflib's quadratic worst case small.
    head = 0
    while head < len(a) and head < len(b) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < len(a) - head and tail < len(b) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    a_mid = a[head : len(a) - tail]
    b_mid = b[head : len(b) - tail]
    a_offsets = [0]
    for line in a:
        a_offsets.append(a_offsets[-1] + len(line))
    b_offsets = [0]
    for line in b:
        b_offsets.append(b_offsets[-1] + len(line))

    edits: list[Edit] = []
    matcher = SequenceMatcher(None, a_mid, b_mid, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        a_start, a_end = a_offsets[head + i1], a_offsets[head + i2]
        new_part = new[b_offsets[head + j1] : b_offsets[head + j2]]
        edit = _hunk_edit(original, a_start, a_end, new_part)
        if edit is not None:
            edits.append(edit)
    return edits
