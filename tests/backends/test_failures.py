"""Every failure row of hoody-api.md against both backends: the right typed error, quickly, never a hang."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import pytest

from hoody_lsp.backends import make_backend
from hoody_lsp.backends.base import Backend, Finish, GenerateRequest
from hoody_lsp.backends.errors import (
    AuthError,
    BackendError,
    GenerationTimeout,
    NetworkError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    TlsError,
    TooLargeError,
)
from tests.backends.conftest import KEY, completion, settings_for
from tests.fakebackend import FakeBackend, Reply, http_date


async def run(backend: Backend, request: GenerateRequest | None = None) -> tuple[str, Finish | None]:
    generation = backend.generate(request or completion())
    text = await asyncio.wait_for(generation.text(), 10)
    return text, generation.finish


async def fails(
    backend: Backend, error: type[BackendError], request: GenerateRequest | None = None, within: float = 2.0
) -> tuple[Any, list[str], float]:
    """Iterate until the error; return it, the chunks that came first and the time it took."""
    chunks: list[str] = []
    started = time.monotonic()

    async def consume() -> None:
        async with backend.generate(request or completion()) as generation:
            async for chunk in generation:
                chunks.append(chunk)

    with pytest.raises(error) as info:
        await asyncio.wait_for(consume(), within + 5)
    elapsed = time.monotonic() - started
    assert elapsed < within, f"{error.__name__} took {elapsed:.2f} s"
    assert KEY not in str(info.value)
    assert str(info.value).strip(), "every error has words for the user"
    return info.value, chunks, elapsed


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- statuses --------------------------------------------------------------------------------------------


async def test_401_is_auth_and_says_how_to_fix_the_key(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(status=401))
    exc, _, _ = await fails(backend, AuthError)
    assert exc.status == 401
    assert "HOODY_API_KEY" in exc.message and "apiKey" in exc.message
    if backend.name == "hoody":
        assert "INVALID_TOKEN" in exc.message and exc.code == "INVALID_TOKEN"


@pytest.mark.parametrize("code", ["TOKEN_EXPIRED", "MISSING_TOKEN"])
async def test_401_names_the_documented_code(fake_backend: FakeBackend, code: str) -> None:
    backend = make_backend(settings_for(fake_backend, "hoody"))
    body = json.dumps({"error": "Unauthorized", "code": code, "timestamp": "t", "details": {}}).encode()
    fake_backend.script(Reply(status=401, body=body))
    exc, _, _ = await fails(backend, AuthError)
    assert code in exc.message
    await backend.aclose()


async def test_403_is_auth(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(status=403))
    exc, _, _ = await fails(backend, AuthError)
    assert exc.status == 403


async def test_404_names_the_url_and_the_setting(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(status=404))
    exc, _, _ = await fails(backend, NotFoundError)
    assert fake_backend.url in exc.message
    assert "baseUrl" in exc.message


async def test_429_with_retry_after_seconds(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(status=429, retry_after="7"))
    exc, _, _ = await fails(backend, RateLimitedError, within=1.0)
    assert exc.retry_after == 7
    assert "7 s" in exc.message


async def test_429_with_retry_after_http_date(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(status=429, retry_after=http_date(12)))
    exc, _, _ = await fails(backend, RateLimitedError, within=1.0)
    assert 9 <= exc.retry_after <= 12.5


async def test_429_retry_after_is_clamped_and_defaulted(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(status=429, retry_after="3600"), Reply(status=429))
    exc, _, _ = await fails(backend, RateLimitedError, within=1.0)
    assert exc.retry_after == 30
    exc, _, _ = await fails(backend, RateLimitedError, within=1.0)
    assert exc.retry_after == 5


@pytest.mark.parametrize("status", [500, 503, 502, 504, 408, 425])
async def test_server_failures(fake_backend: FakeBackend, backend: Backend, status: int) -> None:
    fake_backend.script(Reply(status=status))
    exc, _, _ = await fails(backend, ServerError, within=1.0)
    assert exc.status == status
    assert str(status) in exc.message
    assert len(fake_backend.requests) == 1, "an inline request is never retried"


async def test_other_4xx_is_protocol_with_the_server_words(fake_backend: FakeBackend, backend: Backend) -> None:
    body = json.dumps({"error": {"message": "max_tokens is too large", "type": "invalid_request_error"}})
    fake_backend.script(Reply(status=400, body=body.encode()))
    exc, _, _ = await fails(backend, ProtocolError, within=1.0)
    assert "max_tokens is too large" in exc.message


async def test_error_body_echoing_the_key_is_redacted(fake_backend: FakeBackend, backend: Backend) -> None:
    body = json.dumps({"statusCode": 404, "error": "Not Found", "message": f"no route for key {KEY}"})
    fake_backend.script(Reply(status=404, body=body.encode()))
    exc, _, _ = await fails(backend, NotFoundError)  # `fails` asserts the key is not in the message
    assert "<redacted>" in exc.message


# -- transport ---------------------------------------------------------------------------------------------


async def test_connection_refused_is_unreachable(fake_backend: FakeBackend, kind: str) -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}" + ("/v1" if kind == "openai" else "")
    backend = make_backend(settings_for(fake_backend, kind, baseUrl=url))
    exc, _, _ = await fails(backend, NetworkError, within=2.0)
    assert "refused" in exc.message and str(port) in exc.message
    await backend.aclose()


async def test_https_to_a_plain_http_port_is_tls(fake_backend: FakeBackend, kind: str) -> None:
    # Honest answer: the TLS handshake fails (the server answers plain HTTP), so it is a TLS problem.
    url = f"https://127.0.0.1:{fake_backend.port}" + ("/v1" if kind == "openai" else "")
    backend = make_backend(settings_for(fake_backend, kind, baseUrl=url))
    exc, _, _ = await fails(backend, TlsError, within=3.0)
    assert "https" in exc.message
    await backend.aclose()


async def test_reset_mid_stream(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(text="abcdefghijklmnop", fault="reset_mid"))
    exc, chunks, _ = await fails(backend, NetworkError)
    assert chunks, "the part before the reset arrived"
    assert "middle" in exc.message


async def test_stall_mid_stream_hits_the_read_timeout(fake_backend: FakeBackend, kind: str) -> None:
    backend = make_backend(settings_for(fake_backend, kind, http={"timeoutS": 0.3}))
    fake_backend.script(Reply(text="abcdefghijklmnop", fault="stall_mid"))
    exc, chunks, elapsed = await fails(backend, GenerationTimeout, within=2.0)
    assert chunks
    assert elapsed >= 0.25
    assert "timeoutS" in exc.message
    assert fake_backend.wait_for_disconnect(fake_backend.requests[0], 1.0), "the stalled stream was closed"
    await backend.aclose()


async def test_silence_before_the_headers_hits_the_read_timeout(fake_backend: FakeBackend, kind: str) -> None:
    backend = make_backend(settings_for(fake_backend, kind, http={"timeoutS": 0.3}))
    fake_backend.script(Reply(text="late", headers_delay=3))
    await fails(backend, GenerationTimeout, within=1.5)
    await backend.aclose()


async def test_silence_before_the_first_token_hits_the_read_timeout(fake_backend: FakeBackend, kind: str) -> None:
    backend = make_backend(settings_for(fake_backend, kind, http={"timeoutS": 0.3}))
    fake_backend.script(Reply(text="late", first_delay=3))
    await fails(backend, GenerationTimeout, within=1.5)
    await backend.aclose()


# -- malformed answers -------------------------------------------------------------------------------------


async def test_malformed_data(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(text="abcdefgh", fault="malformed"))
    exc, _, _ = await fails(backend, ProtocolError)
    assert "not JSON" in exc.message


async def test_html_page_instead_of_sse(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(fault="html"))
    exc, chunks, _ = await fails(backend, ProtocolError)
    assert "HTML" in exc.message
    assert not chunks


async def test_html_page_with_an_error_status_is_branched_on_status(
    fake_backend: FakeBackend, backend: Backend
) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    fake_backend.script(Reply(status=502, body=page, headers={"Content-Type": "text/html"}))
    exc, _, _ = await fails(backend, ServerError)
    assert exc.status == 502


async def test_no_done_is_truncated(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(text="abcdefgh", fault="no_done"))
    exc, chunks, _ = await fails(backend, ProtocolError)
    assert "".join(chunks) == "abcdefgh"
    assert "complete" in exc.message


async def test_error_event(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(text="abcdefgh", fault="error_event"))
    exc, _, _ = await fails(backend, ProtocolError)
    assert "The model failed" in exc.message


async def test_unknown_content_type(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(body=b"hello", headers={"Content-Type": "text/plain"}))
    exc, _, _ = await fails(backend, ProtocolError)
    assert "text/plain" in exc.message


async def test_json_that_is_not_json(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(body=b"{nope", headers={"Content-Type": "application/json"}))
    await fails(backend, ProtocolError)


# -- size and time -------------------------------------------------------------------------------------------


async def test_oversized_with_cap_error(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(chunks=["0123456789abcdef" * 16], fault="oversized"))
    exc, chunks, _ = await fails(backend, TooLargeError, completion(cap_chars=20_000, cap_is_error=True))
    assert sum(map(len, chunks)) <= 20_000
    assert "20,000" in exc.message
    assert fake_backend.wait_for_disconnect(fake_backend.requests[0], 1.0)


async def test_oversized_truncated_at_the_cap(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(chunks=["0123456789abcdef" * 4], fault="oversized"))
    text, finish = await run(backend, completion(cap_chars=4_000, cap_is_error=False))
    assert len(text) == 4_000
    assert text.startswith("0123456789abcdef0123")
    assert finish is not None and finish.reason == "length"
    assert fake_backend.wait_for_disconnect(fake_backend.requests[0], 1.0), "the endless stream was closed"
    assert backend.open_streams == 0


async def test_one_chunk_larger_than_the_cap_is_cut(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(chunks=["x" * 5000], fault="oversized"))
    text, finish = await run(backend, completion(cap_chars=1000, cap_is_error=False))
    assert text == "x" * 1000 and finish is not None and finish.reason == "length"


async def test_slow_drip_within_the_deadline_succeeds(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(chunks=[f"line{i}\n" for i in range(10)], chunk_delay=0.05))
    started = time.monotonic()
    text, finish = await run(backend, completion(deadline_s=3.0))
    assert text == "".join(f"line{i}\n" for i in range(10))
    assert finish is not None and finish.reason == "stop"
    assert time.monotonic() - started >= 0.4


async def test_slow_drip_past_the_deadline_times_out(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(chunks=["ab"] * 40, chunk_delay=0.05))
    exc, chunks, elapsed = await fails(backend, GenerationTimeout, completion(deadline_s=0.5), within=1.2)
    assert elapsed >= 0.45
    assert chunks
    assert "0.5 s" in exc.message
    assert fake_backend.wait_for_disconnect(fake_backend.requests[0], 1.0)


async def test_deadline_before_the_headers(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(text="late", headers_delay=3))
    _, _, elapsed = await fails(backend, GenerationTimeout, completion(deadline_s=0.3), within=1.0)
    assert elapsed >= 0.25


async def test_keepalive_comments_and_ids_are_ignored(fake_backend: FakeBackend, backend: Backend) -> None:
    fake_backend.script(Reply(text="def f():\n    return 1\n", fault="keepalive"))
    text, finish = await run(backend)
    assert text == "def f():\n    return 1\n"
    assert finish is not None and finish.reason == "stop"


async def test_keepalive_comments_reset_the_read_timeout(fake_backend: FakeBackend, kind: str) -> None:
    # 0.9 s between tokens under a 0.7 s read timeout: only the comments halfway keep it alive
    backend = make_backend(settings_for(fake_backend, kind, http={"timeoutS": 0.7}))
    fake_backend.script(Reply(chunks=["a", "b"], chunk_delay=0.9, fault="keepalive"))
    text, _ = await run(backend)
    assert text == "ab"
    fake_backend.script(Reply(chunks=["a", "b"], chunk_delay=0.9))
    await fails(backend, GenerationTimeout, within=1.5)  # the same pauses without comments time out
    await backend.aclose()
