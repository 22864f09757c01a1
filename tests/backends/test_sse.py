"""The SSE reader: WHATWG framing whatever the chunk boundaries, comments and ids ignored, bounded events."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hoody_lsp.backends.sse import EventTooLarge, aiter_sse

STREAM = (
    ": keepalive\n\n"
    'id: 1\nevent: token\ndata: {"text": "d\\u00e9f "}\n\n'
    "event: token\r\ndata: line one\r\ndata: line two\r\n\r\n"
    "id: 2\rdata: 日本 🎉\r\r"
    ":keepalive\n"
    "event: done\n\n"
    "data: [DONE]\n"
).encode()

EXPECTED = [
    ("token", '{"text": "d\\u00e9f "}'),
    ("token", "line one\nline two"),
    ("message", "日本 🎉"),
    ("done", ""),
    ("message", "[DONE]"),
]


async def _chunks(data: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    last = 0
    for cut in [*cuts, len(data)]:
        yield data[last:cut]
        last = cut


async def _parse(data: bytes, cuts: list[int], limit: int = 10_000) -> list[tuple[str, str]]:
    return [(e.event, e.data) async for e in aiter_sse(_chunks(data, cuts), max_event_bytes=limit)]


async def test_whole_stream() -> None:
    assert await _parse(STREAM, []) == EXPECTED


async def test_every_single_cut() -> None:
    # CRLF split across chunks, a UTF-8 character split across chunks: the same events every time
    for cut in range(1, len(STREAM)):
        assert await _parse(STREAM, [cut]) == EXPECTED, f"cut at {cut}"


async def test_byte_by_byte() -> None:
    assert await _parse(STREAM, list(range(1, len(STREAM)))) == EXPECTED


async def test_an_endless_line_is_bounded() -> None:
    async def endless() -> AsyncIterator[bytes]:
        yield b"data: "
        while True:
            yield b"x" * 1000

    with pytest.raises(EventTooLarge):
        async for _ in aiter_sse(endless(), max_event_bytes=50_000):
            pass


async def test_an_endless_event_is_bounded() -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"data: " + b"y" * 100 + b"\n"

    with pytest.raises(EventTooLarge):
        async for _ in aiter_sse(endless(), max_event_bytes=50_000):
            pass


async def test_field_without_space_and_unknown_fields() -> None:
    data = b"data:tight\nretry: 10\nfoo: bar\n\n"
    assert await _parse(data, []) == [("message", "tight")]
