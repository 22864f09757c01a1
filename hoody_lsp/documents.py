"""Open documents as the editor has them: text, version, and position conversion in the negotiated encoding.

Pure: no pygls, no I/O. The server owns one `DocumentStore`; every request works on an immutable `Snapshot`.

LSP semantics, kept exactly: lines end at "\\n", "\\r\\n" or "\\r" (and nowhere else: U+2028, form feeds and
friends are ordinary characters); a `character` counts code units of the negotiated encoding (utf-8, utf-16 or
utf-32); a character past the end of its line means the end of that line (before its line break); a line past
the last line means the end of the document. Positions that fall inside a surrogate pair or a UTF-8 sequence
snap to the start of that character.
"""

from __future__ import annotations

import bisect
import operator
import re
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Literal

Encoding = Literal["utf-8", "utf-16", "utf-32"]
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def line_starts(text: str) -> list[int]:
    """Offsets where each line starts (the first is always 0)."""
    if "\r" not in text:  # the usual case, at C speed: a keystroke in a big file pays this
        lines = text.split("\n")
        return [0, *map(operator.add, accumulate(map(len, lines[:-1])), range(1, len(lines)))]
    starts = [0]
    starts.extend(m.end() for m in _LINE_BREAK.finditer(text))
    return starts


def edited_line_starts(starts: list[int], start: int, end: int, new_text: str) -> list[int] | None:
    """The line starts after replacing text[start:end] by `new_text`, from those before; None when the edit
    is near a "\r" (a "\r\n" may form or split there: recount the whole text instead).

    `starts` must hold for a text with no "\r" in it."""
    if "\r" in new_text:
        return None
    first = bisect.bisect_right(starts, start)  # starts <= start stay
    after = bisect.bisect_right(starts, end)  # starts > end move by the length change
    delta = len(new_text) - (end - start)
    added = [start + m.end() for m in _LINE_BREAK.finditer(new_text)] if "\n" in new_text else []
    if delta:
        return [*starts[:first], *added, *(s + delta for s in starts[after:])]
    return [*starts[:first], *added, *starts[after:]]


def _units(ch: str, encoding: Encoding) -> int:
    cp = ord(ch)
    if encoding == "utf-16":
        return 2 if cp > 0xFFFF else 1
    if encoding == "utf-8":
        if cp < 0x80:
            return 1
        if cp < 0x800:
            return 2
        return 3 if cp < 0x10000 else 4
    return 1


def units_len(text: str, encoding: Encoding) -> int:
    if encoding == "utf-32" or text.isascii():
        return len(text)
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text.encode("utf-8"))


def eol_of(text: str) -> str:
    """The document's line ending: the first one found (default "\\n")."""
    m = _LINE_BREAK.search(text)
    return m.group(0) if m else "\n"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An immutable view of one document version."""

    uri: str
    language_id: str
    version: int | None
    text: str
    encoding: Encoding
    _starts: list[int] = field(default_factory=list, compare=False, repr=False)

    def _line_starts(self) -> list[int]:
        if not self._starts:
            self._starts.extend(line_starts(self.text))
        return self._starts

    @property
    def line_count(self) -> int:
        return len(self._line_starts())

    def line_span(self, line: int) -> tuple[int, int]:
        """(start, end) offsets of a line's content, line break excluded."""
        starts = self._line_starts()
        if line < 0:
            line = 0
        if line >= len(starts):
            return len(self.text), len(self.text)
        start = starts[line]
        end = starts[line + 1] if line + 1 < len(starts) else len(self.text)
        while end > start and self.text[end - 1] in "\r\n":
            end -= 1
        return start, end

    def line_text(self, line: int) -> str:
        start, end = self.line_span(line)
        return self.text[start:end]

    def offset_at(self, line: int, character: int) -> int:
        """Client position (negotiated units) -> code-point offset, clamped as LSP says."""
        starts = self._line_starts()
        if line < 0:
            return 0
        if line >= len(starts):
            return len(self.text)
        start, end = self.line_span(line)
        if character <= 0:
            return start
        content = self.text[start:end]
        if self.encoding == "utf-32" or content.isascii():
            return start + min(character, len(content))
        units = 0
        for i, ch in enumerate(content):
            n = _units(ch, self.encoding)
            if units + n > character:
                return start + i
            units += n
        return end

    def position_at(self, offset: int) -> tuple[int, int]:
        """Code-point offset -> client position (line, character in negotiated units)."""
        offset = max(0, min(offset, len(self.text)))
        starts = self._line_starts()
        line = bisect.bisect_right(starts, offset) - 1
        # an offset between "\r" and "\n" belongs to the end of that line
        start, end = self.line_span(line)
        offset = min(offset, end)
        return line, units_len(self.text[start:offset], self.encoding)

    def code_point_position(self, offset: int) -> tuple[int, int]:
        """Code-point offset -> (line, column in code points)."""
        line, _ = self.position_at(offset)
        start, end = self.line_span(line)
        return line, min(offset, end) - start

    @property
    def eol(self) -> str:
        return eol_of(self.text)


class DocumentStore:
    """The open documents, kept current by didOpen/didChange/didClose."""

    def __init__(self, encoding: Encoding = "utf-16") -> None:
        self.encoding: Encoding = encoding
        self._docs: dict[str, Snapshot] = {}

    def open(self, uri: str, language_id: str, version: int | None, text: str) -> Snapshot:
        snap = Snapshot(uri, language_id, version, text, self.encoding)
        self._docs[uri] = snap
        return snap

    def close(self, uri: str) -> None:
        self._docs.pop(uri, None)

    def get(self, uri: str) -> Snapshot | None:
        return self._docs.get(uri)

    def __contains__(self, uri: object) -> bool:
        return uri in self._docs

    def uris(self) -> list[str]:
        return list(self._docs)

    def change(
        self,
        uri: str,
        version: int | None,
        changes: list[tuple[tuple[int, int, int, int] | None, str]],
    ) -> tuple[Snapshot, list[tuple[int, int, int]]] | None:
        """Apply content changes in order; each is (range as (l0, c0, l1, c1) or None for full text, text).

        Returns the new snapshot and, per change, (start, end, new_length) in code-point offsets of the text
        before that change (for mapping tracked regions), or None when the document is not open.
        """
        snap = self._docs.get(uri)
        if snap is None:
            return None
        current = snap
        spans: list[tuple[int, int, int]] = []
        for rng, new_text in changes:
            text = current.text
            if rng is None:
                spans.append((0, len(text), len(new_text)))
                current = Snapshot(uri, snap.language_id, version, new_text, self.encoding)
                continue
            start = current.offset_at(rng[0], rng[1])
            end = current.offset_at(rng[2], rng[3])
            if end < start:
                start, end = end, start
            spans.append((start, end, len(new_text)))
            # the line starts follow the edit instead of being recounted: one keystroke, one small update
            starts = edited_line_starts(current._line_starts(), start, end, new_text) if "\r" not in text else None
            current = Snapshot(uri, snap.language_id, version, text[:start] + new_text + text[end:], self.encoding,
                               starts or [])
        if current is snap:  # no changes: still a new version
            current = Snapshot(uri, snap.language_id, version, snap.text, self.encoding, snap._starts)
        self._docs[uri] = current
        return current, spans
