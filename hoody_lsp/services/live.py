"""Live edits: one region of an open document that the server changes through the editor, safely.

A `TrackedRegion` follows a region of a document through every `didChange` (the user typing above or below
moves it; typing inside it "breaks" it: from then on the server leaves it alone) and makes the region hold a
new text through `show(text)`: the minimal edits from what the buffer holds there, sent with
`workspace/applyEdit`, then it waits for the `didChange` that brings the edit back before anything else is
computed, so no edit is ever computed for a text the server has not seen. An edit the client rejects because
the document moved on meanwhile (a versioned edit racing the user's typing) is recomputed and sent again; any
other rejection is final.

Also here, pure helpers of the streaming display: `progressive_text` (what the region shows while the answer
is still arriving: the generated lines so far, then the original lines not yet reached, so lines the model
keeps are never rewritten) and `Pacer` (how often an edit may go: the first at once, then a few per second,
fewer as the answer grows).

No pygls here: the editor side is the `Editor` protocol, implemented by the command handler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from enum import Enum
from typing import Protocol

from hoody_lsp.actions.region import LiveRegion, Region
from hoody_lsp.documents import Snapshot
from hoody_lsp.edits import Edit, split_lines, strip_line_break

log = logging.getLogger(__name__)

LANDING_TIMEOUT_S = 3.0  # how long an applied edit may take to come back as a didChange (Neovim debounces)
STALE_RETRIES = 8  # versioned edits rejected because the user typed meanwhile, sent again at most this often
_MATCH_LIMIT = 250_000  # line pairs above which `progressive_text` stops aligning (cost bound)

Span = tuple[int, int, int]  # (start, end, new_len) in code points of the text before the change
ChangeListener = Callable[[Snapshot, list[Span]], None]


# ---------------------------------------------------------------------------------------------- editor port


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    applied: bool
    stale: bool = False  # not applied because the document changed since the edit was computed
    reason: str = ""


class Editor(Protocol):
    """What a live edit needs from the editor (implemented over LSP by the command handler)."""

    def snapshot(self, uri: str) -> Snapshot | None: ...

    def listen(self, uri: str, callback: ChangeListener) -> Callable[[], None]:
        """Call `callback` on every change of `uri`; returns the function that stops it."""
        ...

    async def apply(self, snap: Snapshot, edits: Sequence[Edit], *, label: str, confirm: bool) -> ApplyOutcome:
        """Apply `edits` (code-point ranges of `snap.text`) to the document `snap.uri`, only if it still is
        at `snap`'s version. `confirm`: ask the user to review the edit first where the client can."""
        ...


class Shown(Enum):
    OK = "ok"
    BROKEN = "broken"  # the user edited inside the region: it is theirs now
    REJECTED = "rejected"  # the client refused the edit
    CLOSED = "closed"  # the document is not open any more


# ---------------------------------------------------------------------------------------------- pure helpers


def tighten(old: str, new: str) -> Span:
    """The smallest single change turning `old` into `new` (for clients that report whole-text changes).

    The common prefix is taken first, so an insertion of text that repeats its neighbours is placed as late as
    possible."""
    n = min(len(old), len(new))
    p = 0
    while p < n and old[p] == new[p]:
        p += 1
    s = 0
    while s < n - p and old[len(old) - 1 - s] == new[len(new) - 1 - s]:
        s += 1
    return p, len(old) - s, len(new) - s - p


def progressive_text(original: str, shown: str, eol: str) -> str:
    """What a region shows while its new text is still arriving: `shown` (the complete generated lines so
    far, already fitted to the region), followed by the lines of `original` not yet reached.

    The generated lines are aligned with the original ones (a line diff): the original lines after the last
    line the generation has matched (plus one for each generated line since) are kept below it. Lines the
    model keeps unchanged are therefore never deleted and re-inserted while the answer streams in.
    """
    if not shown:
        return original
    o_lines = split_lines(original)
    if not o_lines:
        return shown
    o = [strip_line_break(line) for line in o_lines]
    p = [strip_line_break(line) for line in split_lines(shown)]
    if len(o) * len(p) > _MATCH_LIMIT:
        consumed = min(len(o), len(p))
    else:
        matcher = SequenceMatcher(lambda line: not line.strip(), o, p, autojunk=False)
        blocks = [b for b in matcher.get_matching_blocks() if b.size]
        a_end, b_end = (blocks[-1].a + blocks[-1].size, blocks[-1].b + blocks[-1].size) if blocks else (0, 0)
        consumed = min(len(o), a_end + (len(p) - b_end))
    if consumed >= len(o):
        return shown
    head = shown if shown.endswith(("\n", "\r")) else shown + eol
    return head + "".join(o_lines[consumed:])


class Pacer:
    """When the next live edit may go, so a long answer takes few edits and the buffer still moves.

    The first edit goes as soon as there is something to show. After that an edit waits for `min_chars` new
    characters of the answer (or `max_wait` seconds, so a slow model still shows progress) and at least a gap
    that grows from `base_gap` with each edit (up to `max_gap`): a few edits per second at most, and about 20
    for a 2,000-character answer whatever the model's speed (`benchmarks/bench_live_edits.py`)."""

    def __init__(self, base_gap: float = 0.25, growth: float = 0.03, max_gap: float = 1.0, min_chars: int = 100,
                 max_wait: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.base_gap = base_gap
        self.growth = growth
        self.max_gap = max_gap
        self.min_chars = min_chars
        self.max_wait = max_wait
        self.clock = clock
        self.count = 0
        self._last: float | None = None
        self._last_chars = 0

    def wait_s(self, chars: int) -> float:
        """Seconds until the next edit may go (0: now), with `chars` characters of the answer so far."""
        if self._last is None:
            return 0.0
        now = self.clock()
        gap = min(self.max_gap, self.base_gap + self.growth * self.count)
        wait = self._last + gap - now
        if chars - self._last_chars < self.min_chars:
            wait = max(wait, self._last + self.max_wait - now)
        return max(0.0, wait)

    def sent(self, chars: int) -> None:
        self.count += 1
        self._last = self.clock()
        self._last_chars = chars


# ---------------------------------------------------------------------------------------------- the region


class TrackedRegion:
    """A region of an open document that the server may change, followed through the document's changes.

    `start` is the region's offset in the text the region was taken from (the document's current text);
    `original` what it holds now. Call `close()` when done (it stops listening).
    """

    def __init__(self, editor: Editor, uri: str, text: str, start: int, original: str,
                 *, current: str | None = None) -> None:
        self.editor = editor
        self.uri = uri
        self.live = LiveRegion(start, original)
        if current is not None:
            self.live.current = current
            self.live.region = Region(start, start + len(current))
        self._text = text  # the document text as of the last change we saw
        self._landed = asyncio.Event()
        self.changed = asyncio.Event()  # set on every change of the document (for waiters)
        self.applies = 0  # edits the client applied
        self._stop = editor.listen(uri, self._on_change)

    # -- state ---------------------------------------------------------------------------------------------

    @property
    def broken(self) -> bool:
        return self.live.broken

    @property
    def original(self) -> str:
        return self.live.original

    @property
    def current(self) -> str:
        return self.live.current

    @property
    def span(self) -> tuple[int, int] | None:
        region = self.live.region
        return None if region is None else (region.start, region.end)

    def intact(self) -> bool:
        """The region is not broken and the document (as the server has it) holds `current` there."""
        snap = self.editor.snapshot(self.uri)
        region = self.live.region
        if snap is None or region is None or region.end > len(snap.text):
            return False
        return snap.text[region.start : region.end] == self.live.current

    def close(self) -> None:
        self._stop()

    # -- changes -------------------------------------------------------------------------------------------

    def _on_change(self, snap: Snapshot, spans: list[Span]) -> None:
        old, self._text = self._text, snap.text
        try:
            if self.live.broken:
                return
            if any(s == 0 and n == len(snap.text) for s, _, n in spans):
                # a whole-text change (some clients report every change so): find what really changed
                spans = [tighten(old, snap.text)]
            for start, end, new_len in spans:
                if not self.live.map_change(start, end, new_len):
                    log.info("live edit: the region of %s was edited by the user", self.uri)
                    break
            if self.live.pending and not self.live.broken:
                region = self.live.region
                if region is not None and snap.text[region.start : region.end] == self.live.current:
                    self.live.confirm(snap.text)
                    self._landed.set()
        finally:
            self.changed.set()

    async def _wait_landed(self) -> None:
        if not self.live.pending:
            return
        try:
            await asyncio.wait_for(self._landed.wait(), LANDING_TIMEOUT_S)
        except TimeoutError:
            snap = self.editor.snapshot(self.uri)
            log.info("live edit: the applied edit did not come back as expected in %s", self.uri)
            self.live.confirm(snap.text if snap is not None else "")

    def _rollback(self, previous: str) -> None:
        """The client did not apply our edit: the region still holds `previous` (if the user left it alone)."""
        snap = self.editor.snapshot(self.uri)
        if snap is None:
            self.live.mark_broken()
        else:
            self.live.rollback(previous, snap.text)

    # -- edits ---------------------------------------------------------------------------------------------

    async def show(self, text: str, *, label: str, confirm: bool = False) -> tuple[Shown, str]:
        """Make the region hold `text`. Returns how it went and, when not OK, why."""
        for _ in range(STALE_RETRIES):
            if self.live.broken:
                return Shown.BROKEN, "the code was edited meanwhile"
            snap = self.editor.snapshot(self.uri)
            if snap is None:
                return Shown.CLOSED, "the document was closed"
            if not self.intact():
                self.live.region = None
                return Shown.BROKEN, "the code was edited meanwhile"
            previous = self.live.current
            edits = self.live.advance(text)
            if not edits:
                return Shown.OK, ""
            self._landed.clear()
            outcome = await self.editor.apply(snap, edits, label=label, confirm=confirm)
            if outcome.applied:
                self.applies += 1
                await self._wait_landed()
                if self.live.broken:
                    return Shown.BROKEN, "the code was edited meanwhile"
                return Shown.OK, ""
            self._rollback(previous)
            if not outcome.stale:
                return Shown.REJECTED, outcome.reason or "the editor did not apply the edit"
            log.debug("live edit: %s changed while an edit was on its way; computing it again", self.uri)
        return Shown.REJECTED, "the document kept changing"

    async def restore(self, *, label: str) -> bool:
        """Put the original text back (if the region is still ours). True when the region holds it."""
        if self.live.broken:
            return False
        if self.live.current == self.live.original:
            return True
        shown, reason = await self.show(self.live.original, label=label)
        if shown is not Shown.OK:
            log.warning("could not restore the original text in %s: %s", self.uri, reason)
        return shown is Shown.OK
