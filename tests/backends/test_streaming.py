"""Streams end when the caller says so (cancel, aclose), retries follow the rules, answers of every shape read."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

import pytest

from hoody_lsp.backends import make_backend
from hoody_lsp.backends.base import Backend, Generation
from hoody_lsp.backends.errors import (
    GenerationCancelled,
    NetworkError,
    RateLimitedError,
    ServerError,
)
from tests.backends.conftest import completion, settings_for
from tests.fakebackend import FakeBackend, RecordedRequest, Reply

DISCONNECT_BOUND_S = 0.05

# -- closing the stream --------------------------------------------------------------------------------------


async def _streaming(fake: FakeBackend, backend: Backend) -> tuple[Generation, RecordedRequest]:
    """A generation that has yielded its first chunk while the fake keeps streaming slowly."""
    fake.script(Reply(chunks=["tok "] * 200, chunk_delay=0.05))
    generation = backend.generate(completion())
    first = await asyncio.wait_for(generation.__anext__(), 5)
    assert first == "tok "
    assert fake.wait_for_requests(1)
    return generation, fake.requests[-1]


async def _disconnect_latency(fake: FakeBackend, req: RecordedRequest, t_close: float) -> float:
    assert await asyncio.to_thread(fake.wait_for_disconnect, req, 1.0), "the fake never saw the client go"
    assert req.t_disconnected is not None
    return req.t_disconnected - t_close


async def test_cancelling_the_task_closes_the_stream_at_once(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(chunks=["tok "] * 200, chunk_delay=0.05))
    got_one = asyncio.Event()

    async def consume() -> None:
        async for _ in backend.generate(completion()):
            got_one.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_one.wait(), 5)
    req = fake_backend.requests[-1]
    t_cancel = time.monotonic()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled(), "CancelledError propagates, never turned into a backend error"
    latency = await _disconnect_latency(fake_backend, req, t_cancel)
    assert latency < DISCONNECT_BOUND_S, f"disconnect seen {latency * 1000:.1f} ms after cancel"
    assert backend.open_streams == 0
    assert not req.completed


async def test_aclose_closes_the_stream_at_once(fake_backend: FakeBackend, backend: Backend) -> None:
    generation, req = await _streaming(fake_backend, backend)
    assert backend.open_streams == 1
    t_close = time.monotonic()
    await generation.aclose()
    latency = await _disconnect_latency(fake_backend, req, t_close)
    assert latency < DISCONNECT_BOUND_S, f"disconnect seen {latency * 1000:.1f} ms after aclose"
    assert backend.open_streams == 0


async def test_leaving_async_with_closes_the_stream(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(chunks=["tok "] * 200, chunk_delay=0.05))
    async with backend.generate(completion()) as generation:
        async for _ in generation:
            break
        t_close = time.monotonic()
    latency = await _disconnect_latency(fake_backend, fake_backend.requests[-1], t_close)
    assert latency < DISCONNECT_BOUND_S


async def test_cancel_while_waiting_for_the_headers(fake_backend: FakeBackend, backend: Backend) -> None:
    """The caller is free at once; the send is left to finish (cancelling httpcore there can leak a pool slot,
    encode/httpcore#1093) and the connection closes as soon as the answer's head arrives."""
    fake_backend.script(Reply(text="late", headers_delay=1.0))
    task = asyncio.create_task(backend.generate(completion()).text())
    assert await asyncio.to_thread(fake_backend.wait_for_requests, 1)
    await asyncio.sleep(0.02)
    t_cancel = time.monotonic()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert time.monotonic() - t_cancel < DISCONNECT_BOUND_S
    assert fake_backend.open_streams == 1  # the head has not come yet: the send is still waiting for it
    deadline = time.monotonic() + 3.0
    while fake_backend.open_streams and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert fake_backend.open_streams == 0, "the abandoned request was never closed"
    assert time.monotonic() - fake_backend.requests[-1].t_received < 2.0  # about when the head went out


async def test_backend_aclose_closes_every_open_stream(fake_backend: FakeBackend, kind: str) -> None:
    backend = make_backend(settings_for(fake_backend, kind))
    first, req1 = await _streaming(fake_backend, backend)
    fake_backend.script(Reply(chunks=["tok "] * 200, chunk_delay=0.05))
    second = backend.generate(completion())
    await asyncio.wait_for(second.__anext__(), 5)
    req2 = fake_backend.requests[-1]
    assert backend.open_streams == 2

    async def rest(generation: Generation) -> str:
        return "".join([c async for c in generation])

    reader = asyncio.create_task(rest(first))  # one stream is being read while the backend closes
    await asyncio.sleep(0.01)
    t_close = time.monotonic()
    await backend.aclose()
    assert backend.open_streams == 0
    for req in (req1, req2):
        assert await _disconnect_latency(fake_backend, req, t_close) < DISCONNECT_BOUND_S
    with pytest.raises(GenerationCancelled):
        await asyncio.wait_for(reader, 2)
    with pytest.raises(GenerationCancelled):
        await backend.generate(completion()).text()  # a closed backend starts nothing
    await second.aclose()


async def test_open_streams_counts_live_streams(fake_backend: FakeBackend, backend: Backend) -> None:
    assert backend.open_streams == 0
    generation, _ = await _streaming(fake_backend, backend)
    assert backend.open_streams == 1
    await generation.aclose()
    assert backend.open_streams == 0
    await backend.generate(completion()).text()
    assert backend.open_streams == 0


async def test_keep_alive_reuses_one_connection(fake_backend: FakeBackend, backend: Backend) -> None:
    for _ in range(3):
        assert await backend.generate(completion()).text() == "pass"
        await asyncio.sleep(0.02)  # the chunked terminator is read in the background after `done`
    assert len({r.connection for r in fake_backend.requests}) == 1


# -- retries ---------------------------------------------------------------------------------------------------


async def test_command_retries_429_after_retry_after(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(status=429, retry_after="1"), Reply(text="done"))
    started = time.monotonic()
    text = await asyncio.wait_for(backend.generate(completion(retry=True)).text(), 10)
    elapsed = time.monotonic() - started
    assert text == "done"
    assert len(fake_backend.requests) == 2
    gap = fake_backend.requests[1].t_received - fake_backend.requests[0].t_received
    assert 0.9 <= gap < 2.0 and elapsed < 3.0


async def test_inline_request_never_retries_or_waits(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(status=429, retry_after="1"), Reply(text="done"))
    started = time.monotonic()
    with pytest.raises(RateLimitedError) as info:
        await backend.generate(completion(retry=False)).text()
    assert time.monotonic() - started < 0.8  # Retry-After is 1 s: no wait happened
    assert info.value.retry_after == 1
    assert len(fake_backend.requests) == 1


async def test_command_retries_5xx_with_backoff(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(status=503), Reply(status=502), Reply(text="ok"))
    text = await asyncio.wait_for(backend.generate(completion(retry=True)).text(), 10)
    assert text == "ok"
    assert len(fake_backend.requests) == 3


async def test_retry_gives_up_when_the_wait_passes_the_budget(fake_backend: FakeBackend, backend: Backend) -> None:
    # Retry-After 30 s: the retry could not happen within 30 s in all, so the error comes now.
    fake_backend.script(Reply(status=429, retry_after="30"), Reply(text="never"))
    started = time.monotonic()
    with pytest.raises(RateLimitedError):
        await backend.generate(completion(retry=True)).text()
    assert time.monotonic() - started < 1.0
    assert len(fake_backend.requests) == 1


async def test_retry_gives_up_at_the_deadline(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(status=429, retry_after="2"), Reply(text="never"))
    started = time.monotonic()
    with pytest.raises(RateLimitedError):
        await backend.generate(completion(retry=True, deadline_s=1.0)).text()
    assert time.monotonic() - started < 0.9


async def test_no_retry_for_auth_failures(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(status=401), Reply(text="never"))
    with pytest.raises(Exception) as info:
        await backend.generate(completion(retry=True)).text()
    assert type(info.value).__name__ == "AuthError"
    assert len(fake_backend.requests) == 1


async def test_no_retry_once_something_streamed(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(text="abcdefghijkl", fault="reset_mid"), Reply(text="never"))
    with pytest.raises(NetworkError):
        await backend.generate(completion(retry=True)).text()
    assert len(fake_backend.requests) == 1


async def test_retry_stops_at_the_last_error(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(*[Reply(status=500)] * 10)
    started = time.monotonic()
    with pytest.raises(ServerError):
        await backend.generate(completion(retry=True, deadline_s=3.0)).text()
    # backoff 0.5 s then 1 s: the third wait (2 s) would pass the deadline
    assert len(fake_backend.requests) == 3
    assert time.monotonic() - started < 3.0


# -- answers of every shape -------------------------------------------------------------------------------------


async def test_json_answer_instead_of_sse(fake_backend: FakeBackend, backend: Backend) -> None:
    body: dict[str, object]
    if backend.name == "hoody":
        body = {
            "id": "gen_9",
            "output": "x = 1",
            "files": [],
            "finish_reason": "stop",
            "usage": {"input_tokens": 3, "output_tokens": 2},
        }
    else:
        body = {
            "id": "c9",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "x = 1"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2},
        }
    fake_backend.script(Reply(body=json.dumps(body).encode()))
    generation = backend.generate(completion())
    assert await generation.text() == "x = 1"
    assert generation.finish is not None
    assert generation.finish.reason == "stop"
    assert generation.finish.usage is not None and generation.finish.usage.output_tokens == 2


async def test_json_answer_is_capped(fake_backend: FakeBackend, backend: Backend) -> None:
    if backend.name == "hoody":
        body: dict[str, object] = {"output": "y" * 500, "finish_reason": "stop"}
    else:
        body = {"choices": [{"message": {"content": "y" * 500}, "finish_reason": "stop"}]}
    fake_backend.script(Reply(body=json.dumps(body).encode()))
    generation = backend.generate(completion(cap_chars=100, cap_is_error=False))
    assert await generation.text() == "y" * 100
    assert generation.finish is not None and generation.finish.reason == "length"


async def test_hoody_generate_answer_with_files_only(fake_backend: FakeBackend) -> None:
    from hoody_lsp.backends.base import TargetFile

    backend = make_backend(settings_for(fake_backend, "hoody"))
    body = {
        "output": "",
        "files": [{"path": "other.py", "content": "a"}, {"path": "tests/test_m.py", "content": "def test(): pass\n"}],
    }
    fake_backend.script(Reply(body=json.dumps(body).encode()))
    request = completion(task="generate", target_files=(TargetFile(path="tests/test_m.py"),))
    assert await backend.generate(request).text() == "def test(): pass\n"
    await backend.aclose()


async def test_finish_reason_and_usage_from_the_stream(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(text="abc", finish_reason="length"))
    generation = backend.generate(completion())
    assert await generation.text() == "abc"
    assert generation.finish is not None and generation.finish.reason == "length"
    assert generation.finish.id is not None


async def test_unicode_survives_chunk_boundaries(fake_backend: FakeBackend, backend: Backend) -> None:
    text = "naïve = '日本語 🎉'\n" * 3
    fake_backend.script(Reply(text=text))
    assert await backend.generate(completion()).text() == text


async def test_parallel_generations(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.responder = lambda rec: Reply(text=f"n{len(fake_backend.requests)}", chunk_delay=0.01)
    texts = await asyncio.gather(*(backend.generate(completion()).text() for _ in range(8)))
    assert sorted(texts) == sorted(f"n{i}" for i in range(1, 9))


# -- a connection closed before any answer -------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _hang_up_once_server() -> AsyncIterator[tuple[str, list[int]]]:
    """A server whose first connection closes without answering (like a keep-alive connection the server
    dropped); later connections get a normal Hoody stream."""
    seen: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(len(seen))
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        if len(seen) > 1:
            body = b'event: token\ndata: {"text": "ok"}\n\nevent: done\ndata: {"finish_reason": "stop"}\n\n'
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n%s"
                % (len(body), body)
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        server.close()


async def test_a_connection_closed_before_any_answer_is_tried_once_more(fake_backend: FakeBackend) -> None:
    async with _hang_up_once_server() as (url, seen):
        backend = make_backend(settings_for(fake_backend, "hoody", baseUrl=url))
        assert await backend.generate(completion(retry=False)).text() == "ok"
        assert len(seen) == 2
        await backend.aclose()
