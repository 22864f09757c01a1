"""Inline completions over time: when to ask, debounce, supersede, cache, typing-through and early answers.

One `InlineEngine` per server. For each document it keeps at most one running upstream stream and a few
finished suggestions. A request:

1. answers at once with nothing when it must not ask (disabled, excluded or secret file, disabled language,
   inside a word unless invoked, document too large, a 429 window running, an auth/URL error until the
   settings change);
2. answers at once from the running stream or the cache when the user typed the start of what was shown or is
   being generated (typing-through: no new backend call);
3. otherwise waits the debounce (adaptive, fixed, or none when invoked), supersedes the document's previous
   stream (closing its HTTP stream at once) and starts a new one;
4. answers as soon as the suggestion is ready: the first complete line in single-line mode (the stream is then
   closed), or, in multi-line mode, the first complete line while the stream keeps running (early answer); the
   longer text then serves the next request at the advanced position.

No pygls here: the handler converts positions and LSP types; this module works on code-point offsets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hoody_lsp.backends.base import (
    INLINE_CAP_CHARS,
    Backend,
    ContextItem,
    GenerateRequest,
    TargetFile,
)
from hoody_lsp.backends.errors import BackendError
from hoody_lsp.completion import (
    MAX_LINES,
    CursorContext,
    clean,
    extend_word_range,
    multiline_mode,
    should_request,
    to_eol,
    window,
)
from hoody_lsp.services.health import BackendHealth
from hoody_lsp.settings import Settings

log = logging.getLogger(__name__)

MAX_DOCUMENT_CHARS = 1_000_000
PREFIX_CHARS = 6_000
SUFFIX_CHARS = 2_000
CLOSERS = ")]}\"'`>"
CANCEL_GRACE_S = 0.02  # a cancelled request's stream waits this long for a newer request that can use it
EARLY_GRACE_S = 0.03  # an early answer waits this long for the rest of a burst before it goes out
CACHE_PER_DOC = 8
CACHE_DOCS = 64


@dataclass(frozen=True, slots=True)
class InlineQuery:
    uri: str
    path: str  # filesystem path (or the URI for untitled buffers)
    language: str
    text: str
    offset: int  # cursor, code points
    invoked: bool
    indent: str
    eol: str
    received: float = field(default_factory=time.monotonic)

    @property
    def prefix(self) -> str:
        return self.text[: self.offset]

    @property
    def suffix(self) -> str:
        return self.text[self.offset :]

    def line_prefix(self) -> str:
        start = max(self.text.rfind("\n", 0, self.offset), self.text.rfind("\r", 0, self.offset)) + 1
        return self.text[start : self.offset]

    def line_suffix(self) -> str:
        ends = [i for i in (self.text.find("\n", self.offset), self.text.find("\r", self.offset)) if i >= 0]
        return self.text[self.offset : min(ends) if ends else len(self.text)]


@dataclass(frozen=True, slots=True)
class Suggestion:
    text: str  # ready to insert (the document's line endings)
    start: int  # code-point offset where the replaced range starts (<= the cursor)
    end: int  # the cursor


ContextProvider = Callable[[InlineQuery, int], Sequence[ContextItem]]


class _Stream:
    """One upstream generation for one document, anchored at the cursor where it was asked for."""

    def __init__(self, anchor_prefix: str, anchor_suffix: str, ctx: CursorContext,
                 notify: Callable[[], None]) -> None:
        self.anchor_prefix = anchor_prefix
        self.anchor_suffix = anchor_suffix
        self.ctx = ctx
        self.multiline = bool(ctx.multiline)
        self.text = ""
        self.done = False
        self.failed = False
        self.users = 0
        self.task: asyncio.Task[None] | None = None
        self._notify = notify  # wakes whoever waits on this document
        self.started = time.monotonic()
        self.first_chunk_at: float | None = None
        self._close_handle: asyncio.TimerHandle | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self.expired = False

    def expire_in(self, seconds: float) -> None:
        """Close at the inline deadline. The deadline is kept here rather than passed to the backend: every
        cancel of the pump then comes from `close()`, once. Two cancels (a backend timeout and a supersede
        racing) interrupt httpcore's own clean-up half-way and leak the connection."""
        self._expiry = asyncio.get_running_loop().call_later(max(0.0, seconds), self._expire)

    def _expire(self) -> None:
        self._expiry = None
        if not self.done:
            self.expired = True  # what arrived is not a suggestion: it is dropped, not shown or cached
            self.close()

    def pulse(self) -> None:
        self._notify()

    def close(self) -> None:
        if self._close_handle is not None:
            self._close_handle.cancel()
            self._close_handle = None
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self.task is not None and not self.task.done() and not self.done:
            # once: a second cancel would interrupt the HTTP stream's own clean-up and leak the connection
            self.task.cancel()
        self.done = True
        self.pulse()

    def close_soon(self, delay: float) -> None:
        if self.done or self._close_handle is not None:
            return
        self._close_handle = asyncio.get_running_loop().call_later(delay, self._close_if_unused)

    def _close_if_unused(self) -> None:
        self._close_handle = None
        if self.users == 0:
            self.close()

    def keep(self) -> None:
        if self._close_handle is not None:
            self._close_handle.cancel()
            self._close_handle = None


@dataclass(slots=True)
class _CacheEntry:
    prefix_tail: str
    suffix_head: str
    text: str
    multiline: bool


@dataclass(slots=True)
class _DocState:
    generation: int = 0
    stream: _Stream | None = None
    last_request: float = 0.0
    # set (then replaced) when a newer request arrives or the document's stream moves: one event to wait on
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        self.wake.set()
        self.wake = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        """Wait until woken or `seconds` have passed, whichever comes first."""
        wake = self.wake
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await wake.wait()


def typed_since(anchor_prefix: str, anchor_suffix: str, prefix: str, suffix: str) -> str | None:
    """What the user typed at the anchor since it was taken, or None when the text moved elsewhere.

    The text after the cursor must be unchanged, except for closing brackets or quotes the editor
    auto-inserted while the user typed.
    """
    if len(prefix) < len(anchor_prefix) or not prefix.startswith(anchor_prefix):
        return None
    if suffix != anchor_suffix:
        extra = len(suffix) - len(anchor_suffix)
        if extra <= 0 or not suffix.endswith(anchor_suffix) or any(c not in CLOSERS for c in suffix[:extra]):
            return None
    return prefix[len(anchor_prefix) :]


def _suffix_matches(anchor_head: str, suffix: str) -> bool:
    """The text after the cursor is what it was, give or take a few auto-inserted closers."""
    if suffix.startswith(anchor_head):
        return True
    for k in range(1, 4):
        if k <= len(suffix) and suffix[k - 1] in CLOSERS and suffix[k:].startswith(anchor_head):
            return True
        if k > len(suffix) or suffix[k - 1] not in CLOSERS:
            return False
    return False


class Debouncer:
    """Adaptive debounce: short after a pause, longer while the user types fast.

    Learns the user's rhythm (the gaps between successive requests while typing) and the backend's latency
    (a slow backend makes a wasted request costlier, so wait a little longer).
    """

    PAUSE_S = 0.8
    MIN_S = 0.015
    MAX_S = 0.3
    DEFAULT_S = 0.075  # while the rhythm is not known yet
    HUMAN_GAP_S = 0.01  # closer requests were queued behind each other, not typed

    def __init__(self) -> None:
        self._gaps: deque[float] = deque(maxlen=32)
        self._latency: float | None = None

    def observe_latency(self, seconds: float) -> None:
        self._latency = seconds if self._latency is None else 0.8 * self._latency + 0.2 * seconds

    def delay(self, gap: float) -> float:
        if gap >= self.PAUSE_S:
            return self.MIN_S
        if gap >= self.HUMAN_GAP_S:
            self._gaps.append(gap)
        if len(self._gaps) < 3:
            rhythm = self.DEFAULT_S
        else:
            gaps = sorted(self._gaps)
            # cover the user's usual gap between keys with margin (keys arrive with jitter)
            rhythm = max(2.0 * gaps[len(gaps) // 2], 1.5 * gaps[(len(gaps) * 3) // 4])
        slack = 0.0 if self._latency is None else min(0.05, self._latency * 0.05)
        delay = min(self.MAX_S, max(self.MIN_S, rhythm + slack))
        log.debug("debounce %.0f ms (gap %.0f ms)", delay * 1000, gap * 1000)
        return delay


class InlineEngine:
    def __init__(
        self,
        backend: Callable[[], Backend],
        health: BackendHealth,
        settings: Callable[[], Settings],
        context: ContextProvider,
        allowed: Callable[[str], bool],
        redact: Callable[[str], str],
        early_answer: bool = True,
    ) -> None:
        self._backend = backend
        self._health = health
        self._settings = settings
        self._context = context
        self._allowed = allowed
        self._redact = redact
        self._early_answer = early_answer
        self._docs: dict[str, _DocState] = {}
        self._cache: OrderedDict[str, list[_CacheEntry]] = OrderedDict()
        self.debouncer = Debouncer()
        self.backend_calls = 0

    # -- public ------------------------------------------------------------------------------------

    async def complete(self, query: InlineQuery) -> Suggestion | None:
        state = self._docs.setdefault(query.uri, _DocState())
        gap = query.received - state.last_request if state.last_request else float("inf")
        state.last_request = query.received
        state.generation += 1
        generation = state.generation
        state.notify()

        reason = self._skip_reason(query)
        if reason:
            log.debug("inline: not asking (%s)", reason)
            self._supersede_stream(state, query)
            return None

        # typing-through: the running stream or a finished suggestion already covers this position
        stream = self._supersede_stream(state, query)
        if stream is not None:
            return await self._serve(state, generation, stream, query)
        cached = self._from_cache(query)
        if cached is not None:
            return cached

        until = time.monotonic() + self._debounce(query, gap)
        while state.generation == generation and time.monotonic() < until:
            await state.sleep(until - time.monotonic())
        if state.generation != generation:
            return None  # a newer request for this document arrived while we waited
        reason = self._health.inline_gate()
        if reason:
            return None

        stream = self._start(state, query)
        return await self._serve(state, generation, stream, query)

    def forget(self, uri: str) -> None:
        """The document was closed."""
        state = self._docs.pop(uri, None)
        if state and state.stream:
            state.stream.close()
        self._cache.pop(uri, None)

    def reset(self) -> None:
        """Settings changed: drop every stream and suggestion."""
        for state in self._docs.values():
            if state.stream:
                state.stream.close()
        self._docs.clear()
        self._cache.clear()

    def close_all(self) -> None:
        for state in self._docs.values():
            if state.stream:
                state.stream.close()

    @property
    def running_streams(self) -> int:
        return sum(1 for s in self._docs.values() if s.stream and s.stream.task and not s.stream.task.done())

    # -- decisions ---------------------------------------------------------------------------------

    def _skip_reason(self, query: InlineQuery) -> str | None:
        settings = self._settings().inline_completion
        if not settings.enabled:
            return "disabled"
        if query.language in settings.disabled_languages:
            return "language disabled"
        if len(query.text) > MAX_DOCUMENT_CHARS:
            return "document too large"
        if not self._allowed(query.path):
            return "excluded or secret file"
        if not should_request(query.line_prefix(), query.line_suffix(), query.invoked):
            return "inside a word"
        return self._health.inline_gate()

    def _debounce(self, query: InlineQuery, gap: float) -> float:
        if query.invoked:
            return 0.0
        fixed = self._settings().inline_completion.debounce_ms
        if fixed is not None:
            return fixed / 1000.0
        return self.debouncer.delay(gap)

    def _supersede_stream(self, state: _DocState, query: InlineQuery) -> _Stream | None:
        """Keep the running stream when it can serve this position; otherwise close it now."""
        stream = state.stream
        if stream is None:
            return None
        typed = typed_since(stream.anchor_prefix, stream.anchor_suffix, query.prefix, query.suffix)
        # usable when the user typed exactly what it generated so far (nothing generated yet proves nothing)
        usable = typed is not None and (
            stream.text.startswith(typed)
            or (not stream.done and bool(stream.text) and typed.startswith(stream.text))
        )
        if usable and not (stream.done and stream.failed):
            stream.keep()
            if stream.done and len(stream.text) <= len(typed or ""):
                return None
            return stream
        if not stream.done:
            stream.close()
        state.stream = None
        return None

    # -- streams -----------------------------------------------------------------------------------

    def _start(self, state: _DocState, query: InlineQuery) -> _Stream:
        multiline = multiline_mode(query.line_prefix(), query.line_suffix(), query.prefix, query.suffix)
        stream = _Stream(query.prefix, query.suffix, self._cursor_context(query, multiline), state.notify)
        settings = self._settings()
        prefix, suffix = stream.ctx.prefix, stream.ctx.suffix
        remaining = settings.inline_completion.timeout_ms / 1000.0 - (time.monotonic() - query.received)
        request = GenerateRequest(
            task="completion",
            directive="Complete the code at the cursor. Output only the code to insert.",
            language=query.language,
            prefix=self._redact(prefix),
            suffix=self._redact(suffix),
            target_files=(TargetFile(path=query.path),),
            context=tuple(self._context(query, settings.context.budget_chars)),
            max_tokens=512 if multiline else 128,
            temperature=0.2,
            deadline_s=None,  # see _Stream.expire_in
            cap_chars=INLINE_CAP_CHARS,
            cap_is_error=False,
            retry=False,
        )
        self.backend_calls += 1
        stream.task = asyncio.create_task(self._pump(query.uri, stream, request))
        stream.expire_in(remaining)
        state.stream = stream
        return stream

    async def _pump(self, uri: str, stream: _Stream, request: GenerateRequest) -> None:
        try:
            generation = self._backend().generate(request)
            async with generation:
                async for chunk in generation:
                    if stream.first_chunk_at is None:
                        stream.first_chunk_at = time.monotonic()
                        self.debouncer.observe_latency(stream.first_chunk_at - stream.started)
                    stream.text += chunk
                    if self._enough(stream, chunk):
                        break
                    stream.pulse()
            self._health.success()
        except BackendError as exc:
            stream.failed = True
            self._health.failure(exc)
        except asyncio.CancelledError:
            stream.failed = not stream.text or stream.expired
            raise
        except Exception:  # a bug must not take the server down; the user sees no suggestion
            stream.failed = True
            log.exception("inline stream failed")
        finally:
            stream.done = True
            stream.pulse()
            if not stream.failed and stream.text.strip():
                self._remember(uri, stream)

    def _enough(self, stream: _Stream, chunk: str) -> bool:
        """Stop generating once what follows can no longer be shown."""
        if "\n" not in chunk:
            return False
        if not stream.multiline:
            # the first line that survives cleaning is all a single-line suggestion shows
            return bool(clean(stream.text, stream.ctx, final=False))
        return stream.text.count("\n") > MAX_LINES + 20

    async def _serve(self, state: _DocState, generation: int, stream: _Stream, query: InlineQuery
                     ) -> Suggestion | None:
        """Wait on the stream until it can answer this query, then answer."""
        deadline = query.received + self._settings().inline_completion.timeout_ms / 1000.0
        early_at: float | None = None
        stream.users += 1
        try:
            while True:
                if state.generation != generation or stream.failed or stream.expired:
                    return None  # superseded, or the backend failed: a failure answers nothing
                typed = typed_since(stream.anchor_prefix, stream.anchor_suffix, query.prefix, query.suffix)
                if typed is None:
                    return None
                raw = stream.text
                if not raw.startswith(typed):
                    if stream.done or not typed.startswith(raw):
                        return None
                else:
                    answer = self._answer(query, raw[len(typed):], stream.multiline, final=stream.done)
                    if answer is not None and not stream.done and stream.multiline:
                        # an early answer: give a fast backend a moment to send the rest in the same burst
                        early_at = early_at if early_at is not None else time.monotonic()
                        wait = min(EARLY_GRACE_S - (time.monotonic() - early_at), deadline - time.monotonic())
                        if wait > 0:
                            await state.sleep(wait)
                            continue
                    if answer is not None or stream.done:
                        return answer
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                await state.sleep(remaining)
        finally:
            stream.users -= 1
            if stream.users == 0 and not stream.done and state.generation == generation:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # the client cancelled: close the upstream unless a newer request picks it up
                    stream.close_soon(CANCEL_GRACE_S)

    def _answer(self, query: InlineQuery, remainder: str, multiline: bool, *, final: bool
                ) -> Suggestion | None:
        if not final:
            if not multiline:
                first, newline, _ = remainder.lstrip("\r\n").partition("\n")
                if not (newline and first.strip()):
                    return None
                final = True
            elif not self._early_answer or "\n" not in remainder.lstrip("\r\n"):
                return None
        text = clean(remainder, self._cursor_context(query, multiline), final=final)
        if not text:
            return None
        back, text = extend_word_range(query.line_prefix(), text)
        if not text:
            return None  # it only repeated the word typed so far
        return Suggestion(text=to_eol(text, query.eol), start=query.offset - back, end=query.offset)

    @staticmethod
    def _cursor_context(query: InlineQuery, multiline: bool) -> CursorContext:
        prefix, suffix = window(query.text, query.offset, PREFIX_CHARS, SUFFIX_CHARS)
        return CursorContext(
            prefix=prefix, suffix=suffix, language=query.language, indent=query.indent, multiline=multiline
        )

    # -- cache -------------------------------------------------------------------------------------

    def _remember(self, uri: str, stream: _Stream) -> None:
        entries = self._cache.setdefault(uri, [])
        self._cache.move_to_end(uri)
        entry = _CacheEntry(stream.anchor_prefix[-400:], stream.anchor_suffix[:400], stream.text, stream.multiline)
        entries[:] = [e for e in entries if (e.prefix_tail, e.suffix_head) != (entry.prefix_tail, entry.suffix_head)]
        entries.insert(0, entry)
        del entries[CACHE_PER_DOC:]
        while len(self._cache) > CACHE_DOCS:
            self._cache.popitem(last=False)

    def _from_cache(self, query: InlineQuery) -> Suggestion | None:
        entries = self._cache.get(query.uri)
        if not entries:
            return None
        prefix = query.prefix
        for entry in entries:
            start = max(0, len(prefix) - len(entry.prefix_tail) - len(entry.text))
            at = prefix.rfind(entry.prefix_tail, start)
            if at < 0:
                continue
            typed = prefix[at + len(entry.prefix_tail):]
            if not entry.text.startswith(typed) or len(typed) >= len(entry.text.rstrip()):
                continue
            if not _suffix_matches(entry.suffix_head, query.suffix):
                continue
            answer = self._answer(query, entry.text[len(typed):], entry.multiline, final=True)
            if answer is not None:
                self._cache.move_to_end(query.uri)
                return answer
        return None
