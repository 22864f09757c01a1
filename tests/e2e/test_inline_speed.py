"""Inline completions over time: supersede, cancel, typing-through, cache, early answers, debounce.

Timing bounds are generous for a loaded 2-core machine, but each one fails when the mechanism is missing
(a missing cancel leaves the fake's stream open for seconds; a missing cache makes a backend call).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from lsprotocol import types

from tests.e2e.harness import Editor, editor_session
from tests.fakebackend import FakeBackend, Reply

FAST = {"inlineCompletion": {"debounceMs": 0}}


async def _wait_streaming(fake: FakeBackend, n: int = 1, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(fake.requests) >= n and fake.open_streams > 0:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"fake never streamed request {n}")


async def test_cancel_request_closes_the_upstream_stream_within_50ms(
    fake_backend: FakeBackend, tmp_path: Path
) -> None:
    fake_backend.default = Reply(text="x" * 400, chunks=["x"] * 400, chunk_delay=0.05)
    async with editor_session(fake_backend.url, tmp_path, init_options=FAST) as ed:
        uri = ed.open("a.py", "def f():\n    ")
        msg_id, future = ed.inline_request(uri, types.Position(1, 4), invoked=True)
        await _wait_streaming(fake_backend)
        t_cancel = time.monotonic()
        ed.cancel(msg_id)
        (req,) = fake_backend.requests
        assert await asyncio.to_thread(fake_backend.wait_for_disconnect, req, 2.0)
        assert req.t_disconnected is not None
        assert req.t_disconnected - t_cancel < 0.05 + 0.05  # 50 ms goal, plus a loaded machine's slack
        # the server answers the cancelled request (with an error or nothing) and keeps serving
        await asyncio.wait_for(asyncio.shield(future), 2.0) if not future.done() else None


async def test_new_request_supersedes_and_closes_the_old_stream(fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.script(
        Reply(text="alpha_beta_gamma", chunks=list("alpha_beta_gamma"), chunk_delay=0.2),
        Reply(text="42"),
    )
    async with editor_session(fake_backend.url, tmp_path, init_options=FAST) as ed:
        uri = ed.open("a.py", "x = ")
        _, first = ed.inline_request(uri, types.Position(0, 4), invoked=True)
        await _wait_streaming(fake_backend)
        ed.type(uri, "(")  # not what the stream is generating
        t0 = time.monotonic()
        second = await ed.inline(uri, types.Position(0, 5))
        old = fake_backend.requests[0]
        assert await asyncio.to_thread(fake_backend.wait_for_disconnect, old, 1.0)
        # a missing supersede leaves it open for the stream's 3 s; a loaded machine needs some slack
        assert old.t_disconnected is not None and old.t_disconnected - t0 < 0.5
        assert [i.insert_text for i in second] == ["42"]
        assert Editor.items_of(await first) == []


async def test_typing_what_the_stream_generates_keeps_the_stream(fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.script(Reply(text="hello_world(1)", chunks=list("hello_world(1)"), chunk_delay=0.03))
    async with editor_session(fake_backend.url, tmp_path, init_options=FAST) as ed:
        uri = ed.open("a.py", "x = ")
        _, first = ed.inline_request(uri, types.Position(0, 4), invoked=True)
        await _wait_streaming(fake_backend)
        await asyncio.sleep(0.1)
        end = ed.type(uri, "hel")
        items = await ed.inline(uri, ed.pos(uri, end), invoked=False)
        assert [i.insert_text for i in items] == ["lo_world(1)"]
        assert len(fake_backend.requests) == 1
        assert fake_backend.requests[0].completed  # the kept stream ran to its end
        await first


async def test_typing_through_a_suggestion_makes_no_new_backend_call(
    fake_backend: FakeBackend, tmp_path: Path
) -> None:
    suggestion = "compute_total(items, tax=0.2)"
    fake_backend.script(Reply(text=suggestion))
    async with editor_session(fake_backend.url, tmp_path, init_options=FAST) as ed:
        uri = ed.open("a.py", "result = ")
        items = await ed.inline(uri, types.Position(0, 9))
        assert [i.insert_text for i in items] == [suggestion]
        for n, ch in enumerate(suggestion[:-1], start=1):
            end = ed.type(uri, ch)
            items = await ed.inline(uri, ed.pos(uri, end), invoked=False)
            rest = suggestion[n:]
            texts = [i.insert_text for i in items]
            # the range may start at the word: either the rest, or the word typed so far plus the rest
            assert texts and texts[0].endswith(rest), (n, texts)
        assert len(fake_backend.requests) == 1


async def test_early_answer_for_a_multiline_suggestion(fake_backend: FakeBackend, tmp_path: Path) -> None:
    lines = ["total = 0", "    for x in xs:", "        total += x", "    return total"]
    text = "\n".join(lines)
    chunks = [line + ("\n" if i < len(lines) - 1 else "") for i, line in enumerate(lines)]
    fake_backend.script(Reply(text=text, chunks=chunks, chunk_delay=0.4))
    async with editor_session(fake_backend.url, tmp_path, init_options=FAST) as ed:
        uri = ed.open("a.py", "def f(xs):\n    ")
        t0 = time.monotonic()
        items = await ed.inline(uri, types.Position(1, 4))
        elapsed = time.monotonic() - t0
        assert items and items[0].insert_text.startswith("total = 0")
        assert elapsed < 0.4 * 3 - 0.2  # answered before the stream's end
        # the user accepts the first line; the next request at the advanced position gets the rest
        end = ed.type(uri, items[0].insert_text.split("\n")[0])
        await asyncio.sleep(1.4)
        rest = await ed.inline(uri, ed.pos(uri, end), invoked=False)
        assert rest and "return total" in rest[0].insert_text
        assert len(fake_backend.requests) == 1


async def test_typing_burst_makes_at_most_two_backend_requests(fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.default = Reply(text="zzz", first_delay=0.15)
    async with editor_session(fake_backend.url, tmp_path) as ed:  # adaptive debounce
        uri = ed.open("a.py", "")
        pending = []
        for ch in "some_identifier_here":
            end = ed.type(uri, ch)
            pending.append(ed.inline_request(uri, ed.pos(uri, end), invoked=False)[1])
            await asyncio.sleep(0.04)
        await asyncio.gather(*pending, return_exceptions=True)
        assert len(fake_backend.requests) <= 2, len(fake_backend.requests)
        await asyncio.sleep(0.1)
        assert fake_backend.open_streams == 0
