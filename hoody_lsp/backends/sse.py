"""Server-sent events from a stream of bytes, with WHATWG framing and a bound on what one event may hold.

httpx-sse's `EventSource` buffers a line until its newline arrives, however long it grows; an endless line
from a broken server would then eat memory without ever reaching the caller's cap. This reader keeps the
same framing rules (CRLF, CR or LF end a line; `:` starts a comment; `data:` lines join with a newline; a
blank line dispatches) and the same `ServerSentEvent` type, and raises `EventTooLarge` past
`max_event_bytes`.
Deliberate leniencies: an event with a name but no `data:` is still dispatched (`event: done` alone means
done), and a last event not followed by a blank line is dispatched at a clean end of stream (`data: [DONE]`
without its blank line is common).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from httpx_sse import ServerSentEvent

_NEWLINE = re.compile(r"\r\n|\r|\n")


class EventTooLarge(Exception):
    """One event (or one line) passed `max_event_bytes`."""


async def aiter_sse(chunks: AsyncIterator[bytes], *, max_event_bytes: int) -> AsyncGenerator[ServerSentEvent, None]:
    """Parse `chunks` into events; comments (`:keepalive`), `id:` and `retry:` never reach the caller."""
    from httpx_sse import ServerSentEvent  # loaded with httpx, on the first generation

    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""  # the current line, not yet ended
    trailing_cr = False  # a chunk ended in "\r": a "\n" at the start of the next belongs to it
    event = ""
    data: list[str] = []
    size = 0  # characters held for the current event

    def take(line: str) -> ServerSentEvent | None:
        nonlocal event, data, size
        if not line:
            if not data and not event:
                return None
            sse = ServerSentEvent(event=event or None, data="\n".join(data))
            event, data, size = "", [], 0
            return sse
        if line[0] == ":":
            return None
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            data.append(value)
            size += len(value) + 1
            if size > max_event_bytes:
                raise EventTooLarge
        elif name == "event":
            event = value
        return None  # `id`, `retry` and unknown fields are ignored

    async for chunk in chunks:
        text = decoder.decode(chunk)
        if not text:
            continue
        if trailing_cr:
            text = "\r" + text
            trailing_cr = False
        if text[-1] == "\r":
            trailing_cr = True
            text = text[:-1]
        lines = _NEWLINE.split(text)
        if len(lines) == 1:
            pending += lines[0]
            if len(pending) > max_event_bytes:
                raise EventTooLarge
            continue
        lines[0] = pending + lines[0]
        pending = lines.pop()
        if len(pending) > max_event_bytes:
            raise EventTooLarge
        for line in lines:
            sse = take(line)
            if sse is not None:
                yield sse
    # a clean end of stream: finish the last line and the last event
    rest = pending + decoder.decode(b"", final=True)
    for line in ([rest] if rest else []) + [""]:
        sse = take(line)
        if sse is not None:
            yield sse
