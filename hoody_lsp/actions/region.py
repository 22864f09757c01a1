"""Live-edit region tracking (pure): where streamed code sits in a document that the user may be editing.

While a command streams its answer into the buffer, the server keeps a `LiveRegion`: the region's original
text, what the buffer holds there now, and where that is. Each new version of the generated text becomes the
minimal edits from what the buffer holds; the original comes back the same way. Changes the user makes are
mapped through `map_through_change`: outside the region they only move it; inside it they end the live edit.

Boundary decisions (tested): an insertion exactly at the region's start or end is outside (typing right before
or right after the region is allowed; before an empty region counts as before it); a change that replaces or
deletes text across a boundary touches the inside.

Our own edits come back from the client as document changes too. Between `advance` and `confirm` the region
is *pending*: a change inside the extent the region had before or has after our edit is taken as ours.
`confirm` then checks the document really holds the expected text there.
"""

from __future__ import annotations

from dataclasses import dataclass

from hoody_lsp.edits import Edit, minimal_edits, shift_edits


@dataclass(slots=True)
class Region:
    """Offsets `[start, end)` into the current document text (code points)."""

    start: int
    end: int


def map_through_change(region: Region, change_start: int, change_end: int, new_len: int) -> Region | None:
    """`region` after the text `[change_start, change_end)` (offsets before the change) became `new_len`
    characters: shifted if the change is before it, the same if after it, None if the change touches the
    inside (see the module docstring for the boundaries)."""
    if not 0 <= change_start <= change_end or new_len < 0:
        raise ValueError(f"bad change {change_start}..{change_end} -> {new_len}")
    if change_end <= region.start:
        delta = new_len - (change_end - change_start)
        return Region(region.start + delta, region.end + delta)
    if change_start >= region.end:
        return Region(region.start, region.end)
    return None


def complete_lines(text: str) -> str:
    """The part of a streaming text made of complete lines (up to its last line break). A final "\\r" is held
    back: it may be the first half of "\\r\\n"."""
    if text.endswith("\r"):
        text = text[:-1]
    return text[: max(text.rfind("\n"), text.rfind("\r")) + 1]


class LiveRegion:
    """One command's region while its generated text streams into the buffer."""

    def __init__(self, start: int, original: str, *, current: str | None = None) -> None:
        """A region at `start` whose text before the command was `original`; the buffer holds `current` there
        now (default: still `original`)."""
        self.original = original  # the text the command replaces, for `restore_edits`
        self.current = original if current is None else current  # what the buffer holds in the region
        self.region: Region | None = Region(start, start + len(self.current))  # None: the user edited inside
        self._pending_extent: int | None = None  # while our edit is pending: how far it may reach

    @property
    def broken(self) -> bool:
        """True once the user changed the inside of the region: no more live edits, no restoring."""
        return self.region is None

    @property
    def pending(self) -> bool:
        return self._pending_extent is not None

    def _require_region(self) -> Region:
        if self.region is None:
            raise RuntimeError("the region was edited by the user")
        return self.region

    def edits_to(self, new_text: str) -> list[Edit]:
        """The minimal edits (offsets into the current document) turning the region's text into `new_text`."""
        region = self._require_region()
        return shift_edits(minimal_edits(self.current, new_text), region.start)

    def restore_edits(self) -> list[Edit]:
        """The minimal edits that put the original text back."""
        return self.edits_to(self.original)

    def advance(self, new_text: str) -> list[Edit]:
        """`edits_to(new_text)`, recording that the buffer is about to hold `new_text` (pending until
        `confirm`)."""
        edits = self.edits_to(new_text)
        region = self._require_region()
        if edits:
            extent = max(len(self.current), len(new_text))
            self._pending_extent = max(self._pending_extent or 0, extent)
        self.current = new_text
        self.region = Region(region.start, region.start + len(new_text))
        return edits

    def map_change(self, change_start: int, change_end: int, new_len: int) -> bool:
        """Take a document change into account (offsets before the change). Returns False once the region is
        broken. While an edit of ours is pending, a change within the region's extent is taken as ours."""
        region = self.region
        if region is None:
            return False
        if self._pending_extent is not None:
            zone_end = region.start + self._pending_extent
            if region.start <= change_start and change_end <= zone_end:
                return True  # our own edit coming back: the region already counts it
        mapped = map_through_change(region, change_start, change_end, new_len)
        self.region = mapped
        return mapped is not None

    def mark_broken(self) -> None:
        """Give the region up (e.g. the document no longer holds what we expect there)."""
        self.region = None
        self._pending_extent = None

    def rollback(self, previous: str, document: str) -> bool:
        """The client did not apply our pending edit: the region holds `previous` again, if `document` (the
        current text) shows it there; else the region is broken. Returns False when broken."""
        self._pending_extent = None
        region = self.region
        if region is None:
            return False
        end = region.start + len(previous)
        if document[region.start : end] != previous:
            self.region = None
            return False
        self.current = previous
        self.region = Region(region.start, end)
        return True

    def confirm(self, document: str) -> bool:
        """After our edits were applied: end the pending state and check the document holds the expected text
        in the region. A mismatch (the user typed inside meanwhile, the client changed the text) breaks it."""
        self._pending_extent = None
        region = self.region
        if region is None:
            return False
        if document[region.start : region.end] != self.current:
            self.region = None
            return False
        return True
